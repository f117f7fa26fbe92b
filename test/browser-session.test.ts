import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import type { Server } from 'bun'
import { DEV_ISSUER, DevIdentityProvider, type DevIdentityOptions } from '../src/dev/identity-provider'
import { Harness, type HarnessOptions } from './support/harness'

/**
 * The dashboard's sign-in (POST /auth/device/start and /poll) against a real identity provider over
 * real HTTP: the stand-in provider of `serve --dev`, served on its own port, which the server reaches
 * through httpDeviceAuthority as it reaches vuer-auth. Then the session cookie it sets, on the API.
 */

/** The stand-in provider on a port of its own; it records what passes, and can be told to break. */
class Provider {
	/** What the provider answers instead of itself: nothing (itself), or an HTML error page. */
	broken: 'no' | 'html500' | 'bad_uri' = 'no'
	/** Every vuer-auth token it handed out, and every device_secret_hash it was sent. */
	readonly accessTokens: string[] = []
	readonly secretHashes: string[] = []
	readonly deviceCodes: string[] = []

	private constructor(
		readonly idp: DevIdentityProvider,
		readonly server: Server<undefined>,
	) {}

	static async start(options: DevIdentityOptions = {}): Promise<Provider> {
		const idp = await DevIdentityProvider.open(null, options)
		const app = idp.routes()
		let provider: Provider | undefined
		const server = Bun.serve({
			port: 0,
			hostname: '127.0.0.1',
			fetch: async (request) => {
				const self = provider!
				const path = new URL(request.url).pathname
				if (path.startsWith('/dev/vuer-auth/api/')) {
					const sent = JSON.parse(await request.clone().text()) as { device_secret_hash?: string }
					if (sent.device_secret_hash) self.secretHashes.push(sent.device_secret_hash)
					if (self.broken === 'html500') return new Response('<html><body>Internal Server Error</body></html>', { status: 500, headers: { 'content-type': 'text/html' } })
				}
				const response = await app.fetch(request)
				if (path.endsWith('/api/device/start') && response.status === 200) {
					const json = (await response.clone().json()) as Record<string, unknown>
					self.deviceCodes.push(json.device_code as string)
					if (self.broken === 'bad_uri') return Response.json({ ...json, verification_uri: 'javascript:alert(1)' })
				}
				if (path.endsWith('/api/device/poll') && response.status === 200) self.accessTokens.push(((await response.clone().json()) as { access_token: string }).access_token)
				return response
			},
		})
		provider = new Provider(idp, server)
		return provider
	}

	/** VUER_AUTH_URL for this provider. */
	get url(): string {
		return `http://127.0.0.1:${this.server.port}/dev/vuer-auth`
	}

	/** Trust this provider's tokens, and run the sign-in's device flow against it over HTTP. */
	harnessOptions(extra: HarnessOptions = {}): HarnessOptions {
		return { vuerAuth: { publicKey: JSON.stringify(this.idp.publicJwk), issuer: DEV_ISSUER }, vuerAuthUrl: this.url, ...extra }
	}

	/** The person's answer on the provider's approval page (its urlencoded form). */
	async decide(userCode: string, fields: Record<string, string>): Promise<number> {
		const response = await fetch(`${this.url}/device`, {
			method: 'POST',
			headers: { 'content-type': 'application/x-www-form-urlencoded' },
			body: new URLSearchParams({ code: userCode, ...fields }).toString(),
		})
		await response.text()
		return response.status
	}

	stop(): void {
		this.server.stop(true)
	}
}

