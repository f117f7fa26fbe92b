import { afterAll, beforeAll, describe, expect, it, setDefaultTimeout } from 'bun:test'
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Harness, type TestUser } from './support/harness'
import { Random } from './support/random'

// Parquet exports read back by an independent implementation: DuckDB (C++, its own Parquet
// reader), not the library that wrote them. Types as the file declares them (INT64 index, DOUBLE
// numbers, UTF-8 strings) and values point by point against `data` pages. PARQUET_SEED replays.
setDefaultTimeout(60_000)

let h: Harness
let owner: TestUser
let duck: DuckDBConnection
let dir: string
beforeAll(async () => {
	h = await Harness.start()
	owner = await h.newUser()
	duck = await (await DuckDBInstance.create(':memory:')).connect()
	dir = mkdtempSync(join(tmpdir(), 'export-parquet-'))
})
afterAll(() => {
	h.close()
	rmSync(dir, { recursive: true, force: true })
})

type Point = Record<string, unknown>
const enc = encodeURIComponent
const trackPath = (id: string, name: string) => `/episodes/${id}/tracks/${enc(name)}`
const query = (q: Record<string, string | number | undefined>) =>
	new URLSearchParams(Object.entries(q).flatMap(([k, v]): [string, string][] => (v === undefined ? [] : [[k, String(v)]]))).toString()

async function append(episode: string, name: string, points: Point[]) {
	for (let from = 0; from < points.length; from += 10_000) {
		const { status } = await h.call('POST', `${trackPath(episode, name)}/append-batch`, { token: owner.token, body: { dataPoints: points.slice(from, from + 10_000) } })
		expect(status).toBe(201)
	}
}

let files = 0
/** The export, saved to a file DuckDB reads. */
async function exported(episode: string, name: string, q: Record<string, string | number | undefined> = {}): Promise<string> {
	const res = await h.fetch(new Request(`http://dreamlake.test${trackPath(episode, name)}/export?${query({ ...q, format: 'parquet' })}`, { headers: { authorization: `Bearer ${owner.token}` } }))
	expect(res.status).toBe(200)
	expect(res.headers.get('content-type')).toBe('application/vnd.apache.parquet')
	const path = join(dir, `${++files}.parquet`)
	await Bun.write(path, await res.arrayBuffer())
	return path
}

/** Each column's physical and logical type, as the file's schema says. */
async function schemaOf(path: string): Promise<Record<string, { type: string | null; logical: string | null; repetition: string | null }>> {
	const rows = (await duck.runAndReadAll(`SELECT name, type, converted_type, logical_type, repetition_type FROM parquet_schema('${path}') WHERE name <> 'root'`)).getRowObjects()
	return Object.fromEntries(rows.map((r) => [String(r.name), { type: r.type as string | null, logical: (r.converted_type as string | null) ?? (r.logical_type as string | null), repetition: r.repetition_type as string | null }]))
}

const rowsOf = async (path: string) => (await duck.runAndReadAll(`SELECT * FROM read_parquet('${path}') ORDER BY "index"`)).getRowObjectsJS()

/** Every point of the window, through `data` pages. */
async function dataPages(episode: string, name: string, q: Record<string, string | number | undefined>): Promise<{ index: number; data: Point }[]> {
	const out: { index: number; data: Point }[] = []
	let startIndex: number | null = Number(q.startIndex ?? 0)
	while (startIndex !== null) {
		const { body }: { body: any } = await h.call('GET', `${trackPath(episode, name)}/data?${query({ ...q, startIndex, limit: 10_000 })}`, { token: owner.token })
		for (const p of body.points) out.push({ index: Number(p.index), data: p.data })
		startIndex = body.nextIndex
	}
	return out
}

/** A value as the Parquet export stores it in a string column: strings as they are (UTF-8: a lone surrogate reads back as U+FFFD), other JSON as JSON text, absent and null as null. */
const asText = (value: unknown) => (value === undefined || value === null ? null : (typeof value === 'string' ? value : JSON.stringify(value)).toWellFormed())

