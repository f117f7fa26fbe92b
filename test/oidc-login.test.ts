import { afterAll, beforeAll, describe, expect, it, setDefaultTimeout } from 'bun:test'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { collect, dreamlakeCli, sdkLogsAnEpisode } from './support/cli-login'
import { approveDevice, browser, freePort, providerTokens, signInAtProvider, startProvider, type TestProvider } from './support/oidc'
import { runCli, spawnServer, type ServerProcess } from './support/process'
import { sdkSrc, storedToken } from './support/sdk'

// the real CLI polls every 5 seconds
setDefaultTimeout(60_000)
sdkSrc()

/** A code as the CLI prints it: /idp's, or the provider's own (oidc-provider's letters include L). */
const CODE = /\b[A-Z0-9]{4}-[A-Z0-9]{4}\b/

/** A provider (with or without its device grant) and a server with IDENTITY=oidc trusting it. */
async function setUp(deviceFlow: boolean) {
	const dir = mkdtempSync(join(tmpdir(), 'dreamlake-oidc-'))
	const port = freePort()
	const url = `http://127.0.0.1:${port}`
	const callback = `${url}/idp/callback`
	const provider = await startProvider({ redirects: [callback, 'http://127.0.0.1:9/test-callback'], deviceFlow })
	const server = await spawnServer(['serve', '--port', String(port)], {
		cwd: dir,
		env: { IDENTITY: 'oidc', OIDC_ISSUER: provider.issuer, OIDC_CLIENT_ID: 'dreamlake', OIDC_AUDIENCE: 'urn:test:api' },
	})
	return {
		dir,
		url,
		callback,
		provider,
		server,
		async close() {
			await server.stop()
			provider.stop()
			rmSync(dir, { recursive: true, force: true })
		},
	}
}

type Setup = Awaited<ReturnType<typeof setUp>>

/** `dreamlake login` against /idp; `approve` gets what the CLI printed and does what the person does. */
async function cliLogin(s: Setup, approve: (printed: { code: string; text: string }) => Promise<void>) {
	const home = mkdtempSync(join(s.dir, 'home-'))
	const login = dreamlakeCli(['login', '--url', s.url, '--no-browser'], home, { VUER_AUTH_URL: `${s.url}/idp` })
	const out = collect(login.stdout)
	const code = await out.until(CODE)
	await out.until(/https?:\/\/\S+/)
	await approve({ code, text: out.text })
	const exit = await login.exited
	await out.done
	return { home, exit, text: out.text + (await new Response(login.stderr).text()) }
}

/** profile, then the SDK logs an episode with the stored token, as a new user's first script does. */
async function profileAndEpisode(s: Setup, home: string, username: string) {
	const profile = dreamlakeCli(['profile', '--url', s.url], home)
	const shown = await new Response(profile.stdout).text()
	expect(await profile.exited).toBe(0)
	expect(shown).toContain(username)
	expect(shown).toContain(`op-${username}`)
	await sdkLogsAnEpisode(home, s.url, 'oidc-lab/run-1')
	const token = (await storedToken(home))!
	const episode = await fetch(`${s.url}/namespaces/${username}/projects/oidc-lab/episodes/run-1`, { headers: { authorization: `Bearer ${token}` } })
	expect(episode.status).toBe(200)
}

