import { afterAll, beforeAll, describe, expect, it, setDefaultTimeout } from 'bun:test'
import { Database } from 'bun:sqlite'
import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { SETTINGS } from '../src/config'
import { KeyServer, newIdentity } from './support/key-server'
import { runCli, spawnServer } from './support/process'

// each test starts real server processes
setDefaultTimeout(30_000)

let keys: KeyServer
let dir: string
beforeAll(async () => {
	keys = await KeyServer.start()
	dir = mkdtempSync(join(tmpdir(), 'dreamlake-cli-'))
})
afterAll(() => {
	keys.stop()
	rmSync(dir, { recursive: true, force: true })
})

describe('the server process', () => {
	it('starts with zero configuration: creates ./data, the database and a 0600 secret, and serves', async () => {
		const cwd = mkdtempSync(join(dir, 'zero-'))
		const server = await spawnServer(['--port', '0'], { cwd })
		try {
			expect(await (await fetch(`${server.url}/health`)).json()).toEqual({ status: 'ok' })
			expect(existsSync(join(cwd, 'data', 'dreamlake.db'))).toBe(true)
			expect(statSync(join(cwd, 'data', 'jwt-secret')).mode & 0o777).toBe(0o600)
		} finally {
			expect(await server.stop()).toBe(0)
		}
	})

	it('runs a full exchange → me → patch over HTTP, and tokens survive a restart', async () => {
		const cwd = mkdtempSync(join(dir, 'flow-'))
		const env = { VUER_AUTH_JWKS_URL: keys.jwksUrl }
		let server = await spawnServer(['serve', '--port', '0'], { cwd, env })
		let token: string
		try {
			const exchange = await fetch(`${server.url}/auth/exchange`, { method: 'POST', headers: { authorization: `Bearer ${await keys.mint(newIdentity({ username: 'flow' }))}` } })
			expect(exchange.status).toBe(200)
			token = ((await exchange.json()) as { dreamlake_token: string }).dreamlake_token
			const patched = await fetch(`${server.url}/auth/me`, { method: 'PATCH', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify({ name: 'Flow' }) })
			expect(patched.status).toBe(200)
		} finally {
			expect(await server.stop()).toBe(0)
		}
		server = await spawnServer(['--port', '0'], { cwd, env })
		try {
			const me = await fetch(`${server.url}/auth/me`, { headers: { authorization: `Bearer ${token}` } })
			expect(me.status).toBe(200)
			expect(await me.json()).toMatchObject({ username: 'flow', name: 'Flow', namespace: { slug: 'flow' } })
		} finally {
			expect(await server.stop('SIGINT')).toBe(0)
		}
	})

	it('refuses a body over the limit by its Content-Length, over real HTTP', async () => {
		const cwd = mkdtempSync(join(dir, 'limit-'))
		const server = await spawnServer(['--port', '0'], { cwd, env: { VUER_AUTH_JWKS_URL: keys.jwksUrl } })
		try {
			const response = await fetch(`${server.url}/auth/me`, { method: 'PATCH', headers: { 'content-type': 'application/json' }, body: 'x'.repeat(1024 * 1024) })
			expect(response.status).toBe(413)
			expect(((await response.json()) as { code: string }).code).toBe('payload_too_large')
		} finally {
			await server.stop()
		}
	})

	it('reads a .env file in the working directory', async () => {
		const cwd = mkdtempSync(join(dir, 'dotenv-'))
		writeFileSync(join(cwd, '.env'), 'DATABASE_URL=./from-dotenv/db.sqlite\n')
		const server = await spawnServer(['--port', '0'], { cwd })
		expect(await server.stop()).toBe(0)
		expect(existsSync(join(cwd, 'from-dotenv', 'db.sqlite'))).toBe(true)
	})

	it('logs where everything is, and never the secret', async () => {
		const cwd = mkdtempSync(join(dir, 'log-'))
		const secret = 'a-configured-secret-of-at-least-32-bytes'
		const server = await spawnServer(['--port', '0'], { cwd, env: { JWT_SECRET: secret } })
		await server.stop()
		const text = server.output.join('\n')
		expect(text).toContain('"database":"./data/dreamlake.db"')
		expect(text).not.toContain(secret)
	})
})

