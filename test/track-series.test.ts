import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { Harness } from './support/harness'
import { newIdentity } from './support/key-server'

let h: Harness
let token: string
let ns: string
beforeAll(async () => {
	h = await Harness.start()
	const { body } = await h.login(newIdentity())
	token = body.dreamlake_token
	ns = body.namespace.slug
})
afterAll(() => h.close())

const unique = () => crypto.randomUUID().slice(0, 8)

async function episode(): Promise<string> {
	return (await h.call('POST', `/namespaces/${ns}/projects/series/episodes`, { token, body: { name: `run-${unique()}` } })).body.id
}

/** Appends `n` points made by `point(i)` in batches of `batch` (the server chunks at 4,096). */
async function fill(id: string, track: string, n: number, point: (i: number) => Record<string, unknown>, batch = 4096) {
	for (let from = 0; from < n; from += batch) {
		const dataPoints = Array.from({ length: Math.min(batch, n - from) }, (_, k) => point(from + k))
		const reply = await h.call('POST', `/episodes/${id}/tracks/${encodeURIComponent(track)}/append-batch`, { token, body: { dataPoints } })
		expect(reply.status).toBe(201)
	}
}

const series = (id: string, track: string, query: string) => h.call('GET', `/episodes/${id}/tracks/${encodeURIComponent(track)}/series?${query}`, { token })

/** What the buckets must hold, computed from the points themselves. */
function expected(values: number[], xs: number[], lo: number, width: number, buckets: number) {
	const out = new Map<number, { x: number; min: number; max: number; sum: number; n: number; last: number }>()
	values.forEach((v, i) => {
		const b = Math.min(buckets - 1, Math.floor((xs[i]! - lo) / width))
		const s = out.get(b) ?? { x: xs[i]!, min: Infinity, max: -Infinity, sum: 0, n: 0, last: v }
		s.min = Math.min(s.min, v)
		s.max = Math.max(s.max, v)
		s.sum += v
		s.n++
		s.last = v
		s.x = Math.min(s.x, xs[i]!)
		out.set(b, s)
	})
	return [...out.entries()].sort((a, b) => a[0] - b[0]).map(([, s]) => s)
}

