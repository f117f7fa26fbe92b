import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { PasswordAccountRepository } from '../src/accounts/repository'
import { builtinSub, LINK_TTL_MS, LOCK_MS, MAX_FAILURES, PasswordAccounts } from '../src/accounts/service'
import { AccountRepository } from '../src/auth/repository'
import { closeDatabase, openDatabase } from '../src/db/client'
import { DbMeter } from '../src/db/meter'
import { WriteQueue } from '../src/db/write-queue'
import { IDP_ISSUER, ServerIdentityProvider } from '../src/idp'
import { NamespaceRepository } from '../src/namespaces/repository'
import { Harness } from './support/harness'

const PASSWORD = 'a long enough password'
let now = Date.now()
const clock = () => now

/** The app under IDENTITY=builtin, trusting only /idp's key; `accounts` makes people as `dreamlake-server user add` does. */
async function builtinApp(perMinute = 1000) {
	const idp = await ServerIdentityProvider.open(null)
	const h = await Harness.start({ builtin: { idp, publicUrl: 'https://dl.example.org' }, vuerAuth: { publicKey: JSON.stringify(idp.publicJwk), issuer: IDP_ISSUER }, exchangeLimits: { perMinute, trustProxy: 1 }, clock })
	// a connection of its own, as the command's process has
	const db = openDatabase(h.dbPath)
	const writes = new WriteQueue(db.$client)
	const users = new AccountRepository(db, writes, new NamespaceRepository(db, writes))
	const accounts = new PasswordAccounts(new PasswordAccountRepository(db, writes), { publicUrl: 'https://dl.example.org', perMinute: 0, revokeTokens: (tx, sub) => users.revokeEveryToken(tx, sub), now: clock })
	const meter = new DbMeter()
	/** A person with a password, as `user add` and the link's page make one. */
	const person = async (username: string, password = PASSWORD) => {
		const { account, link } = await accounts.add(meter, username, false)
		await accounts.setPasswordWithLink(meter, new URL(link.url).searchParams.get('token')!, password)
		return account
	}
	let address = 0
	/** Every call from its own address unless one is given: the per-address limit is tested on its own. */
	const signIn = (username: string, password: string, from = `10.0.0.${++address % 250}`) =>
		h.call('POST', '/auth/password/sign-in', { body: { username, password }, headers: { 'x-dreamlake-csrf': '1', 'x-forwarded-for': from } })
	return { h, idp, accounts, meter, person, signIn, close: () => (closeDatabase(db), h.close()) }
}

type App = Awaited<ReturnType<typeof builtinApp>>
let app: App
beforeAll(async () => {
	app = await builtinApp()
})
afterAll(() => app.close())

const cookieOf = (headers: Headers) => /dreamlake_session=([^;]+)/.exec(headers.get('set-cookie') ?? '')?.[1]

