import { afterAll, beforeAll, describe, expect, it, setDefaultTimeout } from 'bun:test'
import { underEpisode, whoMayCall, type InEpisode } from './support/access'
import { Harness, type TestUser as User } from './support/harness'

setDefaultTimeout(30_000)
let h: Harness
let owner: User
beforeAll(async () => {
	h = await Harness.start()
	owner = await newUser()
})
afterAll(() => h.close())

/** A fresh episode of `user` (the owner unless said), by its id. */
const newEpisode = (user: User = owner) => h.newEpisode(user, 'params-project')
const newUser = () => h.newUser()

const ISO_MS = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/
const merge = (id: string, data: unknown, token = owner.token) => h.call('POST', `/episodes/${id}/parameters`, { token, body: { data } })
const current = (id: string, token = owner.token) => h.call('GET', `/episodes/${id}/parameters`, { token })
const history = (id: string, query: Record<string, string | number> = {}, token = owner.token) =>
	h.call('GET', `/episodes/${id}/parameters/history?${new URLSearchParams(Object.entries(query).map(([k, v]): [string, string] => [k, String(v)]))}`, { token })

/** Merges and expects a 200, returning the reply body. */
async function merged(id: string, data: Record<string, unknown>) {
	const { status, body } = await merge(id, data)
	expect(status).toBe(200)
	return body
}

/** What GET …/parameters and …/history answer, to compare before and after a refused write. */
async function snapshot(id: string, token = owner.token) {
	const { status, body } = await current(id, token)
	return { current: { status, body }, history: (await history(id, { limit: 1000 }, token)).body }
}

const keys = (n: number, prefix: string) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`${prefix}${i}`, i]))

