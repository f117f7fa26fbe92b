import { BLOCK_POINTS, type Blocks, type Column, type ColumnSummary } from './codec'

/** A decoded chunk (tracks/codec.ts, decodeChunk). */
interface Chunk {
	count: number
	columns: Column[]
}

/**
 * The points a chart read folds: indexes `first` to `last`, with a number as `_ts` in [start, end]
 * when `time` is given, and for x a field only those with a number there (the rest are in no bucket).
 */
export interface SeriesWindow {
	first: number
	last: number
	time?: { start: number; end: number }
	/** The field x is; null: the index. */
	xKey: string | null
}

/** What a window is folded into, in index order: whole blocks from their summaries, and runs of decoded points. */
export interface WindowFold {
	/** Block `block` of a chunk, starting at index `start`: all its `points` are in the window. */
	addBlock(blocks: Blocks, block: number, start: number, points: number): void
	/** Points `from` to `to` (exclusive) of a decoded chunk: `xs[i]` is point i's x, NaN when it is not in the window. */
	add(columns: Column[], count: number, xs: Float64Array, from: number, to: number): void
}

/**
 * Chart reads: a window of a track folded into at most `maxPoints` buckets, each with the min, max,
 * mean and last value of every key asked, so a single spike survives any zoom level (a mean alone
 * would average it away). Buckets are equal slices of the window's range of x: of its indexes, or
 * of its `_ts` or another numeric field, from the smallest to the largest. Points are folded chunk
 * by chunk as they are read, so memory holds the buckets, never the window.
 */
export class SeriesBuckets implements WindowFold {
	readonly count: Float64Array
	readonly xFirst: Float64Array
	private readonly stats: Map<string, { min: Float64Array; max: Float64Array; sum: Float64Array; n: Float64Array; last: Float64Array }>
	constructor(
		readonly keys: string[],
		/** The field x is; null: the index. */
		private readonly xKey: string | null,
		/** The window's smallest and largest x, and how much of x each bucket covers. */
		private readonly lo: number,
		private readonly hi: number,
		readonly width: number,
		readonly buckets: number,
	) {
		this.count = new Float64Array(buckets)
		this.xFirst = new Float64Array(buckets).fill(Number.NaN)
		this.stats = new Map(
			keys.map((key) => [
				key,
				{
					min: new Float64Array(buckets).fill(Infinity),
					max: new Float64Array(buckets).fill(-Infinity),
					sum: new Float64Array(buckets),
					n: new Float64Array(buckets),
					last: new Float64Array(buckets).fill(Number.NaN),
				},
			]),
		)
	}

	/** Buckets over whole indexes `lo`..`hi`: one point each when they fit, else equal runs of points. */
	static overIndexes(keys: string[], lo: number, hi: number, maxPoints: number): SeriesBuckets {
		const points = Math.max(0, hi - lo + 1)
		const width = Math.max(1, Math.ceil(points / maxPoints))
		return new SeriesBuckets(keys, null, lo, hi, width, Math.ceil(points / width))
	}

	/** Buckets over values of `xKey` from `lo` to `hi` (both in): `maxPoints` equal slices, or one when the range is a single value (or too narrow to slice). */
	static overValues(keys: string[], xKey: string, lo: number, hi: number, maxPoints: number): SeriesBuckets {
		const width = (hi - lo) / maxPoints
		if (hi > lo && width > 0 && Number.isFinite(width)) return new SeriesBuckets(keys, xKey, lo, hi, width, maxPoints)
		return new SeriesBuckets(keys, xKey, lo, hi, 1, 1)
	}

	/** The bucket of an x value; -1 outside [lo, hi]. The largest x is in the last bucket, whatever lo + width × buckets rounds to. */
	bucketOf(x: number): number {
		if (!(x >= this.lo && x <= this.hi)) return -1 // NaN too
		const b = Math.floor((x - this.lo) / this.width)
		return b < this.buckets ? b : this.buckets - 1
	}

