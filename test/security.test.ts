import { afterAll, beforeAll, describe, expect, it, setDefaultTimeout } from 'bun:test'
import { mkdtempSync, rmSync } from 'node:fs'
import { request as httpRequest } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { RateLimiter } from '../src/http/rate-limit'
import { Harness } from './support/harness'
import { KeyServer, newIdentity } from './support/key-server'
import { spawnServer } from './support/process'
import { Random } from './support/random'

setDefaultTimeout(30_000)
let h: Harness
beforeAll(async () => {
	h = await Harness.start()
})
afterAll(() => h.close())

const ERROR_STATUSES = new Set([400, 401, 409, 413, 415, 422])
const isErrorBody = (body: any) => body?.success === false && typeof body.error === 'string' && typeof body.code === 'string'

describe('rate limit on POST /auth/exchange', () => {
	it('429 with Retry-After and the error body past the limit, nothing written, other addresses unaffected', async () => {
		const limited = await Harness.start({ keyServer: h.keys, exchangeLimits: { perMinute: 3, trustProxy: 1 } })
		try {
			const from = (address: string, token: string) => limited.call('POST', '/auth/exchange', { token, headers: { 'x-forwarded-for': address } })
			for (let i = 0; i < 3; i++) expect((await from('203.0.113.7', await h.keys.mint(newIdentity()))).status).toBe(200)
			const users = limited.count('users')
			const refused = await from('203.0.113.7', await h.keys.mint(newIdentity()))
			expect(refused.status).toBe(429)
			expect(refused.body).toEqual({ success: false, error: expect.stringContaining('Too many'), code: 'rate_limited' })
			expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1)
			expect(limited.count('users')).toBe(users)
			expect((await from('198.51.100.1', await h.keys.mint(newIdentity()))).status).toBe(200)
		} finally {
			limited.close()
		}
	})

	it('counts failed attempts too, before any verification work', async () => {
		const limited = await Harness.start({ keyServer: h.keys, exchangeLimits: { perMinute: 2, trustProxy: 0 } })
		try {
			const statuses = []
			for (let i = 0; i < 4; i++) statuses.push((await limited.call('POST', '/auth/exchange', { token: 'a.b.c' })).status)
			expect(statuses).toEqual([401, 401, 429, 429])
		} finally {
			limited.close()
		}
	})

	it('ignores X-Forwarded-For unless TRUST_PROXY is set, and then uses the entry the proxy added', async () => {
		const direct = await Harness.start({ keyServer: h.keys, exchangeLimits: { perMinute: 2, trustProxy: 0 } })
		const proxied = await Harness.start({ keyServer: h.keys, exchangeLimits: { perMinute: 2, trustProxy: 1 } })
		try {
			const spoofing = (app: Harness, i: number) => app.call('POST', '/auth/exchange', { token: 'a.b.c', headers: { 'x-forwarded-for': `10.0.0.${i}, 192.0.2.50` } })
			expect((await Promise.all([1, 2, 3].map((i) => spoofing(direct, i)))).map((r) => r.status)).toEqual([401, 401, 429])
			expect((await Promise.all([1, 2, 3].map((i) => spoofing(proxied, i)))).map((r) => r.status)).toEqual([401, 401, 429])
		} finally {
			direct.close()
			proxied.close()
		}
	})

	it('is off with 0', async () => {
		const unlimited = await Harness.start({ keyServer: h.keys, exchangeLimits: { perMinute: 0, trustProxy: 0 } })
		try {
			const statuses = await Promise.all(Array.from({ length: 100 }, () => unlimited.call('POST', '/auth/exchange', { token: 'a.b.c' }).then((r) => r.status)))
			expect(new Set(statuses)).toEqual(new Set([401]))
		} finally {
			unlimited.close()
		}
	})

	it('refills over time, and forgets idle addresses to stay bounded', () => {
		let now = 0
		const limiter = new RateLimiter(60, 3, () => now)
		for (let i = 0; i < 60; i++) limiter.take('a')
		expect(() => limiter.take('a')).toThrow('try again in 1 s')
		now += 1000
		limiter.take('a')
		for (const key of ['b', 'c', 'd', 'e']) limiter.take(key)
		expect((limiter as unknown as { buckets: Map<string, unknown> }).buckets.size).toBeLessThanOrEqual(3)
	})

	it('sweeps at most once per tenth of its capacity in new addresses, so a flood of addresses costs little each', () => {
		const limiter = new RateLimiter(60, 1000, () => 0)
		const buckets = (limiter as unknown as { buckets: Map<string, unknown> }).buckets
		for (let i = 0; i < 1000; i++) limiter.take(`10.0.${i >> 8}.${i & 255}`)
		limiter.take('192.0.2.1') // the sweep: down to 90%, plus this one
		expect(buckets.size).toBe(901)
		for (let i = 0; i < 99; i++) limiter.take(`192.0.3.${i}`) // no sweep on the way back up
		expect(buckets.size).toBe(1000)
		expect(buckets.has('192.0.2.1')).toBe(true)
	})

	it('limits by the socket address over real HTTP (RATE_LIMIT_EXCHANGE, --rate-limit-exchange), one bucket per client', async () => {
		const cwd = mkdtempSync(join(tmpdir(), 'dreamlake-rate-'))
		const server = await spawnServer(['--port', '0', '--rate-limit-exchange', '2'], { cwd, env: { VUER_AUTH_JWKS_URL: h.keys.jwksUrl } })
		// every 127.x.y.z address is this machine: each source address below is a different client to the server
		const exchangeFrom = async (localAddress: string, spoofed: string) => {
			const token = await h.keys.mint(newIdentity())
			const { port } = new URL(server.url)
			return new Promise<number>((resolve, reject) => {
				const request = httpRequest(
					{ host: '127.0.0.1', port, path: '/auth/exchange', method: 'POST', localAddress, agent: false, headers: { authorization: `Bearer ${token}`, 'x-forwarded-for': spoofed } },
					(response) => {
						response.resume()
						resolve(response.statusCode!)
					},
				)
				request.on('error', reject)
				request.end()
			})
		}
		try {
			const first = [await exchangeFrom('127.0.0.2', '10.0.0.1'), await exchangeFrom('127.0.0.2', '10.0.0.2'), await exchangeFrom('127.0.0.2', '10.0.0.3')]
			expect(first).toEqual([200, 200, 429])
			expect(await exchangeFrom('127.0.0.3', '10.0.0.1')).toBe(200)
		} finally {
			await server.stop()
			rmSync(cwd, { recursive: true, force: true })
		}
	})
})

