import { afterAll, beforeAll, describe, expect, it, setDefaultTimeout } from 'bun:test'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { spawnServer, type ServerProcess } from './support/process'
import { pythonEnv, sdkSrc, storedToken } from './support/sdk'
import { PYTHON } from './support/setup'

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

/** Runs `python3 -m dreamlake.cli <args>` with its own HOME, where it keeps its token (in a keyring file there, or ~/.dreamlake). */
function cli(args: string[], home: string, env: Record<string, string> = {}) {
	return Bun.spawn([PYTHON, '-m', 'dreamlake.cli', ...args], {
		cwd: home,
		env: { ...pythonEnv(home), COLUMNS: '120', ...env },
		stdout: 'pipe',
		stderr: 'pipe',
	})
}

/** Reads a stream to its end in the background; `until` waits for what it has printed to match. */
function collect(stream: ReadableStream<Uint8Array>) {
	let text = ''
	const decoder = new TextDecoder()
	const done = (async () => {
		for await (const chunk of stream) text += decoder.decode(chunk, { stream: true })
	})()
	return {
		done,
		get text() {
			return text
		},
		async until(pattern: RegExp): Promise<string> {
			for (let waited = 0; waited < 15_000; waited += 50) {
				const match = pattern.exec(text)
				if (match) return match[0]
				await Bun.sleep(50)
			}
			throw new Error(`never printed ${pattern}:\n${text}`)
		},
	}
}

describe('dreamlake login against serve --dev, offline, with the real CLI', () => {
	it('logs in through the device flow approved on the page, stores the token, and profile shows the user', async () => {
		const home = mkdtempSync(join(dir, 'home-'))
		const vuerAuth = `${server.url}/dev/vuer-auth`
		// the very line the server printed at start
		expect(server.output.join('\n')).toContain(`VUER_AUTH_URL=${vuerAuth} dreamlake login --url ${server.url}`)

		const login = cli(['login', '--url', server.url, '--no-browser'], home, { VUER_AUTH_URL: vuerAuth })
		const out = collect(login.stdout)
		const code = await out.until(/[A-HJKMNP-Z2-9]{4}-[A-HJKMNP-Z2-9]{4}/)
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
		const code = await out.until(/[A-HJKMNP-Z2-9]{4}-[A-HJKMNP-Z2-9]{4}/)
		const deny = await fetch(`${vuerAuth}/device`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ code, action: 'deny' }) })
		expect(deny.status).toBe(200)
		expect(await login.exited).toBe(1)
		await out.done
		expect(out.text).toContain('Authorization denied')
		expect(await storedToken(home)).toBeNull()
	})
})