describe('POST /episodes/{id}/parameters', () => {
	it('200 {id, episodeId, data, version, createdAt, updatedAt}; version 1 for the first write', async () => {
		const id = await newEpisode()
		const { status, body } = await merge(id, { seed: 42, name: 'run' })
		expect(status).toBe(200)
		expect(body).toEqual({
			id: expect.stringMatching(/^[1-9]\d*$/),
			episodeId: id,
			data: { seed: 42, name: 'run' },
			version: 1,
			createdAt: expect.stringMatching(ISO_MS),
			updatedAt: expect.stringMatching(ISO_MS),
		})
		expect(body.updatedAt).toBe(body.createdAt)
		expect(body.id).not.toBe(id)
	})

	it('flattens nested objects to dot keys and keeps arrays (and null) as values', async () => {
		const id = await newEpisode()
		const body = await merged(id, {
			model: { lr: 0.1, layers: [64, 32], optimizer: { name: 'adam', betas: [0.9, 0.999] } },
			env: { name: 'cartpole', obs: [{ x: 1 }, { y: [2] }] },
			seed: 7,
			note: null,
			flag: false,
			'already.dotted': 'yes',
		})
		expect(body.data).toEqual({
			'model.lr': 0.1,
			'model.layers': [64, 32],
			'model.optimizer.name': 'adam',
			'model.optimizer.betas': [0.9, 0.999],
			'env.name': 'cartpole',
			'env.obs': [{ x: 1 }, { y: [2] }],
			seed: 7,
			note: null,
			flag: false,
			'already.dotted': 'yes',
		})
		expect((await current(id)).body.data).toEqual(body.data)
	})

	it('a nested key and the same dot key are one key', async () => {
		const id = await newEpisode()
		await merged(id, { 'model.lr': 0.1 })
		const body = await merged(id, { model: { lr: 0.2 } })
		expect(body.data).toEqual({ 'model.lr': 0.2 })
		expect(body.version).toBe(2)
	})

	it('a merge never removes a key, and grows the version by 1 when it changes something', async () => {
		const id = await newEpisode()
		const first = await merged(id, { a: 1, b: { c: 2 } })
		await Bun.sleep(2)
		const second = await merged(id, { d: 'four' })
		expect(second.data).toEqual({ a: 1, 'b.c': 2, d: 'four' })
		expect(second.version).toBe(2)
		expect(second.id).toBe(first.id)
		expect(second.createdAt).toBe(first.createdAt)
		expect(Date.parse(second.updatedAt)).toBeGreaterThan(Date.parse(first.updatedAt))
		const third = await merged(id, { a: 10, b: { c: 2 } })
		expect(third.data).toEqual({ a: 10, 'b.c': 2, d: 'four' })
		expect(third.version).toBe(3)
		const fourth = await merged(id, { a: null })
		expect(fourth.data).toEqual({ a: null, 'b.c': 2, d: 'four' })
		expect(fourth.version).toBe(4)
		expect((await current(id)).body).toEqual(fourth)
	})

	it('a merge that changes nothing keeps the version and adds no history', async () => {
		const id = await newEpisode()
		const first = await merged(id, { lr: 0.1, layers: [1, 2], nested: { x: 'y' } })
		await Bun.sleep(2)
		for (const data of [{ lr: 0.1 }, { layers: [1, 2] }, { nested: { x: 'y' } }, { 'nested.x': 'y' }, {}]) {
			const { status, body } = await merge(id, data)
			expect(status).toBe(200)
			expect(body).toEqual(first)
		}
		expect((await history(id)).body.entries).toHaveLength(1)
		expect((await current(id)).body).toEqual(first)
	})

	it('a value of another type is a change: 1, "1", true, [1] and {"v": 1} differ', async () => {
		const id = await newEpisode()
		let version = (await merged(id, { v: 1 })).version
		for (const v of ['1', true, [1], 1.5, null, 0]) {
			const body = await merged(id, { v })
			expect(body.version).toBe(++version)
			expect(body.data.v).toEqual(v)
		}
		expect((await merged(id, { v: { v: 1 } })).data).toEqual({ v: 0, 'v.v': 1 })
	})

	it('stores unicode, SQL-looking and emoji keys and values exactly', async () => {
		const id = await newEpisode()
		const data = { "'); DROP TABLE parameters;--": 'x', 'ключ': 'значение', '🤖': '🦾', 'space key': ' padded ' }
		expect((await merged(id, data)).data).toEqual(data)
		expect((await current(id)).body.data).toEqual(data)
	})

	it('20 concurrent merges of different keys: all kept, versions 1..20 each once', async () => {
		const id = await newEpisode()
		const replies = await Promise.all(Array.from({ length: 20 }, (_, i) => merge(id, { [`k${i}`]: i })))
		expect(replies.map((r) => r.status)).toEqual(Array(20).fill(200))
		expect(replies.map((r) => r.body.version).sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1))
		const { body } = await current(id)
		expect(body.version).toBe(20)
		expect(body.data).toEqual(keys(20, 'k'))
		const { entries } = (await history(id)).body
		expect(entries.map((e: any) => e.version)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1))
		replies.forEach((r, i) => expect(entries[r.body.version - 1].patch).toEqual({ [`k${i}`]: i }))
	})

	it('after a restart (nothing cached) the set and its version carry on', async () => {
		const id = await newEpisode()
		await merged(id, { a: 1 })
		await merged(id, { b: 2 })
		h.restart()
		expect((await current(id)).body).toMatchObject({ data: { a: 1, b: 2 }, version: 2 })
		expect(await merged(id, { c: 3 })).toMatchObject({ data: { a: 1, b: 2, c: 3 }, version: 3 })
	})

	describe('422 for what breaks a rule, naming it, and nothing of the merge stored', () => {
		/** Sends `body` (an object as JSON, a string as is) to an episode that has parameters; expects a 422 naming `field` and no change. */
		async function refused(body: unknown, field: string | RegExp) {
			const id = await newEpisode()
			await merged(id, { kept: 1 })
			const before = await snapshot(id)
			const reply = await h.call('POST', `/episodes/${id}/parameters`, { token: owner.token, body, headers: { 'content-type': 'application/json' } })
			expect(reply.status).toBe(422)
			expect(reply.body).toEqual({ success: false, error: expect.any(String), code: 'validation_failed', field: expect.any(String) })
			if (typeof field === 'string') {
				expect(reply.body.field).toBe(field)
				expect(reply.body.error).toContain(`"${field}"`)
			} else expect(reply.body.field).toMatch(field)
			expect(await snapshot(id)).toEqual(before)
			return reply
		}

		it('a key over 255 characters', () => refused({ data: { good: 1, ['k'.repeat(256)]: 1 } }, /^data\.k+/))
		it('a nested key whose dot key is over 255 characters', () => refused({ data: { good: 1, ['a'.repeat(200)]: { ['b'.repeat(55)]: 1 } } }, /^data\.a+/))
		it('a value over 64 KiB as JSON', () => refused({ data: { good: 1, big: 'x'.repeat(64 * 1024 - 1) } }, 'data.big'))
		it('a value over 64 KiB as UTF-8 (fewer characters)', () => refused({ data: { good: 1, big: 'é'.repeat(32 * 1024) } }, 'data.big'))
		it('a nested value over 64 KiB', () => refused({ data: { good: 1, model: { weights: Array(20_000).fill(1.25) } } }, 'data.model.weights'))
		it('"__proto__" as a key', () => refused('{"data":{"good":1,"__proto__":{"polluted":true}}}', 'data.__proto__'))
		it('"__proto__" as a nested key', () => refused('{"data":{"good":1,"model":{"__proto__":{"polluted":true}}}}', 'data.model.__proto__'))
		it('"constructor" as a key', () => refused({ data: { good: 1, constructor: { prototype: 1 } } }, 'data.constructor'))
		it('an empty key', () => refused({ data: { good: 1, '': 1 } }, 'data.'))
		it('a key with a control character', () => refused({ data: { good: 1, 'a\nb': 1 } }, 'data.a\nb'))
		it('data that is a string', () => refused({ data: 'lr=0.1' }, 'data'))
		it('data that is a list', () => refused({ data: [{ lr: 0.1 }] }, 'data'))
		it('data that is null', () => refused({ data: null }, 'data'))
		it('data that is a number', () => refused({ data: 1 }, 'data'))
		it('400 missing_field for data missing, nothing stored', async () => {
			const id = await newEpisode()
			await merged(id, { kept: 1 })
			const before = await snapshot(id)
			const reply = await h.call('POST', `/episodes/${id}/parameters`, { token: owner.token, body: {} })
			expect(reply.status).toBe(400)
			expect(reply.body).toEqual({ success: false, error: 'Invalid request body: "data" is required.', code: 'missing_field', field: 'data' })
			expect(await snapshot(id)).toEqual(before)
		})
		it('a field beside data', () => refused({ data: { good: 2 }, version: 9 }, 'version'))
		it('a body that is a list', () => refused([{ data: {} }], /^body$/))

		it('at the limits: a key of 255 characters and a value of exactly 64 KiB are accepted', async () => {
			const id = await newEpisode()
			const key = 'k'.repeat(255)
			const big = 'x'.repeat(64 * 1024 - 2)
			expect(JSON.stringify(big)).toHaveLength(64 * 1024)
			const body = await merged(id, { [key]: 1, big })
			expect(body.data[key]).toBe(1)
			expect(body.data.big).toBe(big)
		})

		it('400 for malformed JSON', async () => {
			const id = await newEpisode()
			const reply = await h.call('POST', `/episodes/${id}/parameters`, { token: owner.token, body: '{"data": {', headers: { 'content-type': 'application/json' } })
			expect(reply.status).toBe(400)
			expect(reply.body.code).toBe('invalid_json')
			expect((await current(id)).status).toBe(404)
		})
	})

	describe('at most 10,000 keys per episode', () => {
		it('two merges of 6,000 keys: the second is refused with 422, and nothing of it is stored', async () => {
			const id = await newEpisode()
			expect((await merged(id, keys(6000, 'a'))).version).toBe(1)
			const before = await snapshot(id)
			const { status, body } = await merge(id, { ...keys(6000, 'b') })
			expect(status).toBe(422)
			expect(body).toMatchObject({ success: false, code: 'validation_failed', field: 'data' })
			expect(await snapshot(id)).toEqual(before)
			expect(Object.keys(before.current.body.data)).toHaveLength(6000)
			expect((await merged(id, { a0: 'changed' })).version).toBe(2)
		})

		it('exactly 10,000 are kept; one more new key is refused, a change to a kept one is not', async () => {
			const id = await newEpisode()
			await merged(id, keys(6000, 'a'))
			const full = await merged(id, keys(4000, 'b'))
			expect(Object.keys(full.data)).toHaveLength(10_000)
			expect(full.version).toBe(2)
			const before = await snapshot(id)
			const one = await merge(id, { a1: 'changed', extra: 1 })
			expect(one.status).toBe(422)
			expect(one.body.field).toBe('data')
			expect(await snapshot(id)).toEqual(before)
			const change = await merged(id, { a1: 'changed', b1: 'too' })
			expect(change.version).toBe(3)
			expect(Object.keys(change.data)).toHaveLength(10_000)
		})

		it('a single merge of 10,001 keys is refused, leaving nothing', async () => {
			const id = await newEpisode()
			const { status, body } = await merge(id, keys(10_001, 'k'))
			expect(status).toBe(422)
			expect(body.field).toBe('data')
			expect((await current(id)).status).toBe(404)
			expect((await history(id)).body).toEqual({ entries: [], hasMore: false })
		})
	})
})

