import { afterEach, describe, expect, it } from 'bun:test'
import { exportJWK, exportSPKI, generateKeyPair } from 'jose'
import { Harness } from './support/harness'
import { KeyServer, newIdentity, newSigningKey } from './support/key-server'

const open: Harness[] = []
async function harness(options: Parameters<typeof Harness.start>[0] = {}) {
	const h = await Harness.start(options)
	open.push(h)
	return h
}
afterEach(() => {
	while (open.length) open.pop()!.close()
})

describe('vuer-auth key set', () => {
	it('is fetched once and cached', async () => {
		const h = await harness()
		for (let i = 0; i < 5; i++) expect((await h.login(newIdentity())).status).toBe(200)
		expect(h.keys.fetches).toBe(1)
	})

	it('is refetched when a token names an unknown kid (key rotation)', async () => {
		const h = await harness({ vuerAuth: { unknownKidCooldownMs: 0 } })
		expect((await h.login(newIdentity())).status).toBe(200)
		const rotated = await h.keys.rotate('ES256')
		const { status } = await h.call('POST', '/auth/exchange', { token: await h.keys.mint(newIdentity(), { key: rotated }) })
		expect(status).toBe(200)
		expect(h.keys.fetches).toBe(2)
	})

	it('refetches for unknown kids at most once per cooldown', async () => {
		const h = await harness({ vuerAuth: { unknownKidCooldownMs: 60_000 } })
		expect((await h.login(newIdentity())).status).toBe(200)
		for (let i = 0; i < 5; i++) {
			const { status } = await h.call('POST', '/auth/exchange', { token: await h.keys.mint(newIdentity(), { kid: `forged-${i}` }) })
			expect(status).toBe(401)
		}
		expect(h.keys.fetches).toBe(1)
	})

	it('keeps working from cache when the provider goes down', async () => {
		const h = await harness({ vuerAuth: { keySetMaxAgeMs: 0 } })
		expect((await h.login(newIdentity())).status).toBe(200)
		h.keys.mode = 'down'
		expect((await h.login(newIdentity())).status).toBe(200)
	})

	it('503 idp_unavailable when the provider is down and no cached key fits, then recovers by itself', async () => {
		const h = await harness({ vuerAuth: { failureBackoffMs: 50 } })
		h.keys.mode = 'down'
		const claims = newIdentity()
		const { status, body } = await h.login(claims)
		expect(status).toBe(503)
		expect(body).toEqual({ success: false, error: expect.stringContaining('identity provider'), code: 'idp_unavailable' })
		expect(h.count('users')).toBe(0)
		h.keys.mode = 'up'
		await Bun.sleep(60)
		expect((await h.login(claims)).status).toBe(200)
	})

	it('does not hang a request on a provider that never answers', async () => {
		const h = await harness({ vuerAuth: { fetchTimeoutMs: 300 } })
		h.keys.mode = 'hang'
		const started = performance.now()
		const { status } = await h.login(newIdentity())
		expect(status).toBe(503)
		expect(performance.now() - started).toBeLessThan(2_000)
	})

	it('ignores jku, x5u and jwk headers: never fetched, never trusted', async () => {
		const h = await harness()
		const attacker = await KeyServer.start()
		try {
			const evil = await newSigningKey('EdDSA')
			const token = await h.keys.mint(newIdentity(), {
				key: evil,
				header: { jku: attacker.jwksUrl, x5u: `${attacker.url}/cert.pem`, jwk: evil.publicJwk },
			})
			const { status } = await h.call('POST', '/auth/exchange', { token })
			expect(status).toBe(401)
			expect(attacker.fetches).toBe(0)
		} finally {
			attacker.stop()
		}
	})
})

describe('VUER_AUTH_PUBLIC_KEY', () => {
	it('verifies with a configured PEM key instead of the key set', async () => {
		const keys = await KeyServer.start()
		const { publicKey, privateKey } = await generateKeyPair('ES256', { extractable: true })
		const h = await harness({ keyServer: keys, vuerAuth: { publicKey: await exportSPKI(publicKey) } })
		try {
			const key = { kid: 'k', alg: 'ES256' as const, privateKey, publicJwk: await exportJWK(publicKey) }
			expect((await h.call('POST', '/auth/exchange', { token: await keys.mint(newIdentity(), { key, kid: null }) })).status).toBe(200)
			// a key only the JWKS has is not trusted when a static key is configured
			expect((await h.login(newIdentity())).status).toBe(401)
			expect(keys.fetches).toBe(0)
		} finally {
			keys.stop()
		}
	})

	it('verifies with a configured JWK', async () => {
		const keys = await KeyServer.start()
		const key = await newSigningKey('EdDSA')
		const h = await harness({ keyServer: keys, vuerAuth: { publicKey: JSON.stringify(key.publicJwk) } })
		try {
			expect((await h.call('POST', '/auth/exchange', { token: await keys.mint(newIdentity(), { key }) })).status).toBe(200)
		} finally {
			keys.stop()
		}
	})
})

describe('VUER_AUTH_ISSUER and VUER_AUTH_AUDIENCE', () => {
	it('are checked when configured', async () => {
		const h = await harness({ vuerAuth: { issuer: 'https://auth.vuer.ai', audience: 'dreamlake' } })
		const good = { iss: 'https://auth.vuer.ai', aud: 'dreamlake' }
		expect((await h.login(newIdentity(good))).status).toBe(200)
		const wrongIssuer = await h.login(newIdentity({ ...good, iss: 'https://evil.example' }))
		expect(wrongIssuer.status).toBe(401)
		expect(wrongIssuer.body.error).toContain('another issuer')
		const wrongAudience = await h.login(newIdentity({ ...good, aud: 'other-app' }))
		expect(wrongAudience.status).toBe(401)
		expect(wrongAudience.body.error).toContain('another audience')
		expect((await h.login(newIdentity({ aud: 'dreamlake' }))).status).toBe(401)
	})

	it('are not required when unset', async () => {
		const h = await harness()
		expect((await h.login(newIdentity({ iss: 'anyone', aud: 'anything' }))).status).toBe(200)
	})
})

describe('algorithm allow-list', () => {
	it('refuses a published key whose algorithm is not allowed', async () => {
		const h = await harness({ vuerAuth: { algorithms: ['EdDSA'] } })
		expect((await h.call('POST', '/auth/exchange', { token: await h.keys.mint(newIdentity(), { alg: 'RS256' }) })).status).toBe(401)
		expect((await h.call('POST', '/auth/exchange', { token: await h.keys.mint(newIdentity(), { alg: 'EdDSA' }) })).status).toBe(200)
	})
})
