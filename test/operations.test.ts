import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { createLogger } from '../src/log'
import { Harness } from './support/harness'
import { newIdentity } from './support/key-server'

let h: Harness
beforeAll(async () => {
	h = await Harness.start()
})
afterAll(() => h.close())

const GENERATED_ID = /^[0-9a-f]{8}-[0-9a-z]+$/
const requestLines = (logs: string[]) => logs.map((line) => JSON.parse(line)).filter((entry) => entry.msg === 'request')

/** The request lines logged since `from`, once there are `count` of them (they are written after the response). */
async function loggedRequests(from: number, count: number) {
	for (let waited = 0; requestLines(h.logs.slice(from)).length < count && waited < 2_000; waited += 5) await Bun.sleep(5)
	return requestLines(h.logs.slice(from))
}

describe('GET /ready', () => {
	it('200 when the database answers a query', async () => {
		const { status, body } = await h.call('GET', '/ready')
		expect(status).toBe(200)
		expect(body).toEqual({ status: 'ready' })
	})

	it('503 when it does not', async () => {
		const local = await Harness.start({ keyServer: h.keys })
		try {
			local.db.$client.close()
			const { status, body } = await local.call('GET', '/ready')
			expect(status).toBe(503)
			expect(body).toEqual({ success: false, error: 'The database is not answering queries.', code: 'not_ready' })
			expect((await local.call('GET', '/health')).status).toBe(200)
		} finally {
			local.close()
		}
	})
})

describe('request ids and the request log', () => {
	it.each(['x', 'ab', 'api', 'db:80'])('routes a request whose Host is as short as %p (Elysia looks for the path from the 12th character)', async (host) => {
		const health = await h.fetch(new Request(`http://${host}/health`))
		expect(health.status).toBe(200)
		const me = await h.fetch(new Request(`http://${host}/auth/me?x=1`))
		expect(me.status).toBe(401)
		expect(((await me.json()) as { code: string }).code).toBe('missing_authorization')
	})

	it('reports the whole request in Server-Timing as total, beside the database', async () => {
		const { headers } = await h.call('GET', '/health')
		expect(headers.get('server-timing')).toMatch(/^db;dur=[\d.]+;desc="0", total;dur=[\d.]+$/)
	})

	it('echoes a sane X-Request-Id', async () => {
		const { headers } = await h.call('GET', '/health', { headers: { 'x-request-id': 'trace-123.abc:def' } })
		expect(headers.get('x-request-id')).toBe('trace-123.abc:def')
	})

	it.each([['too long', 'x'.repeat(200)], ['with spaces', 'a b'], ['with a newline escape', 'a%0Ab']])('replaces one %s with a generated id', async (_, given) => {
		const { headers } = await h.call('GET', '/health', { headers: { 'x-request-id': given } })
		expect(headers.get('x-request-id')).toMatch(GENERATED_ID)
	})

	it('generates one when none is sent, on errors too', async () => {
		const ok = await h.call('GET', '/health')
		const missing = await h.call('GET', '/nowhere')
		expect(ok.headers.get('x-request-id')).toMatch(GENERATED_ID)
		expect(missing.headers.get('x-request-id')).toMatch(GENERATED_ID)
		expect(missing.headers.get('x-request-id')).not.toBe(ok.headers.get('x-request-id'))
	})

	it('logs one line per request: time, id, method, path, status, duration; never the token', async () => {
		const token = await h.keys.mint(newIdentity())
		const before = h.logs.length
		const reply = await h.call('POST', '/auth/exchange?debug=1', { token, headers: { 'x-request-id': 'logged-1' } })
		expect(await loggedRequests(before, 1)).toEqual([{ time: expect.any(String), level: 'info', msg: 'request', id: 'logged-1', method: 'POST', path: '/auth/exchange', status: 200, ms: expect.any(Number) }])
		const all = h.logs.slice(before).join('\n')
		expect(all).not.toContain(token.split('.')[1]!)
		expect(all).not.toContain(reply.body.dreamlake_token.split('.')[2])
	})

	it('writes every request line as valid JSON, whatever the path holds', () => {
		const lines: string[] = []
		const log = createLogger({ format: 'json', write: (line) => lines.push(line) })
		for (const path of ['/auth/me', '/a"b', '/back\\slash', '/é/日本', '/tab\there', '']) {
			log.request('id-1', 'GET', path, 404, 0.5)
			expect(JSON.parse(lines.at(-1)!)).toMatchObject({ id: 'id-1', method: 'GET', path, status: 404, ms: 0.5 })
		}
	})

	it('logs the status of failed requests', async () => {
		const before = h.logs.length
		await h.call('GET', '/auth/me')
		await h.call('GET', '/missing')
		expect((await loggedRequests(before, 2)).map((l) => [l.path, l.status])).toEqual([
			['/auth/me', 401],
			['/missing', 404],
		])
	})
})

describe('GET /openapi.json', () => {
	it('describes every endpoint, body, response and error', async () => {
		const { status, body: doc } = await h.call('GET', '/openapi.json')
		expect(status).toBe(200)
		expect(doc.openapi).toMatch(/^3\./)
		expect(doc.info.title).toBe('DreamLake API')
		// the dashboard's page and assets (/ui/…) are not API: hidden from the document
		for (const route of h.app.routes.filter((r) => r.path !== '/openapi.json' && !r.path.startsWith('/ui'))) {
			const path = route.path.replace(/:(\w+)/g, '{$1}')
			const operation = doc.paths[path]?.[route.method === 'ALL' ? 'get' : route.method.toLowerCase()]
			expect(operation, `${route.method} ${route.path}`).toBeDefined()
			expect(operation.summary).toBeString()
			// a success body, or the 501 of a route this server does not have yet
			expect(Object.keys(operation.responses).some((status) => ['200', '201', '501'].includes(status))).toBe(true)
			// a dreamlake token or an API key: either one is enough; a read of what public projects open to anyone needs neither ({})
			if (path.startsWith('/episodes') || path.startsWith('/namespaces')) {
				expect(operation.security).toEqual(route.method === 'GET' && !path.endsWith('/members') && !path.endsWith('/api-keys') && !path.endsWith('/invitations') ? [{}, { dreamlakeToken: [] }, { apiKey: [] }] : [{ dreamlakeToken: [] }, { apiKey: [] }])
			}
		}
		const exchange = doc.paths['/auth/exchange'].post
		expect(Object.keys(exchange.responses).sort()).toEqual(['200', '400', '401', '429', '500', '503'])
		expect(exchange.responses['401'].content['application/json'].schema.required).toEqual(['success', 'error', 'code'])
		expect(exchange.security).toEqual([{ vuerAuthToken: [] }])
		const patch = doc.paths['/auth/me'].patch
		expect(Object.keys(patch.responses)).toEqual(expect.arrayContaining(['200', '401', '404', '409', '413', '422']))
		expect(JSON.stringify(patch.requestBody)).toContain('metadata')
		expect(JSON.stringify(patch.requestBody)).toContain('"additionalProperties":false')
		expect(doc.components.securitySchemes.dreamlakeToken).toMatchObject({ type: 'http', scheme: 'bearer' })
	})

	it('leaves the development routes out unless --dev is on', async () => {
		const { body: doc } = await h.call('GET', '/openapi.json')
		expect(Object.keys(doc.paths).some((p) => p.startsWith('/dev/'))).toBe(false)
		expect((await h.call('POST', '/dev/vuer-auth/token', { body: { username: 'x' } })).status).toBe(404)
	})
})