describe('POST /auth/password/sign-in (the dashboard, IDENTITY=builtin)', () => {
	it('a right password sets the session cookie; GET /auth/me then names the user', async () => {
		const account = await app.person('sam')
		const { status, body, headers } = await app.signIn('Sam', PASSWORD)
		expect(status).toBe(200)
		expect(body.status).toBe('signed_in')
		expect(body.user.username).toBe('sam')
		const cookie = cookieOf(headers)!
		expect(headers.get('set-cookie')).toContain('HttpOnly')
		const me = await app.h.call('GET', '/auth/me', { headers: { cookie: `dreamlake_session=${cookie}` } })
		expect(me.status).toBe(200)
		expect(me.body.sub).toBe(builtinSub(account.id))
		expect(me.body.namespace.slug).toBe('sam')
	})

	it('needs the CSRF header', async () => {
		const { status, body } = await app.h.call('POST', '/auth/password/sign-in', { body: { username: 'sam', password: PASSWORD } })
		expect(status).toBe(403)
		expect(body.code).toBe('csrf_header_missing')
	})

	it('a wrong password and an unknown username get the same answer, and both spend an argon2id hash', async () => {
		await app.person('wanda')
		const wrong = await app.signIn('wanda', 'not her password')
		const unknown = await app.signIn('nobody-at-all', 'not her password')
		expect([wrong.status, unknown.status]).toEqual([401, 401])
		expect(unknown.body).toEqual(wrong.body)
		expect(wrong.body).toEqual({ success: false, error: 'The username or password is wrong.', code: 'invalid_credentials' })
		// loosely: without the dummy hash an unknown username would answer in well under a millisecond
		const time = async (username: string) => {
			const started = performance.now()
			await app.signIn(username, 'x'.repeat(12))
			return performance.now() - started
		}
		// interleaved, so a burst of load on this shared machine falls on both alike
		let known = 0
		let stranger = 0
		for (let i = 0; i < 3; i++) {
			known += await time('wanda')
			stranger += await time(`ghost-${crypto.randomUUID().slice(0, 8)}`)
		}
		expect(stranger).toBeGreaterThan(known * 0.25)
	})

	it(`locks an account after ${MAX_FAILURES} wrong passwords, says when it unlocks, refuses the right one meanwhile, and unlocks`, async () => {
		await app.person('lena')
		for (let i = 1; i < MAX_FAILURES; i++) expect((await app.signIn('lena', `wrong ${i}`)).status).toBe(401)
		const locking = await app.signIn('lena', 'wrong again')
		expect(locking.status).toBe(429)
		expect(locking.body.code).toBe('account_locked')
		const unlocksAt = new Date(now + LOCK_MS).toISOString().slice(11, 16)
		expect(locking.body.error).toContain(`it unlocks at ${unlocksAt} UTC (in 15 minutes)`)
		expect(Number(locking.headers.get('retry-after'))).toBe(LOCK_MS / 1000)
		const right = await app.signIn('lena', PASSWORD)
		expect(right.status).toBe(429)
		expect(right.body.code).toBe('account_locked')
		now += LOCK_MS + 1000
		expect((await app.signIn('lena', PASSWORD)).status).toBe(200)
		// a right password clears the count
		expect((await app.signIn('lena', 'wrong once more')).status).toBe(401)
	})

	it('locks an unknown username alike, so a lock does not tell which usernames exist', async () => {
		for (let i = 1; i < MAX_FAILURES; i++) expect((await app.signIn('not-a-person', `wrong ${i}`)).status).toBe(401)
		const locked = await app.signIn('not-a-person', 'wrong')
		expect(locked.status).toBe(429)
		expect(locked.body.code).toBe('account_locked')
	})

	it('limits attempts per client address, whatever the account', async () => {
		const limited = await builtinApp(3)
		try {
			await limited.person('rita')
			for (let i = 0; i < 3; i++) expect((await limited.signIn('rita', 'wrong', '192.0.2.7')).status).toBe(401)
			const over = await limited.signIn('rita', PASSWORD, '192.0.2.7')
			expect(over.status).toBe(429)
			expect(over.body.code).toBe('rate_limited')
			expect((await limited.signIn('rita', PASSWORD, '192.0.2.8')).status).toBe(200)
		} finally {
			limited.close()
		}
	})

	it('hashing runs off the main thread: other requests are answered while sign-ins hash', async () => {
		await app.person('hana')
		const finished: string[] = []
		const signIns = Array.from({ length: 6 }, (_, i) => app.signIn('hana', `wrong-${i}-${'x'.repeat(8)}`).then(() => finished.push('sign-in')))
		await Bun.sleep(1)
		const health = app.h.call('GET', '/health').then(() => finished.push('health'))
		await Promise.all([...signIns, health])
		expect(finished.indexOf('health')).toBeLessThan(finished.lastIndexOf('sign-in'))
		expect(finished[0]).toBe('health')
	})

	it('never logs a password', async () => {
		await app.signIn('sam', 'a secret typed wrong')
		expect(app.h.logs.join('\n')).not.toContain('a secret typed wrong')
		expect(app.h.logs.join('\n')).not.toContain(PASSWORD)
	})
})

