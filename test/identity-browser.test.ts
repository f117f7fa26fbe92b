import { afterAll, beforeAll, describe, expect, it, setDefaultTimeout } from 'bun:test'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Browser } from 'playwright-core'
import { launchChromium } from './support/browser'
import { freePort, startProvider, type TestProvider } from './support/oidc'
import { runCli, spawnServer, type ServerProcess } from './support/process'

setDefaultTimeout(60_000)

let browser: Browser
beforeAll(async () => {
	browser = await launchChromium()
})
afterAll(async () => {
	await browser.close()
})

describe('the dashboard signs in with a built-in account (IDENTITY=builtin), in Chromium', () => {
	let dir: string
	let server: ServerProcess
	beforeAll(async () => {
		dir = mkdtempSync(join(tmpdir(), 'dreamlake-builtin-browser-'))
		server = await spawnServer(['serve', '--port', '0'], { cwd: dir, env: { IDENTITY: 'builtin' } })
	})
	afterAll(async () => {
		await server.stop()
		rmSync(dir, { recursive: true, force: true })
	})

	it("sets the password on the link's page, signs in with the form (a wrong password says so), and changes the password", async () => {
		const added = await runCli(['user', 'add', 'paula'], { cwd: dir, env: { IDENTITY: 'builtin' } })
		const link = /http\S+set-password\?token=[\w-]+/.exec(added.stdout)![0].replace(/^http:\/\/[^/]+/, server.url)
		const page = await browser.newPage()
		try {
			const requests: string[] = []
			page.on('request', (request) => requests.push(request.url()))
			await page.goto(link)
			await page.fill('#password', 'first password!')
			await page.fill('#confirm', 'first password!')
			await page.click('button[type=submit]')
			await page.waitForSelector('text=Password set')

			await page.goto(`${server.url}/ui/signin`)
			await page.fill('#signin-username', 'paula')
			await page.fill('#signin-password', 'not it')
			await page.click('form.signin-form button[type=submit]')
			await page.waitForSelector('[role=alert]:has-text("The username or password is wrong.")')
			await page.fill('#signin-password', 'first password!')
			await page.click('form.signin-form button[type=submit]')
			await page.waitForSelector('.who:has-text("paula")')

			await page.click('[data-testid=change-password]')
			await page.fill('#current-password', 'first password!')
			await page.fill('#new-password', 'second password!')
			await page.fill('#confirm-password', 'second password!')
			await page.click('form.signin-form button[type=submit]')
			await page.waitForSelector('text=Your password is changed.')
			// nothing left this machine
			expect(requests.every((url) => url.startsWith(server.url))).toBe(true)
		} finally {
			await page.close()
		}
		const relogin = await fetch(`${server.url}/auth/password/sign-in`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-dreamlake-csrf': '1' }, body: JSON.stringify({ username: 'paula', password: 'second password!' }) })
		expect(relogin.status).toBe(200)
	})

	it('a new person makes an account from an invitation link, signed out, and lands in the team', async () => {
		const signIn = await fetch(`${server.url}/auth/password/sign-in`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-dreamlake-csrf': '1' }, body: JSON.stringify({ username: 'paula', password: 'second password!' }) })
		const cookie = /dreamlake_session=[^;]+/.exec(signIn.headers.get('set-cookie')!)![0]
		const asPaula = (path: string, body: object) => fetch(`${server.url}${path}`, { method: 'POST', headers: { cookie, 'x-dreamlake-csrf': '1', 'content-type': 'application/json' }, body: JSON.stringify(body) })
		expect((await asPaula('/namespaces', { slug: 'paulas-lab' })).status).toBe(201)
		const { token } = (await (await asPaula('/namespaces/paulas-lab/invitations', { role: 'member' })).json()) as { token: string }
		const page = await browser.newPage()
		try {
			await page.goto(`${server.url}/ui/invitations/${token}`)
			await page.fill('#signup-username', 'quentin')
			await page.fill('#signup-password', 'quentins password')
			await page.fill('#signup-confirm', 'quentins password')
			await page.click('[data-testid=sign-up] button[type=submit]')
			await page.waitForURL(`${server.url}/ui/n/paulas-lab`)
			await page.waitForSelector('.who:has-text("quentin")')
		} finally {
			await page.close()
		}
	})
})

describe("the dashboard signs in through the OpenID provider's login page (IDENTITY=oidc), in Chromium", () => {
	let dir: string
	let server: ServerProcess
	let provider: TestProvider
	beforeAll(async () => {
		dir = mkdtempSync(join(tmpdir(), 'dreamlake-oidc-browser-'))
		const port = freePort()
		provider = await startProvider({ redirects: [`http://127.0.0.1:${port}/idp/callback`], deviceFlow: false })
		server = await spawnServer(['serve', '--port', String(port)], { cwd: dir, env: { IDENTITY: 'oidc', OIDC_ISSUER: provider.issuer, OIDC_CLIENT_ID: 'dreamlake' } })
	})
	afterAll(async () => {
		await server.stop()
		provider.stop()
		rmSync(dir, { recursive: true, force: true })
	})

	it('the button goes to the provider, the person signs in there, and comes back signed in where they started', async () => {
		const page = await browser.newPage()
		try {
			await page.goto(`${server.url}/ui/signin?next=${encodeURIComponent('/ui/teams/new')}`)
			await page.click('[data-testid=oidc-sign-in]')
			await page.waitForURL(`${provider.issuer}/interaction/**`)
			await page.fill('input[name=login]', 'olive')
			await page.fill('input[name=password]', 'test-password')
			await page.click('button:has-text("Sign in")')
			await page.waitForSelector('button:has-text("Allow")')
			await page.click('button:has-text("Allow")')
			await page.waitForURL(`${server.url}/ui/teams/new`)
			await page.waitForSelector('.who:has-text("Olive Example")')
			const me = (await page.evaluate(async () => (await fetch('/auth/me')).json())) as { username: string }
			expect(me.username).toBe('olive')
		} finally {
			await page.close()
		}
	})
})
