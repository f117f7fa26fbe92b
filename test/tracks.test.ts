import { afterAll, beforeAll, describe, expect, it, setDefaultTimeout } from 'bun:test'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { underEpisode, whoMayCall, type InEpisode } from './support/access'
import { Harness, type Reply, type TestUser as User } from './support/harness'
import { KeyServer, newIdentity } from './support/key-server'
import { spawnServer, type ServerProcess } from './support/process'

// batches of 10,000 points, a 12,000-point fixture and real server processes
setDefaultTimeout(60_000)

let h: Harness
let owner: User
beforeAll(async () => {
	h = await Harness.start()
	owner = await newUser()
})
afterAll(() => h.close())

type Point = Record<string, unknown>
type Query = Record<string, string | number>

const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/
const ID = /^[1-9][0-9]*$/
const enc = encodeURIComponent

const newUser = () => h.newUser()

let counter = 0
/** A name no other test uses. */
const unique = (prefix: string) => `${prefix}-${++counter}-${crypto.randomUUID().slice(0, 6)}`

/** A fresh episode of `user` (the owner unless said), by its id. */
const newEpisode = (user: User = owner) => h.newEpisode(user, 'tracks-project')

const trackPath = (id: string, name: string) => `/episodes/${id}/tracks/${enc(name)}`
const batch = (id: string, name: string, dataPoints: unknown, extra: Record<string, unknown> = {}, token = owner.token) =>
	h.call('POST', `${trackPath(id, name)}/append-batch`, { token, body: { dataPoints, ...extra } })
const single = (id: string, name: string, data: unknown, extra: Record<string, unknown> = {}, token = owner.token) =>
	h.call('POST', `${trackPath(id, name)}/append`, { token, body: { data, ...extra } })
const queryString = (query: Query) => new URLSearchParams(Object.entries(query).map(([k, v]): [string, string] => [k, String(v)])).toString()
const read = (id: string, name: string, query: Query = {}, token = owner.token) => h.call('GET', `${trackPath(id, name)}/data?${queryString(query)}`, { token })
const stats = (id: string, name: string, token = owner.token) => h.call('GET', `${trackPath(id, name)}/stats`, { token })
const list = (id: string, query: Query = {}, token = owner.token) => h.call('GET', `/episodes/${id}/tracks?${queryString(query)}`, { token })
const remove = (id: string, name: string, token = owner.token) => h.call('DELETE', trackPath(id, name), { token })
const restore = (id: string, name: string, token = owner.token) => h.call('POST', `${trackPath(id, name)}/restore`, { token })

/** Appends a batch, expecting 201, and returns the reply body. */
async function appended(id: string, name: string, dataPoints: Point[], extra: Record<string, unknown> = {}) {
	const { status, body } = await batch(id, name, dataPoints, extra)
	expect(status).toBe(201)
	return body as { inserted: number; trackName: string; trackId: string; startIndex: number }
}

/** `n` points labelled `label`, each `{step, label}`. */
const points = (n: number, label = 'p'): Point[] => Array.from({ length: n }, (_, i) => ({ step: i, label }))
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i)

/** The track's chunk rows as the database holds them (not through the API). */
function chunkRows(trackId: string): { startIndex: number; count: number }[] {
	return h.db.$client.query('SELECT start_index AS startIndex, count FROM track_chunks WHERE track_id = ? ORDER BY start_index').all(Number(trackId)) as {
		startIndex: number
		count: number
	}[]
}

/** The track row's total and chunk count as stored, or undefined when there is no such track. */
function trackRow(id: string, name: string): { id: number; total: number; chunks: number; deletedAt: number | null } | undefined {
	return (h.db.$client.query('SELECT id, total, chunks, deleted_at AS deletedAt FROM tracks WHERE episode_id = ? AND name = ?').get(Number(id), name) ?? undefined) as
		| { id: number; total: number; chunks: number; deletedAt: number | null }
		| undefined
}

/** The chunks hold 0..total-1 exactly: each starts where the one before ended, and the track row agrees. */
function expectGapless(id: string, name: string, total: number) {
	const row = trackRow(id, name)
	expect(row).toBeDefined()
	expect(row!.total).toBe(total)
	const chunks = chunkRows(String(row!.id))
	let next = 0
	for (const chunk of chunks) {
		expect(chunk.startIndex).toBe(next)
		expect(chunk.count).toBeGreaterThan(0)
		next += chunk.count
	}
	expect(next).toBe(total)
	expect(row!.chunks).toBe(chunks.length)
}

/** Every point of the track through the API, following nextIndex, `limit` at a time. */
async function walk(id: string, name: string, query: Query = {}) {
	const seen: { index: string; data: Point; createdAt: string }[] = []
	let startIndex: number | undefined
	for (let pages = 0; pages < 1000; pages++) {
		const { status, body } = await read(id, name, { ...query, ...(startIndex !== undefined && { startIndex }) })
		expect(status).toBe(200)
		seen.push(...body.points)
		if (!body.hasMore) {
			expect(body.nextIndex).toBeNull()
			return seen
		}
		expect(body.nextIndex).toBeGreaterThan(startIndex ?? -1)
		startIndex = body.nextIndex
	}
	throw new Error('paging never ended')
}

/** Every point's data in index order, checking the indexes are "0".."N-1". */
async function allData(id: string, name: string): Promise<Point[]> {
	const seen = await walk(id, name, { limit: 10_000 })
	expect(seen.map((p) => p.index)).toEqual(range(0, seen.length - 1).map(String))
	return seen.map((p) => p.data)
}

const leaks = ['injected', 'INSERT', 'UPDATE', 'track_chunks', 'SQLITE', 'boom', 'constraint', 'FOREIGN']

