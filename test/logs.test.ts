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

interface Line {
	timestamp: string
	level: string
	message: string
	metadata?: unknown
}

/** A fresh episode of `user` (the owner unless said), by its id. */
const newEpisode = (user: User = owner) => h.newEpisode(user, 'logs-project')
const newUser = () => h.newUser()

const T0 = '2026-08-12T10:30:00.000000Z'
const line = (message: string, level = 'info', timestamp = T0, metadata?: unknown): Line => ({ timestamp, level, message, ...(metadata !== undefined && { metadata }) })
const lines = (n: number, prefix = 'line', level = 'info') => Array.from({ length: n }, (_, i) => line(`${prefix} ${i}`, level))

const append = (id: string, logs: unknown, token = owner.token) => h.call('POST', `/episodes/${id}/logs`, { token, body: { logs } })
const read = (id: string, query: Record<string, string | number> = {}, token = owner.token) =>
	h.call('GET', `/episodes/${id}/logs?${new URLSearchParams(Object.entries(query).map(([k, v]): [string, string] => [k, String(v)]))}`, { token })
const stats = (id: string, token = owner.token) => h.call('GET', `/episodes/${id}/logs/stats`, { token })

/** Appends and expects a 201 for `logs`, returning the reply body. */
async function appended(id: string, logs: Line[]) {
	const { status, body } = await append(id, logs)
	expect(status).toBe(201)
	return body as { created: number; startSequence: number; endSequence: number; episodeId: string }
}

/** Every line of the episode, in sequence order, as the database holds it (not through the API). */
function stored(id: string): { sequence: number; message: string }[] {
	return h.db.$client.query('SELECT sequence, message FROM log_entries WHERE episode_id = ? ORDER BY sequence').all(Number(id)) as { sequence: number; message: string }[]
}

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i)

/** Reads every line by following nextSequence, `limit` at a time. */
async function walk(id: string, query: Record<string, string | number> = {}) {
	const seen: any[] = []
	let after: number | undefined
	for (let pages = 0; pages < 1000; pages++) {
		const { status, body } = await read(id, { ...query, ...(after !== undefined && { afterSequence: after }) })
		expect(status).toBe(200)
		seen.push(...body.logs)
		if (!body.hasMore) return seen
		after = body.nextSequence
	}
	throw new Error('paging never ended')
}

const EMPTY_STATS = { totalLogs: 0, levelCounts: { debug: 0, info: 0, warn: 0, error: 0, fatal: 0 }, firstLogAt: null, lastLogAt: null }