describe('GET /episodes/{id}/parameters', () => {
	it('404 parameters_not_found before any write; then the merged set', async () => {
		const id = await newEpisode()
		const before = await current(id)
		expect(before.status).toBe(404)
		expect(before.body).toEqual({ success: false, error: expect.any(String), code: 'parameters_not_found' })
		await merged(id, { model: { lr: 0.1 } })
		const last = await merged(id, { seed: 1 })
		const { status, body } = await current(id)
		expect(status).toBe(200)
		expect(body).toEqual(last)
		expect(body).toEqual({ id: expect.any(String), episodeId: id, data: { 'model.lr': 0.1, seed: 1 }, version: 2, createdAt: expect.stringMatching(ISO_MS), updatedAt: expect.stringMatching(ISO_MS) })
	})

	it('the first write may be empty: version 1 with no keys', async () => {
		const id = await newEpisode()
		expect(await merged(id, {})).toMatchObject({ data: {}, version: 1 })
		expect((await current(id)).body).toMatchObject({ data: {}, version: 1 })
	})
})

describe('GET /episodes/{id}/parameters/history', () => {
	it('{entries: [{version, patch, createdAt, createdBy}], hasMore}: what each write changed, and who wrote it', async () => {
		const id = await newEpisode()
		const writes = [
			await merged(id, { model: { lr: 0.1, layers: [64] }, seed: 1 }),
			await merged(id, { seed: 2, 'model.lr': 0.1 }),
			await merged(id, { model: { lr: 0.1 } }), // changes nothing: no entry
			await merged(id, { opt: 'adam', model: { layers: [64, 64] } }),
		]
		const { status, body } = await history(id)
		expect(status).toBe(200)
		expect(body).toEqual({
			entries: [
				{ version: 1, patch: { 'model.lr': 0.1, 'model.layers': [64], seed: 1 }, createdAt: writes[0].updatedAt, createdBy: { id: owner.id, username: owner.claims.username, key: null } },
				{ version: 2, patch: { seed: 2 }, createdAt: writes[1].updatedAt, createdBy: { id: owner.id, username: owner.claims.username, key: null } },
				{ version: 3, patch: { opt: 'adam', 'model.layers': [64, 64] }, createdAt: writes[3].updatedAt, createdBy: { id: owner.id, username: owner.claims.username, key: null } },
			],
			hasMore: false,
		})
		expect(owner.id).toEqual(expect.any(String))
	})

	it('empty for an episode without parameters', async () => {
		const id = await newEpisode()
		expect((await history(id)).body).toEqual({ entries: [], hasMore: false })
	})

	it('afterVersion and limit page through the journal, each entry once', async () => {
		const id = await newEpisode()
		for (let i = 1; i <= 7; i++) await merged(id, { step: i })
		const first = await history(id, { limit: 3 })
		expect(first.body.entries.map((e: any) => e.version)).toEqual([1, 2, 3])
		expect(first.body.hasMore).toBe(true)
		const second = await history(id, { afterVersion: 3, limit: 3 })
		expect(second.body.entries.map((e: any) => [e.version, e.patch])).toEqual([[4, { step: 4 }], [5, { step: 5 }], [6, { step: 6 }]])
		expect(second.body.hasMore).toBe(true)
		const third = await history(id, { afterVersion: 6, limit: 3 })
		expect(third.body.entries.map((e: any) => e.version)).toEqual([7])
		expect(third.body.hasMore).toBe(false)
		expect((await history(id, { afterVersion: 4, limit: 3 })).body.hasMore).toBe(false)
		expect((await history(id, { afterVersion: 7 })).body).toEqual({ entries: [], hasMore: false })
		expect((await history(id, { afterVersion: 0, limit: 1000 })).body.entries).toHaveLength(7)
	})

	it('422 for a bad limit or afterVersion, naming it', async () => {
		const id = await newEpisode()
		for (const [name, value] of [['limit', '0'], ['limit', '1001'], ['limit', 'x'], ['afterVersion', '-1'], ['afterVersion', '1.5']] as const) {
			const { status, body } = await history(id, { [name]: value })
			expect(status).toBe(422)
			expect(body).toEqual({ success: false, error: expect.stringContaining(`"${name}"`), code: 'validation_failed', field: name })
		}
	})
})