describe('POST /episodes/{id}/tracks/{name}/append-batch', () => {
	it('201 {inserted, trackName, trackId (string), startIndex (number)}', async () => {
		const id = await newEpisode()
		const name = unique('shape')
		const { status, body } = await batch(id, name, [{ _ts: 1765000000, step: 0, loss: 0.93 }, { _ts: 1765000000.5, step: 1, loss: 0.88 }])
		expect(status).toBe(201)
		expect(body).toEqual({ inserted: 2, trackName: name, trackId: expect.stringMatching(ID), startIndex: 0 })
		expect(typeof body.trackId).toBe('string')
		expect(typeof body.startIndex).toBe('number')
		expect(String(trackRow(id, name)!.id)).toBe(body.trackId)
		const again = await appended(id, name, points(3))
		expect(again).toEqual({ inserted: 3, trackName: name, trackId: body.trackId, startIndex: 2 })
	})

	it('the track is created by its first append', async () => {
		const id = await newEpisode()
		const name = unique('created')
		expect((await stats(id, name)).status).toBe(404)
		expect((await read(id, name)).status).toBe(404)
		expect((await list(id)).body.tracks).toEqual([])
		expect(trackRow(id, name)).toBeUndefined()
		await appended(id, name, points(2))
		const { status, body } = await stats(id, name)
		expect(status).toBe(200)
		expect(body).toMatchObject({ name, totalDataPoints: 2 })
		expect((await list(id)).body.tracks.map((t: any) => t.name)).toEqual([name])
		expectGapless(id, name, 2)
	})

	it('indexes per track from 0, gapless, in order across many batches and single appends', async () => {
		const id = await newEpisode()
		const name = unique('gapless')
		const expected: Point[] = []
		let next = 0
		for (let round = 0; round < 8; round++) {
			const sizes = [1, 7, 600, 3, 4096, 2]
			const size = sizes[round % sizes.length]!
			const pts = Array.from({ length: size }, (_, i) => ({ round, i }))
			expect(await appended(id, name, pts)).toMatchObject({ inserted: size, startIndex: next })
			expected.push(...pts)
			next += size
			const one = { round, single: true }
			const reply = await single(id, name, one)
			expect(reply.status).toBe(201)
			expect(reply.body).toMatchObject({ inserted: 1, startIndex: next, index: next })
			expected.push(one)
			next++
		}
		expectGapless(id, name, next)
		expect(await allData(id, name)).toStrictEqual(expected)
		expect((await stats(id, name)).body.totalDataPoints).toBe(next)
	})

	it('two tracks number their points independently', async () => {
		const id = await newEpisode()
		const one = unique('one')
		const two = unique('two')
		expect((await appended(id, one, points(3))).startIndex).toBe(0)
		expect((await appended(id, two, points(2))).startIndex).toBe(0)
		expect((await appended(id, one, points(1))).startIndex).toBe(3)
		expect((await appended(id, two, points(4))).startIndex).toBe(2)
		expect((await single(id, one, { x: 1 })).body.index).toBe(4)
		expectGapless(id, one, 5)
		expectGapless(id, two, 6)
		// the same name in another episode is another track
		const other = await newEpisode()
		expect((await appended(other, one, points(1))).startIndex).toBe(0)
		expectGapless(id, one, 5)
	})

	it('30 concurrent batches of 1-50 points to one track get disjoint contiguous ranges covering 0..N-1, each in its own order', async () => {
		const id = await newEpisode()
		const name = unique('concurrent')
		const batches = Array.from({ length: 30 }, (_, b) => Array.from({ length: 1 + ((b * 17) % 50) }, (_, j) => ({ batch: b, j })))
		expect(new Set(batches.map((b) => b.length)).size).toBeGreaterThan(10)
		const replies = await Promise.all(batches.map((pts) => batch(id, name, pts)))
		expect(replies.map((r) => r.status)).toEqual(Array(30).fill(201))
		const total = batches.reduce((n, b) => n + b.length, 0)
		const covered: number[] = []
		const trackIds = new Set<string>()
		replies.forEach((r, b) => {
			expect(r.body.inserted).toBe(batches[b]!.length)
			trackIds.add(r.body.trackId)
			covered.push(...range(r.body.startIndex, r.body.startIndex + batches[b]!.length - 1))
		})
		expect(trackIds.size).toBe(1)
		expect(covered.sort((a, b) => a - b)).toEqual(range(0, total - 1))
		const back = await allData(id, name)
		expect(back).toHaveLength(total)
		replies.forEach((r, b) => batches[b]!.forEach((p, j) => expect(back[r.body.startIndex + j]).toStrictEqual(p)))
		expectGapless(id, name, total)
		expect((await stats(id, name)).body.totalDataPoints).toBe(total)
	})

	it('a batch of exactly 10,000 points is accepted', async () => {
		const id = await newEpisode()
		const name = unique('ten-thousand')
		expect(await appended(id, name, points(10_000))).toMatchObject({ inserted: 10_000, startIndex: 0 })
		expectGapless(id, name, 10_000)
		const back = await allData(id, name)
		expect(back.map((p) => p.step)).toEqual(range(0, 9_999))
		expect((await stats(id, name)).body.totalDataPoints).toBe(10_000)
	})

	it('10,001 points are refused with 422, and nothing is stored', async () => {
		const id = await newEpisode()
		const name = unique('too-many')
		await appended(id, name, points(5))
		const before = (await stats(id, name)).body
		const { status, body } = await batch(id, name, points(10_001))
		expect(status).toBe(422)
		expect(body).toMatchObject({ success: false, code: 'validation_failed', field: 'dataPoints' })
		expect((await stats(id, name)).body).toEqual(before)
		expectGapless(id, name, 5)
		// and a track that did not exist is not created
		const fresh = unique('too-many-fresh')
		expect((await batch(id, fresh, points(10_001))).status).toBe(422)
		expect(trackRow(id, fresh)).toBeUndefined()
	})

	it('0 points are refused with 422', async () => {
		const id = await newEpisode()
		const name = unique('empty')
		const { status, body } = await batch(id, name, [])
		expect(status).toBe(422)
		expect(body).toMatchObject({ success: false, code: 'validation_failed', field: 'dataPoints' })
		expect(trackRow(id, name)).toBeUndefined()
		expect((await stats(id, name)).status).toBe(404)
	})

	describe('a bad point: 422 naming it, and nothing of the batch stored', () => {
		const manyKeys = Object.fromEntries(Array.from({ length: 1001 }, (_, i) => [`k${i}`, i]))
		it.each([
			['a number', 42, 'dataPoints.2'],
			['an array', [1, 2], 'dataPoints.2'],
			['null', null, 'dataPoints.2'],
			['a string', 'point', 'dataPoints.2'],
			['a `_ts` that is a string', { _ts: '1765000000' }, 'dataPoints.2._ts'],
			['a `_ts` that is an object', { _ts: { seconds: 1 } }, 'dataPoints.2._ts'],
			['a key of 256 characters', { ['k'.repeat(256)]: 1 }, 'dataPoints.2'],
			['a point with 1,001 keys', manyKeys, 'dataPoints.2'],
		])('%s', async (_, bad, field) => {
			const id = await newEpisode()
			const name = unique('bad-point')
			await appended(id, name, points(4, 'before'))
			const before = (await stats(id, name)).body
			const { status, body } = await batch(id, name, [{ step: 'good 0' }, { step: 'good 1' }, bad, { step: 'good 3' }])
			expect(status).toBe(422)
			expect(body).toEqual({ success: false, error: expect.stringContaining(`"${field}"`), code: 'validation_failed', field })
			expect((await stats(id, name)).body).toEqual(before)
			expectGapless(id, name, 4)
			expect((await appended(id, name, [{ step: 'next' }])).startIndex).toBe(4)
			expectGapless(id, name, 5)
			expect((await allData(id, name)).map((p) => p.label ?? p.step)).toEqual(['before', 'before', 'before', 'before', 'next'])
		})

		it('a "__proto__" key', async () => {
			const id = await newEpisode()
			const name = unique('proto')
			await appended(id, name, points(4, 'before'))
			const before = (await stats(id, name)).body
			const text = '{"dataPoints":[{"step":0},{"step":1},{"__proto__":{"admin":true},"step":2},{"step":3}]}'
			const { status, body } = await h.call('POST', `${trackPath(id, name)}/append-batch`, { token: owner.token, body: text, headers: { 'content-type': 'application/json' } })
			expect(status).toBe(422)
			expect(body).toMatchObject({ success: false, code: 'validation_failed', field: 'dataPoints.2' })
			expect((await stats(id, name)).body).toEqual(before)
			expect((await appended(id, name, [{ step: 'next' }])).startIndex).toBe(4)
			expectGapless(id, name, 5)
		})

		it('a point at the limits (1,000 keys, one of 255 characters) is accepted', async () => {
			const id = await newEpisode()
			const name = unique('key-255')
			const point = { ['k'.repeat(255)]: 1, ...Object.fromEntries(Array.from({ length: 999 }, (_, i) => [`k${i}`, i])) }
			expect(Object.keys(point)).toHaveLength(1000)
			await appended(id, name, [point])
			expect(await allData(id, name)).toStrictEqual([point])
		})
	})

	it('a track name of 256 characters is refused with 422 (255 is accepted)', async () => {
		const id = await newEpisode()
		const long = 'n'.repeat(256)
		const { status, body } = await batch(id, long, points(1))
		expect(status).toBe(422)
		expect(body).toMatchObject({ success: false, code: 'validation_failed' })
		expect(h.db.$client.query('SELECT count(*) AS n FROM tracks WHERE episode_id = ?').get(Number(id))).toEqual({ n: 0 })
		const fits = 'n'.repeat(255)
		expect(await appended(id, fits, points(1))).toMatchObject({ trackName: fits, startIndex: 0 })
	})

	it('description, tags and metadata sent with an append are stored, and replaced by a later append that sends them', async () => {
		const id = await newEpisode()
		const name = unique('fields')
		await appended(id, name, points(1), { description: 'first', tags: ['a', 'b'], metadata: { unit: 'm', nested: { k: [1, 2] } } })
		expect((await stats(id, name)).body).toMatchObject({ description: 'first', tags: ['a', 'b'], metadata: { unit: 'm', nested: { k: [1, 2] } } })
		expect((await list(id)).body.tracks[0]).toMatchObject({ description: 'first', tags: ['a', 'b'] })
		// an append without them keeps them
		await appended(id, name, points(1))
		expect((await stats(id, name)).body).toMatchObject({ description: 'first', tags: ['a', 'b'], metadata: { unit: 'm', nested: { k: [1, 2] } } })
		// an append that sends them replaces them
		await appended(id, name, points(1), { description: 'second', tags: ['c'], metadata: { unit: 'cm' } })
		const replaced = (await stats(id, name)).body
		expect(replaced).toMatchObject({ description: 'second', tags: ['c'], metadata: { unit: 'cm' }, totalDataPoints: 3 })
		const viaSingle = await single(id, name, { x: 1 }, { description: 'third', tags: [], metadata: {} })
		expect(viaSingle.status).toBe(201)
		expect((await stats(id, name)).body).toMatchObject({ description: 'third', tags: [], metadata: {}, totalDataPoints: 4 })
	})

	it('points with varying keys, nested objects, arrays, strings, booleans, null and large/small numbers come back exactly', async () => {
		const id = await newEpisode()
		const name = unique('exact')
		const sent: Point[] = [
			{ a: 1, b: 2 },
			{ a: 3, c: 'three' },
			{ c: null, a: 5, b: 6 },
			{},
			{ nested: { pose: { x: 0.1, y: [1, 2, { z: 'deep' }] } }, list: [1, 'two', null, true, []] },
			{ s: 'héllo 🤖\n\t"quoted"', t: true, f: false, n: null },
			{ big: 999999999999999, huge: 1.23e100, tiny: 1.23e-100, neg: -0.5, int: -(2 ** 53 - 1), zero: 0 },
			{ a: 'now a string', big: 1e21, _ts: 1765000000.123456 },
			{ "'); DROP TABLE track_chunks;--": 'sql-looking key', 'ключ': 'unicode key' },
		]
		await appended(id, name, sent)
		// and once more through single appends, which join the last chunk
		for (const p of sent) expect((await single(id, name, p)).status).toBe(201)
		const back = await allData(id, name)
		expect(back).toStrictEqual([...sent, ...sent])
		expect(back[6]!.big).toBe(999999999999999)
		expect(back[6]!.huge).toBe(1.23e100)
		expect(back[6]!.tiny).toBe(1.23e-100)
		expect(back[7]!._ts).toBe(1765000000.123456)
		expect('b' in back[1]!).toBe(false)
	})

	it('nothing is half-written after a database failure mid-batch: 500, no point stored, the index goes on', async () => {
		const id = await newEpisode()
		const name = unique('boom')
		await appended(id, name, points(10, 'good'))
		const row = trackRow(id, name)!
		const before = (await stats(id, name)).body
		const fresh = unique('boom-fresh')
		h.db.$client.run("CREATE TRIGGER boom BEFORE INSERT ON track_chunks WHEN NEW.start_index >= 4096 BEGIN SELECT RAISE(ABORT, 'injected'); END")
		try {
			// 5,000 points span two chunks (10.. and 4106..): the second insert fails
			const { status, body } = await batch(id, name, points(5_000, 'lost'))
			expect(status).toBe(500)
			expect(body).toEqual({ success: false, error: expect.any(String), code: 'internal_error' })
			for (const leak of leaks) expect(JSON.stringify(body)).not.toContain(leak)
			expect((await stats(id, name)).body).toEqual(before)
			expect(h.db.$client.query('SELECT count(*) AS n FROM track_chunks WHERE track_id = ? AND start_index >= 10').get(row.id)).toEqual({ n: 0 })
			expectGapless(id, name, 10)
			expect((await read(id, name)).body).toMatchObject({ total: 10, count: 10, hasMore: false })
			// a first append that fails creates no track
			const first = await batch(id, fresh, points(5_000, 'lost'))
			expect(first.status).toBe(500)
			expect(trackRow(id, fresh)).toBeUndefined()
			expect((await stats(id, fresh)).status).toBe(404)
		} finally {
			h.db.$client.run('DROP TRIGGER boom')
		}
		expect(await appended(id, name, points(3, 'after'))).toMatchObject({ inserted: 3, startIndex: 10 })
		expect((await single(id, name, { step: 'single after' })).body.index).toBe(13)
		expectGapless(id, name, 14)
		const back = await allData(id, name)
		expect(back.map((p) => p.label ?? p.step)).toEqual([...Array(10).fill('good'), 'after', 'after', 'after', 'single after'])
		expect((await appended(id, fresh, points(2))).startIndex).toBe(0)
	})

	it('a failure at COMMIT rolls back every append of the group: 500s, and each track stays gapless', async () => {
		const id = await newEpisode()
		const one = unique('commit-one')
		const two = unique('commit-two')
		const boom = unique('commit-boom')
		await appended(id, one, points(5, 'good'))
		await appended(id, two, points(600, 'good'))
		await appended(id, boom, points(1, 'good'))
		// a deferred foreign key is checked only at COMMIT: the append itself succeeds, the commit fails
		h.db.$client.run('CREATE TABLE boom_parent (id INTEGER PRIMARY KEY)')
		h.db.$client.run('CREATE TABLE boom_child (parent INTEGER REFERENCES boom_parent(id) DEFERRABLE INITIALLY DEFERRED)')
		h.db.$client.run(`CREATE TRIGGER boom_at_commit AFTER UPDATE ON tracks WHEN NEW.name = '${boom}' BEGIN INSERT INTO boom_child VALUES (42); END`)
		let replies: Reply[]
		try {
			replies = await Promise.all([
				batch(id, one, points(3, 'lost')),
				single(id, two, { label: 'lost' }),
				batch(id, boom, points(2, 'lost')),
				batch(id, one, points(5_000, 'lost')),
				batch(id, two, points(4, 'lost')),
			])
		} finally {
			h.db.$client.run('DROP TRIGGER boom_at_commit')
			h.db.$client.run('DROP TABLE boom_child')
			h.db.$client.run('DROP TABLE boom_parent')
		}
		expect(replies.map((r) => r.status)).toEqual([500, 500, 500, 500, 500])
		for (const r of replies) expect(r.body).toEqual({ success: false, error: expect.any(String), code: 'internal_error' })
		expectGapless(id, one, 5)
		expectGapless(id, two, 600)
		expectGapless(id, boom, 1)
		expect((await stats(id, one)).body.totalDataPoints).toBe(5)
		expect((await stats(id, two)).body.totalDataPoints).toBe(600)
		expect((await single(id, one, { label: 'next' })).body.index).toBe(5)
		expect((await appended(id, two, points(2, 'next'))).startIndex).toBe(600)
		expect((await appended(id, boom, points(2, 'next'))).startIndex).toBe(1)
		expectGapless(id, one, 6)
		expectGapless(id, two, 602)
		expectGapless(id, boom, 3)
		expect((await allData(id, one)).map((p) => p.label)).toEqual(['good', 'good', 'good', 'good', 'good', 'next'])
		expect((await allData(id, two)).filter((p) => p.label === 'lost')).toEqual([])
	})

	it('after a restart (nothing cached) appends continue the index', async () => {
		const id = await newEpisode()
		const name = unique('restart')
		await appended(id, name, points(7))
		h.restart()
		expect(await appended(id, name, points(2, 'after restart'))).toMatchObject({ startIndex: 7, inserted: 2 })
		h.restart()
		expect((await single(id, name, { label: 'single after restart' })).body.index).toBe(9)
		h.restart()
		const [a, b] = await Promise.all([batch(id, name, points(2, 'x')), batch(id, name, points(4_100, 'y'))])
		expect([a!.status, b!.status]).toEqual([201, 201])
		// in either order, one after the other
		expect([
			[10, 12],
			[4110, 10],
		]).toContainEqual([a!.body.startIndex, b!.body.startIndex])
		h.restart()
		expect((await appended(id, name, points(1, 'last'))).startIndex).toBe(4112)
		expectGapless(id, name, 4113)
		expect((await stats(id, name)).body.totalDataPoints).toBe(4113)
	})
})