describe('IDENTITY=oidc with a provider that has the device grant: /idp bridges to it', () => {
	let s: Setup
	beforeAll(async () => {
		s = await setUp(true)
	})
	afterAll(() => s.close())

	it('says so in its start-up line', () => {
		const line = JSON.parse(s.server.output.find((l) => l.includes('listening'))!)
		expect(line.identity).toContain("bridged to the provider's device grant")
		expect(line.login).toBe(`VUER_AUTH_URL=${s.url}/idp dreamlake login --url ${s.url}`)
		expect(line.redirectUri).toBe(s.callback)
	})

	it("the real CLI logs in: the code is approved on the provider's own device page; then profile and an episode", async () => {
		const { home, exit, text } = await cliLogin(s, async ({ code, text }) => {
			const verificationUri = /(http:\/\/127\.0\.0\.1:\d+\/device)\b/.exec(text)![1]!
			expect(verificationUri.startsWith(s.provider.issuer)).toBe(true)
			await approveDevice({ verificationUri, userCode: code }, 'alice')
		})
		expect(exit).toBe(0)
		expect(text).toContain('Logged in successfully')
		await profileAndEpisode(s, home, 'alice')
	})

	it('a code denied at the provider ends the CLI with no token', async () => {
		const { home, exit, text } = await cliLogin(s, async ({ code, text }) => {
			const verificationUri = /(http:\/\/127\.0\.0\.1:\d+\/device)\b/.exec(text)![1]!
			const go = browser()
			const { html } = await go(verificationUri)
			const xsrf = /name="xsrf" value="([^"]+)"/.exec(html)![1]!
			await go(verificationUri, { xsrf, user_code: code, abort: 'yes' })
		})
		expect(exit).toBe(1)
		expect(text).toContain('denied')
		expect(await storedToken(home)).toBeNull()
	})

	it('a confidential client (OIDC_CLIENT_SECRET) authenticates to the provider; a wrong secret gets 502, not a login', async () => {
		const confidential = async (secret: string) => spawnServer(['serve', '--port', '0'], { cwd: s.dir, env: { DATABASE_URL: ':memory:', IDENTITY: 'oidc', OIDC_ISSUER: s.provider.issuer, OIDC_CLIENT_ID: 'dreamlake-confidential', OIDC_CLIENT_SECRET: secret } })
		const post = (url: string, path: string, body: object) => fetch(`${url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }).then(async (r) => ({ status: r.status, body: (await r.json()) as any }))
		const hash = new Bun.CryptoHasher('sha256').update(crypto.randomUUID()).digest('hex')
		const right = await confidential('a-test-client-secret-that-is-long')
		try {
			const started = await post(right.url, '/idp/api/device/start', { client_id: 'dreamlake-app', device_secret_hash: hash })
			expect(started.status).toBe(200)
			expect((await post(right.url, '/idp/api/device/poll', { device_secret_hash: hash })).body.error).toBe('authorization_pending')
			await approveDevice({ verificationUri: started.body.verification_uri, userCode: started.body.user_code }, 'frank')
			const polled = await post(right.url, '/idp/api/device/poll', { device_secret_hash: hash })
			expect(polled.status).toBe(200)
			const exchanged = await fetch(`${right.url}/auth/exchange`, { method: 'POST', headers: { authorization: `Bearer ${polled.body.access_token}` } })
			expect(exchanged.status).toBe(200)
		} finally {
			await right.stop()
		}
		const wrong = await confidential('not-the-secret-of-this-client')
		try {
			const refused = await post(wrong.url, '/idp/api/device/start', { client_id: 'dreamlake-app', device_secret_hash: hash })
			expect(refused.status).toBe(502)
			expect(refused.body.code).toBe('identity_provider_unavailable')
			expect(wrong.output.join('\n')).not.toContain('not-the-secret-of-this-client')
		} finally {
			await wrong.stop()
		}
	})

	it('will not start when the discovery document names another issuer, or the provider cannot be reached, and says why', async () => {
		const other = await runCli(['serve', '--port', '0'], { cwd: s.dir, env: { DATABASE_URL: ':memory:', IDENTITY: 'oidc', OIDC_ISSUER: s.provider.issuer.replace('127.0.0.1', 'localhost'), OIDC_CLIENT_ID: 'dreamlake' } })
		expect(other.code).toBe(1)
		expect(other.stderr).toContain('OIDC_ISSUER')
		expect(other.stderr).toContain('not OIDC_ISSUER')
		const down = await runCli(['serve', '--port', '0'], { cwd: s.dir, env: { DATABASE_URL: ':memory:', IDENTITY: 'oidc', OIDC_ISSUER: 'http://127.0.0.1:9', OIDC_CLIENT_ID: 'dreamlake' } })
		expect(down.code).toBe(1)
		expect(down.stderr).toContain('OIDC_ISSUER: could not read http://127.0.0.1:9/.well-known/openid-configuration')
	})

	it('POST /auth/exchange takes the provider’s ID token and its JWT access token (OIDC_AUDIENCE), for one and the same user', async () => {
		const tokens = await providerTokens(s.provider, 'dreamlake', 'http://127.0.0.1:9/test-callback', 'erin')
		const exchange = (token: string) => fetch(`${s.url}/auth/exchange`, { method: 'POST', headers: { authorization: `Bearer ${token}` } }).then(async (r) => ({ status: r.status, body: (await r.json()) as any }))
		const byId = await exchange(tokens.id_token)
		expect(byId.status).toBe(200)
		expect(byId.body.user).toMatchObject({ username: 'erin', email: 'erin@example.test' })
		expect(byId.body.namespace.slug).toBe('erin')
		const byAccess = await exchange(tokens.access_token)
		expect(byAccess.status).toBe(200)
		expect(byAccess.body.user.id).toBe(byId.body.user.id)
	})

	it('refuses a token for another audience (another application of the provider) and one of a second provider', async () => {
		const exchange = (token: string) => fetch(`${s.url}/auth/exchange`, { method: 'POST', headers: { authorization: `Bearer ${token}` } }).then(async (r) => ({ status: r.status, body: (await r.json()) as any }))
		const other = await providerTokens(s.provider, 'other-app', 'http://127.0.0.1:9/test-callback', 'mallory')
		const wrongAudience = await exchange(other.id_token)
		expect(wrongAudience.status).toBe(401)
		expect(wrongAudience.body.error).toContain('another audience')
		const second = await startProvider({ redirects: ['http://127.0.0.1:9/test-callback'], deviceFlow: false })
		try {
			const foreign = await providerTokens(second, 'dreamlake', 'http://127.0.0.1:9/test-callback', 'mallory')
			const refused = await exchange(foreign.id_token)
			expect(refused.status).toBe(401)
			expect(refused.body.code).toBe('vuer_token_invalid')
		} finally {
			second.stop()
		}
	})
})

describe('IDENTITY=oidc with a provider without the device grant: /idp approves codes through its sign-in (code + PKCE)', () => {
	let s: Setup
	beforeAll(async () => {
		s = await setUp(false)
	})
	afterAll(() => s.close())

	it('says so in its start-up line', () => {
		const line = JSON.parse(s.server.output.find((l) => l.includes('listening'))!)
		expect(line.identity).toContain("codes approved through the provider's sign-in page")
	})

	it("the real CLI logs in: /idp's page sends the person through the provider's sign-in and approves the code on the way back; then profile and an episode", async () => {
		const { home, exit, text } = await cliLogin(s, async ({ code, text }) => {
			expect(text).toContain(`${s.url}/idp/device`)
			const go = browser()
			const page = await go(`${s.url}/idp/device?code=${code.replace('-', '')}`)
			expect(page.html).toContain(`value="${code}"`)
			// the provider's sign-in page, reached with PKCE, state and nonce
			const atProvider = await go(`${s.url}/idp/device`, { code, action: 'approve' })
			expect(atProvider.url.startsWith(`${s.provider.issuer}/interaction/`)).toBe(true)
			const back = await signInAtProvider(go, atProvider, 'bob')
			expect(back.url.startsWith(s.callback)).toBe(true)
			expect(back.html).toContain('Login approved')
		})
		expect(exit).toBe(0)
		expect(text).toContain('Logged in successfully')
		await profileAndEpisode(s, home, 'bob')
	})

	it('the request sent to the provider carries PKCE (S256), state and nonce, and only the redirect URI under PUBLIC_URL', async () => {
		const response = await fetch(`${s.url}/auth/oidc/start?next=/ui/`, { redirect: 'manual' })
		expect(response.status).toBe(303)
		const to = new URL(response.headers.get('location')!)
		expect(to.origin + to.pathname).toBe(s.provider.discovery.authorization_endpoint!)
		expect(to.searchParams.get('code_challenge_method')).toBe('S256')
		expect(to.searchParams.get('code_challenge')).toMatch(/^[\w-]{43}$/)
		expect(to.searchParams.get('state')).toMatch(/^[\w-]{43}$/)
		expect(to.searchParams.get('nonce')).toMatch(/^[\w-]{43}$/)
		expect(to.searchParams.get('redirect_uri')).toBe(s.callback)
		expect(response.headers.get('set-cookie')).toContain(`dreamlake_oidc=${to.searchParams.get('state')}`)
	})

	it('a callback from another browser (state without its cookie) is refused; the right browser then finishes once, and a replay is refused', async () => {
		const go = browser()
		const atProvider = await go(`${s.url}/auth/oidc/start?next=/ui/p/x`)
		const back = await signInAtProvider(go, atProvider, 'carol', 'test-password', s.callback)
		const callbackUrl = back.url
		const stranger = await fetch(callbackUrl, { headers: { cookie: 'dreamlake_oidc=someone-elses-state' } })
		expect(stranger.status).toBe(400)
		expect(await stranger.text()).toContain('started in another browser')
		const finished = await go(callbackUrl)
		expect(finished.status).toBe(200)
		expect(finished.html).toContain('Signed in as <strong>carol</strong>')
		expect(finished.html).toContain('url=/ui/p/x')
		const session = /dreamlake_session=([^;]+)/.exec(finished.headers.getSetCookie().join('\n'))![1]!
		const me = await fetch(`${s.url}/auth/me`, { headers: { cookie: `dreamlake_session=${session}` } })
		expect(me.status).toBe(200)
		expect(((await me.json()) as any).username).toBe('carol')
		const replay = await fetch(callbackUrl, { headers: { cookie: `dreamlake_oidc=${new URL(callbackUrl).searchParams.get('state')}` } })
		expect(replay.status).toBe(400)
	})

	it('a wrong password at the provider approves nothing', async () => {
		const go = browser()
		const atProvider = await go(`${s.url}/auth/oidc/start`)
		const refused = await go(`${atProvider.url}/login`, { login: 'carol', password: 'wrong' })
		expect(refused.status).toBe(401)
	})

	it('only a path of the dashboard is gone back to after a sign-in', async () => {
		const go = browser()
		const atProvider = await go(`${s.url}/auth/oidc/start?next=${encodeURIComponent('//evil.example/ui/')}`)
		const back = await signInAtProvider(go, atProvider, 'dave')
		expect(back.html).toContain('url=/ui/"')
	})
})