describe('POST /episodes/{id}/logs', () => {
	it('201 {created, startSequence, endSequence, episodeId}; sequences from 0, gapless, in request order', async () => {
		const id = await newEpisode()
		const first = await append(id, [line('a'), line('b'), line('c')])
		expect(first.status).toBe(201)
		expect(first.body).toEqual({ created: 3, startSequence: 0, endSequence: 2, episodeId: id })
		expect(await appended(id, [line('d')])).toEqual({ created: 1, startSequence: 3, endSequence: 3, episodeId: id })
		expect(await appended(id, [line('e'), line('f')])).toEqual({ created: 2, startSequence: 4, endSequence: 5, episodeId: id })
		expect(stored(id)).toEqual(['a', 'b', 'c', 'd', 'e', 'f'].map((message, sequence) => ({ sequence, message })))
		const { body } = await read(id)
		expect(body.logs.map((l: any) => [l.sequenceNumber, l.message])).toEqual([[0, 'a'], [1, 'b'], [2, 'c'], [3, 'd'], [4, 'e'], [5, 'f']])
	})

	it('two episodes number their lines independently', async () => {
		const one = await newEpisode()
		const two = await newEpisode()
		expect((await appended(one, lines(3))).startSequence).toBe(0)
		expect((await appended(two, lines(2))).startSequence).toBe(0)
		expect(await appended(one, lines(1))).toMatchObject({ startSequence: 3, endSequence: 3, episodeId: one })
		expect(await appended(two, lines(4))).toMatchObject({ startSequence: 2, endSequence: 5, episodeId: two })
		expect(stored(one).map((r) => r.sequence)).toEqual(range(0, 3))
		expect(stored(two).map((r) => r.sequence)).toEqual(range(0, 5))
	})

	it('50 concurrent posts get disjoint contiguous ranges covering 0..N-1 exactly, each in its own order', async () => {
		const id = await newEpisode()
		const batches = Array.from({ length: 50 }, (_, p) => Array.from({ length: 1 + (p % 5) }, (_, j) => line(`post ${p} line ${j}`)))
		const replies = await Promise.all(batches.map((batch) => append(id, batch)))
		expect(replies.map((r) => r.status)).toEqual(Array(50).fill(201))
		const total = batches.reduce((n, b) => n + b.length, 0)
		const covered: number[] = []
		replies.forEach((r, p) => {
			expect(r.body.created).toBe(batches[p]!.length)
			expect(r.body.endSequence - r.body.startSequence + 1).toBe(batches[p]!.length)
			covered.push(...range(r.body.startSequence, r.body.endSequence))
		})
		expect(covered.sort((a, b) => a - b)).toEqual(range(0, total - 1))
		const rows = stored(id)
		expect(rows.map((r) => r.sequence)).toEqual(range(0, total - 1))
		replies.forEach((r, p) => batches[p]!.forEach((l, j) => expect(rows[r.body.startSequence + j]!.message).toBe(l.message)))
		expect((await stats(id)).body.totalLogs).toBe(total)
	})

	describe('timestamps are stored in UTC with their microseconds', () => {
		it.each([
			['2026-08-12T10:30:00.123456Z', '2026-08-12T10:30:00.123456Z'],
			['2026-08-12T10:30:00Z', '2026-08-12T10:30:00.000000Z'],
			['2026-08-12T10:30:00.1Z', '2026-08-12T10:30:00.100000Z'],
			['2026-08-12T10:30:00.12Z', '2026-08-12T10:30:00.120000Z'],
			['2026-08-12T10:30:00.123Z', '2026-08-12T10:30:00.123000Z'],
			['2026-08-12T10:30:00.0001Z', '2026-08-12T10:30:00.000100Z'],
			['2026-08-12T10:30:00.00001Z', '2026-08-12T10:30:00.000010Z'],
			['2026-08-12T10:30:00.000001Z', '2026-08-12T10:30:00.000001Z'],
			['2026-08-12T12:30:00+02:00', '2026-08-12T10:30:00.000000Z'],
			['2026-08-12T05:00:00.999999-0530', '2026-08-12T10:30:00.999999Z'],
			['2026-08-12T00:30:00-10:00', '2026-08-12T10:30:00.000000Z'],
			['2026-08-13T01:15:00.5+14:45', '2026-08-12T10:30:00.500000Z'],
			['1999-12-31T23:59:59.999999Z', '1999-12-31T23:59:59.999999Z'],
			['1900-01-01T00:00:00.000001Z', '1900-01-01T00:00:00.000001Z'],
			['2255-06-01T00:00:00.000001Z', '2255-06-01T00:00:00.000001Z'],
		])('%s comes back as %s', async (sent, back) => {
			const id = await newEpisode()
			await appended(id, [line('t', 'info', sent)])
			const { body } = await read(id)
			expect(body.logs).toEqual([{ sequenceNumber: 0, timestamp: back, level: 'info', message: 't', metadata: null }])
			expect((await stats(id)).body).toMatchObject({ firstLogAt: back, lastLogAt: back })
		})
	})

	describe('a time far from now is stored as sent or refused (422), never stored as another time', () => {
		it.each(['2300-01-01T00:00:00.000001Z', '9999-12-31T23:59:59.999999Z', '0050-06-15T12:00:00Z', '0001-01-01T00:00:00.000001+01:00'])('%s', async (sent) => {
			const id = await newEpisode()
			const { status, body } = await append(id, [line('far', 'info', sent)])
			if (status === 422) {
				expect(body).toMatchObject({ code: 'validation_failed', field: 'logs.0.timestamp' })
				expect(stored(id)).toEqual([])
				return
			}
			expect(status).toBe(201)
			const back = (await read(id)).body.logs[0].timestamp
			expect(back).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/)
			// the same instant: whole seconds by Date, the microseconds by their digits
			const micros = (iso: string) => [Math.floor(Date.parse(iso) / 1000), (/\.(\d+)/.exec(iso)?.[1] ?? '').padEnd(6, '0')]
			expect(micros(back)).toEqual(micros(sent))
		})
	})

	it('levels: the five, any case; "critical" is read as fatal, "warning" as warn', async () => {
		const id = await newEpisode()
		const sent = ['debug', 'info', 'warn', 'error', 'fatal', 'critical', 'CRITICAL', 'WARNING', 'warning', 'Warn', 'INFO', 'Error']
		await appended(id, sent.map((level) => line(level, level)))
		const { body } = await read(id)
		expect(body.logs.map((l: any) => l.level)).toEqual(['debug', 'info', 'warn', 'error', 'fatal', 'fatal', 'fatal', 'warn', 'warn', 'warn', 'info', 'error'])
		expect((await stats(id)).body.levelCounts).toEqual({ debug: 1, info: 2, warn: 4, error: 2, fatal: 3 })
	})

	it('metadata comes back as sent; left out or null is null', async () => {
		const id = await newEpisode()
		const metadata = { step: 3, nested: { a: [1, 'two', null], ok: true }, unicode: 'мир 🌍' }
		await appended(id, [line('with', 'info', T0, metadata), line('without'), line('null', 'info', T0, null)])
		const { body } = await read(id)
		expect(body.logs.map((l: any) => l.metadata)).toEqual([metadata, null, null])
	})

	it('messages come back exactly: unicode, SQL-looking, empty, newlines', async () => {
		const id = await newEpisode()
		const messages = ["'); DROP TABLE log_entries;--", '🤖 done\n\ttab', '', 'zero\u200Bwidth', '\u0000nul']
		await appended(id, messages.map((m) => line(m)))
		expect((await read(id)).body.logs.map((l: any) => l.message)).toEqual(messages)
	})

	describe('batch size', () => {
		it('1,000 lines are accepted', async () => {
			const id = await newEpisode()
			expect(await appended(id, lines(1000))).toEqual({ created: 1000, startSequence: 0, endSequence: 999, episodeId: id })
			expect(stored(id).map((r) => r.sequence)).toEqual(range(0, 999))
			expect((await stats(id)).body.totalLogs).toBe(1000)
		})

		it('1,001 lines are refused with 422, and nothing is stored', async () => {
			const id = await newEpisode()
			const { status, body } = await append(id, lines(1001))
			expect(status).toBe(422)
			expect(body).toMatchObject({ success: false, code: 'validation_failed', field: 'logs' })
			expect(stored(id)).toEqual([])
			expect((await stats(id)).body).toEqual(EMPTY_STATS)
		})

		it('0 lines are refused with 422', async () => {
			const id = await newEpisode()
			const { status, body } = await append(id, [])
			expect(status).toBe(422)
			expect(body).toMatchObject({ success: false, code: 'validation_failed', field: 'logs' })
			expect(stored(id)).toEqual([])
		})

		it('400 missing_field for logs missing', async () => {
			const id = await newEpisode()
			const reply = await h.call('POST', `/episodes/${id}/logs`, { token: owner.token, body: {} })
			expect(reply.status).toBe(400)
			expect(reply.body).toMatchObject({ success: false, code: 'missing_field', field: 'logs' })
			expect(stored(id)).toEqual([])
		})

		it.each([
			['logs not a list', { logs: 'hello' }],
			['logs null', { logs: null }],
		])('422 for %s', async (_, body) => {
			const id = await newEpisode()
			const reply = await h.call('POST', `/episodes/${id}/logs`, { token: owner.token, body })
			expect(reply.status).toBe(422)
			expect(reply.body).toMatchObject({ success: false, code: 'validation_failed', field: 'logs' })
		})

		it('400 for malformed JSON', async () => {
			const id = await newEpisode()
			const reply = await h.call('POST', `/episodes/${id}/logs`, { token: owner.token, body: '{"logs": [', headers: { 'content-type': 'application/json' } })
			expect(reply.status).toBe(400)
			expect(reply.body.code).toBe('invalid_json')
			expect(stored(id)).toEqual([])
		})
	})

	describe('a bad entry: 422 naming it, and nothing of the batch stored', () => {
		const bigMetadata = { blob: 'm'.repeat(16 * 1024 - '{"blob":""}'.length + 1) }
		it.each([
			['a level that is none', { level: 'verbose' }, 'logs.2.level'],
			['an empty level', { level: '' }, 'logs.2.level'],
			['a level that is a number', { level: 3 }, 'logs.2.level'],
			['a timestamp without a zone', { timestamp: '2026-08-12T10:30:00' }, 'logs.2.timestamp'],
			['a timestamp with 7 fractional digits', { timestamp: '2026-08-12T10:30:00.1234567Z' }, 'logs.2.timestamp'],
			['February 30th', { timestamp: '2026-02-30T10:30:00Z' }, 'logs.2.timestamp'],
			['25 o\'clock', { timestamp: '2026-08-12T25:00:00Z' }, 'logs.2.timestamp'],
			['a date only', { timestamp: '2026-08-12' }, 'logs.2.timestamp'],
			['epoch seconds', { timestamp: 1786530600 }, 'logs.2.timestamp'],
			['a message over 64 KiB', { message: 'm'.repeat(64 * 1024 + 1) }, 'logs.2.message'],
			['a message over 64 KiB of UTF-8 (fewer characters)', { message: 'é'.repeat(32 * 1024 + 1) }, 'logs.2.message'],
			['a message that is not a string', { message: { text: 'x' } }, 'logs.2.message'],
			['metadata that is a string', { metadata: 'not an object' }, 'logs.2.metadata'],
			['metadata that is a number', { metadata: 42 }, 'logs.2.metadata'],
			['metadata that is a list', { metadata: [1, 2] }, 'logs.2.metadata'],
			['metadata over 16 KiB', { metadata: bigMetadata }, 'logs.2.metadata'],
			['metadata with a "constructor" key', { metadata: { a: { constructor: { prototype: 1 } } } }, 'logs.2.metadata'],
			['an unknown field', { color: 'red' }, 'logs.2.color'],
		])('%s', async (_, bad, field) => {
			const id = await newEpisode()
			await appended(id, lines(4, 'before'))
			const before = (await stats(id)).body
			const batch: unknown[] = [line('good 0'), line('good 1'), { ...line('bad'), ...bad }, line('good 3')]
			const { status, body } = await append(id, batch)
			expect(status).toBe(422)
			expect(body).toEqual({ success: false, error: expect.stringContaining(`"${field}"`), code: 'validation_failed', field })
			expect((await stats(id)).body).toEqual(before)
			expect(stored(id).map((r) => r.message)).toEqual(['before 0', 'before 1', 'before 2', 'before 3'])
			expect(await appended(id, [line('next')])).toMatchObject({ startSequence: 4, endSequence: 4 })
			expect(stored(id).map((r) => r.sequence)).toEqual(range(0, 4))
		})

		it('a "__proto__" key in metadata is refused', async () => {
			const id = await newEpisode()
			const text = `{"logs":[{"timestamp":"${T0}","level":"info","message":"ok"},{"timestamp":"${T0}","level":"info","message":"x","metadata":{"__proto__":{"admin":true}}}]}`
			const { status, body } = await h.call('POST', `/episodes/${id}/logs`, { token: owner.token, body: text, headers: { 'content-type': 'application/json' } })
			expect(status).toBe(422)
			expect(body.field).toBe('logs.1.metadata')
			expect(stored(id)).toEqual([])
		})

		it('the first bad entry is the one named', async () => {
			const id = await newEpisode()
			const { body } = await append(id, [line('ok'), line('x', 'nope'), line('y', 'info', 'yesterday')])
			expect(body.field).toBe('logs.1.level')
		})

		it('at the limits: a message of exactly 64 KiB and metadata of exactly 16 KiB are accepted', async () => {
			const id = await newEpisode()
			const metadata = { blob: 'm'.repeat(16 * 1024 - '{"blob":""}'.length) }
			expect(JSON.stringify(metadata)).toHaveLength(16 * 1024)
			const message = 'é'.repeat(32 * 1024)
			expect(Buffer.byteLength(message)).toBe(64 * 1024)
			await appended(id, [line('m'.repeat(64 * 1024)), line(message, 'info', T0, metadata)])
			const { body } = await read(id)
			expect(body.logs[0].message).toHaveLength(64 * 1024)
			expect(body.logs[1].message).toBe(message)
			expect(body.logs[1].metadata).toEqual(metadata)
		})
	})

	it('a known caller appending to a known episode sends 1 statement in 1 transaction', async () => {
		const id = await newEpisode()
		await appended(id, [line('warm')])
		const second = await append(id, [line('one')])
		expect(second.status).toBe(201)
		expect(second.db).toEqual({ statements: 1, transactions: 1 })
		const batch = await append(id, lines(100))
		expect(batch.status).toBe(201)
		expect(batch.db).toEqual({ statements: 1, transactions: 1 })
	})

	it('a database failure mid-batch: 500 internal_error, no line of the batch stored, and the sequence stays gapless', async () => {
		const id = await newEpisode()
		await appended(id, lines(10, 'good'))
		const before = (await stats(id)).body
		const batch = lines(300, 'batch')
		batch[200] = line('boom')
		h.db.$client.run("CREATE TRIGGER boom BEFORE INSERT ON log_entries WHEN NEW.message = 'boom' BEGIN SELECT RAISE(ABORT, 'injected'); END")
		try {
			const { status, body } = await append(id, batch)
			expect(status).toBe(500)
			expect(body).toEqual({ success: false, error: expect.any(String), code: 'internal_error' })
			for (const leak of ['injected', 'INSERT', 'log_entries', 'SQLITE', 'boom', 'constraint']) expect(JSON.stringify(body)).not.toContain(leak)
			expect(stored(id).map((r) => r.message)).toEqual(range(0, 9).map((i) => `good ${i}`))
			expect((await stats(id)).body).toEqual(before)
			const logged = h.logs.filter((l) => l.includes('"unexpected error"') && l.includes(`/episodes/${id}/logs`))
			expect(logged).toHaveLength(1)
			expect(logged[0]).toContain('SQLITE_CONSTRAINT_TRIGGER')
		} finally {
			h.db.$client.run('DROP TRIGGER boom')
		}
		expect(await appended(id, lines(3, 'after'))).toEqual({ created: 3, startSequence: 10, endSequence: 12, episodeId: id })
		expect(stored(id).map((r) => r.sequence)).toEqual(range(0, 12))
		expect((await stats(id)).body.totalLogs).toBe(13)
	})

	it('a failure at COMMIT rolls back every append of the group: 500s, nothing stored, and each episode stays gapless', async () => {
		const one = await newEpisode()
		const two = await newEpisode()
		await appended(one, lines(5, 'good'))
		await appended(two, lines(2, 'good'))
		// a deferred foreign key is checked only at COMMIT: the append itself succeeds, the commit fails
		h.db.$client.run('CREATE TABLE boom_parent (id INTEGER PRIMARY KEY)')
		h.db.$client.run('CREATE TABLE boom_child (parent INTEGER REFERENCES boom_parent(id) DEFERRABLE INITIALLY DEFERRED)')
		h.db.$client.run("CREATE TRIGGER boom_at_commit AFTER INSERT ON log_entries WHEN NEW.message = 'boom at commit' BEGIN INSERT INTO boom_child VALUES (42); END")
		let replies: Awaited<ReturnType<typeof append>>[]
		try {
			replies = await Promise.all([append(one, lines(3, 'lost')), append(two, [line('boom at commit')]), append(one, lines(2, 'lost too'))])
		} finally {
			h.db.$client.run('DROP TRIGGER boom_at_commit')
			h.db.$client.run('DROP TABLE boom_child')
			h.db.$client.run('DROP TABLE boom_parent')
		}
		expect(replies.map((r) => r.status)).toEqual([500, 500, 500])
		for (const r of replies) expect(r.body.code).toBe('internal_error')
		expect(stored(one).map((r) => r.message)).toEqual(range(0, 4).map((i) => `good ${i}`))
		expect(stored(two).map((r) => r.message)).toEqual(['good 0', 'good 1'])
		expect((await stats(one)).body.totalLogs).toBe(5)
		expect(await appended(one, [line('next')])).toMatchObject({ startSequence: 5, endSequence: 5 })
		expect(await appended(two, [line('next')])).toMatchObject({ startSequence: 2, endSequence: 2 })
		expect(stored(one).map((r) => r.sequence)).toEqual(range(0, 5))
	})

	it('a failing batch does not disturb a concurrent good one to the same episode', async () => {
		const id = await newEpisode()
		await appended(id, lines(5, 'good'))
		h.db.$client.run("CREATE TRIGGER boom2 BEFORE INSERT ON log_entries WHEN NEW.message = 'boom2' BEGIN SELECT RAISE(ABORT, 'injected'); END")
		let replies: Awaited<ReturnType<typeof append>>[]
		try {
			replies = await Promise.all([append(id, lines(3, 'first')), append(id, [line('x'), line('boom2')]), append(id, lines(2, 'last'))])
		} finally {
			h.db.$client.run('DROP TRIGGER boom2')
		}
		expect(replies.map((r) => r.status)).toEqual([201, 500, 201])
		const rows = stored(id)
		expect(rows.map((r) => r.sequence)).toEqual(range(0, 9))
		expect(rows.some((r) => r.message === 'x' || r.message === 'boom2')).toBe(false)
		expect((await stats(id)).body.totalLogs).toBe(10)
		expect((await appended(id, [line('next')])).startSequence).toBe(10)
	})

	it('after a restart (nothing cached) appends continue the sequence', async () => {
		const id = await newEpisode()
		await appended(id, lines(7))
		h.restart()
		expect(await appended(id, lines(2, 'after restart'))).toEqual({ created: 2, startSequence: 7, endSequence: 8, episodeId: id })
		h.restart()
		const [a, b] = await Promise.all([append(id, lines(2, 'x')), append(id, lines(3, 'y'))])
		expect([a!.status, b!.status]).toEqual([201, 201])
		expect(stored(id).map((r) => r.sequence)).toEqual(range(0, 13))
	})
})