describe('POST /episodes/{id}/tracks/{name}/append', () => {
	it('201 {inserted: 1, trackName, trackId, startIndex, index}', async () => {
		const id = await newEpisode()
		const name = unique('single')
		const first = await single(id, name, { step: 0, loss: 0.9 })
		expect(first.status).toBe(201)
		expect(first.body).toEqual({ inserted: 1, trackName: name, trackId: expect.stringMatching(ID), startIndex: 0, index: 0 })
		const second = await single(id, name, { step: 1, loss: 0.8 })
		expect(second.body).toEqual({ inserted: 1, trackName: name, trackId: first.body.trackId, startIndex: 1, index: 1 })
		expect(await allData(id, name)).toStrictEqual([{ step: 0, loss: 0.9 }, { step: 1, loss: 0.8 }])
		for (const data of [5, [1], null, 'x']) {
			const bad = await single(id, name, data)
			expect(bad.status).toBe(422)
			expect(bad.body).toMatchObject({ success: false, code: 'validation_failed', field: 'data' })
		}
		expectGapless(id, name, 2)
	})

	it('422 naming the field of `data` for a bad point: `data._ts`, `data`', async () => {
		const id = await newEpisode()
		const name = unique('single-bad')
		await single(id, name, { step: 0 })
		const badTs = await single(id, name, { _ts: 'now' })
		expect(badTs.status).toBe(422)
		expect(badTs.body).toEqual({ success: false, error: expect.stringContaining('"data._ts"'), code: 'validation_failed', field: 'data._ts' })
		const badKey = await single(id, name, { ['k'.repeat(256)]: 1 })
		expect(badKey.status).toBe(422)
		expect(badKey.body).toEqual({ success: false, error: expect.stringContaining('"data"'), code: 'validation_failed', field: 'data' })
		expectGapless(id, name, 1)
	})

	it('many single appends keep few chunk rows (600 points → at most 2 chunks)', async () => {
		const id = await newEpisode()
		const name = unique('few-chunks')
		for (let i = 0; i < 600; i++) {
			const { status, body } = await single(id, name, { step: i, _ts: 1765000000 + i })
			expect(status).toBe(201)
			expect(body.index).toBe(i)
		}
		const row = trackRow(id, name)!
		const n = (h.db.$client.query('SELECT count(*) AS n FROM track_chunks WHERE track_id = ?').get(row.id) as { n: number }).n
		expect(n).toBeLessThanOrEqual(2)
		expectGapless(id, name, 600)
		expect((await stats(id, name)).body).toMatchObject({ totalDataPoints: 600, totalChunks: n })
		expect((await allData(id, name)).map((p) => p.step)).toEqual(range(0, 599))
		const timed = await read(id, name, { startTime: 1765000000 + 500, endTime: 1765000000 + 520 })
		expect(timed.body.points.map((p: any) => p.index)).toEqual(range(500, 520).map(String))
	})
})

