import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createApp } from '../src/app'
import { DreamlakeTokens } from '../src/auth/dreamlake-token'
import { VuerAuthVerifier } from '../src/auth/vuer-auth'
import { closeDatabase, openDatabase, type Db } from '../src/db/client'
import { migrateDatabase } from '../src/db/migrate'
import { DEV_ISSUER, DevIdentityProvider } from '../src/dev/identity-provider'
import { DeviceFlows } from '../src/dev/device-flow'
import { withOperations } from '../src/http/operations'
import { createLogger } from '../src/log'
import { LocalFileStore } from '../src/storage/local'
import { Harness } from './support/harness'

/** The app as `serve --dev` builds it: trusting only its stand-in provider, whose device flow is under test. */
async function devApp(codeTtlMs?: number) {
	const dir = mkdtempSync(join(tmpdir(), 'dreamlake-device-'))
	const db: Db = openDatabase(join(dir, 'dreamlake.db'))
	migrateDatabase(db)
	const log = createLogger({ format: 'json', write: () => {} })
	const devIdp = await DevIdentityProvider.open(null, { codeTtlMs })
	const vuerAuth = new VuerAuthVerifier({ jwksUrl: 'http://127.0.0.1:9/none', algorithms: ['EdDSA'], publicKey: JSON.stringify(devIdp.publicJwk), issuer: DEV_ISSUER }, log)
	const tokens = await DreamlakeTokens.create({ secret: 's'.repeat(48), issuer: 'dreamlake', audience: 'dreamlake', expiresInSeconds: 3600 })
	const app = createApp({ db, vuerAuth, tokens, log, devIdp, fileStore: new LocalFileStore(join(dir, 'files')) })
	const fetch = withOperations(app.fetch, { log, devMode: true })
	const call = async (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) => {
		const form = typeof body === 'string'
		const response = await fetch(
			new Request(`http://127.0.0.1:10334${path}`, {
				method,
				headers: { ...(body !== undefined && { 'content-type': form ? 'application/x-www-form-urlencoded' : 'application/json' }), ...headers },
				...(body !== undefined && { body: form ? body : JSON.stringify(body) }),
			}),
		)
		const text = await response.text()
		return { status: response.status, headers: response.headers, text, json: response.headers.get('content-type')?.includes('json') ? JSON.parse(text) : undefined }
	}
	return { call, devIdp, close: () => (closeDatabase(db), rmSync(dir, { recursive: true, force: true })) }
}

const hashOf = (secret: string) => new Bun.CryptoHasher('sha256').update(secret).digest('hex')
const newDevice = () => hashOf(crypto.randomUUID())

type DevApp = Awaited<ReturnType<typeof devApp>>
let app: DevApp
beforeAll(async () => {
	app = await devApp()
})
afterAll(() => app.close())

const start = (hash: string) => app.call('POST', '/dev/vuer-auth/api/device/start', { client_id: 'dreamlake-cli', scope: 'openid profile email', device_secret_hash: hash })
const poll = (hash: string) => app.call('POST', '/dev/vuer-auth/api/device/poll', { client_id: 'dreamlake-cli', device_secret_hash: hash })
const decide = (code: string, fields: Record<string, string>) => app.call('POST', '/dev/vuer-auth/device', new URLSearchParams({ code, ...fields }).toString())

describe('POST /dev/vuer-auth/api/device/start', () => {
	it('answers a code, the page, its link with the code, the lifetime and the interval, as vuer-auth does', async () => {
		const { status, json } = await start(newDevice())
		expect(status).toBe(200)
		expect(json).toEqual({
			device_code: expect.any(String),
			user_code: expect.stringMatching(/^[A-HJKMNP-Z2-9]{4}-[A-HJKMNP-Z2-9]{4}$/),
			verification_uri: 'http://127.0.0.1:10334/dev/vuer-auth/device',
			verification_uri_complete: `http://127.0.0.1:10334/dev/vuer-auth/device?code=${json.user_code.replace('-', '')}`,
			expires_in: 600,
			interval: 5,
		})
	})

	it('422 for a device_secret_hash that is no sha256', async () => {
		const { status, json } = await app.call('POST', '/dev/vuer-auth/api/device/start', { client_id: 'dreamlake-cli', device_secret_hash: 'abc' })
		expect(status).toBe(422)
		expect(json.field).toBe('device_secret_hash')
	})
})