describe('graceful shutdown', () => {
	it('SIGTERM lets an in-flight request finish, then exits 0 with the database closed cleanly', async () => {
		const cwd = mkdtempSync(join(dir, 'drain-'))
		const hanging = await KeyServer.start()
		hanging.mode = 'hang' // an exchange now waits for the key set until the fetch times out (3 s)
		const server = await spawnServer(['--port', '0'], { cwd, env: { VUER_AUTH_JWKS_URL: hanging.jwksUrl } })
		try {
			const inFlight = fetch(`${server.url}/auth/exchange`, { method: 'POST', headers: { authorization: `Bearer ${await hanging.mint(newIdentity())}` } })
			await Bun.sleep(200)
			server.process.kill('SIGTERM')
			const response = await inFlight
			expect(response.status).toBe(503)
			expect(await server.process.exited).toBe(0)
			expect(existsSync(join(cwd, 'data', 'dreamlake.db-wal'))).toBe(false) // checkpointed and closed
		} finally {
			hanging.stop()
		}
	})
})

describe('development mode (serve --dev)', () => {
	it('runs exchange → me → patch offline with tokens from its stand-in provider, and says so loudly', async () => {
		const cwd = mkdtempSync(join(dir, 'dev-'))
		const server = await spawnServer(['serve', '--dev', '--port', '0'], { cwd })
		try {
			expect(server.output.join('\n')).toContain('DEVELOPMENT MODE')
			const minted = await fetch(`${server.url}/dev/vuer-auth/token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'devalice' }) })
			expect(minted.status).toBe(200)
			expect(minted.headers.get('x-dreamlake-dev-mode')).toBe('on')
			const { token } = (await minted.json()) as { token: string }
			const exchange = await fetch(`${server.url}/auth/exchange`, { method: 'POST', headers: { authorization: `Bearer ${token}` } })
			expect(exchange.status).toBe(200)
			const { dreamlake_token } = (await exchange.json()) as { dreamlake_token: string }
			const me = await fetch(`${server.url}/auth/me`, { headers: { authorization: `Bearer ${dreamlake_token}` } })
			expect(await me.json()).toMatchObject({ sub: 'dev|devalice', username: 'devalice', namespace: { slug: 'devalice' } })

			// the command line mints from the same key, kept in the data folder
			const cli = await runCli(['dev-token', 'devbob'], { cwd })
			expect(cli.code).toBe(0)
			const second = await fetch(`${server.url}/auth/exchange`, { method: 'POST', headers: { authorization: `Bearer ${cli.stdout.trim()}` } })
			expect(second.status).toBe(200)
			expect(statSync(join(cwd, 'data', 'dev-idp-key.json')).mode & 0o777).toBe(0o600)
		} finally {
			expect(await server.stop()).toBe(0)
		}
	})

	it('trusts dev tokens only under --dev', async () => {
		const cwd = mkdtempSync(join(dir, 'nodev-'))
		const token = (await runCli(['dev-token', 'mallory'], { cwd })).stdout.trim()
		const server = await spawnServer(['--port', '0'], { cwd, env: { VUER_AUTH_JWKS_URL: keys.jwksUrl } })
		try {
			const exchange = await fetch(`${server.url}/auth/exchange`, { method: 'POST', headers: { authorization: `Bearer ${token}` } })
			expect(exchange.status).toBe(401)
			expect((await fetch(`${server.url}/dev/vuer-auth/jwks`)).status).toBe(404)
		} finally {
			await server.stop()
		}
	})

	it('trusts its stand-in only: VUER_AUTH_ISSUER and VUER_AUTH_AUDIENCE left in the environment are ignored, and it says so', async () => {
		const cwd = mkdtempSync(join(dir, 'dev-iss-'))
		const server = await spawnServer(['serve', '--dev', '--port', '0'], { cwd, env: { VUER_AUTH_ISSUER: 'https://auth.vuer.ai', VUER_AUTH_AUDIENCE: 'dreamlake-prod' } })
		try {
			expect(server.output.join('\n')).toContain('VUER_AUTH_ISSUER, VUER_AUTH_AUDIENCE ignored')
			const token = (await runCli(['dev-token', 'devcarol'], { cwd })).stdout.trim()
			const exchange = await fetch(`${server.url}/auth/exchange`, { method: 'POST', headers: { authorization: `Bearer ${token}` } })
			expect(exchange.status).toBe(200)
		} finally {
			await server.stop()
		}
	})

	it('refuses to start on a non-loopback address', async () => {
		const { code, stderr } = await runCli(['serve', '--dev', '--host', '0.0.0.0', '--port', '0'], { cwd: mkdtempSync(join(dir, 'devhost-')) })
		expect(code).toBe(1)
		expect(stderr).toContain('loopback')
	})

	it('cannot be switched on by the environment', async () => {
		const cwd = mkdtempSync(join(dir, 'devenv-'))
		const server = await spawnServer(['--port', '0'], { cwd, env: { DEV: '1', DREAMLAKE_DEV: '1', NODE_ENV: 'development' } })
		try {
			expect((await fetch(`${server.url}/dev/vuer-auth/jwks`)).status).toBe(404)
		} finally {
			await server.stop()
		}
	})
})

describe('backup', () => {
	it('writes a consistent copy of a live database, and never overwrites', async () => {
		const cwd = mkdtempSync(join(dir, 'backup-'))
		const server = await spawnServer(['--port', '0'], { cwd, env: { VUER_AUTH_JWKS_URL: keys.jwksUrl } })
		try {
			const burst = Array.from({ length: 30 }, async () =>
				fetch(`${server.url}/auth/exchange`, { method: 'POST', headers: { authorization: `Bearer ${await keys.mint(newIdentity())}` } }),
			)
			await Bun.sleep(20)
			const { code, stdout } = await runCli(['backup', 'backups/copy.db'], { cwd })
			expect(code).toBe(0)
			expect(stdout).toContain('backup written')
			await Promise.all(burst)
			const copy = new Database(join(cwd, 'backups', 'copy.db'), { readonly: true })
			expect(copy.query('PRAGMA integrity_check').get()).toEqual({ integrity_check: 'ok' })
			const { users, namespaces } = copy.query('SELECT (SELECT count(*) FROM users) AS users, (SELECT count(*) FROM namespaces) AS namespaces').get() as { users: number; namespaces: number }
			expect(users).toBe(namespaces)
			copy.close()
			const again = await runCli(['backup', 'backups/copy.db'], { cwd })
			expect(again.code).toBe(1)
			expect(again.stderr).toContain('refusing to overwrite')

			// into a folder: named by the time, so a second backup the same day (the same second, even) is kept beside the first
			const named: string[] = []
			for (let i = 0; i < 2; i++) {
				const run = await runCli(['backup', 'nightly/'], { cwd })
				expect(run.code).toBe(0)
				named.push(JSON.parse(run.stdout.trim().split('\n').at(-1)!).to)
			}
			expect(named[0]).toMatch(/^nightly\/dreamlake-\d{4}-\d\d-\d\dT\d\d-\d\d-\d\dZ(-2)?\.db$/)
			expect(named[1]).not.toBe(named[0])
			for (const path of named) expect(new Database(join(cwd, path), { readonly: true }).query('PRAGMA integrity_check').get()).toEqual({ integrity_check: 'ok' })
			expect(existsSync(join(cwd, `${named[1]}.files`))).toBe(true)
		} finally {
			await server.stop()
		}
	})
})

describe('the command line', () => {
	it('--help documents every command, flag and environment variable with its default', async () => {
		const { stdout, code } = await runCli(['--help'], { cwd: dir })
		expect(code).toBe(0)
		for (const command of ['serve', 'migrate', 'backup <target>', 'dev-token <username>', 'version', 'help', '--dev']) expect(stdout).toContain(command)
		for (const setting of SETTINGS) {
			expect(stdout).toContain(setting.flag)
			expect(stdout).toContain(setting.env)
			if ('default' in setting) expect(stdout).toContain(setting.default)
		}
	})

	it('version prints the package version and commit', async () => {
		const { stdout, code } = await runCli(['version'], { cwd: dir })
		expect(code).toBe(0)
		expect(stdout).toMatch(/^dreamlake-server \d+\.\d+\.\d+ \([0-9a-f]{7,}(-dirty)?|unknown\)/)
		expect((await runCli(['--version'], { cwd: dir })).stdout).toBe(stdout)
	})

	it('migrate applies migrations and exits', async () => {
		const cwd = mkdtempSync(join(dir, 'migrate-'))
		const first = await runCli(['migrate'], { cwd })
		expect(first.code).toBe(0)
		expect(first.stdout).toContain('database migrated')
		const second = await runCli(['migrate'], { cwd })
		expect(second.stdout).toContain('already up to date')
	})

	it('exits 2 with a sentence for an unknown command or flag', async () => {
		const command = await runCli(['frobnicate'], { cwd: dir })
		expect(command.code).toBe(2)
		expect(command.stderr).toContain('Unknown command "frobnicate"')
		const flag = await runCli(['serve', '--no-such-flag', 'x'], { cwd: dir })
		expect(flag.code).toBe(2)
		expect(flag.stderr).toContain('Unknown flag "--no-such-flag"')
	})

	it('exits non-zero before listening when a setting is invalid, naming the variable', async () => {
		const { code, stderr, stdout } = await runCli([], { cwd: dir, env: { JWT_SECRET: 'too-short' } })
		expect(code).toBe(1)
		expect(stderr).toContain('JWT_SECRET')
		expect(stderr).not.toContain('too-short')
		expect(stdout).not.toContain('listening')
		const flag = await runCli(['--port', 'http'], { cwd: dir })
		expect(flag.code).toBe(1)
		expect(flag.stderr).toContain('PORT')
	})

	it('exits 1 naming PORT when the port is taken, before the database is opened', async () => {
		const blocker = Bun.serve({ hostname: '127.0.0.1', port: 0, fetch: () => new Response() })
		try {
			const cwd = mkdtempSync(join(dir, 'port-'))
			const { code, stderr } = await runCli(['--port', String(blocker.port)], { cwd })
			expect(code).toBe(1)
			expect(stderr).toContain(`PORT: port ${blocker.port} on 127.0.0.1 is already in use`)
			expect(existsSync(join(cwd, 'data'))).toBe(false)
		} finally {
			blocker.stop(true)
		}
	})

	it('exits 1 naming HOST when it is not an address of this machine, before the database is opened', async () => {
		for (const host of ['not-a-host', '999.1.1.1', '192.0.2.1']) {
			const cwd = mkdtempSync(join(dir, 'host-'))
			const { code, stderr } = await runCli(['--port', '0'], { cwd, env: { HOST: host } })
			expect(code).toBe(1)
			expect(stderr).toContain(`HOST: cannot listen on "${host}"`)
			expect(stderr).not.toContain('EINVAL')
			expect(existsSync(join(cwd, 'data'))).toBe(false)
		}
	})

	it('names the path and the setting when the data folder cannot be written', async () => {
		// a read-only file system: the one refusal root meets too (CI runs as root)
		if (process.getuid?.() !== 0) throw new Error('this test mounts a read-only tmpfs and needs root (run it as root, as CI does)')
		const mount = mkdtempSync(join(dir, 'readonly-'))
		expect(Bun.spawnSync(['mount', '-t', 'tmpfs', '-o', 'ro,size=1m', 'tmpfs', mount]).exitCode).toBe(0)
		try {
			const folder = await runCli(['--port', '0'], { cwd: dir, env: { DATABASE_URL: join(mount, 'data', 'dreamlake.db') } })
			expect(folder.code).toBe(1)
			expect(folder.stderr).toContain(`the data folder ${join(mount, 'data')} is on a read-only file system`)
			expect(folder.stderr).toContain('DATABASE_URL')
			// with a secret given, the first file the server makes is its lock
			const file = await runCli(['--port', '0'], { cwd: dir, env: { DATABASE_URL: join(mount, 'dreamlake.db'), JWT_SECRET: 'a-secret-of-at-least-32-bytes-for-this-test' } })
			expect(file.code).toBe(1)
			expect(file.stderr).toContain(join(mount, 'dreamlake.db.lock'))
			expect(file.stderr).toContain('DATABASE_URL')
			expect(file.stderr).not.toContain('SQLITE_')
		} finally {
			Bun.spawnSync(['umount', mount])
		}
	})
})