describe('track names over real HTTP: each path segment is percent-decoded exactly once', () => {
	let keys: KeyServer
	let dir: string
	let server: ServerProcess
	let token: string
	let id: string
	const call = async (method: string, path: string, body?: unknown) => {
		const response = await fetch(`${server.url}${path}`, {
			method,
			headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
			body: body === undefined ? undefined : JSON.stringify(body),
		})
		return { status: response.status, body: (await response.json()) as any }
	}

	beforeAll(async () => {
		keys = await KeyServer.start()
		dir = mkdtempSync(join(tmpdir(), 'dreamlake-tracks-'))
		server = await spawnServer(['--port', '0'], { cwd: dir, env: { VUER_AUTH_JWKS_URL: keys.jwksUrl } })
		const exchange = await fetch(`${server.url}/auth/exchange`, { method: 'POST', headers: { authorization: `Bearer ${await keys.mint(newIdentity())}` } })
		expect(exchange.status).toBe(200)
		const login = (await exchange.json()) as { dreamlake_token: string; namespace: { slug: string } }
		token = login.dreamlake_token
		const episode = await call('POST', `/namespaces/${login.namespace.slug}/projects/http/episodes`, { name: 'http-episode' })
		expect(episode.status).toBe(201)
		id = episode.body.id
	})
	afterAll(async () => {
		if (server) await server.stop()
		keys?.stop()
		if (dir) rmSync(dir, { recursive: true, force: true })
	})

	it('"robot/pose" appended as robot%2Fpose is one track named "robot/pose"', async () => {
		const batchReply = await call('POST', `/episodes/${id}/tracks/robot%2Fpose/append-batch`, { dataPoints: [{ x: 1 }, { x: 2 }] })
		expect(batchReply.status).toBe(201)
		expect(batchReply.body).toMatchObject({ trackName: 'robot/pose', startIndex: 0, inserted: 2 })
		const singleReply = await call('POST', `/episodes/${id}/tracks/robot%2Fpose/append`, { data: { x: 3 } })
		expect(singleReply.status).toBe(201)
		expect(singleReply.body).toMatchObject({ trackName: 'robot/pose', index: 2, trackId: batchReply.body.trackId })
		const listed = await call('GET', `/episodes/${id}/tracks`)
		expect(listed.status).toBe(200)
		expect(listed.body.tracks.filter((t: any) => t.name.includes('pose')).map((t: any) => t.name)).toEqual(['robot/pose'])
		const data = await call('GET', `/episodes/${id}/tracks/robot%2Fpose/data`)
		expect(data.status).toBe(200)
		expect(data.body).toMatchObject({ trackName: 'robot/pose', total: 3, count: 3 })
		expect(data.body.points.map((p: any) => [p.index, p.data])).toEqual([
			['0', { x: 1 }],
			['1', { x: 2 }],
			['2', { x: 3 }],
		])
		const statsReply = await call('GET', `/episodes/${id}/tracks/robot%2Fpose/stats`)
		expect(statsReply.body).toMatchObject({ name: 'robot/pose', path: 'robot/pose', totalDataPoints: 3 })
		// two raw segments are not the track
		expect((await call('GET', `/episodes/${id}/tracks/robot/pose/data`)).status).toBe(404)
	})

	it('"a%252Fb" is the track "a%2Fb" (decoded once, not twice)', async () => {
		const appendedReply = await call('POST', `/episodes/${id}/tracks/a%252Fb/append-batch`, { dataPoints: [{ y: 1 }] })
		expect(appendedReply.status).toBe(201)
		expect(appendedReply.body.trackName).toBe('a%2Fb')
		const listed = await call('GET', `/episodes/${id}/tracks`)
		expect(listed.body.tracks.map((t: any) => t.name)).toContain('a%2Fb')
		expect(listed.body.tracks.map((t: any) => t.name)).not.toContain('a/b')
		const data = await call('GET', `/episodes/${id}/tracks/a%252Fb/data`)
		expect(data.status).toBe(200)
		expect(data.body).toMatchObject({ trackName: 'a%2Fb', total: 1 })
		expect(data.body.points.map((p: any) => p.data)).toEqual([{ y: 1 }])
		// "a%2Fb" on the wire is the track "a/b", which does not exist
		expect((await call('GET', `/episodes/${id}/tracks/a%2Fb/data`)).status).toBe(404)
		expect((await call('GET', `/episodes/${id}/tracks/a%2Fb/stats`)).status).toBe(404)
	})
})

