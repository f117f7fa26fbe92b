// Teams in the dashboard, in a real browser (Debian's Chromium, driven by playwright-core) against
// the real `serve --dev` server: two people share a project through an invitation link, the second
// sees the first's run, a viewer cannot write; API keys; public projects read with no session.
import { afterAll, beforeAll, describe, expect, it, setDefaultTimeout } from 'bun:test'
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Browser, BrowserContext, Page } from 'playwright-core'
import { ARTIFACTS, launchChromium } from './support/browser'
import { spawnServer, type ServerProcess } from './support/process'
import { Client } from './support/seed'

setDefaultTimeout(60_000)

// what the functions passed to page.evaluate see: they run in the page, not here
declare const document: any, window: any

/** Markup in a team's name: shown as these characters, never run. */
const XSS = `<img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script>`

let dir: string
let server: ServerProcess
let browser: Browser
let alice: Client & { namespace: string }
let aliceContext: BrowserContext
let bobContext: BrowserContext
/** Carol signs in through the page, from the invitation link. */
let carolContext: BrowserContext
let run: { id: string; name: string }
const pageErrors: string[] = []

beforeAll(async () => {
	dir = mkdtempSync(join(tmpdir(), 'dreamlake-teams-'))
	server = await spawnServer(['serve', '--dev', '--port', '0'], { cwd: dir })
	browser = await launchChromium()
	mkdirSync(ARTIFACTS, { recursive: true })
	alice = await Client.devUser(server.url, 'alice')
	await Client.devUser(server.url, 'dave') // signed in once, so he can be added by username
	aliceContext = await sessionOf(alice)
	bobContext = await sessionOf(await Client.devUser(server.url, 'bob'))
	carolContext = await fresh()
})

afterAll(async () => {
	await browser?.close()
	await server?.stop()
	rmSync(dir, { recursive: true, force: true })
})

async function fresh(): Promise<BrowserContext> {
	const context = await browser.newContext({ viewport: { width: 1280, height: 860 } })
	context.on('page', (page) => page.on('pageerror', (error) => pageErrors.push(String(error))))
	return context
}

/** A browser context with the session cookie the page's sign-in sets (that sign-in is dashboard-browser.test.ts's, and carol's below). */
async function sessionOf(client: Client): Promise<BrowserContext> {
	const context = await fresh()
	await context.addCookies([{ name: 'dreamlake_session', value: client.token, url: server.url, httpOnly: true, sameSite: 'Strict' }])
	return context
}

const shot = (page: Page, name: string) => page.screenshot({ path: join(ARTIFACTS, `teams-${name}.png`), fullPage: true })
const pwned = (page: Page) => page.evaluate(() => window.__pwned ?? 0)

/** A write as the page's own scripts send it: the session cookie and the CSRF header. */
const writeFromPage = (page: Page, method: string, path: string, body: unknown) =>
	page.evaluate(
		async ({ method, path, body }) => {
			const response = await fetch(path, { method, credentials: 'same-origin', headers: { 'content-type': 'application/json', 'x-dreamlake-csrf': '1' }, body: JSON.stringify(body) })
			return { status: response.status, body: (await response.json()) as { success: boolean; error: string; code: string } }
		},
		{ method, path, body },
	)

/** The texts of the cells in `column` (1-based) of the episodes table. */
const column = (page: Page, n: number) => page.locator(`[data-testid=episode-row] td:nth-child(${n})`).allTextContents()