describe('GET …/tracks/{name}/export?format=parquet', () => {
	it('declares index INT64, numbers DOUBLE and other values UTF-8 strings, and DuckDB reads them back as BIGINT, DOUBLE and VARCHAR', async () => {
		const episode = await h.newEpisode(owner, 'parquet')
		await append(episode, 'typed', [
			{ _ts: 1.5, loss: 0.25, step: 1, note: 'a,b "c"\nd', mixed: 1 },
			{ _ts: 2.5, loss: 1e-300, step: 2, note: '日本🤖', mixed: 'two' },
			{ _ts: 3.5, step: 3, mixed: true },
		])
		const path = await exported(episode, 'typed')
		expect(await schemaOf(path)).toEqual({
			index: { type: 'INT64', logical: null, repetition: 'REQUIRED' },
			_ts: { type: 'DOUBLE', logical: null, repetition: 'OPTIONAL' },
			loss: { type: 'DOUBLE', logical: null, repetition: 'OPTIONAL' },
			step: { type: 'DOUBLE', logical: null, repetition: 'OPTIONAL' },
			note: { type: 'BYTE_ARRAY', logical: 'UTF8', repetition: 'OPTIONAL' },
			mixed: { type: 'BYTE_ARRAY', logical: 'UTF8', repetition: 'OPTIONAL' },
		})
		const described = (await duck.runAndReadAll(`DESCRIBE SELECT * FROM read_parquet('${path}')`)).getRowObjects().map((r) => [r.column_name, r.column_type])
		expect(described).toEqual([
			['index', 'BIGINT'],
			['_ts', 'DOUBLE'],
			['loss', 'DOUBLE'],
			['step', 'DOUBLE'],
			['note', 'VARCHAR'],
			['mixed', 'VARCHAR'],
		])
		expect((await duck.runAndReadAll(`SELECT * FROM read_parquet('${path}') ORDER BY "index"`)).getRowObjects()).toEqual([
			{ index: 0n, _ts: 1.5, loss: 0.25, step: 1, note: 'a,b "c"\nd', mixed: '1' },
			{ index: 1n, _ts: 2.5, loss: 1e-300, step: 2, note: '日本🤖', mixed: 'two' },
			{ index: 2n, _ts: 3.5, loss: null, step: 3, note: null, mixed: 'true' },
		])
	})

	it('writes a long track in row groups of about 131,072 rows, and an empty window as a file of no rows', async () => {
		const episode = await h.newEpisode(owner, 'parquet')
		const total = 300_000
		await append(episode, 'long', Array.from({ length: total }, (_, i) => ({ _ts: 1.7e9 + i / 10, loss: 1 / (i + 1) })))
		const path = await exported(episode, 'long')
		const groups = (await duck.runAndReadAll(`SELECT row_group_id, any_value(row_group_num_rows) AS n FROM parquet_metadata('${path}') GROUP BY row_group_id ORDER BY row_group_id`)).getRowObjectsJS()
		// whole chunks gather until a group holds 131,072 rows: at most one chunk (4,096) more
		const sizes = groups.map((g) => Number(g.n))
		expect(sizes.length).toBe(3)
		for (const size of sizes.slice(0, -1)) expect(size >= 131_072 && size < 131_072 + 4096).toBe(true)
		expect(sizes.reduce((a, b) => a + b)).toBe(total)
		const [sums] = (await duck.runAndReadAll(`SELECT count(*) AS n, sum("index") AS s, min(loss) AS lo, max(_ts) AS hi FROM read_parquet('${path}')`)).getRowObjectsJS()
		expect(sums).toEqual({ n: BigInt(total), s: BigInt((total * (total - 1)) / 2), lo: 1 / total, hi: 1.7e9 + (total - 1) / 10 })
		const empty = await exported(episode, 'long', { startTime: 1, endTime: 2 })
		expect((await duck.runAndReadAll(`SELECT count(*) AS n FROM read_parquet('${empty}')`)).getRowObjectsJS()).toEqual([{ n: 0n }])
		expect(Object.keys(await schemaOf(empty))).toEqual(['index', '_ts', 'loss'])
	})

	const seed = Number(process.env.PARQUET_SEED ?? Date.now() % 1_000_000)
	it(`holds what data pages hold, point by point, over random tracks, windows and keys (PARQUET_SEED=${seed})`, async () => {
		const random = new Random(seed)
		const episode = await h.newEpisode(owner, 'parquet')
		const junk = [null, 'nan', true, '1.5', {}, [1, 'a'], 'a,b "c"\nd', '', random.string(20)]
		for (let t = 0; t < 5; t++) {
			const name = `random-${t}`
			const n = random.pick([1, 64, 4096, 4097, 1 + random.int(9000)])
			const mixedLoss = random.chance(0.5)
			let ts = 1.7e9
			const points: Point[] = Array.from({ length: n }, (_, i) => {
				const point: Point = {}
				ts += random.pick([0, 0.5, 3])
				if (!random.chance(0.05)) point._ts = ts
				if (!random.chance(0.1)) point.loss = mixedLoss && random.chance(0.05) ? random.pick(junk) : random.next() * 10 - 5
				if (random.chance(0.3)) point.note = random.string(10)
				return point
			})
			await append(episode, name, points)
			const q: Record<string, string | number | undefined> = {}
			if (random.chance(0.5)) q.startIndex = random.int(n)
			if (random.chance(0.5)) q.endIndex = random.int(n + 2)
			if (random.chance(0.3)) q.startTime = 1.7e9 + random.int(n)
			if (random.chance(0.3)) q.keys = random.pick(['loss', 'note,_ts', 'loss,absent'])
			const expected = await dataPages(episode, name, q)
			const path = await exported(episode, name, q)
			const schema = await schemaOf(path)
			const keys = Object.keys(schema).slice(1)
			// the kinds are read from the stored chunks the window touches: a key holding only numbers in the whole
			// track is DOUBLE, one holding anything else inside the window UTF-8 (in between, it depends on the chunks)
			const isNumber = (value: unknown) => value === undefined || typeof value === 'number'
			for (const key of keys) {
				if (points.every((p) => isNumber(p[key]))) expect([key, schema[key]!.type]).toEqual([key, 'DOUBLE'])
				if (!expected.every((p) => isNumber(p.data[key]))) expect([key, schema[key]!.type]).toEqual([key, 'BYTE_ARRAY'])
			}
			const rows = await rowsOf(path)
			expect(rows.length).toBe(expected.length)
			expect(rows).toEqual(expected.map((p) => ({ index: BigInt(p.index), ...Object.fromEntries(keys.map((k) => [k, schema[k]!.type === 'DOUBLE' ? (p.data[k] ?? null) : asText(p.data[k])])) })))
		}
	})
})