describe('GET /episodes/{id}/tracks/{name}/data', () => {
	// 12,000 points: chunks at 0, 4096, 8192 (the first batch of 10,000) and 10000 (the next 2,000);
	// `_ts` on the even indexes only
	const TOTAL = 12_000
	const fixture = (i: number): Point => ({ step: i, loss: 1 / (i + 1), tag: `p${i}`, ...(i % 2 === 0 && { _ts: 1_765_000_000 + i }) })
	let id: string
	let name: string
	beforeAll(async () => {
		id = await newEpisode()
		name = unique('series')
		await appended(id, name, Array.from({ length: 10_000 }, (_, i) => fixture(i)))
		await appended(id, name, Array.from({ length: 2_000 }, (_, i) => fixture(10_000 + i)))
		expect(chunkRows(String(trackRow(id, name)!.id)).map((c) => c.startIndex)).toEqual([0, 4096, 8192, 10_000])
	})

	it('{trackName, points: [{index (a string), data, createdAt}], startIndex, count, total, hasMore, nextIndex}', async () => {
		const { status, body } = await read(id, name, { startIndex: 5, limit: 2 })
		expect(status).toBe(200)
		expect(Object.keys(body).sort()).toEqual(['count', 'hasMore', 'nextIndex', 'points', 'startIndex', 'total', 'trackName'])
		expect(body).toEqual({
			trackName: name,
			points: [
				{ index: '5', data: fixture(5), createdAt: expect.stringMatching(ISO) },
				{ index: '6', data: fixture(6), createdAt: expect.stringMatching(ISO) },
			],
			startIndex: 5,
			count: 2,
			total: TOTAL,
			hasMore: true,
			nextIndex: 7,
		})
		expect(typeof body.points[0].index).toBe('string')
		const last = await read(id, name, { startIndex: TOTAL - 1 })
		expect(last.body).toMatchObject({ startIndex: TOTAL - 1, count: 1, total: TOTAL, hasMore: false, nextIndex: null })
		const past = await read(id, name, { startIndex: TOTAL + 5 })
		expect(past.status).toBe(200)
		expect(past.body).toMatchObject({ points: [], count: 0, total: TOTAL, hasMore: false, nextIndex: null })
	})

	it('limit: 1,000 by default, at most 10,000; 422 for 0, 10,001 and "abc"', async () => {
		const byDefault = await read(id, name)
		expect(byDefault.body.points).toHaveLength(1000)
		expect(byDefault.body).toMatchObject({ startIndex: 0, count: 1000, hasMore: true, nextIndex: 1000 })
		expect(byDefault.body.points.map((p: any) => p.index)).toEqual(range(0, 999).map(String))
		const most = await read(id, name, { limit: 10_000 })
		expect(most.status).toBe(200)
		expect(most.body).toMatchObject({ count: 10_000, hasMore: true, nextIndex: 10_000 })
		expect(most.body.points).toHaveLength(10_000)
		expect((await read(id, name, { limit: 1 })).body.points).toHaveLength(1)
		for (const limit of ['0', '10001', 'abc', '-1', '1.5']) {
			const { status, body } = await read(id, name, { limit })
			expect(status).toBe(422)
			expect(body).toEqual({ success: false, error: expect.stringContaining('"limit"'), code: 'validation_failed', field: 'limit' })
		}
	})

	it('paging with startIndex/nextIndex walks every point exactly once, across chunk boundaries', async () => {
		for (const limit of [1000, 777, 4096, 10_000]) {
			const seen = await walk(id, name, { limit })
			expect(seen.map((p) => p.index)).toEqual(range(0, TOTAL - 1).map(String))
			expect(seen.map((p) => p.data.step)).toEqual(range(0, TOTAL - 1))
		}
		// a page that starts inside one chunk and ends inside the next
		const across = await read(id, name, { startIndex: 4000, limit: 200 })
		expect(across.body.points.map((p: any) => p.data)).toStrictEqual(range(4000, 4199).map(fixture))
		expect(across.body.nextIndex).toBe(4200)
		const spanning = await read(id, name, { startIndex: 4090, limit: 6000 })
		expect(spanning.body.points.map((p: any) => Number(p.index))).toEqual(range(4090, 10_089))
		expect(spanning.body.points.map((p: any) => p.data.step)).toEqual(range(4090, 10_089))
	})

	it('endIndex is inclusive', async () => {
		const { body } = await read(id, name, { startIndex: 4094, endIndex: 4098 })
		expect(body.points.map((p: any) => p.index)).toEqual(['4094', '4095', '4096', '4097', '4098'])
		expect(body).toMatchObject({ count: 5, hasMore: false, nextIndex: null })
		const paged = await read(id, name, { startIndex: 4094, endIndex: 4098, limit: 3 })
		expect(paged.body.points.map((p: any) => p.index)).toEqual(['4094', '4095', '4096'])
		expect(paged.body).toMatchObject({ hasMore: true, nextIndex: 4097 })
		const rest = await read(id, name, { startIndex: 4097, endIndex: 4098, limit: 3 })
		expect(rest.body.points.map((p: any) => p.index)).toEqual(['4097', '4098'])
		expect(rest.body.hasMore).toBe(false)
		expect((await read(id, name, { endIndex: 0 })).body.points.map((p: any) => p.index)).toEqual(['0'])
		expect((await read(id, name, { startIndex: 7, endIndex: 7 })).body.points.map((p: any) => p.index)).toEqual(['7'])
		expect((await read(id, name, { startIndex: 10, endIndex: 5 })).body).toMatchObject({ points: [], count: 0, hasMore: false })
		expect((await read(id, name, { startIndex: TOTAL - 2, endIndex: TOTAL + 100 })).body.points.map((p: any) => Number(p.index))).toEqual([TOTAL - 2, TOTAL - 1])
	})

	it('startTime/endTime on `_ts` are inclusive, and points without `_ts` are left out', async () => {
		const small = unique('timed')
		const tid = await newEpisode()
		await appended(tid, small, [{ _ts: 1, v: 'a' }, { v: 'no ts' }, { _ts: 2, v: 'b' }, { _ts: 3, v: 'c' }, { _ts: 3.5, v: 'd' }, { v: 'no ts either' }, { _ts: 4, v: 'e' }])
		const between = async (query: Query) => (await read(tid, small, query)).body.points.map((p: any) => [p.index, p.data.v])
		expect(await between({ startTime: 2, endTime: 3.5 })).toEqual([['2', 'b'], ['3', 'c'], ['4', 'd']])
		expect(await between({ startTime: 3.5 })).toEqual([['4', 'd'], ['6', 'e']])
		expect(await between({ endTime: 1 })).toEqual([['0', 'a']])
		expect(await between({ startTime: 3, endTime: 3 })).toEqual([['3', 'c']])
		expect(await between({ startTime: 4, endTime: 2 })).toEqual([])
		expect(await between({ startTime: 0 })).toEqual([['0', 'a'], ['2', 'b'], ['3', 'c'], ['4', 'd'], ['6', 'e']])

		// on the big track, across a chunk boundary, paged: the even indexes from 4000 to 4200 exactly once
		const expected = range(4000, 4200).filter((i) => i % 2 === 0).map(String)
		const window = { startTime: 1_765_000_000 + 4000, endTime: 1_765_000_000 + 4200 }
		const whole = await read(id, name, window)
		expect(whole.body.points.map((p: any) => p.index)).toEqual(expected)
		expect(whole.body).toMatchObject({ count: expected.length, hasMore: false, nextIndex: null })
		const walked = await walk(id, name, { ...window, limit: 7 })
		expect(walked.map((p) => p.index)).toEqual(expected)
		expect(walked.every((p) => typeof p.data._ts === 'number')).toBe(true)
		// with startIndex and endIndex as well
		expect((await read(id, name, { ...window, startIndex: 4100, endIndex: 4105 })).body.points.map((p: any) => p.index)).toEqual(['4100', '4102', '4104'])
	})

	it('keys=a,b returns only those fields', async () => {
		const { body } = await read(id, name, { startIndex: 0, limit: 3, keys: 'step,_ts' })
		expect(body.points.map((p: any) => p.data)).toStrictEqual([{ step: 0, _ts: 1_765_000_000 }, { step: 1 }, { step: 2, _ts: 1_765_000_002 }])
		const one = await read(id, name, { startIndex: 4095, limit: 2, keys: 'tag' })
		expect(one.body.points.map((p: any) => p.data)).toStrictEqual([{ tag: 'p4095' }, { tag: 'p4096' }])
		const missing = await read(id, name, { limit: 2, keys: 'nothing' })
		expect(missing.body.points.map((p: any) => p.data)).toStrictEqual([{}, {}])
		const timed = await read(id, name, { limit: 2, keys: 'loss', startTime: 1_765_000_000 })
		expect(timed.body.points.map((p: any) => [p.index, p.data])).toStrictEqual([
			['0', { loss: 1 }],
			['2', { loss: 1 / 3 }],
		])
	})

	it('422 for a startTime or endTime that is not a number, naming it', async () => {
		for (const [param, value] of [
			['startTime', 'yesterday'],
			['startTime', '2026-08-12T10:30:00Z'],
			['endTime', 'abc'],
		] as const) {
			const { status, body } = await read(id, name, { [param]: value })
			expect(status).toBe(422)
			expect(body).toEqual({ success: false, error: expect.stringContaining(`"${param}"`), code: 'validation_failed', field: param })
		}
		for (const [param, value] of [
			['startIndex', 'abc'],
			['startIndex', '-1'],
			['endIndex', 'x'],
		] as const) {
			const { status, body } = await read(id, name, { [param]: value })
			expect(status).toBe(422)
			expect(body).toMatchObject({ code: 'validation_failed', field: param })
		}
	})

	it('a page of 10,000 points answers, sending at most a few statements', async () => {
		await read(id, name, { limit: 1 })
		const { status, body, db } = await read(id, name, { startIndex: 1000, limit: 10_000 })
		expect(status).toBe(200)
		expect(body.points).toHaveLength(10_000)
		expect(body.points[0].index).toBe('1000')
		expect(body.points[9_999].index).toBe('10999')
		expect(body.points[9_999].data).toStrictEqual(fixture(10_999))
		expect(body).toMatchObject({ count: 10_000, hasMore: true, nextIndex: 11_000 })
		expect(db.statements).toBeLessThanOrEqual(3)
		expect(db.transactions).toBe(0)
	})
})

