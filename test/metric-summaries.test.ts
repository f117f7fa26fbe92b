import { afterAll, beforeAll, describe, expect, it, setDefaultTimeout } from 'bun:test'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { closeDatabase, openDatabase } from '../src/db/client'
import { MIGRATIONS, migrateDatabase } from '../src/db/migrate'
import { Harness, type TestUser as User } from './support/harness'
import { Random } from './support/random'

// batches of up to 6,000 points, read back whole
setDefaultTimeout(60_000)

let h: Harness
let owner: User
beforeAll(async () => {
	h = await Harness.start()
	owner = await h.newUser()
})
afterAll(() => h.close())

type Point = Record<string, unknown>
const enc = encodeURIComponent

interface Summary {
	count: number
	last: number
	lastIndex: number
	min: number
	minIndex: number | null
	minStep: number | null
	max: number
	maxIndex: number | null
	maxStep: number | null
	deleted: number
}

/** The summaries of the episode's track as stored, by key. */
function stored(episodeId: string, track: string): Record<string, Summary> {
	const rows = h.db.$client
		.query(
			`SELECT key, count, last, last_index AS lastIndex, "min", min_index AS minIndex, min_step AS minStep, "max", max_index AS maxIndex, max_step AS maxStep, deleted
			FROM metric_summaries WHERE episode_id = ? AND track_name = ?`,
		)
		.all(Number(episodeId), track) as (Summary & { key: string })[]
	return Object.fromEntries(rows.map(({ key, ...summary }) => [key, summary]))
}

/** The summaries computed here from the points, in index order: first of equal values wins, step only when a number. */
function reference(points: Point[], deleted = 0): Record<string, Summary> {
	const out: Record<string, Summary> = {}
	points.forEach((point, index) => {
		const step = typeof point.step === 'number' ? point.step : null
		for (const [key, value] of Object.entries(point)) {
			if (typeof value !== 'number') continue
			const s = out[key]
			if (!s) {
				out[key] = { count: 1, last: value, lastIndex: index, min: value, minIndex: index, minStep: step, max: value, maxIndex: index, maxStep: step, deleted }
				continue
			}
			s.count++
			s.last = value
			s.lastIndex = index
			if (value < s.min) Object.assign(s, { min: value, minIndex: index, minStep: step })
			if (value > s.max) Object.assign(s, { max: value, maxIndex: index, maxStep: step })
		}
	})
	return out
}

/** Every point of the track through the API, in index order. */
async function allPoints(episodeId: string, track: string): Promise<Point[]> {
	const points: Point[] = []
	let startIndex = 0
	for (;;) {
		const { status, body } = await h.call('GET', `/episodes/${episodeId}/tracks/${enc(track)}/data?limit=10000&startIndex=${startIndex}`, { token: owner.token })
		expect(status).toBe(200)
		points.push(...body.points.map((p: { data: Point }) => p.data))
		if (!body.hasMore) return points
		startIndex = body.nextIndex
	}
}

const append = async (episodeId: string, track: string, dataPoints: Point[]) => {
	const reply = await h.call('POST', `/episodes/${episodeId}/tracks/${enc(track)}/append-batch`, { token: owner.token, body: { dataPoints } })
	expect(reply.status).toBe(201)
	return reply
}

/** A random point: numbers, sometimes text, sometimes a key left out; `step` mostly a number. */
function randomPoint(random: Random, i: number): Point {
	const point: Point = {}
	if (random.chance(0.9)) point.step = random.chance(0.95) ? i : 'warmup'
	if (random.chance(0.8)) point.loss = random.pick([random.next(), -random.next() * 10, 0, 1e300, -0.5, random.int(4)])
	if (random.chance(0.5)) point.acc = random.chance(0.9) ? random.int(100) / 100 : 'n/a'
	if (random.chance(0.1)) point.note = random.string(5)
	if (random.chance(0.3)) point['eval/success rate'] = random.int(3)
	return point
}

