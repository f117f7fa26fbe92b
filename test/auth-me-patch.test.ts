import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { Harness } from './support/harness'
import { newIdentity } from './support/key-server'

let h: Harness
beforeAll(async () => {
	h = await Harness.start()
})
afterAll(() => h.close())

/** A fresh user's token. */
async function newUser(claims: Record<string, unknown> = {}): Promise<string> {
	const { body } = await h.login(newIdentity(claims))
	return body.dreamlake_token
}
const patch = (token: string, body: unknown, headers: Record<string, string> = {}) => h.call('PATCH', '/auth/me', { token, body, headers })
const profile = async (token: string) => (await h.call('GET', '/auth/me', { token })).body

/** Sends `body`, expects a 422 naming `field`, and that nothing changed. */
async function refused(body: unknown, field: string) {
	const token = await newUser()
	const before = await profile(token)
	const { status, body: error } = await patch(token, body)
	expect(status).toBe(422)
	expect(error).toEqual({ success: false, error: expect.stringContaining(`"${field}"`), code: 'validation_failed', field })
	expect(await profile(token)).toEqual(before)
}

async function accepted(body: Record<string, unknown>) {
	const token = await newUser()
	const { status, body: updated } = await patch(token, body)
	expect(status).toBe(200)
	return updated
}