describe('a team, made in the page', () => {
	it('alice makes a team with the New team form; it opens, she is its owner, and the switcher lists it', async () => {
		const page = await aliceContext.newPage()
		await page.goto(`${server.url}/ui/`)
		await page.click('.switcher summary')
		await page.click('.switcher a:has-text("New team")')
		await page.waitForURL(/\/ui\/teams\/new$/)
		await page.fill('input[aria-label="Team slug"]', 'lab')
		await page.fill('input[aria-label="Team name"]', 'The Lab')
		await page.click('button:has-text("Create team")')
		await page.waitForURL(`${server.url}/ui/n/lab`)
		await page.waitForSelector('h1:has-text("The Lab")')
		expect(await page.locator('[data-testid=my-role]').textContent()).toBe('owner')
		await page.click('.switcher summary')
		const choices = await page.locator('[data-testid=namespace-choice]').evaluateAll((els) => els.map((el) => (el as any).dataset.slug))
		expect(choices).toEqual(['alice', 'lab']) // yours first, then your teams
		expect(await page.locator('.switcher a[data-slug=lab] .tag').textContent()).toBe('owner')
		await shot(page, 'switcher')
		await page.close()
	})

	it('a slug that is taken, or breaks the rules, is refused in the server\'s words', async () => {
		const page = await aliceContext.newPage()
		await page.goto(`${server.url}/ui/teams/new`)
		await page.fill('input[aria-label="Team slug"]', 'lab')
		await page.click('button:has-text("Create team")')
		await page.waitForSelector('[role=alert]:has-text("is taken")')
		await page.fill('input[aria-label="Team slug"]', 'Not A Slug!')
		await page.click('button:has-text("Create team")')
		await page.waitForSelector('[role=alert]:has-text("a-z")')
		expect(page.url()).toEndWith('/ui/teams/new')
		await page.close()
	})

	it('a team\'s name with markup in it shows as text in the switcher and the page', async () => {
		await alice.call('POST', '/namespaces', { slug: 'markup', name: XSS })
		const page = await aliceContext.newPage()
		await page.goto(`${server.url}/ui/n/markup`)
		await page.waitForSelector('[data-testid=my-role]')
		expect(await page.locator('main h1').textContent()).toBe(XSS)
		await page.click('.switcher summary')
		expect(await page.locator('.switcher a[data-slug=markup]').textContent()).toContain(XSS)
		expect(await pwned(page)).toBe(0)
		await page.close()
	})
})