describe('GET /episodes/{id}/tracks/{name}/stats', () => {
	it('the documented fields; counts are numbers; keys in first-seen order; bufferedDataPoints 0', async () => {
		const id = await newEpisode()
		const name = unique('stats')
		await appended(id, name, [{ z: 1 }, { a: 1, m: 'x' }], { description: 'd', tags: ['t'], metadata: { k: 1 } })
		await appended(id, name, [{ b: 1, a: 2 }, { _ts: 5, z: 2 }])
		await appended(id, name, points(5_000))
		const { status, body } = await stats(id, name)
		expect(status).toBe(200)
		expect(Object.keys(body).sort()).toEqual(
			[
				'trackId',
				'id',
				'name',
				'trackName',
				'path',
				'description',
				'tags',
				'metadata',
				'totalDataPoints',
				'length',
				'bufferedDataPoints',
				'chunkedDataPoints',
				'totalChunks',
				'chunkSize',
				'keys',
				'firstDataAt',
				'lastDataAt',
				'createdAt',
				'updatedAt',
			].sort(),
		)
		const row = trackRow(id, name)!
		const chunks = chunkRows(String(row.id)).length
		expect(body).toEqual({
			trackId: String(row.id),
			id: String(row.id),
			name,
			trackName: name,
			path: name,
			description: 'd',
			tags: ['t'],
			metadata: { k: 1 },
			totalDataPoints: 5_004,
			length: 5_004,
			bufferedDataPoints: 0,
			chunkedDataPoints: 5_004,
			totalChunks: chunks,
			chunkSize: expect.any(Number),
			keys: ['z', 'a', 'm', 'b', '_ts', 'step', 'label'],
			firstDataAt: expect.stringMatching(ISO),
			lastDataAt: expect.stringMatching(ISO),
			createdAt: expect.stringMatching(ISO),
			updatedAt: expect.stringMatching(ISO),
		})
		expect(chunks).toBeGreaterThanOrEqual(2)
		expect(body.chunkSize).toBeGreaterThan(0)
		expect(Date.parse(body.firstDataAt)).toBeLessThanOrEqual(Date.parse(body.lastDataAt))
		expect(Date.parse(body.createdAt)).toBeLessThanOrEqual(Date.parse(body.updatedAt))
		// one statement
		const again = await stats(id, name)
		expect(again.db).toEqual({ statements: 1, transactions: 0 })
	})
})