describe('POST /auth/password (change it, signed in)', () => {
	it('checks the current password, refuses a short new one, and the new one then signs in instead of the old', async () => {
		await app.person('chad')
		const cookie = cookieOf((await app.signIn('chad', PASSWORD)).headers)!
		const change = (body: object, headers: Record<string, string> = { 'x-dreamlake-csrf': '1' }) => app.h.call('POST', '/auth/password', { body, headers: { cookie: `dreamlake_session=${cookie}`, ...headers } })
		expect((await change({ currentPassword: PASSWORD, newPassword: 'the new one!' }, {})).status).toBe(403)
		const wrong = await change({ currentPassword: 'not it at all', newPassword: 'the new one!' })
		expect(wrong.status).toBe(401)
		const short = await change({ currentPassword: PASSWORD, newPassword: 'short' })
		expect(short.status).toBe(400)
		expect(short.body.code).toBe('password_too_short')
		expect((await change({ currentPassword: PASSWORD, newPassword: 'the new one!' })).status).toBe(200)
		expect((await app.signIn('chad', PASSWORD)).status).toBe(401)
		expect((await app.signIn('chad', 'the new one!')).status).toBe(200)
	})

	it('is 401 without a caller', async () => {
		expect((await app.h.call('POST', '/auth/password', { body: { currentPassword: 'x', newPassword: 'yyyyyyyyyy' } })).status).toBe(401)
	})
})

describe('set-password links and /auth/exchange under IDENTITY=builtin', () => {
	it('a link expires after its lifetime', async () => {
		const { link } = await app.accounts.add(app.meter, 'late-larry', false)
		now += LINK_TTL_MS + 1000
		const page = await app.h.call('GET', new URL(link.url).pathname + new URL(link.url).search)
		expect(page.status).toBe(410)
		expect(page.body).toContain('expired')
		expect((await app.h.call('GET', '/idp/set-password?token=made-up')).status).toBe(410)
	})

	it('/auth/exchange takes a token of /idp, not one of another key, and not once the account is disabled', async () => {
		const account = await app.person('dora')
		const token = await app.idp.mint({ sub: builtinSub(account.id), username: 'dora' })
		const first = await app.h.call('POST', '/auth/exchange', { token })
		expect(first.status).toBe(200)
		const stranger = await (await ServerIdentityProvider.open(null)).mint({ sub: builtinSub(account.id), username: 'dora' })
		expect((await app.h.call('POST', '/auth/exchange', { token: stranger })).status).toBe(401)
		await app.accounts.disable(app.meter, 'dora')
		const after = await app.h.call('POST', '/auth/exchange', { token })
		expect(after.status).toBe(403)
		expect(after.body.code).toBe('account_disabled')
		expect((await app.h.call('GET', '/auth/me', { token: first.body.dreamlake_token })).status).toBe(401)
	})

	it("a disabled account's API keys stop working at the next request, disabled from another process's connection", async () => {
		const account = await app.person('kiko')
		const exchanged = await app.h.call('POST', '/auth/exchange', { token: await app.idp.mint({ sub: builtinSub(account.id), username: 'kiko' }) })
		expect(exchanged.status).toBe(200)
		const ns = exchanged.body.namespace?.slug ?? exchanged.body.user?.username ?? 'kiko'
		const made = await app.h.call('POST', `/namespaces/${ns}/api-keys`, { token: exchanged.body.dreamlake_token, body: { name: 'ci', role: 'member' } })
		expect(made.status).toBe(201)
		const secret: string = made.body.secret
		expect((await app.h.call('GET', '/auth/me', { token: secret })).status).toBe(200)
		await app.accounts.disable(app.meter, 'kiko')
		const after = await app.h.call('GET', '/auth/me', { token: secret })
		expect(after.status).toBe(401)
		expect(after.body).toMatchObject({ success: false, code: 'invalid_api_key' })
	})
})