describe('caches of one entry (every lookup evicts another)', () => {
	it('interleaved and concurrent appends to three episodes stay gapless, and protection still holds', async () => {
		const small = await Harness.start({ keyServer: h.keys, cacheSize: 1 })
		try {
			const user = await small.newUser()
			const { token } = user
			const ids: string[] = []
			for (let i = 0; i < 3; i++) ids.push(await small.newEpisode(user, 'tiny'))
			const post = (id: string, n: number) => small.call('POST', `/episodes/${id}/logs`, { token, body: { logs: lines(n) } })
			for (let round = 0; round < 3; round++) for (const id of ids) expect((await post(id, 2)).status).toBe(201)
			const replies = await Promise.all(ids.flatMap((id) => [post(id, 1), post(id, 3)]))
			expect(replies.map((r) => r.status)).toEqual(Array(6).fill(201))
			for (const id of ids) {
				const sequences = small.db.$client.query('SELECT sequence FROM log_entries WHERE episode_id = ? ORDER BY sequence').all(Number(id)) as { sequence: number }[]
				expect(sequences.map((r) => r.sequence)).toEqual(range(0, 9))
			}
			expect((await small.call('PATCH', `/episodes/${ids[0]}`, { token, body: { writeProtected: true } })).status).toBe(200)
			await post(ids[1]!, 1)
			await post(ids[2]!, 1)
			expect((await post(ids[0]!, 1)).status).toBe(403)
		} finally {
			small.close()
		}
	})
})

