import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { SignJWT } from 'jose'
import { DreamlakeTokens } from '../src/auth/dreamlake-token'
import { Harness, TEST_SECRET } from './support/harness'
import { newIdentity } from './support/key-server'

let h: Harness
beforeAll(async () => {
	h = await Harness.start()
})
afterAll(() => h.close())

const me = (token?: string, headers: Record<string, string> = {}) => h.call('GET', '/auth/me', { token, headers })
const secret = new TextEncoder().encode(TEST_SECRET)

describe('GET /auth/me', () => {
	it('200 with the specified profile body, field for field', async () => {
		const claims = newIdentity({ username: 'carol', email: 'carol@example.com', name: 'Carol', given_name: 'Carol', family_name: 'Smith' })
		const login = await h.login(claims)
		const { status, body } = await me(login.body.dreamlake_token)
		expect(status).toBe(200)
		expect(body).toEqual({
			id: login.body.user.id,
			sub: claims.sub,
			email: 'carol@example.com',
			name: 'Carol',
			username: 'carol',
			given_name: 'Carol',
			family_name: 'Smith',
			picture: claims.picture,
			email_verified: true,
			namespace: login.body.namespace,
			metadata: {},
			createdAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
			updatedAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
		})
		expect(Date.now() - Date.parse(body.createdAt)).toBeLessThan(60_000)
	})

	it('200 with absent values as null', async () => {
		const login = await h.login({ sub: crypto.randomUUID() })
		const { body } = await me(login.body.dreamlake_token)
		for (const field of ['email', 'name', 'username', 'given_name', 'family_name', 'picture', 'email_verified']) expect(body[field]).toBeNull()
	})

	it('creates the user and namespace from the token when they do not exist (findOrCreateUser)', async () => {
		const sub = `gone-${crypto.randomUUID()}`
		const uid = Bun.randomUUIDv7()
		const token = await h.tokens.sign({ id: uid, sub, username: 'phoenix', email: 'phoenix@example.com', name: 'Phoenix', picture: null, emailVerified: true, tokenVersion: 0 } as never)
		const before = { users: h.count('users'), namespaces: h.count('namespaces') }
		const { status, body } = await me(token)
		expect(status).toBe(200)
		expect(body).toMatchObject({ id: uid, sub, username: 'phoenix', email: 'phoenix@example.com', name: 'Phoenix', namespace: { slug: 'phoenix' } })
		expect({ users: h.count('users'), namespaces: h.count('namespaces') }).toEqual({ users: before.users + 1, namespaces: before.namespaces + 1 })
		const again = await me(token)
		expect(again.body).toEqual(body)
		expect(h.count('users')).toBe(before.users + 1)
	})

	it('re-creates a missing user under a fresh id when the token\'s id belongs to someone else', async () => {
		const other = await h.login(newIdentity())
		const sub = `orphan-${crypto.randomUUID()}`
		const token = await h.tokens.sign({ id: other.body.user.id, sub, username: null, email: null, name: null, picture: null, emailVerified: null, tokenVersion: 0 } as never)
		const { status, body } = await me(token)
		expect(status).toBe(200)
		expect(body.sub).toBe(sub)
		expect(body.id).not.toBe(other.body.user.id)
		expect((await me(other.body.dreamlake_token)).body.sub).toBe(other.body.user.sub)
	})

	describe('401 for anything but a valid dreamlake token', () => {
		const rejected = async (token: string | undefined, code: string, headers: Record<string, string> = {}) => {
			const { status, body } = await me(token, headers)
			expect(status).toBe(401)
			expect(body).toEqual({ success: false, error: expect.any(String), code })
		}

		it('401 without an Authorization header', () => rejected(undefined, 'missing_authorization'))
		it('401 with a malformed Authorization header', () => rejected(undefined, 'invalid_authorization', { authorization: 'Token abc' }))

		it('401 for a vuer-auth token sent to /auth/me', async () => {
			await rejected(await h.keys.mint(newIdentity()), 'invalid_token')
		})

		it('401 for an expired dreamlake token, saying it expired, even after it was accepted (and cached)', async () => {
			const login = await h.login(newIdentity())
			const { sub, uid, ver } = (await import('jose')).decodeJwt(login.body.dreamlake_token)
			const exp = Math.floor(Date.now() / 1000) + 2
			const token = await new SignJWT({ sub, uid, ver }).setProtectedHeader({ alg: 'HS256' }).setIssuedAt().setIssuer('dreamlake').setAudience('dreamlake').setExpirationTime(exp).sign(secret)
			expect((await me(token)).status).toBe(200)
			await Bun.sleep(exp * 1000 - Date.now() + 50)
			await rejected(token, 'token_expired')
		})

		it('401 for a dreamlake token signed with another server\'s secret', async () => {
			const other = await DreamlakeTokens.create({ secret: 'another-server-secret-of-32-bytes-or-more', issuer: 'dreamlake', audience: 'dreamlake', expiresInSeconds: 60 })
			const login = await h.login(newIdentity())
			await rejected(await other.sign(await userOf(login.body.dreamlake_token)), 'invalid_token')
		})

		it('401 for a token with the right secret but another issuer or audience', async () => {
			const base = { sub: 'x', uid: 'y', ver: 0 }
			await rejected(await new SignJWT(base).setProtectedHeader({ alg: 'HS256' }).setIssuedAt().setIssuer('evil').setAudience('dreamlake').sign(secret), 'invalid_token')
			await rejected(await new SignJWT(base).setProtectedHeader({ alg: 'HS256' }).setIssuedAt().setIssuer('dreamlake').setAudience('evil').sign(secret), 'invalid_token')
			await rejected(await new SignJWT(base).setProtectedHeader({ alg: 'HS256' }).setIssuedAt().sign(secret), 'invalid_token')
		})

		it('401 for a token with the right secret but HS512', async () => {
			const token = await new SignJWT({ sub: 'x', uid: 'y', ver: 0 }).setProtectedHeader({ alg: 'HS512' }).setIssuedAt().setIssuer('dreamlake').setAudience('dreamlake').sign(new TextEncoder().encode(TEST_SECRET.repeat(2)))
			await rejected(token, 'invalid_token')
		})

		it('401 for a forged signature on a real token\'s payload', async () => {
			const login = await h.login(newIdentity())
			const [header, payload] = login.body.dreamlake_token.split('.')
			await rejected(`${header}.${payload}.${'A'.repeat(43)}`, 'invalid_token')
		})

		it('401 for a cached token\'s signature on another payload: the cache matches the whole header, not a part of it', async () => {
			const victim = await h.login(newIdentity())
			const token = victim.body.dreamlake_token
			expect((await me(token)).status).toBe(200) // verified and cached now
			const [header, , signature] = token.split('.')
			const other = await h.login(newIdentity())
			const otherPayload = other.body.dreamlake_token.split('.')[1]
			await rejected(`${header}.${otherPayload}.${signature}`, 'invalid_token')
			// other spellings of the same valid header are verified on their own and accepted
			const lower = await me(undefined, { authorization: `bearer ${token}` })
			const spaced = await me(undefined, { authorization: `Bearer  ${token} ` })
			expect([lower.status, lower.body.id, spaced.status, spaced.body.id]).toEqual([200, victim.body.user.id, 200, victim.body.user.id])
		})

		it('401 for a signed token without the uid and ver claims', async () => {
			const token = await new SignJWT({ sub: 'x' }).setProtectedHeader({ alg: 'HS256' }).setIssuedAt().setIssuer('dreamlake').setAudience('dreamlake').sign(secret)
			await rejected(token, 'invalid_token')
		})
	})

	it('answers in at most one database statement: one after a restart, none once the account is cached', async () => {
		const login = await h.login(newIdentity())
		h.restart()
		expect((await me(login.body.dreamlake_token)).db).toEqual({ statements: 1, transactions: 0 })
		expect((await me(login.body.dreamlake_token)).db).toEqual({ statements: 0, transactions: 0 })
	})
})

async function userOf(token: string) {
	const { body } = await me(token)
	return { id: body.id, sub: body.sub, username: body.username, email: body.email, name: body.name, picture: body.picture, emailVerified: body.email_verified, tokenVersion: 0 } as never
}