describe('who may call a parameters route', () => {
	// a new value each time: a merge that changes nothing is no new version, so a refused one would not show
	const routes = [
		['POST', '/parameters', () => ({ data: { x: crypto.randomUUID() } })],
		['GET', '/parameters', () => undefined],
		['GET', '/parameters/history', () => undefined],
	] as const
	const count = (id: string) => (h.db.$client.query('SELECT count(*) AS n FROM parameter_entries WHERE episode_id = ?').get(Number(id)) as { n: number }).n

	describe.each(routes.map((r) => [`${r[0]} /episodes/{id}${r[1]}`, r] as const))('%s', (_, [method, path, body]) => {
		whoMayCall(
			() => h,
			underEpisode<InEpisode>(() => h, {
				method,
				path: () => path,
				body,
				ok: 200,
				write: method === 'POST',
				// each merge of a new value is a version of its own
				triedFirst: true,
				unchanged: "the owner's parameters",
				secret: 's3cret',
				async arrange(user) {
					const episode = await newEpisode(user)
					expect((await merge(episode, { secret: 's3cret' }, user.token)).status).toBe(200)
					return { owner: user, episode, project: 'params-project' }
				},
				// the journal's rows as stored, and what the owner reads of them
				snapshot: async (f) => ({ rows: count(f.episode), ...(await snapshot(f.episode, f.owner.token)) }),
			}),
		)
	})

	it('a write-protected episode: 403 to a POST, nothing stored; reads still answer; unprotected, merges go on', async () => {
		const id = await newEpisode()
		await merged(id, { a: 1 })
		expect((await h.call('PATCH', `/episodes/${id}`, { token: owner.token, body: { writeProtected: true } })).status).toBe(200)
		const before = await snapshot(id)
		const { status, body } = await merge(id, { a: 2, b: 3 })
		expect(status).toBe(403)
		expect(body).toEqual({ success: false, error: expect.any(String), code: 'episode_write_protected' })
		expect(await snapshot(id)).toEqual(before)
		expect(before.current.status).toBe(200)
		h.restart()
		expect((await merge(id, { a: 2 })).status).toBe(403)
		expect((await h.call('PATCH', `/episodes/${id}`, { token: owner.token, body: { writeProtected: false } })).status).toBe(200)
		expect(await merged(id, { a: 2 })).toMatchObject({ data: { a: 2 }, version: 2 })
	})

	it('a write-protected episode with no parameters yet: 403, and still none', async () => {
		const id = await newEpisode()
		expect((await h.call('PATCH', `/episodes/${id}`, { token: owner.token, body: { writeProtected: true } })).status).toBe(200)
		expect((await merge(id, { a: 1 })).status).toBe(403)
		expect((await current(id)).status).toBe(404)
	})
})
