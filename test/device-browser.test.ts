import { afterAll, beforeAll, describe, expect, it, setDefaultTimeout } from 'bun:test'
import { mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Browser } from 'playwright-core'
import { ARTIFACTS, launchChromium } from './support/browser'
import { spawnServer, type ServerProcess } from './support/process'

setDefaultTimeout(60_000)


let dir: string
let server: ServerProcess
let browser: Browser
beforeAll(async () => {
	dir = mkdtempSync(join(tmpdir(), 'dreamlake-browser-'))
	server = await spawnServer(['serve', '--dev', '--port', '0'], { cwd: dir })
	browser = await launchChromium()
})
afterAll(async () => {
	await browser?.close()
	await server?.stop()
	rmSync(dir, { recursive: true, force: true })
})

const hashOf = (secret: string) => new Bun.CryptoHasher('sha256').update(secret).digest('hex')

describe('the approval page in a real browser', () => {
	it('a person opens the link, types a username, clicks Approve, and the next poll gets the token', async () => {
		const device = hashOf(crypto.randomUUID())
		const start = (await (await fetch(`${server.url}/dev/vuer-auth/api/device/start`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ device_secret_hash: device }) })).json()) as {
			user_code: string
			verification_uri_complete: string
		}
		const page = await browser.newPage()
		await page.goto(start.verification_uri_complete)
		expect(await page.locator('h1').textContent()).toBe('Approve a DreamLake login')
		// the code from the link is filled in; the person only types who they are
		expect(await page.inputValue('#code')).toBe(start.user_code)
		await page.fill('#username', 'browser-bea')
		await page.fill('#name', 'Bea <b>Bold</b>')
		mkdirSync(ARTIFACTS, { recursive: true })
		await page.screenshot({ path: join(ARTIFACTS, 'device-approval-form.png'), fullPage: true })
		await page.click('button[value=approve]')
		await page.waitForSelector('text=Login approved')
		expect(await page.locator('[role=status]').textContent()).toContain('Signed in as browser-bea')
		await page.screenshot({ path: join(ARTIFACTS, 'device-approval-done.png'), fullPage: true })
		expect(statSync(join(ARTIFACTS, 'device-approval-done.png')).size).toBeGreaterThan(1000)
		await page.close()

		const poll = await fetch(`${server.url}/dev/vuer-auth/api/device/poll`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ device_secret_hash: device }) })
		expect(poll.status).toBe(200)
		const { access_token } = (await poll.json()) as { access_token: string }
		const me = await fetch(`${server.url}/auth/exchange`, { method: 'POST', headers: { authorization: `Bearer ${access_token}` } })
		expect(((await me.json()) as { user: { username: string; name: string } }).user).toMatchObject({ username: 'browser-bea', name: 'Bea <b>Bold</b>' })
	})

	it('markup typed into the form is shown as text, never run', async () => {
		const device = hashOf(crypto.randomUUID())
		const start = (await (await fetch(`${server.url}/dev/vuer-auth/api/device/start`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ device_secret_hash: device }) })).json()) as { verification_uri_complete: string }
		const page = await browser.newPage()
		const dialogs: string[] = []
		page.on('dialog', (dialog) => {
			dialogs.push(dialog.message())
			void dialog.dismiss()
		})
		await page.goto(start.verification_uri_complete)
		const evil = '"><img src=x onerror=alert(1)><script>alert(2)</script>'
		await page.fill('#username', evil)
		await page.click('button[value=approve]')
		await page.waitForSelector('[role=alert]')
		expect(await page.locator('[role=alert]').textContent()).toContain('The username must be 1 to 39')
		// the username came back into its field as text, and nothing ran
		expect(await page.inputValue('#username')).toBe(evil)
		expect(await page.locator('img').count()).toBe(0)
		expect(dialogs).toEqual([])
		await page.close()
	})
})