describe('POST /invitations/:token/sign-up (a new person with an invitation, IDENTITY=builtin)', () => {
	it('makes the account, signs it in and joins the team; the used link makes no second account; a taken username is 409', async () => {
		await app.person('owen')
		const owner = cookieOf((await app.signIn('owen', PASSWORD)).headers)!
		const asOwner = (method: string, path: string, body?: object) => app.h.call(method, path, { body, headers: { cookie: `dreamlake_session=${owner}`, 'x-dreamlake-csrf': '1' } })
		expect((await asOwner('POST', '/namespaces', { slug: 'owens-lab' })).status).toBe(201)
		const invite = await asOwner('POST', '/namespaces/owens-lab/invitations', { role: 'member', maxUses: 1 })
		expect(invite.status).toBe(201)
		const signUp = (username: string, password = PASSWORD, headers: Record<string, string> = { 'x-dreamlake-csrf': '1' }) => app.h.call('POST', `/invitations/${invite.body.token}/sign-up`, { body: { username, password }, headers })

		expect((await signUp('newton', PASSWORD, {})).status).toBe(403)
		expect((await signUp('newton', 'short')).body.code).toBe('password_too_short')
		expect((await signUp('owen')).status).toBe(409)
		const joined = await signUp('newton')
		expect(joined.status).toBe(200)
		expect(joined.body).toMatchObject({ status: 'signed_in', namespace: { slug: 'owens-lab' }, role: 'member' })
		const session = cookieOf(joined.headers)!
		const members = await app.h.call('GET', '/namespaces/owens-lab/members', { headers: { cookie: `dreamlake_session=${session}` } })
		expect(members.status).toBe(200)
		expect(JSON.stringify(members.body)).toContain('newton')
		expect((await app.signIn('newton', PASSWORD)).status).toBe(200)

		const again = await signUp('newcomer')
		expect(again.status).toBe(410)
		expect((await app.signIn('newcomer', PASSWORD)).status).toBe(401)
		expect((await app.h.call('POST', '/invitations/dli_made-up/sign-up', { body: { username: 'nobody-new', password: PASSWORD }, headers: { 'x-dreamlake-csrf': '1' } })).status).toBe(404)
	})
})

describe("/idp's device flow under IDENTITY=builtin: codes expire and are used once", () => {
	it('an expired code is refused on the page and the device is told expired_token; an approved one is handed out once', async () => {
		const idp = await ServerIdentityProvider.open(null, { codeTtlMs: 2000 })
		const h = await Harness.start({ builtin: { idp, publicUrl: 'https://dl.example.org' }, vuerAuth: { publicKey: JSON.stringify(idp.publicJwk), issuer: IDP_ISSUER } })
		const db = openDatabase(h.dbPath)
		try {
			const writes = new WriteQueue(db.$client)
			const users = new AccountRepository(db, writes, new NamespaceRepository(db, writes))
			const accounts = new PasswordAccounts(new PasswordAccountRepository(db, writes), { publicUrl: 'https://dl.example.org', perMinute: 0, revokeTokens: (tx, sub) => users.revokeEveryToken(tx, sub) })
			const { link } = await accounts.add(new DbMeter(), 'ezra', false)
			await accounts.setPasswordWithLink(new DbMeter(), new URL(link.url).searchParams.get('token')!, PASSWORD)
			const device = () => new Bun.CryptoHasher('sha256').update(crypto.randomUUID()).digest('hex')
			const start = async (hash: string) => (await h.call('POST', '/idp/api/device/start', { body: { client_id: 'dreamlake-app', device_secret_hash: hash } })).body.user_code as string
			const approve = (code: string) => h.call('POST', '/idp/device', { body: new URLSearchParams({ code, username: 'ezra', password: PASSWORD, action: 'approve' }).toString(), headers: { 'content-type': 'application/x-www-form-urlencoded' } })
			const poll = (hash: string) => h.call('POST', '/idp/api/device/poll', { body: { device_secret_hash: hash } })

			const late = device()
			const lateCode = await start(late)
			await Bun.sleep(2100)
			const refused = await approve(lateCode)
			expect(refused.status).toBe(400)
			expect(refused.body).toContain('expired')
			expect((await poll(late)).body.error).toBe('expired_token')

			const prompt = device()
			const code = await start(prompt)
			expect((await approve(code)).status).toBe(200)
			const first = await poll(prompt)
			expect(first.status).toBe(200)
			expect((await h.call('POST', '/auth/exchange', { token: first.body.access_token })).status).toBe(200)
			// the same device secret polls again: nothing more is handed out
			expect((await poll(prompt)).body.error).toBe('invalid_grant')
			// another device cannot collect a code it did not start
			expect((await poll(device())).body.error).toBe('invalid_grant')
		} finally {
			closeDatabase(db)
			h.close()
		}
	})
})
