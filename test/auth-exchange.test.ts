import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { decodeJwt, decodeProtectedHeader, exportSPKI, SignJWT, UnsecuredJWT } from 'jose'
import { Harness, TEST_SECRET } from './support/harness'
import { newIdentity, newSigningKey } from './support/key-server'

let h: Harness
beforeAll(async () => {
	h = await Harness.start()
})
afterAll(() => h.close())

const exchange = (token?: string, headers: Record<string, string> = {}) => h.call('POST', '/auth/exchange', { token, headers })

describe('POST /auth/exchange', () => {
	describe('200', () => {
		it('creates the user and namespace on first login, with the specified body', async () => {
			const claims = newIdentity({ username: 'Alice_Example', email: 'alice@example.com', name: 'Alice' })
			const { status, body } = await h.login(claims)
			expect(status).toBe(200)
			expect(Object.keys(body).sort()).toEqual(['dreamlake_token', 'namespace', 'success', 'user'])
			expect(body.success).toBe(true)
			expect(body.dreamlake_token).toMatch(/^eyJ[\w-]+\.[\w-]+\.[\w-]+$/)
			expect(body.user).toEqual({
				sub: claims.sub,
				email: 'alice@example.com',
				name: 'Alice',
				username: 'Alice_Example',
				id: expect.any(String),
				isNewUser: true,
			})
			expect(body.namespace).toEqual({ id: expect.any(String), slug: 'alice_example' })
		})

		it('isNewUser is true once, then false, with the same user and namespace ids', async () => {
			const claims = newIdentity()
			const first = await h.login(claims)
			const second = await h.login(claims)
			const third = await h.login(claims)
			expect([first.body.user.isNewUser, second.body.user.isNewUser, third.body.user.isNewUser]).toEqual([true, false, false])
			expect(second.body.user.id).toBe(first.body.user.id)
			expect(second.body.namespace).toEqual(first.body.namespace)
			expect(second.body.user).toEqual({ ...first.body.user, isNewUser: false })
		})

		it('returns absent profile claims as null, never omitted', async () => {
			const { status, body } = await h.login({ sub: `bare-${crypto.randomUUID()}` })
			expect(status).toBe(200)
			expect(body.user).toEqual({ sub: expect.any(String), email: null, name: null, username: null, id: expect.any(String), isNewUser: true })
		})

		it('uses preferred_username when there is no username claim', async () => {
			const { body } = await h.login({ sub: crypto.randomUUID(), preferred_username: 'prefname' })
			expect(body.user.username).toBe('prefname')
			expect(body.namespace.slug).toBe('prefname')
		})

		it.each(['EdDSA', 'ES256', 'RS256'] as const)('accepts a token signed with %s', async (alg) => {
			const { status } = await exchange(await h.keys.mint(newIdentity(), { alg }))
			expect(status).toBe(200)
		})

		it('accepts the scheme in any case ("bearer")', async () => {
			const { status } = await exchange(undefined, { authorization: `bearer ${await h.keys.mint(newIdentity())}` })
			expect(status).toBe(200)
		})

		it('accepts a token that expired less than 30 seconds ago (clock tolerance)', async () => {
			const { status } = await exchange(await h.keys.mint(newIdentity(), { expiresIn: -10 }))
			expect(status).toBe(200)
		})

		it('signs a dreamlake token with the specified claims (HS256, iss/aud dreamlake, exp)', async () => {
			const claims = newIdentity()
			const { body } = await h.login(claims)
			expect(decodeProtectedHeader(body.dreamlake_token).alg).toBe('HS256')
			const payload = decodeJwt(body.dreamlake_token)
			expect(payload).toMatchObject({
				sub: claims.sub,
				uid: body.user.id,
				username: claims.username,
				email: claims.email,
				name: claims.name,
				email_verified: true,
				picture: claims.picture,
				iss: 'dreamlake',
				aud: 'dreamlake',
			})
			expect(payload.exp! - payload.iat!).toBe(3600)
		})

		it('leaves claims with no value out of the dreamlake token', async () => {
			const { body } = await h.login({ sub: crypto.randomUUID() })
			const payload = decodeJwt(body.dreamlake_token)
			for (const claim of ['username', 'email', 'name', 'picture', 'email_verified']) expect(payload).not.toHaveProperty(claim)
		})

		it('ignores a request body (the client sends none)', async () => {
			const { status } = await h.call('POST', '/auth/exchange', { token: await h.keys.mint(newIdentity()), body: { sub: 'someone-else' } })
			expect(status).toBe(200)
		})
	})

	describe('401 Missing/invalid Authorization header', () => {
		it.each([
			['no Authorization header', {}],
			['an empty Authorization header', { authorization: '' }],
			['the Basic scheme', { authorization: 'Basic dXNlcjpwYXNz' }],
			['"Bearer" with no token', { authorization: 'Bearer' }],
			['"Bearer " with only spaces', { authorization: 'Bearer    ' }],
			['two tokens', { authorization: 'Bearer a.b.c d.e.f' }],
			['a token that is not a JWT', { authorization: 'Bearer not-a-jwt' }],
		])('401 with %s', async (_, headers) => {
			const { status, body, headers: responseHeaders } = await exchange(undefined, headers)
			expect(status).toBe(401)
			expect(body).toEqual({ success: false, error: expect.stringContaining('Authorization'), code: expect.stringMatching(/^(missing|invalid)_authorization$/) })
			expect(responseHeaders.get('www-authenticate')).toBe('Bearer')
		})
	})

	describe('401 vuer-auth token verification failed', () => {
		const rejected = async (token: string, reason: RegExp) => {
			const before = h.count('users')
			const { status, body } = await exchange(token)
			expect(status).toBe(401)
			expect(body.success).toBe(false)
			expect(body.code).toBe('vuer_token_invalid')
			expect(body.error).toMatch(reason)
			expect(h.count('users')).toBe(before)
		}

		it('401 when the vuer-auth token is expired', async () => {
			await rejected(await h.keys.mint(newIdentity(), { expiresIn: -120 }), /expired/)
		})

		it('401 when the vuer-auth token is not valid yet (nbf)', async () => {
			await rejected(await h.keys.mint(newIdentity(), { notBefore: 600 }), /not valid yet/)
		})

		it('401 when the vuer-auth token has no exp', async () => {
			await rejected(await h.keys.mint(newIdentity(), { expiresIn: null }), /no expiry/)
		})

		it('401 when the token is signed by a key not in the JWKS', async () => {
			const stranger = await newSigningKey('EdDSA')
			await rejected(await h.keys.mint(newIdentity(), { key: stranger }), /unknown key/)
		})

		it('401 when the token claims a published kid but is signed by another key', async () => {
			const stranger = await newSigningKey('EdDSA')
			await rejected(await h.keys.mint(newIdentity(), { key: stranger, kid: h.keys.key('EdDSA').kid }), /signature/)
		})

		it('401 when the signature is tampered with', async () => {
			const token = await h.keys.mint(newIdentity())
			const [header, payload, signature] = token.split('.')
			const flipped = signature!.slice(0, -2) + (signature!.endsWith('AA') ? 'BB' : 'AA')
			await rejected(`${header}.${payload}.${flipped}`, /signature|malformed/)
		})

		it('401 when the payload is tampered with', async () => {
			const token = await h.keys.mint(newIdentity())
			const [header, , signature] = token.split('.')
			const forged = Buffer.from(JSON.stringify({ ...newIdentity(), exp: Math.floor(Date.now() / 1000) + 600 })).toString('base64url')
			await rejected(`${header}.${forged}.${signature}`, /signature/)
		})

		it('401 for the none algorithm (alg: none)', async () => {
			const unsigned = new UnsecuredJWT(newIdentity()).setExpirationTime('1h').encode()
			await rejected(unsigned, /not allowed|malformed|unsupported/)
		})

		it('401 for an HS256 token made with the provider\'s public key as the secret', async () => {
			const publicJwk = h.keys.key('RS256').publicJwk
			const secret = new TextEncoder().encode(JSON.stringify(publicJwk))
			const token = await new SignJWT(newIdentity()).setProtectedHeader({ alg: 'HS256', kid: publicJwk.kid! }).setExpirationTime('1h').sign(secret)
			await rejected(token, /not allowed/)
		})

		it('401 for an HS256 token made with the PEM public key as the secret', async () => {
			const { publicKey } = await import('jose').then((j) => j.generateKeyPair('RS256', { extractable: true }))
			const pem = await exportSPKI(publicKey)
			const token = await new SignJWT(newIdentity()).setProtectedHeader({ alg: 'HS256' }).setExpirationTime('1h').sign(new TextEncoder().encode(pem))
			await rejected(token, /not allowed/)
		})

		it('401 for a dreamlake token sent to /auth/exchange', async () => {
			const { body } = await h.login(newIdentity())
			await rejected(body.dreamlake_token, /not allowed/)
		})

		it('401 for a kid that points nowhere', async () => {
			await rejected(await h.keys.mint(newIdentity(), { kid: 'no-such-kid' }), /unknown key/)
		})

		it('401 for a token over 8 KiB', async () => {
			await rejected(await h.keys.mint(newIdentity({ padding: 'x'.repeat(9000) })), /larger than/)
		})
	})

	describe('400 Unable to extract claims from token', () => {
		it.each([
			['has no sub', {}],
			['has an empty sub', { sub: '' }],
			['has a numeric sub', { sub: 12345 }],
			['has a sub over 255 characters', { sub: 's'.repeat(256) }],
		] as [string, Record<string, unknown>][])('400 when the verified token %s', async (_, claims) => {
			const before = h.count('users')
			const { sub: _ignored, ...rest } = newIdentity()
			const { status, body } = await exchange(await h.keys.mint({ ...rest, ...claims }))
			expect(status).toBe(400)
			expect(body).toEqual({ success: false, error: expect.stringContaining('Unable to extract claims from token'), code: 'invalid_claims' })
			expect(h.count('users')).toBe(before)
		})
	})

	describe('500 Failed to create user account', () => {
		it('500 when the database refuses the write, leaving no half-created user, and recovers', async () => {
			const local = await Harness.start({ keyServer: h.keys })
			try {
				const usersBefore = local.count('users')
				local.db.$client.run('PRAGMA query_only = ON') // the connection can read but not write, as on a read-only disk
				const claims = newIdentity()
				const failed = await local.login(claims)
				expect(failed.status).toBe(500)
				expect(failed.body).toEqual({ success: false, error: 'Failed to create user account.', code: 'user_creation_failed' })
				expect(JSON.stringify(failed.body)).not.toMatch(/SQL|sqlite|INSERT|readonly/i)
				local.db.$client.run('PRAGMA query_only = OFF')
				expect(local.count('users')).toBe(usersBefore)
				const recovered = await local.login(claims)
				expect(recovered.status).toBe(200)
				expect(recovered.body.user.isNewUser).toBe(true)
			} finally {
				local.close()
			}
		})
	})

	describe('500 Failed to generate token', () => {
		it('500 when signing fails, without leaking why', async () => {
			// jose refuses to sign a token whose expiry is not a finite number: a real signing failure
			const local = await Harness.start({ keyServer: h.keys, tokens: { expiresInSeconds: Number.POSITIVE_INFINITY } })
			try {
				const { status, body } = await local.login(newIdentity())
				expect(status).toBe(500)
				expect(body).toEqual({ success: false, error: 'Failed to generate token.', code: 'token_generation_failed' })
			} finally {
				local.close()
			}
		})
	})
})

describe('dreamlake tokens', () => {
	it('are verifiable with JWT_SECRET, HS256', async () => {
		const { body } = await h.login(newIdentity())
		const { jwtVerify } = await import('jose')
		const { payload } = await jwtVerify(body.dreamlake_token, new TextEncoder().encode(TEST_SECRET), { algorithms: ['HS256'], issuer: 'dreamlake', audience: 'dreamlake' })
		expect(payload.uid).toBe(body.user.id)
	})
})