describe('sharing a project through an invitation link', () => {
	it('alice makes a link for a member; bob opens it, accepts, and sees alice\'s run in the team\'s project, made by alice', async () => {
		run = await alice.episode('lab', 'arm', { name: 'alice-run-1', tags: ['shared'] })
		await alice.logs(run.id, [{ message: 'hello from alice' }])
		const page = await aliceContext.newPage()
		await page.goto(`${server.url}/ui/n/lab/members`)
		await page.selectOption('select[aria-label="Invitation role"]', 'member')
		await page.fill('input[aria-label=Uses]', '1')
		await page.selectOption('select[aria-label="Expires in"]', '7d')
		await page.click('button:has-text("Create invitation link")')
		const url = await (await page.waitForSelector('[data-testid=invitation-url]')).inputValue()
		expect(url).toMatch(new RegExp(`^${server.url}/ui/invitations/dli_`))
		expect(await page.locator('text=it is shown only now').count()).toBe(1)
		expect(await page.locator('[data-testid=invitation-row]').count()).toBe(1)
		await shot(page, 'invitation-made')

		const bobs = await bobContext.newPage()
		await bobs.goto(url)
		await bobs.waitForSelector('h1:has-text("Join The Lab")')
		expect(await bobs.locator('[data-testid=invited-role]').textContent()).toBe('member')
		await shot(bobs, 'invitation')
		await bobs.click('button:has-text("Accept")')
		await bobs.waitForURL(`${server.url}/ui/n/lab`)
		expect(await bobs.locator('[data-testid=my-role]').textContent()).toBe('member')
		await bobs.click('[data-testid=project]:has-text("arm")')
		await bobs.waitForSelector('[data-testid=episode-row]')
		expect(bobs.url()).toEndWith('/ui/n/lab/projects/arm')
		expect(await column(bobs, 2)).toEqual(['alice-run-1'])
		expect(await bobs.locator('thead th:nth-child(7)').textContent()).toBe('Created by')
		expect(await column(bobs, 7)).toEqual(['alice'])
		await bobs.click('a:has-text("alice-run-1")')
		await bobs.waitForSelector('text=Created by')
		await bobs.click('.tabs a:has-text("Logs")')
		await bobs.waitForSelector('text=hello from alice')
		// the switcher now has the team, with bob's role
		await bobs.click('.switcher summary')
		expect(await bobs.locator('.switcher a[data-slug=lab] .tag').textContent()).toBe('member')
		await shot(bobs, 'member-sees-run')
		await bobs.close()

		// one use: the link is spent
		await page.reload()
		await page.waitForSelector('[data-testid=invitation-row]:has-text("used up")')
		const erins = await sessionOf(await Client.devUser(server.url, 'erin'))
		const late = await erins.newPage()
		await late.goto(url)
		await late.waitForSelector('h1:has-text("Invitation not valid")')
		expect(await late.locator('main').innerText()).toContain('used')
		await erins.close()
		await page.close()
	})

	it('signed out, the link says to sign in first; the sign-in comes back to it, and carol joins as viewer', async () => {
		const { url } = await alice.call<{ url: string }>('POST', '/namespaces/lab/invitations', { role: 'viewer' })
		const page = await carolContext.newPage()
		await page.goto(url)
		await page.waitForSelector('text=Sign in first')
		expect(await page.locator('[data-testid=invited-role]').textContent()).toBe('viewer')
		await page.click('a:has-text("Sign in to accept")')
		await page.waitForURL(/\/ui\/signin\?next=%2Fui%2Finvitations%2Fdli_/)
		await page.click('text=Sign in with vuer-auth')
		const link = await page.locator('a:has-text("Open vuer-auth")').getAttribute('href')
		const approve = await carolContext.newPage()
		await approve.goto(link!)
		await approve.fill('#username', 'carol')
		await approve.click('button[value=approve]')
		await approve.waitForSelector('text=Login approved')
		await approve.close()
		await page.waitForURL(url, { timeout: 15_000 })
		await page.click('button:has-text("Accept")')
		await page.waitForURL(`${server.url}/ui/n/lab`)
		expect(await page.locator('[data-testid=my-role]').textContent()).toBe('viewer')
		expect(await page.locator('.who').textContent()).toBe('carol')
		await page.close()
	})

	it('a viewer: the pages offer no write control, and a write sent as the page sends one answers 403', async () => {
		const page = await carolContext.newPage()
		await page.goto(`${server.url}/ui/n/lab`)
		await page.waitForSelector('[data-testid=project]')
		expect(await page.locator('[data-testid=role-says]').textContent()).toContain('cannot write')
		await page.goto(`${server.url}/ui/n/lab/projects/arm`)
		await page.waitForSelector('[data-testid=episode-row]')
		expect(await column(page, 7)).toEqual(['alice'])
		// what the project's visibility is, told; not a setting
		await page.waitForSelector('main [data-testid=visibility]:has-text("private")')
		expect(await page.locator('select[aria-label=Visibility]').count()).toBe(0)
		await page.goto(`${server.url}/ui/episodes/${run.id}`)
		await page.waitForSelector('text=Created by')
		expect(await page.locator('main select, main input[type=checkbox], main form').count()).toBe(0)
		await page.goto(`${server.url}/ui/n/lab/members`)
		await page.waitForSelector('[data-testid=member-row]')
		expect(await page.locator('[data-testid=role-says]').textContent()).toContain('You are a viewer here')
		expect(await page.locator('[data-testid=member-row]').evaluateAll((rows) => rows.map((row) => (row as any).dataset.username))).toEqual(['alice', 'bob', 'carol'])
		// the list, and her own Leave: nothing that changes anyone else
		expect(await page.locator('main form, main select').count()).toBe(0)
		expect(await page.locator('main button').allTextContents()).toEqual(['Leave'])
		await shot(page, 'viewer-members')
		const refused = await writeFromPage(page, 'PATCH', `/episodes/${run.id}`, { status: 'completed' })
		expect(refused.status).toBe(403)
		expect(refused.body).toMatchObject({ success: false, code: 'insufficient_role' })
		expect(refused.body.error).toContain('is viewer')
		expect((await alice.call('GET', `/episodes/${run.id}`)).status).toBe('running')
		await page.close()
	})

	it('a member demoted while the page is open: the change it still offers is refused, in the server\'s words', async () => {
		const bobs = await bobContext.newPage()
		await bobs.goto(`${server.url}/ui/episodes/${run.id}`)
		await bobs.waitForSelector('select[aria-label="Set status"]')
		const page = await aliceContext.newPage()
		await page.goto(`${server.url}/ui/n/lab/members`)
		await page.selectOption('select[aria-label="Role of bob"]', 'viewer')
		await page.waitForSelector('[role=status]:has-text("bob is now viewer.")')
		await bobs.selectOption('select[aria-label="Set status"]', 'completed')
		const alert = await bobs.waitForSelector('[role=alert]')
		expect(await alert.textContent()).toBe('Your role in "lab" is viewer, which cannot write here (members, admins and owners can); ask one of its owners or admins.')
		expect(await bobs.inputValue('select[aria-label="Set status"]')).toBe('running')
		await shot(bobs, 'demoted-refused')
		// drawn again, the page knows bob's role
		await bobs.reload()
		await bobs.waitForSelector('text=Created by')
		expect(await bobs.locator('select[aria-label="Set status"]').count()).toBe(0)
		await bobs.close()
		await page.close()
	})

	it('a member changes an episode\'s status and write protection on its overview', async () => {
		await alice.call('PATCH', '/namespaces/lab/members/bob', { role: 'member' })
		const bobs = await (await sessionOf(await Client.devUser(server.url, 'bob'))).newPage()
		await bobs.goto(`${server.url}/ui/episodes/${run.id}`)
		await bobs.selectOption('select[aria-label="Set status"]', 'completed')
		await bobs.waitForSelector('.toolbar .status-completed')
		expect((await alice.call('GET', `/episodes/${run.id}`)).status).toBe('completed')
		await bobs.click('input[aria-label=Write-protected]')
		await bobs.waitForSelector('text=no change is accepted')
		await bobs.selectOption('select[aria-label="Set status"]', 'failed')
		await bobs.waitForSelector('[role=alert]')
		expect((await alice.call('GET', `/episodes/${run.id}`)).status).toBe('completed')
		await bobs.click('input[aria-label=Write-protected]')
		await bobs.waitForSelector('text=no change is accepted', { state: 'detached' })
		expect((await alice.call('GET', `/episodes/${run.id}`)).writeProtected).toBe(false)
		await bobs.close()
	})

	it('owners add a person by username, change their role and remove them', async () => {
		const page = await aliceContext.newPage()
		await page.goto(`${server.url}/ui/n/lab/members`)
		expect(await page.locator('[data-testid=role-says]').textContent()).toContain('You are an owner here')
		await page.fill('input[aria-label=Username]', 'dave')
		await page.selectOption('select[aria-label=Role]', 'member')
		await page.click('button:has-text("Add")')
		await page.waitForSelector('[data-testid=member-row][data-username=dave]')
		await page.selectOption('select[aria-label="Role of dave"]', 'admin')
		await page.waitForSelector('[role=status]:has-text("dave is now admin.")')
		const members = (await alice.call<{ members: { username: string; role: string }[] }>('GET', '/namespaces/lab/members')).members
		expect(members.find((m) => m.username === 'dave')?.role).toBe('admin')
		await page.fill('input[aria-label=Username]', 'nobody-here')
		await page.click('button:has-text("Add")')
		await page.waitForSelector('[role=alert]:has-text("nobody-here")')
		await shot(page, 'members')
		const remove = page.locator('[data-testid=member-row][data-username=dave] button')
		await remove.click()
		expect(await remove.textContent()).toBe('Remove dave?')
		await remove.click()
		await page.waitForSelector('[role=status]:has-text("dave was removed.")')
		expect(await page.locator('[data-testid=member-row][data-username=dave]').count()).toBe(0)
		await page.close()
	})
})