describe('PATCH /auth/me', () => {
	it('200 with the specified body, changing only the fields sent', async () => {
		const token = await newUser({ name: 'Alice', username: undefined })
		const before = await profile(token)
		await Bun.sleep(2)
		const { status, body } = await patch(token, { name: 'Alice Smith', metadata: { bio: 'Robotics researcher' } })
		expect(status).toBe(200)
		expect(body).toEqual({
			id: before.id,
			name: 'Alice Smith',
			username: before.username,
			picture: before.picture,
			metadata: { bio: 'Robotics researcher' },
			updatedAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
		})
		expect(Date.parse(body.updatedAt)).toBeGreaterThan(Date.parse(before.updatedAt))
		const after = await profile(token)
		expect(after).toEqual({ ...before, name: 'Alice Smith', metadata: { bio: 'Robotics researcher' }, updatedAt: body.updatedAt })
	})

	it('200 for an empty body {}, writing nothing', async () => {
		const token = await newUser()
		const before = await profile(token)
		const { status, body, db } = await patch(token, {})
		expect(status).toBe(200)
		expect(body).toEqual({ id: before.id, name: before.name, username: before.username, picture: before.picture, metadata: {}, updatedAt: before.updatedAt })
		expect(await profile(token)).toEqual(before)
		expect(db.transactions).toBe(0)
	})

	it('replaces metadata as a whole', async () => {
		const token = await newUser()
		await patch(token, { metadata: { a: 1, b: { c: [1, 2] } } })
		const { body } = await patch(token, { metadata: { z: true } })
		expect(body.metadata).toEqual({ z: true })
	})

	it('clears the picture with null', async () => {
		const token = await newUser()
		const { body } = await patch(token, { picture: null })
		expect(body.picture).toBeNull()
		expect((await profile(token)).picture).toBeNull()
	})

	it('does not rename the namespace when the username changes', async () => {
		const token = await newUser({ username: 'keepslug' })
		const { body } = await patch(token, { username: 'newname' })
		expect(body.username).toBe('newname')
		const after = await profile(token)
		expect(after.username).toBe('newname')
		expect(after.namespace.slug).toBe('keepslug')
	})

	it('lets a user change the case of their own username', async () => {
		const token = await newUser({ username: 'casey' })
		expect((await patch(token, { username: 'Casey' })).status).toBe(200)
	})

	it('stores and returns unicode, SQL-looking and emoji names exactly', async () => {
		for (const name of ["Robert'); DROP TABLE users;--", 'مرحبا \u202Eevil', 'zero\u200Bwidth', '🤖 Robo 🦾', "' OR 1=1 --"]) {
			const token = await newUser()
			const { status, body } = await patch(token, { name })
			expect(status).toBe(200)
			expect(body.name).toBe(name)
			expect((await profile(token)).name).toBe(name)
		}
		expect(h.count('users')).toBeGreaterThan(0)
	})

	describe('limits, at and just past each bound', () => {
		it('name: 1 character is accepted', async () => expect((await accepted({ name: 'A' })).name).toBe('A'))
		it('name: 100 characters are accepted', async () => expect((await accepted({ name: 'n'.repeat(100) })).name).toHaveLength(100))
		it('name: empty is refused', () => refused({ name: '' }, 'name'))
		it('name: 101 characters are refused', () => refused({ name: 'n'.repeat(101) }, 'name'))
		it('name: only spaces is refused', () => refused({ name: '   ' }, 'name'))
		it('name: control characters are refused', () => refused({ name: 'a\u0000b' }, 'name'))
		it('name: a number is refused', () => refused({ name: 42 }, 'name'))
		it('name: null is refused', () => refused({ name: null }, 'name'))

		it('username: 1 character is accepted', async () => expect((await accepted({ username: `u` })).username).toBe('u'))
		it('username: 39 characters are accepted', async () => {
			const username = `z${crypto.randomUUID().replaceAll('-', '')}`.slice(0, 39).padEnd(39, 'x')
			expect((await accepted({ username })).username).toBe(username)
		})
		it('username: 40 characters are refused', () => refused({ username: 'a'.repeat(40) }, 'username'))
		it('username: empty is refused', () => refused({ username: '' }, 'username'))
		it('username: a leading "." is refused', () => refused({ username: '.alice' }, 'username'))
		it('username: a space is refused', () => refused({ username: 'ali ce' }, 'username'))
		it('username: SQL is refused', () => refused({ username: "a'; DROP TABLE users;--" }, 'username'))
		it('username: "_", "." and "-" after the first character are accepted', async () => {
			const username = `a_b.c-${crypto.randomUUID().slice(0, 8)}`
			expect((await accepted({ username })).username).toBe(username)
		})

		it('picture: an https URL of 2048 characters is accepted', async () => {
			const picture = `https://img.example.com/${'p'.repeat(2048 - 24)}`
			expect(picture).toHaveLength(2048)
			expect((await accepted({ picture })).picture).toBe(picture)
		})
		it('picture: an http URL is accepted', async () => expect((await accepted({ picture: 'http://x.example/a.png' })).picture).toBe('http://x.example/a.png'))
		it('picture: 2049 characters are refused', () => refused({ picture: `https://img.example.com/${'p'.repeat(2049 - 24)}` }, 'picture'))
		it('picture: a javascript: URL is refused', () => refused({ picture: 'javascript:alert(1)' }, 'picture'))
		it('picture: a data: URL is refused', () => refused({ picture: 'data:image/png;base64,AAAA' }, 'picture'))
		it('picture: not a URL is refused', () => refused({ picture: 'not a url' }, 'picture'))

		it('metadata: 16 KiB of JSON is accepted', async () => {
			const metadata = { blob: 'm'.repeat(16 * 1024 - '{"blob":""}'.length) }
			expect(JSON.stringify(metadata)).toHaveLength(16 * 1024)
			expect((await accepted({ metadata })).metadata).toEqual(metadata)
		})
		it('metadata: one byte over 16 KiB is refused', () => refused({ metadata: { blob: 'm'.repeat(16 * 1024 - '{"blob":""}'.length + 1) } }, 'metadata'))
		it('metadata: an array is refused', () => refused({ metadata: [1, 2] }, 'metadata'))
		it('metadata: a string is refused', () => refused({ metadata: 'bio' }, 'metadata'))
		it('metadata: null is refused', () => refused({ metadata: null }, 'metadata'))
		it('metadata: nesting 100 deep is refused', () => {
			let deep: Record<string, unknown> = {}
			for (let i = 0; i < 100; i++) deep = { d: deep }
			return refused({ metadata: deep }, 'metadata')
		})
		it('metadata: a "__proto__" key is refused', () => refused('{"metadata":{"__proto__":{"admin":true}}}', 'metadata'))
		it('metadata: a nested "constructor" key is refused', () => refused({ metadata: { a: { constructor: { prototype: 1 } } } }, 'metadata'))
	})

	describe('422 for fields that cannot be changed (mass assignment)', () => {
		it.each(['id', 'sub', 'email', 'createdAt', 'updatedAt', 'namespace', 'tokenVersion', 'isAdmin'])('422 for "%s"', (field) =>
			refused({ name: 'x', [field]: 'forged' }, field),
		)
	})

	describe('body errors', () => {
		it('400 for malformed JSON', async () => {
			const token = await newUser()
			const { status, body } = await patch(token, '{"name": "x"', { 'content-type': 'application/json' })
			expect(status).toBe(400)
			expect(body).toEqual({ success: false, error: 'Request body is not valid JSON.', code: 'invalid_json' })
		})

		it('400 for no body at all', async () => {
			const token = await newUser()
			expect((await h.call('PATCH', '/auth/me', { token })).status).toBe(400)
		})

		it.each([['an array', '[]'], ['a string', '"name"'], ['a number', '42'], ['null', 'null']])('422 for JSON that is %s', async (_, text) => {
			const token = await newUser()
			const { status, body } = await patch(token, text, { 'content-type': 'application/json' })
			expect(status).toBe(422)
			expect(body.code).toBe('validation_failed')
		})

		it('413 for a body over the limit, declared by Content-Length', async () => {
			const token = await newUser()
			const { status, body } = await patch(token, JSON.stringify({ name: 'x', metadata: { blob: 'x'.repeat(1024 * 1024) } }), { 'content-type': 'application/json' })
			expect(status).toBe(413)
			expect(body).toEqual({ success: false, error: expect.stringContaining('KiB'), code: 'payload_too_large' })
		})

		it('413 for a chunked body over the limit (no Content-Length)', async () => {
			const token = await newUser()
			const chunk = new TextEncoder().encode('x'.repeat(16 * 1024))
			let sent = 0
			const stream = new ReadableStream({
				pull(controller) {
					if (sent++ < 64) controller.enqueue(chunk)
					else controller.close()
				},
			})
			const response = await h.fetch(
				new Request('http://dreamlake.test/auth/me', { method: 'PATCH', body: stream, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' } }),
			)
			expect(response.status).toBe(413)
			expect(sent).toBeLessThan(64)
		})

		it('415 for a body that is not JSON', async () => {
			const token = await newUser()
			const { status, body } = await patch(token, 'name=x', { 'content-type': 'application/x-www-form-urlencoded' })
			expect(status).toBe(415)
			expect(body.code).toBe('unsupported_media_type')
		})
	})

	describe('409 username taken', () => {
		it('409 when another user has the username, in any case', async () => {
			await newUser({ username: 'takenname' })
			const token = await newUser()
			const before = await profile(token)
			for (const username of ['takenname', 'TakenName']) {
				const { status, body } = await patch(token, { username, name: 'Changed' })
				expect(status).toBe(409)
				expect(body).toEqual({ success: false, error: `The username "${username}" is already taken.`, code: 'username_taken' })
			}
			expect(await profile(token)).toEqual(before)
		})
	})

	describe('404 User not found', () => {
		it('404 when the user no longer exists', async () => {
			const token = await newUser()
			const { id } = await profile(token)
			h.db.$client.query('DELETE FROM users WHERE id = ?').run(id)
			const { status, body } = await patch(token, { name: 'Ghost' })
			expect(status).toBe(404)
			expect(body).toEqual({ success: false, error: 'User not found.', code: 'user_not_found' })
			expect(h.db.$client.query('SELECT count(*) AS n FROM users WHERE id = ?').get(id)).toEqual({ n: 0 })
		})
	})

	it('401 without a dreamlake token', async () => {
		const { status, body } = await h.call('PATCH', '/auth/me', { body: { name: 'x' } })
		expect(status).toBe(401)
		expect(body.success).toBe(false)
	})

	it('writes in one statement; {} writes nothing and reads at most one', async () => {
		const token = await newUser()
		expect((await patch(token, { name: 'One' })).db).toEqual({ statements: 1, transactions: 1 })
		expect((await patch(token, {})).db).toEqual({ statements: 0, transactions: 0 })
		h.restart()
		expect((await patch(token, {})).db).toEqual({ statements: 1, transactions: 0 })
	})
})