describe('GET /episodes/{id}/tracks', () => {
	it('{tracks: [{trackId, name, description, tags, totalDataPoints, keys, firstDataAt, lastDataAt, createdAt}], page, pageSize, total, totalPages}, by name', async () => {
		const id = await newEpisode()
		await appended(id, 'b-track', [{ y: 1 }, { x: 2 }], { description: 'bee', tags: ['t1'] })
		await appended(id, 'a-track', points(3))
		const { status, body } = await list(id)
		expect(status).toBe(200)
		expect(Object.keys(body)).toEqual(['tracks', 'page', 'pageSize', 'total', 'totalPages'])
		expect(body).toMatchObject({ page: 1, pageSize: 1000, total: 2, totalPages: 1 })
		expect(body.tracks).toEqual([
			{
				trackId: String(trackRow(id, 'a-track')!.id),
				name: 'a-track',
				description: null,
				tags: [],
				totalDataPoints: 3,
				keys: ['step', 'label'],
				firstDataAt: expect.stringMatching(ISO),
				lastDataAt: expect.stringMatching(ISO),
				createdAt: expect.stringMatching(ISO),
			},
			{
				trackId: String(trackRow(id, 'b-track')!.id),
				name: 'b-track',
				description: 'bee',
				tags: ['t1'],
				totalDataPoints: 2,
				keys: ['y', 'x'],
				firstDataAt: expect.stringMatching(ISO),
				lastDataAt: expect.stringMatching(ISO),
				createdAt: expect.stringMatching(ISO),
			},
		])
		expect((await list(await newEpisode())).body).toEqual({ tracks: [], page: 1, pageSize: 1000, total: 0, totalPages: 0 })
	})

	it('is paged like every list: page and pageSize (1,000 by default and at most, so the SDK, which reads one page, gets every track of a run)', async () => {
		const id = await newEpisode()
		for (const name of ['c', 'a', 'e', 'b', 'd']) await appended(id, name, points(1))
		const pages = await Promise.all([1, 2, 3].map(async (page) => (await list(id, { page: String(page), pageSize: '2' })).body))
		expect(pages.map((p) => p.tracks.map((t: any) => t.name))).toEqual([['a', 'b'], ['c', 'd'], ['e']])
		expect(pages.map((p) => [p.page, p.pageSize, p.total, p.totalPages])).toEqual([[1, 2, 5, 3], [2, 2, 5, 3], [3, 2, 5, 3]])
		expect((await list(id, { page: '4', pageSize: '2' })).body.tracks).toEqual([])
		for (const pageSize of ['0', '1001', 'x']) {
			const { status, body } = await list(id, { pageSize })
			expect(status).toBe(422)
			expect(body).toMatchObject({ code: 'validation_failed', field: 'pageSize' })
		}
	})

	it('deleted=true lists the deleted tracks (and only those)', async () => {
		const id = await newEpisode()
		await appended(id, 'kept', points(1))
		await appended(id, 'dropped', points(2))
		expect((await list(id, { deleted: 'true' })).body).toMatchObject({ tracks: [], total: 0 })
		expect((await remove(id, 'dropped')).status).toBe(200)
		expect((await list(id)).body.tracks.map((t: any) => t.name)).toEqual(['kept'])
		const deleted = await list(id, { deleted: 'true' })
		expect(deleted.status).toBe(200)
		expect(deleted.body.tracks.map((t: any) => [t.name, t.totalDataPoints])).toEqual([['dropped', 2]])
		expect((await restore(id, 'dropped')).status).toBe(200)
		expect((await list(id, { deleted: 'true' })).body).toMatchObject({ tracks: [], total: 0 })
	})

	it("the episode's trackCount counts its live tracks", async () => {
		const id = await newEpisode()
		const count = async () => (await h.call('GET', `/episodes/${id}`, { token: owner.token })).body.trackCount
		expect(await count()).toBe(0)
		await appended(id, 'one', points(1))
		await appended(id, 'two', points(1))
		await appended(id, 'three', points(1))
		await appended(id, 'one', points(1))
		expect(await count()).toBe(3)
		expect((await remove(id, 'two')).status).toBe(200)
		expect(await count()).toBe(2)
		expect((await restore(id, 'two')).status).toBe(200)
		expect(await count()).toBe(3)
	})
})