describe('GET /episodes/{id}/logs', () => {
	let id: string
	beforeAll(async () => {
		id = await newEpisode()
		await appended(id, lines(250))
	})

	it('{logs, hasMore, nextSequence}, 100 lines by default, in sequence order', async () => {
		const { status, body } = await read(id)
		expect(status).toBe(200)
		expect(Object.keys(body).sort()).toEqual(['hasMore', 'logs', 'nextSequence'])
		expect(body.logs).toHaveLength(100)
		expect(body.logs[0]).toEqual({ sequenceNumber: 0, timestamp: T0, level: 'info', message: 'line 0', metadata: null })
		expect(body.logs.map((l: any) => l.sequenceNumber)).toEqual(range(0, 99))
		expect(body.hasMore).toBe(true)
		expect(body.nextSequence).toBe(99)
	})

	it('limit up to 1,000; 422 for 0, 1,001 and what is no whole number', async () => {
		const many = await newEpisode()
		await appended(many, lines(1000))
		await appended(many, lines(5))
		const { status, body } = await read(many, { limit: 1000 })
		expect(status).toBe(200)
		expect(body.logs).toHaveLength(1000)
		expect(body.hasMore).toBe(true)
		expect(body.nextSequence).toBe(999)
		expect((await read(many, { limit: 1 })).body.logs).toHaveLength(1)
		for (const limit of ['0', '1001', '-1', '1.5', 'ten', '1e3']) {
			const reply = await read(many, { limit })
			expect(reply.status).toBe(422)
			expect(reply.body).toEqual({ success: false, error: expect.stringContaining('"limit"'), code: 'validation_failed', field: 'limit' })
		}
	})

	it('422 for a bad afterSequence or dir, naming it', async () => {
		for (const [name, value] of [['afterSequence', 'abc'], ['afterSequence', '-2'], ['dir', 'up'], ['level', 'loud']] as const) {
			const reply = await read(id, { [name]: value })
			expect(reply.status).toBe(422)
			expect(reply.body).toMatchObject({ success: false, code: 'validation_failed', field: name })
		}
	})

	it('afterSequence paging walks every line exactly once', async () => {
		const seen = await walk(id, { limit: 7 })
		expect(seen.map((l) => l.sequenceNumber)).toEqual(range(0, 249))
		expect(seen.map((l) => l.message)).toEqual(range(0, 249).map((i) => `line ${i}`))
		const last = await read(id, { afterSequence: 244, limit: 5 })
		expect(last.body.logs.map((l: any) => l.sequenceNumber)).toEqual(range(245, 249))
		expect(last.body.hasMore).toBe(false)
		expect(last.body.nextSequence).toBe(249)
	})

	it('afterSequence=-1 reads from the first line', async () => {
		const { body } = await read(id, { afterSequence: -1, limit: 2 })
		expect(body.logs.map((l: any) => l.sequenceNumber)).toEqual([0, 1])
	})

	it('dir=desc reads newest first, and afterSequence continues downward', async () => {
		const first = await read(id, { dir: 'desc', limit: 10 })
		expect(first.body.logs.map((l: any) => l.sequenceNumber)).toEqual(range(240, 249).reverse())
		expect(first.body.hasMore).toBe(true)
		expect(first.body.nextSequence).toBe(240)
		const second = await read(id, { dir: 'desc', limit: 10, afterSequence: first.body.nextSequence })
		expect(second.body.logs.map((l: any) => l.sequenceNumber)).toEqual(range(230, 239).reverse())
		const seen = await walk(id, { dir: 'desc', limit: 33 })
		expect(seen.map((l) => l.sequenceNumber)).toEqual(range(0, 249).reverse())
		const bottom = await read(id, { dir: 'desc', afterSequence: 0 })
		expect(bottom.body).toEqual({ logs: [], hasMore: false, nextSequence: 0 })
	})

	it('level=error,fatal keeps only those levels, paging included', async () => {
		const mixed = await newEpisode()
		const levels = ['debug', 'info', 'warn', 'error', 'fatal', 'critical']
		await appended(mixed, Array.from({ length: 60 }, (_, i) => line(`m${i}`, levels[i % levels.length])))
		const { body } = await read(mixed, { level: 'error,fatal', limit: 1000 })
		expect(body.logs.map((l: any) => l.message)).toEqual(range(0, 59).filter((i) => i % 6 >= 3).map((i) => `m${i}`))
		expect(new Set(body.logs.map((l: any) => l.level))).toEqual(new Set(['error', 'fatal']))
		expect(body.hasMore).toBe(false)
		const paged = await walk(mixed, { level: 'error,fatal', limit: 4 })
		expect(paged.map((l) => l.message)).toEqual(body.logs.map((l: any) => l.message))
		expect((await read(mixed, { level: 'WARNING', limit: 1000 })).body.logs).toHaveLength(10)
		expect((await read(mixed, { level: 'critical', limit: 1000 })).body.logs).toHaveLength(20)
		expect((await read(mixed, { level: 'debug', limit: 1000 })).body.logs.map((l: any) => l.level)).toEqual(Array(10).fill('debug'))
	})

	it('search matches anywhere in the message, case-insensitive, with "%" and "_" taken literally', async () => {
		const texts = await newEpisode()
		const messages = ['Loss IS Decreasing', 'the loss is flat', 'accuracy up', '100% done', '100 done', 'a_b', 'axb', 'back\\slash', 'backslash']
		await appended(texts, messages.map((m) => line(m)))
		const search = async (text: string) => (await read(texts, { search: text })).body.logs.map((l: any) => l.message)
		expect(await search('loss is')).toEqual(['Loss IS Decreasing', 'the loss is flat'])
		expect(await search('DECREASING')).toEqual(['Loss IS Decreasing'])
		expect(await search('100%')).toEqual(['100% done'])
		expect(await search('%')).toEqual(['100% done'])
		expect(await search('a_b')).toEqual(['a_b'])
		expect(await search('_')).toEqual(['a_b'])
		expect(await search('\\')).toEqual(['back\\slash'])
		expect(await search('nowhere')).toEqual([])
	})

	it('startTime and endTime are inclusive, to the microsecond, in any zone', async () => {
		const timed = await newEpisode()
		const at = (us: number) => `2026-08-12T10:30:00.00000${us}Z`
		await appended(timed, [1, 2, 3, 4, 5].map((us) => line(`us${us}`, 'info', at(us))))
		const between = async (query: Record<string, string>) => (await read(timed, query)).body.logs.map((l: any) => l.message)
		expect(await between({ startTime: at(2), endTime: at(4) })).toEqual(['us2', 'us3', 'us4'])
		expect(await between({ startTime: at(5) })).toEqual(['us5'])
		expect(await between({ endTime: at(1) })).toEqual(['us1'])
		expect(await between({ startTime: '2026-08-12T12:30:00.000003+02:00' })).toEqual(['us3', 'us4', 'us5'])
		expect(await between({ startTime: at(3), endTime: at(3) })).toEqual(['us3'])
		expect(await between({ startTime: at(4), endTime: at(2) })).toEqual([])
	})

	it('422 for a bad startTime or endTime, naming the parameter', async () => {
		for (const [name, value] of [
			['startTime', 'yesterday'],
			['startTime', '2026-08-12T10:30:00'],
			['endTime', '2026-02-30T00:00:00Z'],
			['endTime', '2026-08-12T10:30:00.1234567Z'],
		] as const) {
			const { status, body } = await read(id, { [name]: value })
			expect(status).toBe(422)
			expect(body).toEqual({ success: false, error: expect.stringContaining(`"${name}"`), code: 'validation_failed', field: name })
		}
	})

	it('nextSequence is the last sequence returned, or afterSequence (else -1) when nothing is', async () => {
		const empty = await newEpisode()
		expect((await read(empty)).body).toEqual({ logs: [], hasMore: false, nextSequence: -1 })
		expect((await read(id, { afterSequence: 249 })).body).toEqual({ logs: [], hasMore: false, nextSequence: 249 })
		expect((await read(id, { afterSequence: 5000 })).body).toEqual({ logs: [], hasMore: false, nextSequence: 5000 })
		expect((await read(id, { search: 'matches nothing' })).body).toEqual({ logs: [], hasMore: false, nextSequence: -1 })
		const filtered = await read(id, { search: 'line 12', limit: 1000 })
		expect(filtered.body.nextSequence).toBe(filtered.body.logs.at(-1).sequenceNumber)
	})

	it('a live tail: read, append, read on from nextSequence returns only the new lines', async () => {
		const tail = await newEpisode()
		let cursor = (await read(tail)).body.nextSequence
		expect(cursor).toBe(-1)
		await appended(tail, lines(3, 'first'))
		let page = await read(tail, { afterSequence: cursor })
		expect(page.body.logs.map((l: any) => l.message)).toEqual(['first 0', 'first 1', 'first 2'])
		cursor = page.body.nextSequence
		expect(cursor).toBe(2)
		page = await read(tail, { afterSequence: cursor })
		expect(page.body).toEqual({ logs: [], hasMore: false, nextSequence: 2 })
		await appended(tail, lines(2, 'second'))
		page = await read(tail, { afterSequence: page.body.nextSequence })
		expect(page.body.logs.map((l: any) => [l.sequenceNumber, l.message])).toEqual([[3, 'second 0'], [4, 'second 1']])
		expect(page.body.nextSequence).toBe(4)
	})
})