describe('POST /dev/vuer-auth/api/device/poll', () => {
	it('authorization_pending until the person approves, then a token of the stand-in provider for the username, once', async () => {
		const device = newDevice()
		const { json: flow } = await start(device)
		const pending = await poll(device)
		expect(pending.status).toBe(400)
		expect(pending.json).toMatchObject({ error: 'authorization_pending', error_description: expect.any(String) })
		const approved = await decide(flow.user_code, { username: 'dana', name: 'Dana D', email: 'dana@example.org', action: 'approve' })
		expect(approved.status).toBe(200)
		expect(approved.text).toContain('Signed in as <strong>dana</strong>')
		await Bun.sleep(4100) // the CLI polls every 5 s; a poll a second early still passes
		const granted = await poll(device)
		expect(granted.status).toBe(200)
		expect(granted.json).toEqual({ access_token: expect.any(String), token_type: 'Bearer', expires_in: 3600 })
		// the token is the stand-in's, for the username typed, and a dreamlake token is traded for it
		const exchange = await app.call('POST', '/auth/exchange', undefined, { authorization: `Bearer ${granted.json.access_token}` })
		expect(exchange.status).toBe(200)
		expect(exchange.json.user).toMatchObject({ username: 'dana', name: 'Dana D', email: 'dana@example.org', sub: 'dev|dana' })
		// handed out once: the next poll finds nothing waiting
		expect((await poll(device)).json.error).toBe('invalid_grant')
	})

	it('slow_down for a poll faster than the interval', async () => {
		const device = newDevice()
		await start(device)
		expect((await poll(device)).json.error).toBe('authorization_pending')
		expect((await poll(device)).json.error).toBe('slow_down')
	})

	it('access_denied once the person denies, then nothing', async () => {
		const device = newDevice()
		const { json: flow } = await start(device)
		const denied = await decide(flow.user_code, { action: 'deny' })
		expect(denied.status).toBe(200)
		expect(denied.text).toContain('Login denied')
		expect((await poll(device)).json.error).toBe('access_denied')
		expect((await poll(device)).json.error).toBe('invalid_grant')
	})

	it('invalid_grant for another device_secret_hash than the one that started the flow, never a token', async () => {
		const device = newDevice()
		const { json: flow } = await start(device)
		await decide(flow.user_code, { username: 'erin', action: 'approve' })
		const other = await poll(newDevice())
		expect(other.status).toBe(400)
		expect(other.json.error).toBe('invalid_grant')
		expect(other.json.access_token).toBeUndefined()
	})

	it('expired_token once the code has expired, approved or not', async () => {
		const short = await devApp(150)
		try {
			const device = newDevice()
			const { json: flow } = await short.call('POST', '/dev/vuer-auth/api/device/start', { device_secret_hash: device })
			await Bun.sleep(200)
			const late = await short.call('POST', '/dev/vuer-auth/device', new URLSearchParams({ code: flow.user_code, username: 'late', action: 'approve' }).toString())
			expect(late.status).toBe(400)
			expect(late.text).toContain('This code has expired')
			const polled = await short.call('POST', '/dev/vuer-auth/api/device/poll', { device_secret_hash: device })
			expect(polled.json.error).toBe('expired_token')
		} finally {
			short.close()
		}
	})

	it('a second start from the same device replaces the first code', async () => {
		const device = newDevice()
		const first = (await start(device)).json
		const second = (await start(device)).json
		expect(second.user_code).not.toBe(first.user_code)
		expect((await decide(first.user_code, { username: 'frank', action: 'approve' })).text).toContain('There is no login waiting for this code')
	})
})