describe('metric summaries, kept by every append', () => {
	for (const seed of [1, 2, 3, 4, 5]) {
		it(`match the points themselves after appends of every size, concurrent, on several tracks (seed ${seed})`, async () => {
			const random = new Random(seed)
			const episodeId = await h.newEpisode(owner, 'summaries')
			const tracks = ['train', 'robot/pose', 'eval.v2']
			let i = 0
			for (let round = 0; round < 6; round++) {
				// sizes cross the paths: a point joining the last chunk, small batches, one batch of several chunks
				const writes = Array.from({ length: 6 }, (_, w) => {
					const size = round === 2 && w === 0 ? 6000 : random.pick([1, 2, 7, 100, 511, 600])
					return append(episodeId, random.pick(tracks), Array.from({ length: size }, () => randomPoint(random, i++)))
				})
				await Promise.all(writes)
			}
			for (const track of tracks) {
				const points = await allPoints(episodeId, track)
				if (points.length === 0) continue
				expect(stored(episodeId, track)).toEqual(reference(points))
			}
		})
	}

	it('a key only ever text, or a track of no numbers, has no summary; one number among text has one', async () => {
		const episodeId = await h.newEpisode(owner, 'summaries')
		await append(episodeId, 'words', [{ label: 'a' }, { label: 'b' }])
		expect(stored(episodeId, 'words')).toEqual({})
		await append(episodeId, 'mixed', [{ v: 'x' }, { v: 3 }, { v: 'y' }])
		expect(stored(episodeId, 'mixed')).toEqual({ v: { count: 1, last: 3, lastIndex: 1, min: 3, minIndex: 1, minStep: null, max: 3, maxIndex: 1, maxStep: null, deleted: 0 } })
	})

	it('follow a delete and a restore of the track, and appends after the restore', async () => {
		const episodeId = await h.newEpisode(owner, 'summaries')
		const random = new Random(42)
		await append(episodeId, 'loss', Array.from({ length: 300 }, (_, i) => randomPoint(random, i)))
		await append(episodeId, 'other', [{ step: 0, loss: 5 }])
		expect((await h.call('DELETE', `/episodes/${episodeId}/tracks/loss`, { token: owner.token })).status).toBe(200)
		const points = await (async () => {
			expect(Object.values(stored(episodeId, 'loss')).every((s) => s.deleted === 1)).toBe(true)
			expect(stored(episodeId, 'other').loss!.deleted).toBe(0)
			expect((await h.call('POST', `/episodes/${episodeId}/tracks/loss/restore`, { token: owner.token })).status).toBe(200)
			await append(episodeId, 'loss', Array.from({ length: 50 }, (_, i) => randomPoint(random, 300 + i)))
			return allPoints(episodeId, 'loss')
		})()
		expect(points).toHaveLength(350)
		expect(stored(episodeId, 'loss')).toEqual(reference(points))
	})

	it('an append refused leaves the summaries as they were', async () => {
		const episodeId = await h.newEpisode(owner, 'summaries')
		await append(episodeId, 'loss', [{ step: 0, loss: 2 }])
		const bad = await h.call('POST', `/episodes/${episodeId}/tracks/loss/append-batch`, { token: owner.token, body: { dataPoints: [{ loss: 1 }, { _ts: 'not a time' }] } })
		expect(bad.status).toBe(422)
		expect(stored(episodeId, 'loss')).toEqual(reference([{ step: 0, loss: 2 }]))
	})

	it('go with the episode when it is purged', async () => {
		const episodeId = await h.newEpisode(owner, 'summaries')
		await append(episodeId, 'loss', [{ loss: 1 }])
		h.db.$client.run('DELETE FROM episodes WHERE id = ?', [Number(episodeId)])
		expect(stored(episodeId, 'loss')).toEqual({})
	})
})

describe('parameter values, kept by every merge', () => {
	it('one row a flattened key, numbers and text as themselves, the rest as JSON', async () => {
		const episodeId = await h.newEpisode(owner, 'summaries')
		const merge = (data: unknown) => h.call('POST', `/episodes/${episodeId}/parameters`, { token: owner.token, body: { data } })
		expect((await merge({ optimizer: { lr: 0.001, name: 'adam' }, layers: [64, 64], quote: "1' OR 1=1 --" })).status).toBe(200)
		expect((await merge({ optimizer: { lr: 0.0003 }, on: false, none: null })).status).toBe(200)
		const rows = h.db.$client.query('SELECT key, typeof(value) AS type, CAST(value AS TEXT) AS text FROM parameter_values WHERE episode_id = ? ORDER BY key').all(Number(episodeId))
		expect(rows).toEqual([
			{ key: 'layers', type: 'blob', text: '[64,64]' },
			{ key: 'none', type: 'blob', text: 'null' },
			{ key: 'on', type: 'blob', text: 'false' },
			{ key: 'optimizer.lr', type: 'real', text: '0.0003' },
			{ key: 'optimizer.name', type: 'text', text: 'adam' },
			{ key: 'quote', type: 'text', text: "1' OR 1=1 --" },
		])
	})
})