	/**
	 * Folds points `from` to `to` of a decoded chunk in: `xs[i]` is point i's x (NaN: not in the
	 * window, skipped). Chunks come in index order, and points within one too, so the last value
	 * folded into a bucket is its last.
	 */
	add(columns: Column[], count: number, xs: Float64Array, from: number, to: number): void {
		const bucket = new Int32Array(count).fill(-1)
		for (let i = from; i < to; i++) {
			const x = xs[i]!
			const b = this.bucketOf(x)
			bucket[i] = b
			if (b < 0) continue
			this.count[b]!++
			if (!(x >= this.xFirst[b]!)) this.xFirst[b] = x // NaN at first
		}
		for (const column of columns) {
			const s = this.stats.get(column.key)
			if (!s) continue
			const { min, max, sum, n, last } = s
			const values = column.values
			if (column.present === null && values instanceof Float64Array) {
				// every point has this key, as a number: the common case, kept tight (a million points in a few ms)
				for (let i = from; i < to; i++) {
					const b = bucket[i]!
					if (b < 0) continue
					const v = values[i]!
					if (v < min[b]!) min[b] = v
					if (v > max[b]!) max[b] = v
					sum[b]! += v
					n[b]!++
					last[b] = v
				}
				continue
			}
			let j = 0
			for (let i = 0; i < to; i++) {
				if (column.present && !(column.present[i >> 3]! & (1 << (i & 7)))) continue
				const v = values[j++]
				const b = bucket[i]!
				if (b < 0 || typeof v !== 'number') continue
				if (v < min[b]!) min[b] = v
				if (v > max[b]!) max[b] = v
				sum[b]! += v
				n[b]!++
				last[b] = v
			}
		}
	}

	/**
	 * Folds one whole block in, from its summaries, into the bucket of its first point (x = index) or
	 * of its smallest x. Chunks start wherever appends put them, so block edges fall on no grid a
	 * bucket width could follow: a bucket's edge moves to a block edge instead (by less than a block,
	 * a quarter of a bucket at most), and its count, x and stats stay exactly those of its points.
	 */
	addBlock(blocks: Blocks, block: number, start: number, points: number): void {
		const at = block * 5
		const x = this.xKey === null ? start : blocks.keys.get(this.xKey)![at]!
		const bucket = this.bucketOf(x)
		if (bucket < 0) return
		this.count[bucket]! += points
		if (!(x >= this.xFirst[bucket]!)) this.xFirst[bucket] = x
		for (const [key, s] of this.stats) {
			const stats = blocks.keys.get(key)
			if (!stats || !(stats[at + 3]! > 0)) continue
			if (stats[at]! < s.min[bucket]!) s.min[bucket] = stats[at]!
			if (stats[at + 1]! > s.max[bucket]!) s.max[bucket] = stats[at + 1]!
			s.sum[bucket]! += stats[at + 2]!
			s.n[bucket]! += stats[at + 3]!
			s.last[bucket] = stats[at + 4]!
		}
	}

	/** The non-empty buckets, as columns: x (the bucket's smallest x), count, and per key min, max, mean and last (null where a bucket has no value of that key). */
	result() {
		const kept: number[] = []
		for (let b = 0; b < this.buckets; b++) if (this.count[b]! > 0) kept.push(b)
		const values: Record<string, { min: (number | null)[]; max: (number | null)[]; mean: (number | null)[]; last: (number | null)[] }> = {}
		for (const [key, s] of this.stats) {
			const has = (b: number) => s.n[b]! > 0
			values[key] = {
				min: kept.map((b) => (has(b) ? s.min[b]! : null)),
				max: kept.map((b) => (has(b) ? s.max[b]! : null)),
				mean: kept.map((b) => (has(b) ? s.sum[b]! / s.n[b]! : null)),
				last: kept.map((b) => (has(b) ? s.last[b]! : null)),
			}
		}
		return { x: kept.map((b) => this.xFirst[b]!), count: kept.map((b) => this.count[b]!), values }
	}
}

/**
 * The window's count of points and its smallest and largest x, for the buckets to slice: from the
 * summaries of the chunks inside it, the block summaries of those across its edges, and the points
 * of the blocks across them.
 */
export class WindowExtent implements WindowFold {
	count = 0
	lo = Infinity
	hi = -Infinity
	constructor(private readonly window: SeriesWindow) {}

	/** A chunk (`summary`: its per-key summaries, tracks/codec.ts) taken whole, if it lies inside the window; false if it does not (its blocks are to be folded). */
	addChunk(startIndex: number, count: number, summary: Record<string, ColumnSummary | undefined>): boolean {
		const { first, last, time, xKey } = this.window
		if (startIndex < first || startIndex + count - 1 > last) return false
		if (time) {
			const ts = summary._ts
			if (!ts || ts.count < count || ts.min < time.start || ts.max > time.end) return false
		}
		// points without a number as x are not in the window: the summary of x counts only the others
		const x = xKey === null ? { count, min: startIndex, max: startIndex + count - 1 } : summary[xKey]
		if (x) this.addRange(x.count, x.min, x.max)
		return true
	}

	addBlock(blocks: Blocks, block: number, start: number, points: number): void {
		const xs = this.window.xKey === null ? null : blocks.keys.get(this.window.xKey)!
		this.addRange(points, xs ? xs[block * 5]! : start, xs ? xs[block * 5 + 1]! : start + points - 1)
	}