const CSRF = { 'x-dreamlake-csrf': '1' }
const SESSION_SECONDS = 4321
const USER_CODE = /^[A-HJKMNP-Z2-9]{4}-[A-HJKMNP-Z2-9]{4}$/
const LOGIN_COOKIE = /^dreamlake_login=([A-Za-z0-9_-]{16,}); Path=\/auth\/device; HttpOnly; SameSite=Strict; Max-Age=(\d+)$/
const SESSION_COOKIE = /^dreamlake_session=([A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+); Path=\/; HttpOnly; SameSite=Strict; Max-Age=(\d+)$/
const CLEARED_LOGIN = 'dreamlake_login=; Path=/auth/device; HttpOnly; SameSite=Strict; Max-Age=0'
const CLEARED_SESSION = 'dreamlake_session=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0'

let provider: Provider
let h: Harness
beforeAll(async () => {
	provider = await Provider.start()
	h = await Harness.start(provider.harnessOptions({ sessionSeconds: SESSION_SECONDS }))
})
afterAll(() => {
	h.close()
	provider.stop()
})

/** A request to the app as a browser on `origin` sends it (the harness's own call is always http://dreamlake.test). */
async function send(app: Harness, method: string, path: string, headers: Record<string, string> = {}, { origin = 'http://dreamlake.test', body }: { origin?: string; body?: string } = {}) {
	const response = await app.fetch(new Request(`${origin}${path}`, { method, headers, body }))
	const text = await response.text()
	return { status: response.status, headers: response.headers, text, body: response.headers.get('content-type')?.includes('json') && text ? JSON.parse(text) : text }
}

const start = (app = h, headers: Record<string, string> = CSRF, origin?: string) => send(app, 'POST', '/auth/device/start', headers, { origin })
const poll = (cookie: string | undefined, app = h, headers: Record<string, string> = CSRF, origin?: string) => send(app, 'POST', '/auth/device/poll', { ...headers, ...(cookie !== undefined && { cookie }) }, { origin })

/** The `name=value` a browser sends back for a Set-Cookie line. */
const cookiePair = (setCookie: string) => setCookie.split(';')[0]!

/** Starts a sign-in: the flow the page shows, and the login cookie to send back. */
async function startLogin(app = h) {
	const reply = await start(app)
	expect(reply.status).toBe(200)
	const cookies = reply.headers.getSetCookie()
	expect(cookies).toHaveLength(1)
	return { flow: reply.body, cookie: cookiePair(cookies[0]!), setCookie: cookies[0]!, text: reply.text }
}

/** The whole sign-in of `username` (the first poll comes after the approval, so no slow_down): the session token and cookie. */
async function signIn(username: string, app = h, p = provider) {
	const { flow, cookie } = await startLogin(app)
	expect(await p.decide(flow.userCode, { username, action: 'approve' })).toBe(200)
	const reply = await poll(cookie, app)
	expect(reply.status).toBe(200)
	expect(reply.body.status).toBe('signed_in')
	const session = reply.headers.getSetCookie().find((c) => c.startsWith('dreamlake_session='))!
	const token = SESSION_COOKIE.exec(session)![1]!
	return { token, cookie: `dreamlake_session=${token}`, user: reply.body.user }
}

describe('POST /auth/device/start', () => {
	it('403 csrf_header_missing without X-DreamLake-CSRF: 1, and no flow is started at the provider', async () => {
		const before = provider.secretHashes.length
		for (const headers of [{}, { 'x-dreamlake-csrf': '0' }, { 'x-dreamlake-csrf': 'true' }] as Record<string, string>[]) {
			const reply = await start(h, headers)
			expect(reply.status).toBe(403)
			expect(reply.body).toEqual({ success: false, error: expect.any(String), code: 'csrf_header_missing' })
			expect(reply.headers.getSetCookie()).toEqual([])
		}
		expect(provider.secretHashes.length).toBe(before)
	})

	it('200 with the code and links the provider gave, and an HttpOnly SameSite=Strict login cookie for /auth/device (no Secure over http)', async () => {
		const reply = await start()
		expect(reply.status).toBe(200)
		expect(reply.headers.get('cache-control')).toBe('no-store')
		expect(reply.body).toEqual({
			userCode: expect.stringMatching(USER_CODE),
			verificationUri: `${provider.url}/device`,
			verificationUriComplete: `${provider.url}/device?code=${reply.body.userCode.replace('-', '')}`,
			expiresIn: 600,
			interval: 5,
		})
		const cookies = reply.headers.getSetCookie()
		expect(cookies).toHaveLength(1)
		const match = LOGIN_COOKIE.exec(cookies[0]!)
		expect(match).not.toBeNull()
		expect(Number(match![2])).toBe(reply.body.expiresIn)
		expect(cookies[0]).not.toContain('Secure')
	})

	it('neither the body nor the cookie carries the device secret (its hash), the device code or any token', async () => {
		const { text, setCookie } = await startLogin()
		const hash = provider.secretHashes.at(-1)!
		const deviceCode = provider.deviceCodes.at(-1)!
		expect(hash).toMatch(/^[0-9a-f]{64}$/)
		for (const sent of [text, setCookie]) {
			expect(sent).not.toContain(hash)
			expect(sent).not.toContain(deviceCode)
			expect(sent).not.toMatch(/eyJ[\w-]+\.[\w-]+\./) // no JWT
			expect(sent).not.toMatch(/[0-9a-f]{64}/i)
			expect(sent.toLowerCase()).not.toContain('token')
			expect(sent.toLowerCase()).not.toContain('secret')
		}
	})

	it('each start is its own flow: a new code, a new login cookie and a new device secret', async () => {
		const a = await startLogin()
		const b = await startLogin()
		expect(a.flow.userCode).not.toBe(b.flow.userCode)
		expect(a.cookie).not.toBe(b.cookie)
		expect(provider.secretHashes.at(-1)).not.toBe(provider.secretHashes.at(-2))
	})

	it('429 rate_limited past RATE_LIMIT_EXCHANGE sign-ins a minute from one address, before the provider is called', async () => {
		const limited = await Harness.start(provider.harnessOptions({ exchangeLimits: { perMinute: 2, trustProxy: 0 } }))
		try {
			expect((await start(limited)).status).toBe(200)
			expect((await start(limited)).status).toBe(200)
			const before = provider.secretHashes.length
			const refused = await start(limited)
			expect(refused.status).toBe(429)
			expect(refused.body.code).toBe('rate_limited')
			expect(refused.headers.getSetCookie()).toEqual([])
			expect(provider.secretHashes.length).toBe(before)
		} finally {
			await limited.close()
		}
	})
})

describe('POST /auth/device/poll', () => {
	it('pending {interval: 5} before the approval, pending {interval: 10} for the provider\'s slow_down, then signed_in with the session cookie and the login cookie cleared', async () => {
		const { flow, cookie } = await startLogin()
		const first = await poll(cookie)
		expect(first.status).toBe(200)
		expect(first.body).toEqual({ status: 'pending', interval: 5 })
		expect(first.headers.getSetCookie()).toEqual([])
		const tooSoon = await poll(cookie) // the provider answers slow_down within ~4 s of the last poll
		expect(tooSoon.status).toBe(200)
		expect(tooSoon.body).toEqual({ status: 'pending', interval: 10 })
		expect(tooSoon.headers.getSetCookie()).toEqual([])

		expect(await provider.decide(flow.userCode, { username: 'alice', name: 'Alice A', email: 'alice@example.org', action: 'approve' })).toBe(200)
		await Bun.sleep(4100)
		const done = await poll(cookie)
		expect(done.status).toBe(200)
		expect(done.headers.get('cache-control')).toBe('no-store')
		expect(done.body).toEqual({ status: 'signed_in', user: expect.objectContaining({ username: 'alice', name: 'Alice A', email: 'alice@example.org', sub: 'dev|alice', namespace: expect.objectContaining({ slug: 'alice' }) }) })
		const cookies = done.headers.getSetCookie()
		expect(cookies).toHaveLength(2)
		const session = SESSION_COOKIE.exec(cookies[0]!)
		expect(session).not.toBeNull()
		expect(Number(session![2])).toBe(SESSION_SECONDS)
		expect(cookies[1]).toBe(CLEARED_LOGIN)

		// the cookie holds a dreamlake token for alice, and the profile is GET /auth/me's
		const me = await h.call('GET', '/auth/me', { token: session![1] })
		expect(me.status).toBe(200)
		expect(me.body).toEqual(done.body.user)
	}, 15_000)

	it('a login is used once: the next poll with the same cookie is 404 login_not_found', async () => {
		const { flow, cookie } = await startLogin()
		expect(await provider.decide(flow.userCode, { username: 'alice', action: 'approve' })).toBe(200)
		expect((await poll(cookie)).body.status).toBe('signed_in')
		const again = await poll(cookie)
		expect(again.status).toBe(404)
		expect(again.body).toEqual({ success: false, error: expect.any(String), code: 'login_not_found' })
		expect(again.headers.getSetCookie()).toEqual([])
	})

	it('404 login_not_found with no login cookie, an unknown one, or an empty one', async () => {
		for (const cookie of [undefined, 'dreamlake_login=not-a-login-of-this-server', 'dreamlake_login=', 'other=1']) {
			const reply = await poll(cookie)
			expect(reply.status).toBe(404)
			expect(reply.body.code).toBe('login_not_found')
		}
	})

	it('403 csrf_header_missing without the CSRF header, and the login still waits', async () => {
		const { flow, cookie } = await startLogin()
		const refused = await poll(cookie, h, {})
		expect(refused.status).toBe(403)
		expect(refused.body.code).toBe('csrf_header_missing')
		expect(await provider.decide(flow.userCode, { username: 'alice', action: 'approve' })).toBe(200)
		expect((await poll(cookie)).body.status).toBe('signed_in')
	})

	it('the login cookie of one browser cannot be used for another flow: each cookie polls its own login', async () => {
		const a = await startLogin()
		const b = await startLogin()
		expect(await provider.decide(a.flow.userCode, { username: 'alice', action: 'approve' })).toBe(200)
		expect((await poll(b.cookie)).body).toEqual({ status: 'pending', interval: 5 })
		const signed = await poll(a.cookie)
		expect(signed.body.user.username).toBe('alice')
	})

	it('403 access_denied once the person denies on the page, then 404 (the login is gone), and no session cookie', async () => {
		const { flow, cookie } = await startLogin()
		expect(await provider.decide(flow.userCode, { action: 'deny' })).toBe(200)
		const denied = await poll(cookie)
		expect(denied.status).toBe(403)
		expect(denied.body).toEqual({ success: false, error: expect.any(String), code: 'access_denied' })
		expect(denied.headers.getSetCookie()).toEqual([])
		expect((await poll(cookie)).status).toBe(404)
	})

	it('410 login_expired when the provider says the code expired, then 404', async () => {
		const short = await Provider.start({ codeTtlMs: 50 })
		const app = await Harness.start(short.harnessOptions())
		try {
			const { cookie } = await startLogin(app)
			await Bun.sleep(100)
			const expired = await poll(cookie, app)
			expect(expired.status).toBe(410)
			expect(expired.body).toEqual({ success: false, error: expect.any(String), code: 'login_expired' })
			expect(expired.headers.getSetCookie()).toEqual([])
			expect((await poll(cookie, app)).status).toBe(404)
		} finally {
			app.close()
			short.stop()
		}
	})

	it('410 login_expired by the server\'s own clock once the lifetime the provider gave has passed, without asking the provider', async () => {
		const short = await Provider.start({ codeTtlMs: 1400 }) // expires_in: 1
		const app = await Harness.start(short.harnessOptions())
		try {
			const { flow, cookie } = await startLogin(app)
			expect(flow.expiresIn).toBe(1)
			await Bun.sleep(1100)
			const expired = await poll(cookie, app)
			expect(expired.status).toBe(410)
			expect(expired.body.code).toBe('login_expired')
			expect(expired.headers.getSetCookie()).toEqual([])
		} finally {
			app.close()
			short.stop()
		}
	})

	it('401 and no session cookie when the provider\'s token is one the server does not trust', async () => {
		const stranger = await Provider.start()
		const app = await Harness.start({ vuerAuthUrl: stranger.url }) // trusts the harness's key server, not this provider
		try {
			const { flow, cookie } = await startLogin(app)
			expect(await stranger.decide(flow.userCode, { username: 'mallory', action: 'approve' })).toBe(200)
			const reply = await poll(cookie, app)
			expect(reply.status).toBe(401)
			expect(reply.headers.getSetCookie().filter((c) => c.startsWith('dreamlake_session='))).toEqual([])
			expect(app.count('users')).toBe(0)
		} finally {
			app.close()
			stranger.stop()
		}
	})

	it('with no sessionSeconds the session cookie lasts 400 days, the most a browser keeps one', async () => {
		const app = await Harness.start(provider.harnessOptions())
		try {
			const { flow, cookie } = await startLogin(app)
			expect(await provider.decide(flow.userCode, { username: 'alice', action: 'approve' })).toBe(200)
			const done = await poll(cookie, app)
			expect(Number(SESSION_COOKIE.exec(done.headers.getSetCookie()[0]!)![2])).toBe(400 * 24 * 3600)
		} finally {
			app.close()
		}
	})
})

describe('when the identity provider fails', () => {
	const noStack = (reply: { text: string }) => {
		expect(reply.text).not.toMatch(/\bat .+:\d+:\d+/)
		expect(reply.text).not.toContain('Error:')
		expect(reply.text).not.toContain('127.0.0.1')
	}

	it('502 identity_provider_unavailable when nothing listens at VUER_AUTH_URL, with no stack, no cookie, and a warning logged', async () => {
		const closed = Bun.serve({ port: 0, hostname: '127.0.0.1', fetch: () => new Response('never') })
		const port = closed.port
		closed.stop(true)
		const app = await Harness.start({ vuerAuthUrl: `http://127.0.0.1:${port}/dev/vuer-auth` })
		try {
			const reply = await start(app)
			expect(reply.status).toBe(502)
			expect(reply.body).toEqual({ success: false, error: expect.any(String), code: 'identity_provider_unavailable' })
			expect(reply.headers.getSetCookie()).toEqual([])
			noStack(reply)
			expect(app.logs.some((line) => line.includes('identity provider failed'))).toBe(true)
		} finally {
			app.close()
		}
	})

	it('502 when the provider answers an HTML 500 page, to start and to poll; the login survives and finishes once the provider is back', async () => {
		const flaky = await Provider.start()
		const app = await Harness.start(flaky.harnessOptions())
		try {
			flaky.broken = 'html500'
			const refused = await start(app)
			expect(refused.status).toBe(502)
			expect(refused.body.code).toBe('identity_provider_unavailable')
			expect(refused.headers.getSetCookie()).toEqual([])
			noStack(refused)

			flaky.broken = 'no'
			const { flow, cookie } = await startLogin(app)
			expect(await flaky.decide(flow.userCode, { username: 'alice', action: 'approve' })).toBe(200)
			flaky.broken = 'html500'
			const failed = await poll(cookie, app)
			expect(failed.status).toBe(502)
			expect(failed.body.code).toBe('identity_provider_unavailable')
			noStack(failed)
			flaky.broken = 'no'
			await Bun.sleep(4100) // the provider counted the failed poll; the next one is not too soon
			const done = await poll(cookie, app)
			expect(done.status).toBe(200)
			expect(done.body.status).toBe('signed_in')
		} finally {
			app.close()
			flaky.stop()
		}
	}, 15_000)

	it('502 when the provider\'s verification link is not an http(s) URL (never shown to the person)', async () => {
		const bad = await Provider.start()
		bad.broken = 'bad_uri'
		const app = await Harness.start(bad.harnessOptions())
		try {
			const reply = await start(app)
			expect(reply.status).toBe(502)
			expect(reply.text).not.toContain('javascript:')
		} finally {
			app.close()
			bad.stop()
		}
	})
})

describe('the session cookie on the API', () => {
	let alice: Awaited<ReturnType<typeof signIn>>
	let bob: Awaited<ReturnType<typeof signIn>>
	beforeAll(async () => {
		alice = await signIn('alice')
		bob = await signIn('bob')
	})
	const projects = (cookie: string) => send(h, 'GET', '/namespaces/alice/projects', { cookie })
	const projectCount = async () => (await h.call('GET', '/namespaces/alice/projects', { token: alice.token })).body.total as number

	it('GET /auth/me with only the cookie is 200, also among other cookies', async () => {
		for (const cookie of [alice.cookie, `theme=dark; ${alice.cookie}; other=1`]) {
			const reply = await send(h, 'GET', '/auth/me', { cookie })
			expect(reply.status).toBe(200)
			expect(reply.body).toMatchObject({ username: 'alice', namespace: { slug: 'alice' } })
		}
		expect((await projects(alice.cookie)).status).toBe(200)
	})

	it('401 with no credentials, and with a session cookie that is not a token', async () => {
		expect((await send(h, 'GET', '/auth/me')).status).toBe(401)
		expect((await send(h, 'GET', '/auth/me', { cookie: 'dreamlake_session=garbage' })).status).toBe(401)
		expect((await send(h, 'GET', '/auth/me', { cookie: `dreamlake_session_x=${alice.token}` })).status).toBe(401)
	})

	it('a write with the cookie but without X-DreamLake-CSRF: 1 is 403 csrf_header_missing and creates nothing; with it, 201', async () => {
		const before = await projectCount()
		for (const headers of [{}, { 'x-dreamlake-csrf': '0' }] as Record<string, string>[]) {
			const refused = await send(h, 'POST', '/namespaces/alice/projects', { cookie: alice.cookie, 'content-type': 'application/json', ...headers }, { body: JSON.stringify({ name: 'CSRF Target' }) })
			expect(refused.status).toBe(403)
			expect(refused.body).toEqual({ success: false, error: expect.any(String), code: 'csrf_header_missing' })
		}
		expect(await projectCount()).toBe(before)
		expect((await send(h, 'PATCH', '/auth/me', { cookie: alice.cookie, 'content-type': 'application/json' }, { body: JSON.stringify({ name: 'Hijacked' }) })).status).toBe(403)
		expect((await h.call('GET', '/auth/me', { token: alice.token })).body.name).not.toBe('Hijacked')

		const made = await send(h, 'POST', '/namespaces/alice/projects', { cookie: alice.cookie, 'content-type': 'application/json', ...CSRF }, { body: JSON.stringify({ name: 'From The Dashboard' }) })
		expect(made.status).toBe(201)
		expect(await projectCount()).toBe(before + 1)
	})

	it('a write with the bearer header needs no CSRF header (the SDK\'s path), even with a cookie beside it', async () => {
		const plain = await h.call('POST', '/namespaces/alice/projects', { token: alice.token, body: { name: 'From The SDK' } })
		expect(plain.status).toBe(201)
		const both = await h.call('POST', '/namespaces/alice/projects', { token: alice.token, headers: { cookie: alice.cookie }, body: { name: 'From The SDK Too' } })
		expect(both.status).toBe(201)
	})

	it('the Authorization header wins over the cookie: bob\'s bearer with alice\'s cookie is bob; an invalid bearer with a valid cookie is 401', async () => {
		const asBob = await h.call('GET', '/auth/me', { token: bob.token, headers: { cookie: alice.cookie } })
		expect(asBob.status).toBe(200)
		expect(asBob.body.username).toBe('bob')
		for (const authorization of ['Bearer not-a-token', 'Basic YWxpY2U6cHc=', '']) {
			const reply = await send(h, 'GET', '/auth/me', { authorization, cookie: alice.cookie })
			expect(reply.status).toBe(401)
		}
	})

	it('no CORS preflight is granted, so another site\'s page cannot add the CSRF header', async () => {
		for (const path of ['/auth/me', '/auth/device/start', '/auth/device/poll', '/namespaces/alice/projects', '/auth/logout']) {
			const reply = await send(h, 'OPTIONS', path, { origin: 'https://evil.example', 'access-control-request-method': 'POST', 'access-control-request-headers': 'x-dreamlake-csrf, content-type' })
			expect(reply.status).not.toBeLessThan(400)
			expect(reply.headers.get('access-control-allow-origin')).toBeNull()
			expect(reply.headers.get('access-control-allow-headers')).toBeNull()
			expect(reply.headers.get('access-control-allow-credentials')).toBeNull()
		}
		const read = await send(h, 'GET', '/auth/me', { cookie: alice.cookie, origin: 'https://evil.example' })
		expect(read.headers.get('access-control-allow-origin')).toBeNull()
	})

	it('a cross-site form post (form content type, Origin elsewhere, the cookie, no CSRF header) is refused and changes nothing', async () => {
		const episode = await h.call('POST', '/namespaces/alice/projects/forms/episodes', { token: alice.token, body: { name: 'target' } })
		expect(episode.status).toBe(201)
		const before = await projectCount()
		const crossSite = (method: string, path: string, type: string, body: string) =>
			send(h, method, path, { 'content-type': type, cookie: alice.cookie, origin: 'https://evil.example', referer: 'https://evil.example/page' }, { body })
		// a route that reads JSON refuses a form's content type before it looks at the caller (415), else 403
		for (const type of ['application/x-www-form-urlencoded', 'text/plain', 'multipart/form-data; boundary=x']) {
			const reply = await crossSite('POST', '/namespaces/alice/projects', type, 'name=Evil')
			expect([403, 415]).toContain(reply.status)
		}
		// routes that read no JSON body: the CSRF check itself refuses
		const form = new FormData()
		form.append('file', new Blob(['evil bytes']), 'evil.txt')
		const multipart = new Request('http://dreamlake.test', { method: 'POST', body: form })
		const upload = await crossSite('POST', `/episodes/${episode.body.id}/files`, multipart.headers.get('content-type')!, await multipart.text())
		expect(upload.status).toBe(403)
		expect(upload.body.code).toBe('csrf_header_missing')
		for (const [method, path] of [
			['DELETE', '/namespaces/alice/projects/forms'],
			['DELETE', `/episodes/${episode.body.id}`],
			['POST', '/auth/logout'],
		] as const) {
			const reply = await crossSite(method, path, 'application/x-www-form-urlencoded', '')
			expect({ method, path, status: reply.status, code: reply.body.code }).toEqual({ method, path, status: 403, code: 'csrf_header_missing' })
		}
		expect(await projectCount()).toBe(before)
		expect((await h.call('GET', '/namespaces/alice/projects/forms', { token: alice.token })).status).toBe(200)
		expect((await h.call('GET', `/episodes/${episode.body.id}`, { token: alice.token })).status).toBe(200)
		expect((await h.call('GET', `/episodes/${episode.body.id}/files`, { token: alice.token })).body.total).toBe(0)
		expect((await send(h, 'GET', '/auth/me', { cookie: alice.cookie })).status).toBe(200)
	})

	it('bob\'s session cookie gets 404 on alice\'s namespace, project and episode', async () => {
		expect((await h.call('POST', '/namespaces/alice/projects', { token: alice.token, body: { name: 'Private' } })).status).toBe(201)
		const episode = await h.call('POST', '/namespaces/alice/projects/private/episodes', { token: alice.token, body: { name: 'run-1' } })
		expect(episode.status).toBe(201)
		for (const path of ['/namespaces/alice', '/namespaces/alice/projects', '/namespaces/alice/projects/private', '/namespaces/alice/projects/private/episodes', '/namespaces/alice/projects/private/episodes/run-1', `/episodes/${episode.body.id}`]) {
			expect({ path, status: (await send(h, 'GET', path, { cookie: alice.cookie })).status }).toEqual({ path, status: 200 })
			expect({ path, status: (await send(h, 'GET', path, { cookie: bob.cookie })).status }).toEqual({ path, status: 404 })
		}
		const write = await send(h, 'PATCH', `/episodes/${episode.body.id}`, { cookie: bob.cookie, 'content-type': 'application/json', ...CSRF }, { body: JSON.stringify({ description: 'bob was here' }) })
		expect(write.status).toBe(404)
	})
})

describe('POST /auth/logout with the session cookie', () => {
	it('without the CSRF header: 403, no cookie cleared, and the session still works', async () => {
		const carol = await signIn('carol')
		const refused = await send(h, 'POST', '/auth/logout', { cookie: carol.cookie })
		expect(refused.status).toBe(403)
		expect(refused.body.code).toBe('csrf_header_missing')
		expect(refused.headers.getSetCookie()).toEqual([])
		expect((await send(h, 'GET', '/auth/me', { cookie: carol.cookie })).status).toBe(200)
	})

	it('with the CSRF header: 200, the session cookie is cleared, and the old cookie (and token) get 401', async () => {
		const dave = await signIn('dave')
		const done = await send(h, 'POST', '/auth/logout', { cookie: dave.cookie, ...CSRF })
		expect(done.status).toBe(200)
		expect(done.body).toEqual({ success: true })
		expect(done.headers.getSetCookie()).toEqual([CLEARED_SESSION])
		expect((await send(h, 'GET', '/auth/me', { cookie: dave.cookie })).status).toBe(401)
		expect((await h.call('GET', '/auth/me', { token: dave.token })).status).toBe(401)
	})

	it('with the bearer header only, no cookie is set', async () => {
		const erin = await signIn('erin')
		const done = await h.call('POST', '/auth/logout', { token: erin.token })
		expect(done.status).toBe(200)
		expect(done.headers.getSetCookie()).toEqual([])
	})
})

describe('the Secure flag', () => {
	it('over https every cookie of the sign-in and the logout carries Secure', async () => {
		const started = await start(h, CSRF, 'https://dreamlake.test')
		expect(started.status).toBe(200)
		const loginCookie = started.headers.getSetCookie()[0]!
		expect(loginCookie).toMatch(/^dreamlake_login=[\w-]+; Path=\/auth\/device; HttpOnly; SameSite=Strict; Secure; Max-Age=600$/)
		expect(await provider.decide(started.body.userCode, { username: 'frank', action: 'approve' })).toBe(200)
		const done = await poll(cookiePair(loginCookie), h, CSRF, 'https://dreamlake.test')
		expect(done.body.status).toBe('signed_in')
		const [session, cleared] = done.headers.getSetCookie()
		expect(session).toMatch(new RegExp(`^dreamlake_session=[\\w.-]+; Path=/; HttpOnly; SameSite=Strict; Secure; Max-Age=${SESSION_SECONDS}$`))
		expect(cleared).toBe('dreamlake_login=; Path=/auth/device; HttpOnly; SameSite=Strict; Secure; Max-Age=0')
		const out = await send(h, 'POST', '/auth/logout', { cookie: cookiePair(session!), ...CSRF }, { origin: 'https://dreamlake.test' })
		expect(out.headers.getSetCookie()).toEqual(['dreamlake_session=; Path=/; HttpOnly; SameSite=Strict; Secure; Max-Age=0'])
	})

	it('over http with X-Forwarded-Proto: https, Secure only when a proxy is trusted (TRUST_PROXY > 0)', async () => {
		const forwarded = { ...CSRF, 'x-forwarded-proto': 'https' }
		const untrusted = await start(h, forwarded)
		expect(untrusted.headers.getSetCookie()[0]).not.toContain('Secure')

		const behindProxy = await Harness.start(provider.harnessOptions({ exchangeLimits: { perMinute: 0, trustProxy: 1 } }))
		try {
			const trusted = await start(behindProxy, forwarded)
			const loginCookie = trusted.headers.getSetCookie()[0]!
			expect(loginCookie).toContain('; Secure')
			expect((await start(behindProxy, { ...CSRF, 'x-forwarded-proto': 'http' })).headers.getSetCookie()[0]).not.toContain('Secure')
			expect((await start(behindProxy)).headers.getSetCookie()[0]).not.toContain('Secure')

			expect(await provider.decide(trusted.body.userCode, { username: 'grace', action: 'approve' })).toBe(200)
			const done = await poll(cookiePair(loginCookie), behindProxy, forwarded)
			expect(done.body.status).toBe('signed_in')
			for (const cookie of done.headers.getSetCookie()) expect(cookie).toContain('; Secure')
			const out = await send(behindProxy, 'POST', '/auth/logout', { cookie: cookiePair(done.headers.getSetCookie()[0]!), ...forwarded })
			expect(out.headers.getSetCookie()[0]).toContain('; Secure')
		} finally {
			behindProxy.close()
		}
	})
})

describe('what is logged', () => {
	it('no log line holds the session token, the vuer-auth token, the device secret or the login id', async () => {
		const app = await Harness.start(provider.harnessOptions())
		try {
			const { flow, cookie } = await startLogin(app)
			const secretHash = provider.secretHashes.at(-1)!
			expect((await poll(cookie, app)).body.status).toBe('pending')
			expect(await provider.decide(flow.userCode, { username: 'heidi', action: 'approve' })).toBe(200)
			await Bun.sleep(4100)
			const done = await poll(cookie, app)
			expect(done.body.status).toBe('signed_in')
			const vuerToken = provider.accessTokens.at(-1)!
			const session = SESSION_COOKIE.exec(done.headers.getSetCookie()[0]!)![1]!
			expect((await send(app, 'GET', '/auth/me', { cookie: `dreamlake_session=${session}` })).status).toBe(200)
			expect((await send(app, 'POST', '/auth/logout', { cookie: `dreamlake_session=${session}`, ...CSRF })).status).toBe(200)

			expect(app.logs.length).toBeGreaterThan(0)
			const loginId = cookie.split('=')[1]!
			for (const secret of [session, vuerToken, secretHash, loginId]) {
				expect(app.logs.filter((line) => line.includes(secret))).toEqual([])
				// nor a telling piece of one (a JWT's signature)
				expect(app.logs.filter((line) => line.includes(secret.split('.').at(-1)!))).toEqual([])
			}
		} finally {
			app.close()
		}
	}, 15_000)
})
