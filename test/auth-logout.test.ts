import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { Harness } from './support/harness'
import { newIdentity } from './support/key-server'

let h: Harness
beforeAll(async () => {
	h = await Harness.start()
})
afterAll(() => h.close())

const me = (token: string) => h.call('GET', '/auth/me', { token })
const logout = (token?: string) => h.call('POST', '/auth/logout', { token })

describe('POST /auth/logout', () => {
	it('200, and every token issued before it gets 401 token_revoked afterwards, even cached ones', async () => {
		const claims = newIdentity()
		const first = (await h.login(claims)).body.dreamlake_token
		await Bun.sleep(1000) // a second token with another iat, so the two differ
		const second = (await h.login(claims)).body.dreamlake_token
		expect(first).not.toBe(second)
		expect((await me(first)).status).toBe(200) // now in the verified-token cache
		expect((await me(second)).status).toBe(200)

		const { status, body, db } = await logout(first)
		expect(status).toBe(200)
		expect(body).toEqual({ success: true })
		expect(db).toEqual({ statements: 1, transactions: 1 })

		for (const token of [first, second]) {
			const gone = await me(token)
			expect(gone.status).toBe(401)
			expect(gone.body).toEqual({ success: false, error: 'The dreamlake token has been revoked; log in again.', code: 'token_revoked' })
			expect((await h.call('PATCH', '/auth/me', { token, body: { name: 'Nope' } })).status).toBe(401)
			expect((await logout(token)).status).toBe(401)
		}
	})

	it('leaves a new exchange working, with the same user, at one statement per request', async () => {
		const claims = newIdentity()
		const old = await h.login(claims)
		await logout(old.body.dreamlake_token)
		const again = await h.login(claims)
		expect(again.status).toBe(200)
		expect(again.body.user).toMatchObject({ id: old.body.user.id, isNewUser: false })
		const { status, db } = await me(again.body.dreamlake_token)
		expect(status).toBe(200)
		expect(db.statements).toBeLessThanOrEqual(1)
		h.restart()
		expect((await me(again.body.dreamlake_token)).db).toEqual({ statements: 1, transactions: 0 })
		expect((await me(old.body.dreamlake_token)).status).toBe(401) // revoked in the database too, not only in memory
		expect((await h.call('PATCH', '/auth/me', { token: again.body.dreamlake_token, body: { name: 'Back' } })).status).toBe(200)
	})

	it('does not touch other users', async () => {
		const alice = (await h.login(newIdentity())).body.dreamlake_token
		const bob = (await h.login(newIdentity())).body.dreamlake_token
		await logout(alice)
		expect((await me(bob)).status).toBe(200)
	})

	it('401 without a dreamlake token', async () => {
		expect((await logout()).status).toBe(401)
		expect((await logout(await h.keys.mint(newIdentity()))).status).toBe(401)
	})

	it('404 when the user no longer exists', async () => {
		const { body } = await h.login(newIdentity())
		h.db.$client.query('DELETE FROM users WHERE id = ?').run(body.user.id)
		const { status, body: error } = await logout(body.dreamlake_token)
		expect(status).toBe(404)
		expect(error.code).toBe('user_not_found')
	})
})
