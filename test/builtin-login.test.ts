import { afterAll, beforeAll, describe, expect, it, setDefaultTimeout } from 'bun:test'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { collect, dreamlakeCli, LOGIN_CODE, sdkLogsAnEpisode } from './support/cli-login'
import { runCli, spawnServer, type ServerProcess } from './support/process'
import { sdkSrc, storedToken } from './support/sdk'

// the real CLI polls every 5 seconds
setDefaultTimeout(60_000)
sdkSrc()

const PASSWORD = 'correct horse battery staple'
let dir: string
let server: ServerProcess
const env = { IDENTITY: 'builtin' }
beforeAll(async () => {
	dir = mkdtempSync(join(tmpdir(), 'dreamlake-builtin-'))
	server = await spawnServer(['serve', '--port', '0'], { cwd: dir, env })
})
afterAll(async () => {
	await server.stop()
	rmSync(dir, { recursive: true, force: true })
})

const user = (...args: string[]) => runCli(['user', ...args], { cwd: dir, env })
const form = (path: string, fields: Record<string, string>) =>
	fetch(`${server.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(fields) })

/** `user add`, then the link's page and form, as the person does; the link's path and query. */
async function addWithPassword(username: string, password = PASSWORD, ...flags: string[]): Promise<string> {
	const added = await user('add', username, ...flags)
	expect(added.code).toBe(0)
	const link = /https?:\/\/\S+\/idp\/set-password\?token=[\w-]+/.exec(added.stdout)![0]
	const path = link.slice(link.indexOf('/idp/'))
	const page = await fetch(`${server.url}${path}`)
	expect(page.status).toBe(200)
	expect(await page.text()).toContain(username)
	const set = await form('/idp/set-password', { token: new URL(link).searchParams.get('token')!, password, confirm: password })
	expect(set.status).toBe(200)
	expect(await set.text()).toContain('Password set')
	return path
}

describe('IDENTITY=builtin, end to end with the real CLI', () => {
	it('says so in its one start-up line, with the login command', () => {
		const line = server.output.find((l) => l.includes('listening'))!
		expect(JSON.parse(line)).toMatchObject({ identity: expect.stringContaining('builtin'), login: `VUER_AUTH_URL=${server.url}/idp dreamlake login --url ${server.url}` })
	})

	it('user add prints a one-time link; the page sets the password; the link then works no more', async () => {
		const path = await addWithPassword('linda')
		expect((await fetch(`${server.url}${path}`)).status).toBe(410)
		const token = new URL(`${server.url}${path}`).searchParams.get('token')!
		const replay = await form('/idp/set-password', { token, password: 'another password', confirm: 'another password' })
		expect(replay.status).toBe(410)
		const listed = await user('list')
		expect(listed.stdout).toMatch(/linda\s+no\s+active/)
		// the token is kept hashed: the database file never holds it
		expect(await Bun.file(join(dir, 'data', 'dreamlake.db')).text()).not.toContain(token)
	})

	it('dreamlake login approves its code with the password on /idp; profile shows the user; the SDK logs an episode with the token', async () => {
		await addWithPassword('alice', PASSWORD, '--admin')
		const home = mkdtempSync(join(dir, 'home-'))
		const idp = `${server.url}/idp`
		const login = dreamlakeCli(['login', '--url', server.url, '--no-browser'], home, { VUER_AUTH_URL: idp })
		const out = collect(login.stdout)
		const code = await out.until(LOGIN_CODE)
		expect(out.text).toContain(`${idp}/device`)

		const page = await fetch(`${idp}/device?code=${code.replace('-', '')}`)
		expect(page.status).toBe(200)
		expect(await page.text()).toContain(`value="${code}"`)
		const wrong = await form('/idp/device', { code, username: 'alice', password: 'not the password', action: 'approve' })
		expect(wrong.status).toBe(401)
		const wrongText = await wrong.text()
		expect(wrongText).toContain('The username or password is wrong.')
		expect(wrongText).not.toContain('not the password')
		const approve = await form('/idp/device', { code, username: 'ALICE', password: PASSWORD, action: 'approve' })
		expect(approve.status).toBe(200)
		expect(await approve.text()).toContain('Login approved')

		expect(await login.exited).toBe(0)
		await out.done
		expect(out.text).toContain('Logged in successfully')
		const token = await storedToken(home)
		expect(token).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+$/)

		const profile = dreamlakeCli(['profile', '--url', server.url], home)
		const shown = await new Response(profile.stdout).text()
		expect(await profile.exited).toBe(0)
		expect(shown).toContain('alice')
		expect(shown).toContain('builtin|')

		await sdkLogsAnEpisode(home, server.url, 'builtin-lab/run-1')
		const episode = await fetch(`${server.url}/namespaces/alice/projects/builtin-lab/episodes/run-1`, { headers: { authorization: `Bearer ${token}` } })
		expect(episode.status).toBe(200)

		// the code was used: approving it again is refused
		const again = await form('/idp/device', { code, username: 'alice', password: PASSWORD, action: 'approve' })
		expect(again.status).toBe(400)
		expect(await again.text()).toMatch(/no login waiting|used already/)

		// user disable: the token the CLI holds stops working at the next request, and the password signs in no more
		expect((await fetch(`${server.url}/auth/me`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(200)
		const disabled = await user('disable', 'alice')
		expect(disabled.code).toBe(0)
		const after = await fetch(`${server.url}/auth/me`, { headers: { authorization: `Bearer ${token}` } })
		expect(after.status).toBe(401)
		expect(((await after.json()) as { code: string }).code).toBe('token_revoked')
		const signIn = await fetch(`${server.url}/auth/password/sign-in`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-dreamlake-csrf': '1' }, body: JSON.stringify({ username: 'alice', password: PASSWORD }) })
		expect(signIn.status).toBe(403)
		expect(((await signIn.json()) as { code: string }).code).toBe('account_disabled')
		expect((await user('list')).stdout).toMatch(/alice\s+yes\s+disabled/)
	})

	it('a denied code ends the CLI with no token', async () => {
		const home = mkdtempSync(join(dir, 'home-'))
		const login = dreamlakeCli(['login', '--url', server.url, '--no-browser'], home, { VUER_AUTH_URL: `${server.url}/idp` })
		const out = collect(login.stdout)
		const code = await out.until(LOGIN_CODE)
		expect((await form('/idp/device', { code, action: 'deny' })).status).toBe(200)
		expect(await login.exited).toBe(1)
		await out.done
		expect(out.text).toContain('Authorization denied')
		expect(await storedToken(home)).toBeNull()
	})

	it('user commands explain what is wrong', async () => {
		expect((await user('add', 'linda')).stderr).toContain('already an account "linda"')
		expect((await user('disable', 'nobody')).stderr).toContain('no account "nobody"')
		expect((await user('add', '-bad-')).code).not.toBe(0)
		expect((await user('frob')).code).toBe(2)
	})
})