describe('GET /episodes/{id}/tracks/{name}/series', () => {
	it('one bucket per point when the points fit: min = max = mean = last = the value, x = the index', async () => {
		const id = await episode()
		await fill(id, 'loss', 10, (i) => ({ step: i * 10, loss: 1 / (i + 1) }))
		const { status, body } = await series(id, 'loss', 'keys=loss&maxPoints=100')
		expect(status).toBe(200)
		expect(body).toMatchObject({ trackName: 'loss', x: 'index', keys: ['loss'], maxPoints: 100, points: 10, buckets: 10 })
		expect(body.series.x).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9])
		const loss = Array.from({ length: 10 }, (_, i) => 1 / (i + 1))
		expect(body.series.values.loss).toEqual({ min: loss, max: loss, mean: loss, last: loss })
		expect(body.series.count).toEqual(Array(10).fill(1))
	})

	it('a single spike survives folding into few buckets (point by point and from block summaries)', async () => {
		const id = await episode()
		const n = 100_000
		await fill(id, 'loss', n, (i) => ({ loss: i === 77_777 ? 50 : 1 }))
		for (const maxPoints of [5_000, 100]) {
			// 20 points a bucket folds points; 1,000 a bucket folds blocks
			const { body } = await series(id, 'loss', `maxPoints=${maxPoints}`)
			expect(body.buckets).toBe(maxPoints)
			expect(Math.max(...body.series.values.loss.max)).toBe(50)
			expect(Math.min(...body.series.values.loss.min)).toBe(1)
			// the mean alone would have hidden it: no bucket's mean comes near the spike
			expect(Math.max(...body.series.values.loss.mean)).toBeLessThan(5)
			expect(body.points).toBe(n)
		}
	})

	it('folds blocks exactly when buckets fall on block edges (64-point blocks, 4,096-point chunks)', async () => {
		const id = await episode()
		const n = 3 * 4096
		const loss = Array.from({ length: n }, (_, i) => Math.sin(i / 100) + (i % 7) / 10)
		await fill(id, 'wave', n, (i) => ({ loss: loss[i] }))
		// 48 buckets of 256 points: each bucket is four whole blocks
		const { body } = await series(id, 'wave', 'maxPoints=48')
		const want = expected(loss, loss.map((_, i) => i), 0, 256, 48)
		expect(body.series.x).toEqual(want.map((s) => s.x))
		expect(body.series.values.loss.min).toEqual(want.map((s) => s.min))
		expect(body.series.values.loss.max).toEqual(want.map((s) => s.max))
		expect(body.series.values.loss.last).toEqual(want.map((s) => s.last))
		body.series.values.loss.mean.forEach((m: number, b: number) => expect(m).toBeCloseTo(want[b]!.sum / want[b]!.n, 9))
	})

	it('the largest x is in the last bucket: three points {step: 0, 1, 2} into 783, 784 and 785 buckets (issue 18)', async () => {
		const id = await episode()
		await fill(id, 'steps', 3, (i) => ({ step: i, loss: i }))
		for (const maxPoints of [783, 784, 785]) {
			const { body } = await series(id, 'steps', `x=step&maxPoints=${maxPoints}`)
			expect(body).toMatchObject({ points: 3, buckets: 3 })
			expect(body.series.x).toEqual([0, 1, 2])
			expect(body.series.values.loss.last).toEqual([0, 1, 2])
		}
	})

	it('a window over whole blocks counts its points only: 249 to 749 of 999 points into one bucket (issue 18)', async () => {
		const id = await episode()
		await fill(id, 'loss', 999, (i) => ({ loss: i }))
		const { body } = await series(id, 'loss', 'startIndex=249&endIndex=749&maxPoints=1')
		expect(body).toMatchObject({ points: 501, buckets: 1 })
		expect(body.series.x).toEqual([249])
		expect(body.series.count).toEqual([501])
		expect(body.series.values.loss).toEqual({ min: [249], max: [749], mean: [499], last: [749] })
	})

	it('folds whole blocks from their summaries and reads the points of only the chunks at the window\'s edges', async () => {
		const id = await episode()
		await fill(id, 'long', 50_000, (i) => ({ loss: i }))
		// 4,000 points a bucket: blocks; 1,000 and 40,999 fall inside blocks of two chunks, 1,024 and 40,959 on block edges
		const across = await series(id, 'long', 'startIndex=1000&endIndex=40999&maxPoints=10')
		const aligned = await series(id, 'long', 'startIndex=1024&endIndex=40959&maxPoints=10')
		expect(across.body.points).toBe(40_000)
		expect(Math.min(...across.body.series.values.loss.min)).toBe(1000)
		expect(across.body.series.values.loss.last.at(-1)).toBe(40_999)
		expect(aligned.body.points).toBe(39_936)
		expect(across.db.statements).toBe(aligned.db.statements + 2)
	})

	it('folds the numbers of a key that holds other values too, from the block summaries as from the points', async () => {
		const id = await episode()
		await fill(id, 'diverged', 10_000, (i) => ({ loss: i % 10 === 3 ? null : i }))
		for (const maxPoints of [2, 1000]) {
			const { body } = await series(id, 'diverged', `maxPoints=${maxPoints}`)
			expect(body.points).toBe(10_000)
			expect(Math.min(...body.series.values.loss.min)).toBe(0)
			expect(body.series.values.loss.last.at(-1)).toBe(9_999)
		}
	})

	it('a window by index folds only its points', async () => {
		const id = await episode()
		await fill(id, 'loss', 5000, (i) => ({ loss: i }))
		const { body } = await series(id, 'loss', 'startIndex=1000&endIndex=1099&maxPoints=10')
		expect(body.points).toBe(100)
		expect(body.series.x).toEqual([1000, 1010, 1020, 1030, 1040, 1050, 1060, 1070, 1080, 1090])
		expect(body.series.values.loss.min).toEqual([1000, 1010, 1020, 1030, 1040, 1050, 1060, 1070, 1080, 1090])
		expect(body.series.values.loss.max).toEqual([1009, 1019, 1029, 1039, 1049, 1059, 1069, 1079, 1089, 1099])
	})

	it('x as a field (step) and as _ts: equal slices of its range, x the smallest in each', async () => {
		const id = await episode()
		await fill(id, 'train', 1000, (i) => ({ _ts: 1_765_000_000 + i / 10, step: i * 2, loss: 1000 - i }))
		const byStep = (await series(id, 'train', 'x=step&keys=loss&maxPoints=10')).body
		expect(byStep.keys).toEqual(['loss'])
		expect(byStep.series.x).toEqual([0, 200, 400, 600, 800, 1000, 1200, 1400, 1600, 1800])
		expect(byStep.series.values.loss.max[0]).toBe(1000)
		expect(byStep.series.values.loss.min[9]).toBe(1)
		const byTime = (await series(id, 'train', 'x=_ts&keys=loss&maxPoints=4&startTime=1765000010&endTime=1765000019.9')).body
		expect(byTime.points).toBe(100)
		expect(byTime.series.x[0]).toBe(1_765_000_010)
		expect(byTime.series.values.loss.max[0]).toBe(900)
		expect(byTime.series.values.loss.min.at(-1)).toBe(801)
	})

	it('keys default to every key but x and _ts; non-numeric values are skipped (null where a bucket has none)', async () => {
		const id = await episode()
		await fill(id, 'mixed', 4, (i) => ({ _ts: i, step: i, loss: i === 2 ? 'nan' : i, note: 'text' }))
		const { body } = await series(id, 'mixed', 'x=step')
		expect(body.keys).toEqual(['loss', 'note'])
		expect(body.series.values.loss.max).toEqual([0, 1, null, 3])
		expect(body.series.values.note.max).toEqual([null, null, null, null])
	})

	it('an empty window, a window past the end, and an x no point has: no buckets, not an error', async () => {
		const id = await episode()
		await fill(id, 'loss', 3, (i) => ({ loss: i }))
		for (const query of ['startIndex=10', 'x=nothing', 'startTime=5&endTime=6']) {
			const { status, body } = await series(id, 'loss', query)
			expect(status).toBe(200)
			expect(body.buckets).toBe(0)
			expect(body.series.x).toEqual([])
		}
	})

	it.each([
		['maxPoints=0', 'maxPoints'],
		['maxPoints=10001', 'maxPoints'],
		['startIndex=-1', 'startIndex'],
		['startTime=soon', 'startTime'],
	])('422 for %s, naming the parameter', async (query, field) => {
		const id = await episode()
		await fill(id, 'loss', 1, () => ({ loss: 1 }))
		const { status, body } = await series(id, 'loss', query)
		expect(status).toBe(422)
		expect(body).toMatchObject({ code: 'validation_failed', field })
	})

	it('422 when more than 64 keys would be folded, unless keys are named', async () => {
		const id = await episode()
		await fill(id, 'joints', 2, () => Object.fromEntries(Array.from({ length: 70 }, (_, k) => [`j${k}`, k])))
		expect((await series(id, 'joints', '')).body).toMatchObject({ code: 'validation_failed', field: 'keys' })
		expect((await series(id, 'joints', 'keys=j3,j69')).body.keys).toEqual(['j3', 'j69'])
	})

	it('404 for a track that does not exist, another user\'s track, and a deleted episode\'s; 401 without a token', async () => {
		const id = await episode()
		await fill(id, 'loss', 2, (i) => ({ loss: i }))
		expect((await series(id, 'nope', '')).status).toBe(404)
		const other = (await h.login(newIdentity())).body.dreamlake_token
		const theirs = await h.call('GET', `/episodes/${id}/tracks/loss/series`, { token: other })
		expect(theirs.status).toBe(404)
		expect(theirs.body.code).toBe('episode_not_found')
		expect((await h.call('GET', `/episodes/${id}/tracks/loss/series`)).status).toBe(401)
		expect((await h.call('DELETE', `/episodes/${id}`, { token })).status).toBe(200)
		expect((await series(id, 'loss', '')).status).toBe(404)
	})

	it('reports its reads in Server-Timing, and reads a window of a long track without decoding the rest', async () => {
		const id = await episode()
		await fill(id, 'long', 50_000, (i) => ({ loss: i }))
		const { body, db } = await series(id, 'long', 'startIndex=40000&endIndex=40099&maxPoints=100')
		expect(body.points).toBe(100)
		expect(db.statements).toBeLessThanOrEqual(3)
	})
})