describe('GET /episodes/{id}/logs/stats', () => {
	it('zeros and nulls for an episode without lines', async () => {
		const id = await newEpisode()
		const { status, body } = await stats(id)
		expect(status).toBe(200)
		expect(body).toEqual(EMPTY_STATS)
	})

	it('counts per level; first and last by timestamp, not by sequence', async () => {
		const id = await newEpisode()
		await appended(id, [
			line('a', 'info', '2026-08-12T12:00:00Z'),
			line('b', 'error', '2026-08-12T09:00:00.000001Z'),
			line('c', 'warning', '2026-08-12T15:00:00.5+01:00'),
		])
		await appended(id, [line('d', 'debug', '2026-08-12T16:00:00Z'), line('e', 'critical', '2026-08-12T11:00:00Z'), line('f', 'info', '2026-08-12T10:00:00Z')])
		const { body } = await stats(id)
		expect(body).toEqual({
			totalLogs: 6,
			levelCounts: { debug: 1, info: 2, warn: 1, error: 1, fatal: 1 },
			firstLogAt: '2026-08-12T09:00:00.000001Z',
			lastLogAt: '2026-08-12T16:00:00.000000Z',
		})
	})

	it('agrees with the lines stored, and with the episode\'s logCount', async () => {
		const id = await newEpisode()
		await Promise.all(Array.from({ length: 10 }, (_, i) => append(id, lines(i + 1, `s${i}`, i % 2 ? 'warn' : 'debug'))))
		const { body } = await stats(id)
		expect(body.totalLogs).toBe(55)
		expect(body.totalLogs).toBe(stored(id).length)
		expect(body.levelCounts).toEqual({ debug: 25, info: 0, warn: 30, error: 0, fatal: 0 })
		expect((await h.call('GET', `/episodes/${id}`, { token: owner.token })).body.logCount).toBe(55)
	})

	it('reads 1 statement', async () => {
		const id = await newEpisode()
		await appended(id, lines(3))
		await stats(id)
		const { status, db } = await stats(id)
		expect(status).toBe(200)
		expect(db).toEqual({ statements: 1, transactions: 0 })
	})
})