describe('the API keys page', () => {
	it('makes a key whose secret is shown once and works as a Bearer token, then revokes it', async () => {
		const page = await aliceContext.newPage()
		await page.goto(`${server.url}/ui/n/lab/keys`)
		await page.waitForSelector('text=No API keys here yet.')
		await page.fill('input[aria-label="Key name"]', 'ci robot')
		await page.selectOption('select[aria-label="Key role"]', 'member')
		await page.selectOption('select[aria-label="Key expires in"]', '30d')
		await page.click('button:has-text("Create key")')
		const secret = await (await page.waitForSelector('[data-testid=key-secret]')).inputValue()
		expect(secret).toMatch(/^dlk_/)
		expect(await page.locator('[data-testid=new-key]').innerText()).toContain('it will not be shown again')
		await aliceContext.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: server.url })
		await page.click('[data-testid=new-key] button:has-text("Copy")')
		await page.waitForSelector('[data-testid=new-key] button:has-text("Copied")')
		expect(await page.evaluate(() => window.navigator.clipboard.readText())).toBe(secret)
		await shot(page, 'key-made')

		// what curl would send: the secret as a Bearer token, acting in the team
		const me = await fetch(`${server.url}/auth/me`, { headers: { authorization: `Bearer ${secret}` } })
		expect(me.status).toBe(200)
		expect(((await me.json()) as { namespace: { slug: string } }).namespace.slug).toBe('lab')
		const made = await fetch(`${server.url}/namespaces/lab/projects/arm/episodes`, { method: 'POST', headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' }, body: JSON.stringify({ name: 'ci-run' }) })
		expect(made.status).toBe(201)

		// listed without the secret, which no page shows again
		await page.reload()
		const row = page.locator('[data-testid=key-row][data-name="ci robot"]')
		await row.waitFor()
		expect(await row.locator('td:nth-child(2)').textContent()).toBe('member')
		expect(secret.startsWith((await row.locator('td:nth-child(3)').textContent())!.replace('…', ''))).toBe(true)
		expect(await row.locator('td:nth-child(4)').textContent()).toBe('alice')
		expect(await row.locator('[data-testid=key-state]').textContent()).toBe('active')
		expect(await page.content()).not.toContain(secret)

		// the episode the key made: alice's, through the key
		const episodes = await aliceContext.newPage()
		await episodes.goto(`${server.url}/ui/n/lab/projects/arm?order=name&dir=asc`)
		await episodes.waitForSelector('[data-testid=episode-row]')
		expect(await column(episodes, 2)).toEqual(['alice-run-1', 'ci-run'])
		expect(await column(episodes, 7)).toEqual(['alice', 'alice via key “ci robot”'])
		await shot(episodes, 'created-by')
		await episodes.close()

		await row.locator('button:has-text("Revoke")').click()
		await row.locator('button:has-text("Revoke “ci robot”?")').click()
		await page.waitForSelector('[data-testid=key-state]:has-text("revoked")')
		await shot(page, 'key-revoked')
		expect((await fetch(`${server.url}/auth/me`, { headers: { authorization: `Bearer ${secret}` } })).status).toBe(401)
		await page.close()
	})

	it('a viewer makes keys up to viewer only, and sees only their own', async () => {
		const page = await carolContext.newPage()
		await page.goto(`${server.url}/ui/n/lab/keys`)
		await page.waitForSelector('text=You have made no API key here yet.')
		expect(await page.locator('select[aria-label="Key role"] option').allTextContents()).toEqual(['viewer'])
		await page.close()
	})
})