describe('DELETE /episodes/{id}/tracks/{name}', () => {
	it('{id, name, deletedAt}; then 404 on data and stats, absent from the list, and an append 410 track_deleted', async () => {
		const id = await newEpisode()
		const name = unique('deleted')
		const { trackId } = await appended(id, name, points(4))
		const other = unique('bystander')
		await appended(id, other, points(1))
		const { status, body } = await remove(id, name)
		expect(status).toBe(200)
		expect(body).toEqual({ id: trackId, name, deletedAt: expect.stringMatching(ISO) })
		for (const reply of [await read(id, name), await stats(id, name)]) {
			expect(reply.status).toBe(404)
			expect(reply.body).toEqual({ success: false, error: expect.any(String), code: 'track_not_found' })
		}
		expect((await list(id)).body.tracks.map((t: any) => t.name)).toEqual([other])
		for (const reply of [await batch(id, name, points(1)), await single(id, name, { x: 1 })]) {
			expect(reply.status).toBe(410)
			expect(reply.body).toEqual({ success: false, error: expect.any(String), code: 'track_deleted' })
		}
		expect(trackRow(id, name)!.total).toBe(4)
		// deleting it again, or a track that never was: 404
		expect((await remove(id, name)).status).toBe(404)
		expect((await remove(id, unique('never'))).status).toBe(404)
		// after a restart too (nothing cached)
		h.restart()
		expect((await single(id, name, { x: 1 })).status).toBe(410)
		expect((await read(id, name)).status).toBe(404)
	})

	it('POST …/restore brings it back with its points, and the index goes on', async () => {
		const id = await newEpisode()
		const name = unique('restored')
		const sent = points(700)
		const { trackId } = await appended(id, name, sent, { description: 'kept', tags: ['x'] })
		expect((await remove(id, name)).status).toBe(200)
		const { status, body } = await restore(id, name)
		expect(status).toBe(200)
		expect(body).toMatchObject({ trackId, id: trackId, name, description: 'kept', tags: ['x'], totalDataPoints: 700, length: 700 })
		expect(await allData(id, name)).toStrictEqual(sent)
		expect((await list(id)).body.tracks.map((t: any) => t.name)).toEqual([name])
		expect((await single(id, name, { after: 'restore' })).body.index).toBe(700)
		expectGapless(id, name, 701)
	})

	it('restore of a live track (or one that never was) is 404', async () => {
		const id = await newEpisode()
		const name = unique('live')
		await appended(id, name, points(2))
		const before = (await stats(id, name)).body
		const { status, body } = await restore(id, name)
		expect(status).toBe(404)
		expect(body).toMatchObject({ success: false, code: expect.any(String) })
		expect((await stats(id, name)).body).toEqual(before)
		expect((await restore(id, unique('never'))).status).toBe(404)
	})

	it('an append queued right behind a delete gets 410 and never lands in the deleted track', async () => {
		const id = await newEpisode()
		// records any change to a deleted track's points (a real trigger: it only watches)
		h.db.$client.run('CREATE TABLE IF NOT EXISTS deleted_track_writes (track_id INTEGER, old_total INTEGER, new_total INTEGER)')
		h.db.$client.run(
			'CREATE TRIGGER watch_deleted_tracks AFTER UPDATE ON tracks WHEN OLD.deleted_at IS NOT NULL AND NEW.deleted_at IS NOT NULL AND NEW.total <> OLD.total BEGIN INSERT INTO deleted_track_writes VALUES (NEW.id, OLD.total, NEW.total); END',
		)
		try {
			// append, delete, append, the delete started a few microtask turns after the first append,
			// so that some rounds queue them in one group commit in that order
			for (let delay = 0; delay < 24; delay++) {
				const name = `race-${delay}`
				await appended(id, name, points(1))
				const first = single(id, name, { when: 'before delete' })
				for (let i = 0; i < delay; i++) await Promise.resolve()
				const deleted = remove(id, name)
				const second = single(id, name, { when: 'after delete' })
				const replies = await Promise.all([first, deleted, second])
				expect(replies[1]!.status).toBe(200)
				const restored = await restore(id, name)
				expect(restored.status).toBe(200)
				// what the appends were told is what the track holds
				const acknowledged = 1 + replies.filter((r, i) => i !== 1 && r.status === 201).length
				expect(restored.body.totalDataPoints).toBe(acknowledged)
			}
			expect(h.db.$client.query('SELECT track_id AS trackId, old_total AS oldTotal, new_total AS newTotal FROM deleted_track_writes').all()).toEqual([])
		} finally {
			h.db.$client.run('DROP TRIGGER watch_deleted_tracks')
			h.db.$client.run('DROP TABLE deleted_track_writes')
		}
	})
})

describe('who may call a track route', () => {
	/** An episode with a track of 3 points (deleted when the route needs it). */
	interface Guarded extends InEpisode {
		name: string
	}
	interface Spec {
		label: string
		method: string
		/** The path under /episodes/{id}. */
		path: (name: string) => string
		body?: unknown
		ok: number
		write: boolean
		/** The track is deleted first (restore needs a deleted track to succeed). */
		deletedTrack?: boolean
	}
	const routes: Spec[] = [
		{ label: 'POST …/tracks/{name}/append-batch', method: 'POST', path: (n) => `/tracks/${enc(n)}/append-batch`, body: { dataPoints: [{ x: 1 }, { x: 2 }] }, ok: 201, write: true },
		{ label: 'POST …/tracks/{name}/append', method: 'POST', path: (n) => `/tracks/${enc(n)}/append`, body: { data: { x: 1 } }, ok: 201, write: true },
		{ label: 'GET …/tracks/{name}/data', method: 'GET', path: (n) => `/tracks/${enc(n)}/data`, ok: 200, write: false },
		{ label: 'GET …/tracks/{name}/stats', method: 'GET', path: (n) => `/tracks/${enc(n)}/stats`, ok: 200, write: false },
		{ label: 'GET …/tracks/{name}/series', method: 'GET', path: (n) => `/tracks/${enc(n)}/series`, ok: 200, write: false },
		{ label: 'GET /episodes/{id}/tracks', method: 'GET', path: () => '/tracks', ok: 200, write: false },
		{ label: 'DELETE …/tracks/{name}', method: 'DELETE', path: (n) => `/tracks/${enc(n)}`, ok: 200, write: true },
		{ label: 'POST …/tracks/{name}/restore', method: 'POST', path: (n) => `/tracks/${enc(n)}/restore`, ok: 200, write: true, deletedTrack: true },
	]

	describe.each(routes.map((r) => [r.label, r] as const))('%s', (_, spec) => {
		whoMayCall(
			() => h,
			underEpisode<Guarded>(() => h, {
				method: spec.method,
				path: (f) => spec.path(f.name),
				body: () => spec.body,
				ok: spec.ok,
				write: spec.write,
				unchanged: "the owner's track",
				async arrange(user) {
					const episode = await newEpisode(user)
					const name = unique('guarded')
					expect((await batch(episode, name, points(3), {}, user.token)).status).toBe(201)
					if (spec.deletedTrack) expect((await remove(episode, name, user.token)).status).toBe(200)
					return { owner: user, episode, project: 'tracks-project', name }
				},
				// the track's row and chunks as stored, and the episode's list as the owner reads it
				snapshot: async (f) => {
					const row = trackRow(f.episode, f.name)
					const { status, body } = await list(f.episode, {}, f.owner.token)
					return { row, chunks: row ? chunkRows(String(row.id)) : [], list: { status, body } }
				},
				also: {
					// reads still answer while the episode is write-protected
					async writeProtected({ f }) {
						expect((await list(f.episode, {}, f.owner.token)).status).toBe(200)
						if (!spec.deletedTrack) {
							expect((await read(f.episode, f.name, {}, f.owner.token)).body.count).toBe(3)
							expect((await stats(f.episode, f.name, f.owner.token)).body.totalDataPoints).toBe(3)
						}
					},
				},
			}),
		)
	})
})