describe('headers', () => {
	it('refuses an Authorization header over 16 KiB at the HTTP parser (431), and keeps serving', async () => {
		const keys = await KeyServer.start()
		const cwd = mkdtempSync(join(tmpdir(), 'dreamlake-header-'))
		const server = await spawnServer(['--port', '0'], { cwd, env: { VUER_AUTH_JWKS_URL: keys.jwksUrl } })
		try {
			const huge = await fetch(`${server.url}/auth/exchange`, { method: 'POST', headers: { authorization: `Bearer ${'a'.repeat(17 * 1024)}.b.c` } })
			expect(huge.status).toBe(431)
			const big = await fetch(`${server.url}/auth/exchange`, { method: 'POST', headers: { authorization: `Bearer ${'a'.repeat(12 * 1024)}.b.c` } })
			expect(big.status).toBe(401)
			expect(isErrorBody(await big.json())).toBe(true)
			expect((await fetch(`${server.url}/health`)).status).toBe(200)
		} finally {
			await server.stop()
			keys.stop()
			rmSync(cwd, { recursive: true, force: true })
		}
	})
})

describe('fuzzing', () => {
	it('PATCH /auth/me with thousands of generated bodies: never a 500, always the error body, never a broken row', async () => {
		const seed = Number(process.env.FUZZ_SEED ?? Date.now() % 1_000_000)
		const random = new Random(seed)
		const { body: login } = await h.login(newIdentity())
		const token = login.dreamlake_token
		const seen = new Map<number, number>()
		for (let i = 0; i < 3000; i++) {
			const raw = random.chance(0.15) ? random.string(60) : JSON.stringify(random.json())
			const contentType = random.pick(['application/json', 'application/json', 'text/plain', 'application/merge-patch+json', ''])
			const reply = await h.call('PATCH', '/auth/me', { token, body: raw, headers: contentType ? { 'content-type': contentType } : {} })
			seen.set(reply.status, (seen.get(reply.status) ?? 0) + 1)
			if (reply.status !== 200 && !(ERROR_STATUSES.has(reply.status) && isErrorBody(reply.body))) {
				throw new Error(`seed ${seed}, case ${i}: ${reply.status} ${JSON.stringify(reply.body)} for ${JSON.stringify(raw).slice(0, 300)}`)
			}
		}
		expect(seen.has(500)).toBe(false)
		expect(seen.get(422)).toBeGreaterThan(0)
		const row = await h.call('GET', '/auth/me', { token })
		expect(row.status).toBe(200)
		expect(typeof row.body.metadata).toBe('object')
	})

	it('the Authorization header with thousands of generated values: never a 500, never a crash', async () => {
		const seed = Number(process.env.FUZZ_SEED ?? Date.now() % 1_000_000)
		const random = new Random(seed)
		const real = await h.keys.mint(newIdentity())
		const segments = real.split('.')
		const schemes = ['Bearer ', 'bearer ', 'BEARER\t', 'Basic ', 'Bearer', 'Token ', '', 'Bearer  ', 'Bearer a.b.c ']
		const b64 = () => Buffer.from(random.string(30)).toString('base64url')
		for (let i = 0; i < 3000; i++) {
			const token = random.pick([
				() => random.string(80),
				() => `${b64()}.${b64()}.${b64()}`,
				() => `${segments[0]}.${b64()}.${segments[2]}`,
				() => `${b64()}.${segments[1]}.${segments[2]}`,
				() => `${Buffer.from(JSON.stringify(random.json())).toString('base64url')}.${segments[1]}.${b64()}`,
				() => real.slice(0, random.int(real.length)),
				() => `${real}${random.string(3)}`,
			])()
			const header = `${random.pick(schemes)}${token}`
			let request: Request
			try {
				request = new Request('http://dreamlake.test/auth/exchange', { method: 'POST', headers: { authorization: header } })
			} catch {
				continue // not even a valid HTTP header value: no client can send it
			}
			const path = random.pick(['/auth/exchange', '/auth/me'])
			const response = await h.fetch(new Request(`http://dreamlake.test${path}`, { method: path === '/auth/me' ? 'GET' : 'POST', headers: request.headers }))
			const body = await response.json()
			if (response.status >= 500 || !(response.status === 200 || isErrorBody(body))) {
				throw new Error(`seed ${seed}, case ${i}: ${response.status} ${JSON.stringify(body)} for ${JSON.stringify(header).slice(0, 300)}`)
			}
		}
		expect((await h.call('GET', '/health')).status).toBe(200)
	})
})