describe('public projects, with no session', () => {
	it('an owner makes a project public on its page; a browser with no session reads it, read-only, with a Sign in link', async () => {
		await alice.episode('lab', 'secret-stuff', { name: 'hidden-run' })
		await alice.track(run.id, 'train', Array.from({ length: 50 }, (_, step) => ({ step, loss: 1 / (step + 1) })))
		const page = await aliceContext.newPage()
		await page.goto(`${server.url}/ui/n/lab/projects/arm`)
		await page.selectOption('select[aria-label=Visibility]', 'public')
		await page.waitForSelector('[role=status]:has-text("Now public")')
		await page.goto(`${server.url}/ui/n/lab`)
		await page.waitForSelector('[data-testid=project]')
		expect(await page.locator('[data-testid=project]:has-text("arm") [data-testid=visibility]').textContent()).toBe('public')
		expect(await page.locator('[data-testid=project]:has-text("secret-stuff") [data-testid=visibility]').textContent()).toBe('private')
		await shot(page, 'project-badges')
		await page.close()

		const anonymous = await fresh()
		const writes: string[] = []
		const guest = await anonymous.newPage()
		guest.on('request', (request) => request.method() !== 'GET' && writes.push(`${request.method()} ${request.url()}`))
		await guest.goto(`${server.url}/ui/n/lab`)
		await guest.waitForSelector('[data-testid=project]')
		expect(await guest.locator('[data-testid=project] h2').allTextContents()).toEqual(['arm'])
		expect(await guest.locator('[data-testid=my-role]').textContent()).toBe('guest')
		expect(await guest.locator('[data-testid=role-says]').textContent()).toContain('You are not signed in')
		expect(await guest.locator('[data-testid=sign-in]').textContent()).toBe('Sign in')
		expect(await guest.locator('.tabs').count()).toBe(0) // no members or keys pages for a guest
		await guest.click('.switcher summary')
		expect(await guest.locator('[data-testid=namespace-choice]').evaluateAll((els) => els.map((el) => (el as any).dataset.slug))).toEqual(['lab'])
		await guest.click('.switcher summary')
		await guest.click('[data-testid=project]:has-text("arm")')
		await guest.waitForSelector('[data-testid=episode-row]')
		expect(await column(guest, 7)).toEqual(['alice via key “ci robot”', 'alice']) // newest first
		await guest.waitForSelector('main [data-testid=visibility]:has-text("public")')
		expect(await guest.locator('select[aria-label=Visibility]').count()).toBe(0)
		await shot(guest, 'public-project')
		await guest.click('a:has-text("alice-run-1")')
		await guest.waitForSelector('text=Created by')
		expect(await guest.locator('main select, main input[type=checkbox], main form').count()).toBe(0)
		await guest.click('.tabs a:has-text("Tracks")')
		await guest.waitForSelector('[data-testid=tracks][data-drawn=all]')
		await guest.click('.tabs a:has-text("Logs")')
		await guest.waitForSelector('text=hello from alice')
		await shot(guest, 'public-episode')
		expect(writes).toEqual([])

		// what is not public asks the person to sign in, and comes back after
		await guest.goto(`${server.url}/ui/n/lab/projects/secret-stuff`)
		await guest.waitForURL(/\/ui\/signin\?next=%2Fui%2Fn%2Flab%2Fprojects%2Fsecret-stuff$/)
		await guest.goto(`${server.url}/ui/n/lab/projects/arm`)
		await guest.waitForSelector('[data-testid=episode-row]')
		await guest.click('[data-testid=sign-in]')
		await guest.waitForURL(/\/ui\/signin\?next=%2Fui%2Fn%2Flab%2Fprojects%2Farm$/)
		await anonymous.close()
	})

	it('at phone width the new pages fit: nothing makes the page scroll sideways', async () => {
		const phone = await browser.newContext({ viewport: { width: 390, height: 844 } })
		phone.on('page', (page) => page.on('pageerror', (error) => pageErrors.push(String(error))))
		await phone.addCookies([{ name: 'dreamlake_session', value: alice.token, url: server.url, httpOnly: true, sameSite: 'Strict' }])
		const page = await phone.newPage()
		for (const [path, ready] of [
			['/ui/n/lab', '[data-testid=project]'],
			['/ui/n/lab/members', '[data-testid=member-row]'],
			['/ui/n/lab/keys', '[data-testid=key-row]'],
			['/ui/n/lab/projects/arm', '[data-testid=episode-row]'],
			['/ui/teams/new', 'input[aria-label="Team slug"]'],
		] as const) {
			await page.goto(`${server.url}${path}`)
			await page.waitForSelector(ready)
			const { scrollWidth, innerWidth } = await page.evaluate(() => ({ scrollWidth: document.documentElement.scrollWidth, innerWidth: window.innerWidth }))
			expect({ path, scrollWidth }).toEqual({ path, scrollWidth: innerWidth })
		}
		await shot(page, 'phone-new-team')
		await page.goto(`${server.url}/ui/n/lab/members`)
		await page.waitForSelector('[data-testid=member-row]')
		await shot(page, 'phone-members')
		await phone.close()
	})

	it('no page threw a script error along the way', () => {
		expect(pageErrors).toEqual([])
	})
})
