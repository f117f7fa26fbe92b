import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { Harness } from './support/harness'
import { newIdentity } from './support/key-server'

let h: Harness
beforeAll(async () => {
	h = await Harness.start()
})
afterAll(() => h.close())

describe('GET /health', () => {
	it('200 {"status":"ok"}', async () => {
		const { status, body, headers } = await h.call('GET', '/health')
		expect(status).toBe(200)
		expect(body).toEqual({ status: 'ok' })
		expect(headers.get('content-type')).toContain('application/json')
	})
})

describe('errors', () => {
	it('404 with the error body for an unknown route', async () => {
		const { status, body } = await h.call('GET', '/no/such/route')
		expect(status).toBe(404)
		expect(body).toEqual({ success: false, error: 'No such endpoint: GET /no/such/route.', code: 'not_found' })
	})

	it('404 with the error body for a known path with another method', async () => {
		const { status, body } = await h.call('DELETE', '/auth/me')
		expect(status).toBe(404)
		expect(body.code).toBe('not_found')
	})

	it('500 with a generic sentence for an unexpected failure, logged without the token, and the server keeps serving', async () => {
		const local = await Harness.start({ keyServer: h.keys })
		try {
			const { body: login } = await local.login(newIdentity())
			for (const table of ['namespace_members', 'api_keys', 'invitations']) local.db.$client.run(`DROP TABLE ${table}`) // the schema breaks under the running server
			local.db.$client.run('DROP TABLE namespaces')
			local.db.$client.run('DROP TABLE users')
			const { status, body } = await local.call('PATCH', '/auth/me', { token: login.dreamlake_token, body: { name: 'x' } })
			expect(status).toBe(500)
			expect(body).toEqual({ success: false, error: 'Something went wrong on the server; it has been logged.', code: 'internal_error' })
			const logged = local.logs.join('\n')
			expect(logged).toContain('unexpected error')
			expect(logged).not.toContain(login.dreamlake_token)
			expect(logged).not.toMatch(/SELECT|UPDATE|users"|\n\s+at /)
			expect((await local.call('GET', '/health')).status).toBe(200)
		} finally {
			local.close()
		}
	})

	it('never echoes tokens in responses or logs', async () => {
		const token = await h.keys.mint(newIdentity(), { expiresIn: -600 })
		const { body } = await h.call('POST', '/auth/exchange', { token })
		expect(JSON.stringify(body)).not.toContain(token)
		expect(h.logs.join('\n')).not.toContain(token.split('.')[2]!)
	})
})