	add(_columns: Column[], _count: number, xs: Float64Array, from: number, to: number): void {
		for (let i = from; i < to; i++) {
			const x = xs[i]!
			if (!Number.isNaN(x)) this.addRange(1, x, x)
		}
	}

	private addRange(count: number, lo: number, hi: number): void {
		this.count += count
		if (lo < this.lo) this.lo = lo
		if (hi > this.hi) this.hi = hi
	}
}

/** Folds the window's points of one decoded chunk (`chunkStart`: the index of its first point). */
export function foldPoints(window: SeriesWindow, chunkStart: number, chunk: Chunk, into: WindowFold): void {
	const from = Math.max(window.first - chunkStart, 0)
	const to = Math.min(chunk.count, window.last + 1 - chunkStart)
	if (from < to) into.add(chunk.columns, chunk.count, windowXs(window, chunkStart, chunk), from, to)
}

/** Where a block lies: no point of it in the window, all of them, or some (across an edge of the window). */
const OUT = 0
const IN = 1
const ACROSS = 2

/**
 * Folds one chunk's share of the window from its block summaries: a block with all its points in
 * the window goes whole; only a block across the window's edge (of index or time, or with points
 * without a number as x) has its points folded, from the chunk, decoded at the first such block
 * (`decode`) and only then.
 */
export function foldBlocks(window: SeriesWindow, chunkStart: number, chunkCount: number, blocks: Blocks, decode: () => Chunk, into: WindowFold): void {
	const ts = window.time ? blocks.keys.get('_ts') : undefined
	const xs = window.xKey === null ? undefined : blocks.keys.get(window.xKey)
	if ((window.time && !ts) || (window.xKey !== null && !xs)) return // no point of the chunk has a number as `_ts` (or x)
	let chunk: Chunk | undefined
	let chunkXs: Float64Array | undefined
	let across = -1 // the first point of a run of blocks across an edge, folded point by point where the run ends
	const foldAcross = (to: number) => {
		chunk ??= decode()
		chunkXs ??= windowXs(window, chunkStart, chunk)
		into.add(chunk.columns, chunk.count, chunkXs, across, to)
		across = -1
	}
	for (let b = 0; b < blocks.blocks; b++) {
		const from = b * BLOCK_POINTS
		const points = Math.min(BLOCK_POINTS, chunkCount - from)
		const start = chunkStart + from
		const end = start + points - 1
		const at = b * 5
		let where = end < window.first || start > window.last ? OUT : start < window.first || end > window.last ? ACROSS : IN
		if (where !== OUT && ts) {
			const n = ts[at + 3]!
			const time = window.time!
			if (!(n > 0) || ts[at]! > time.end || ts[at + 1]! < time.start) where = OUT
			else if (n < points || ts[at]! < time.start || ts[at + 1]! > time.end) where = ACROSS
		}
		if (where !== OUT && xs) {
			const n = xs[at + 3]!
			if (!(n > 0)) where = OUT
			else if (n < points) where = ACROSS
		}
		if (where === ACROSS) {
			if (across < 0) across = from
			continue
		}
		if (across >= 0) foldAcross(from)
		if (where === IN) into.addBlock(blocks, b, start, points)
	}
	if (across >= 0) foldAcross(chunkCount)
}

/** Each point's x: NaN where it is not in the window (outside its indexes or times, or without a number as x). */
function windowXs(window: SeriesWindow, chunkStart: number, chunk: Chunk): Float64Array {
	const from = Math.max(window.first - chunkStart, 0)
	const to = Math.min(chunk.count, window.last + 1 - chunkStart)
	const xs = new Float64Array(chunk.count).fill(Number.NaN)
	if (window.xKey === null) for (let i = from; i < to; i++) xs[i] = chunkStart + i
	else {
		numbersOf(chunk, window.xKey, xs)
		for (let i = 0; i < from; i++) xs[i] = Number.NaN
		for (let i = Math.max(to, 0); i < chunk.count; i++) xs[i] = Number.NaN
	}
	if (window.time) {
		const { start, end } = window.time
		const ts = new Float64Array(chunk.count).fill(Number.NaN)
		numbersOf(chunk, '_ts', ts)
		for (let i = from; i < to; i++) if (!(ts[i]! >= start && ts[i]! <= end)) xs[i] = Number.NaN
	}
	return xs
}

/** Point i's value of `key` into `out[i]` where it is a number (the rest stay as they are). */
function numbersOf(chunk: Chunk, key: string, out: Float64Array): void {
	const column = chunk.columns.find((c) => c.key === key)
	if (!column) return
	let j = 0
	for (let i = 0; i < chunk.count; i++) {
		if (column.present && !(column.present[i >> 3]! & (1 << (i & 7)))) continue
		const value = column.values[j++]
		if (typeof value === 'number') out[i] = value
	}
}