describe('migration 0011', () => {
	it('summarizes the tracks and parameters stored before it', () => {
		const dir = mkdtempSync(join(tmpdir(), 'dreamlake-migration-'))
		try {
			const db = openDatabase(join(dir, 'old.db'))
			const sqlite = db.$client
			const before = MIGRATIONS.findIndex((m) => m.sql.some((s) => s.includes('CREATE TABLE `metric_summaries`')))
			expect(before).toBeGreaterThan(0)
			migrateDatabase(db, MIGRATIONS.slice(0, before))
			sqlite.run(`INSERT INTO namespaces (id, slug, kind, created_at, updated_at) VALUES ('ns1', 'ns', 'team', 0, 0)`)
			sqlite.run(`INSERT INTO projects (id, namespace_id, name, slug, created_at, updated_at) VALUES (7, 'ns1', 'p', 'p', 0, 0)`)
			sqlite.run(`INSERT INTO episodes (id, project_id, name, created_at, updated_at) VALUES (70, 7, 'run', 0, 0)`)
			sqlite.run(`INSERT INTO parameters (episode_id, id, data, version, created_at, updated_at) VALUES (70, 1, ?, 1, 0, 0)`, [JSON.stringify({ 'optimizer.lr': 0.0003, name: 'adam', on: true, layers: [1, 2], none: null })])
			sqlite.run(`INSERT INTO tracks (id, episode_id, name, total, chunks, created_at, updated_at, deleted_at) VALUES (700, 70, 'train', 6, 2, 0, 0, NULL), (701, 70, 'gone', 1, 1, 0, 0, 5)`)
			const chunk = (track: number, start: number, count: number, summary: unknown) =>
				sqlite.run(`INSERT INTO track_chunks (track_id, start_index, count, summary, created_at, blocks, data) VALUES (?, ?, ?, ?, 0, x'', x'')`, [track, start, count, JSON.stringify(summary)])
			chunk(700, 0, 4, { loss: { count: 4, min: 0.5, max: 3, sum: 6, last: 0.7 }, acc: { count: 2, min: 0.1, max: 0.2, sum: 0.3, last: 0.2 } })
			chunk(700, 4, 2, { loss: { count: 2, min: 0.1, max: 0.9, sum: 1, last: 0.9 } })
			chunk(701, 0, 1, { x: { count: 1, min: 1, max: 1, sum: 1, last: 1 } })
			migrateDatabase(db)
			const summaries = sqlite.query('SELECT track_name AS track, key, count, last, last_index AS lastIndex, "min", "max", min_index AS minIndex, deleted FROM metric_summaries ORDER BY track, key').all()
			expect(summaries).toEqual([
				{ track: 'gone', key: 'x', count: 1, last: 1, lastIndex: 0, min: 1, max: 1, minIndex: null, deleted: 1 },
				{ track: 'train', key: 'acc', count: 2, last: 0.2, lastIndex: 3, min: 0.1, max: 0.2, minIndex: null, deleted: 0 },
				{ track: 'train', key: 'loss', count: 6, last: 0.9, lastIndex: 5, min: 0.1, max: 3, minIndex: null, deleted: 0 },
			])
			const values = sqlite.query('SELECT key, project_id AS projectId, typeof(value) AS type, CAST(value AS TEXT) AS text FROM parameter_values ORDER BY key').all()
			expect(values).toEqual([
				{ key: 'layers', projectId: 7, type: 'blob', text: '[1,2]' },
				{ key: 'name', projectId: 7, type: 'text', text: 'adam' },
				{ key: 'none', projectId: 7, type: 'blob', text: 'null' },
				{ key: 'on', projectId: 7, type: 'blob', text: 'true' },
				{ key: 'optimizer.lr', projectId: 7, type: 'real', text: '0.0003' },
			])
			// clustered by their keys (by hand in the migration: drizzle cannot declare it)
			for (const table of ['metric_summaries', 'parameter_values']) expect((sqlite.query('SELECT sql FROM sqlite_master WHERE name = ?').get(table) as { sql: string }).sql).toEndWith('WITHOUT ROWID')
			closeDatabase(db)
		} finally {
			rmSync(dir, { recursive: true, force: true })
		}
	})
})