describe('GET and POST /dev/vuer-auth/device (the approval page)', () => {
	it('shows the code from the link in a form, with no script and a strict content security policy', async () => {
		const { json: flow } = await start(newDevice())
		const page = await app.call('GET', `/dev/vuer-auth/device?code=${flow.user_code.replace('-', '').toLowerCase()}`)
		expect(page.status).toBe(200)
		expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8')
		expect(page.headers.get('content-security-policy')).toContain("default-src 'none'")
		expect(page.text).toContain(`value="${flow.user_code}"`)
		expect(page.text).not.toContain('<script')
	})

	it('takes the code typed with or without its dash, in any case', async () => {
		const device = newDevice()
		const { json: flow } = await start(device)
		const typed = ` ${flow.user_code.replace('-', ' ').toLowerCase()} `
		expect((await decide(typed, { username: 'gina', action: 'approve' })).status).toBe(200)
	})

	it('sends the person back where the sign-in started: the terminal for dreamlake login, the dashboard for its sign-in', async () => {
		const { json: cli } = await start(newDevice())
		const fromCli = await decide(cli.user_code, { username: 'hal', action: 'approve' })
		expect(fromCli.text).toContain('Go back to your terminal')
		expect(fromCli.text).not.toContain('dashboard')
		// the dashboard's sign-in (POST /auth/device/start) starts its flow in-process, through this authority
		const dashboard = await app.devIdp.deviceAuthority().start(newDevice(), 'http://127.0.0.1:10334')
		const fromDashboard = await decide(dashboard.userCode, { username: 'ida', action: 'approve' })
		expect(fromDashboard.text).toContain('Go back to the dashboard')
		expect(fromDashboard.text).not.toContain('terminal')
		const denied = await decide((await app.devIdp.deviceAuthority().start(newDevice(), 'http://127.0.0.1:10334')).userCode, { action: 'deny' })
		expect(denied.text).toContain('Press <strong>Sign in</strong> on the dashboard again')
	})

	it('refuses a second approval of the same code', async () => {
		const { json: flow } = await start(newDevice())
		expect((await decide(flow.user_code, { username: 'hank', action: 'approve' })).status).toBe(200)
		const again = await decide(flow.user_code, { username: 'mallory', action: 'approve' })
		expect(again.status).toBe(400)
		expect(again.text).toContain('This code has been used already')
	})

	it.each([
		['an unknown code', { code: 'ZZZZ-ZZZZ', username: 'ivan' }, 'There is no login waiting for this code'],
		['a username that breaks the rule', { username: '-bad name', code: '' }, 'The username must be 1 to 39'],
		['an over-long name', { username: 'judy', name: 'n'.repeat(101), code: '' }, 'The name is at most 100 characters'],
		['an email that is none', { username: 'judy', email: 'not an email', code: '' }, 'The email does not look like one'],
	])('400 with the reason on the page, and no token, for %s', async (_, fields, reason) => {
		const device = newDevice()
		const { json: flow } = await start(device)
		const { status, text } = await decide(fields.code || flow.user_code, { ...fields, code: fields.code || flow.user_code, action: 'approve' })
		expect(status).toBe(400)
		expect(text).toContain(reason)
		await Bun.sleep(1)
		expect((await poll(device)).json.error).toBe('authorization_pending')
	})

	it('escapes everything it echoes: markup typed into the form comes back inert', async () => {
		const { json: flow } = await start(newDevice())
		const evil = '"><script>alert(1)</script><img src=x onerror=alert(2)>'
		const { status, text } = await decide(flow.user_code, { username: evil, name: evil, email: evil, action: 'approve' })
		expect(status).toBe(400)
		expect(text).not.toContain('<script>alert(1)')
		expect(text).not.toContain('<img src=x')
		expect(text).toContain('&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;')
		const echoed = await app.call('GET', `/dev/vuer-auth/device?code=${encodeURIComponent(evil)}`)
		expect(echoed.text).not.toContain('<script>alert(1)')
	})
})

describe('POST /dev/vuer-auth/token', () => {
	/** The token minted is the stand-in's, for that username: a dreamlake token is traded for it. */
	const exchanged = async (token: string) => (await app.call('POST', '/auth/exchange', undefined, { authorization: `Bearer ${token}` })).json.user

	it('mints a token for {"username"} sent as application/json', async () => {
		const { status, json } = await app.call('POST', '/dev/vuer-auth/token', { username: 'json-jo' })
		expect(status).toBe(200)
		expect(json).toEqual({ token: expect.any(String), expires_in: 3600 })
		expect(await exchanged(json.token)).toMatchObject({ username: 'json-jo', sub: 'dev|json-jo' })
	})

	it('reads the JSON curl -d sends with its default form type (application/x-www-form-urlencoded)', async () => {
		const { status, json } = await app.call('POST', '/dev/vuer-auth/token', '{"username":"curl-cleo"}')
		expect(status).toBe(200)
		expect(await exchanged(json.token)).toMatchObject({ username: 'curl-cleo', sub: 'dev|curl-cleo' })
	})

	it('400 invalid_json for a form that is not JSON, 415 for another type, 422 for a bad username', async () => {
		expect((await app.call('POST', '/dev/vuer-auth/token', 'username=form-fay')).json.code).toBe('invalid_json')
		const plain = await app.call('POST', '/dev/vuer-auth/token', '{"username":"plain-pat"}', { 'content-type': 'text/plain' })
		expect([plain.status, plain.json.code]).toEqual([415, 'unsupported_media_type'])
		expect((await app.call('POST', '/dev/vuer-auth/token', { username: 'not a username' })).status).toBe(422)
	})
})

describe('without --dev', () => {
	it('the device routes and the page do not exist (404)', async () => {
		const h = await Harness.start()
		try {
			for (const [method, path] of [
				['POST', '/dev/vuer-auth/api/device/start'],
				['POST', '/dev/vuer-auth/api/device/poll'],
				['GET', '/dev/vuer-auth/device'],
				['POST', '/dev/vuer-auth/device'],
			] as const) {
				const { status, body } = await h.call(method, path, method === 'POST' ? { body: { device_secret_hash: 'a'.repeat(64) } } : {})
				expect(status).toBe(404)
				expect(body.code).toBe('not_found')
			}
		} finally {
			h.close()
		}
	})
})

describe('DeviceFlows', () => {
	it('gives codes from an alphabet without 0, O, 1, I or L, and never the same pending code twice', () => {
		const flows = new DeviceFlows()
		const codes = new Set(Array.from({ length: 2000 }, () => flows.start(newDevice()).userCode))
		expect(codes.size).toBe(2000)
		for (const code of codes) expect(code).toMatch(/^[A-HJKMNP-Z2-9]{8}$/)
	})
})
