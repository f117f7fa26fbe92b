import { afterAll, beforeAll, describe, expect, it, setDefaultTimeout } from 'bun:test'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { spawnServer, type ServerProcess } from './support/process'
import { collect, dreamlakeCli as cli, LOGIN_CODE } from './support/cli-login'
import { sdkSrc, storedToken } from './support/sdk'

// the real CLI polls every 5 seconds
setDefaultTimeout(60_000)

// the real DreamLake SDK and CLI on Debian's Python: found before the first test, or the file fails saying what is missing
sdkSrc()

let dir: string
let server: ServerProcess
beforeAll(async () => {
	dir = mkdtempSync(join(tmpdir(), 'dreamlake-cli-login-'))
	server = await spawnServer(['serve', '--dev', '--port', '0'], { cwd: dir })
})
afterAll(async () => {
	await server.stop()
	rmSync(dir, { recursive: true, force: true })
})

describe('dreamlake login against serve --dev, offline, with the real CLI', () => {
	it('logs in through the device flow approved on the page, stores the token, and profile shows the user', async () => {
		const home = mkdtempSync(join(dir, 'home-'))
		const vuerAuth = `${server.url}/dev/vuer-auth`
		// the very line the server printed at start
		expect(server.output.join('\n')).toContain(`VUER_AUTH_URL=${vuerAuth} dreamlake login --url ${server.url}`)

		const login = cli(['login', '--url', server.url, '--no-browser'], home, { VUER_AUTH_URL: vuerAuth })
		const out = collect(login.stdout)
		const code = await out.until(LOGIN_CODE)
		expect(out.text).toContain(`${vuerAuth}/device`)

		// what a browser does: open the page, then send its form
		const page = await fetch(`${vuerAuth}/device?code=${code.replace('-', '')}`)
		expect(page.status).toBe(200)
		expect(await page.text()).toContain(`value="${code}"`)
		const approve = await fetch(`${vuerAuth}/device`, {
			method: 'POST',
			headers: { 'content-type': 'application/x-www-form-urlencoded' },
			body: new URLSearchParams({ code, username: 'offline-olga', name: 'Olga Offline', email: 'olga@example.org', action: 'approve' }),
		})
		expect(approve.status).toBe(200)

		expect(await login.exited).toBe(0)
		await out.done
		expect(out.text).toContain('Logged in successfully')
		// stored where the SDK's own storage finds it again: the keyring when `keyring` is installed, else ~/.dreamlake
		expect(await storedToken(home)).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+$/)

		const profile = cli(['profile', '--url', server.url], home)
		const shown = await new Response(profile.stdout).text()
		expect(await profile.exited).toBe(0)
		expect(shown).toContain('offline-olga')
		expect(shown).toContain('Olga Offline')
		expect(shown).toContain('dev|offline-olga')
	})

	it('a denied login ends the CLI with the reason and no token', async () => {
		const home = mkdtempSync(join(dir, 'home-'))
		const vuerAuth = `${server.url}/dev/vuer-auth`
		const login = cli(['login', '--url', server.url, '--no-browser'], home, { VUER_AUTH_URL: vuerAuth })
		const out = collect(login.stdout)
		const code = await out.until(LOGIN_CODE)
		const deny = await fetch(`${vuerAuth}/device`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ code, action: 'deny' }) })
		expect(deny.status).toBe(200)
		expect(await login.exited).toBe(1)
		await out.done
		expect(out.text).toContain('Authorization denied')
		expect(await storedToken(home)).toBeNull()
	})
})