describe('who may call a log route', () => {
	const routes = [
		['POST', '/logs', { logs: [line('x')] }],
		['GET', '/logs', undefined],
		['GET', '/logs/stats', undefined],
	] as const

	describe.each(routes.map((r) => [`${r[0]} /episodes/{id}${r[1]}`, r] as const))('%s', (_, [method, path, body]) => {
		whoMayCall(
			() => h,
			underEpisode<InEpisode>(() => h, {
				method,
				path: () => path,
				body: () => body,
				ok: method === 'POST' ? 201 : 200,
				write: method === 'POST',
				// each append leaves lines of its own
				triedFirst: true,
				unchanged: "the owner's log lines",
				async arrange(user) {
					const episode = await newEpisode(user)
					expect((await append(episode, lines(2), user.token)).status).toBe(201)
					return { owner: user, episode, project: 'logs-project' }
				},
				snapshot: (f) => stored(f.episode),
			}),
		)
	})

	it('a restored episode answers again, and its sequence goes on', async () => {
		const id = await newEpisode()
		await appended(id, lines(4))
		expect((await h.call('DELETE', `/episodes/${id}`, { token: owner.token })).status).toBe(200)
		expect((await append(id, [line('while deleted')])).status).toBe(404)
		expect((await h.call('POST', `/episodes/${id}/restore`, { token: owner.token })).status).toBe(200)
		expect(await appended(id, [line('restored')])).toMatchObject({ startSequence: 4, endSequence: 4 })
		expect((await stats(id)).body.totalLogs).toBe(5)
	})

	it('a write-protected episode: 403 to a POST, nothing stored; reads still answer; unprotected, the sequence goes on', async () => {
		const id = await newEpisode()
		await appended(id, lines(3))
		const patched = await h.call('PATCH', `/episodes/${id}`, { token: owner.token, body: { writeProtected: true } })
		expect(patched.status).toBe(200)
		const before = (await stats(id)).body
		const { status, body } = await append(id, [line('refused')])
		expect(status).toBe(403)
		expect(body).toEqual({ success: false, error: expect.any(String), code: 'episode_write_protected' })
		expect(stored(id)).toHaveLength(3)
		expect((await stats(id)).body).toEqual(before)
		expect((await read(id)).body.logs).toHaveLength(3)
		h.restart()
		expect((await append(id, [line('refused after restart')])).status).toBe(403)
		expect((await h.call('PATCH', `/episodes/${id}`, { token: owner.token, body: { writeProtected: false } })).status).toBe(200)
		expect(await appended(id, [line('allowed')])).toMatchObject({ startSequence: 3, endSequence: 3 })
	})
})
