import { BLOCK_POINTS, type Blocks, type Column } from './codec'

/**
 * Chart reads: a window of a track folded into at most `maxPoints` buckets, each with the min, max,
 * mean and last value of every key asked, so a single spike survives any zoom level (a mean alone
 * would average it away). Buckets are equal slices of x: of the index range, or of the range of
 * `_ts` or another numeric field. Points are folded chunk by chunk as they are read, so memory
 * holds the buckets, never the window.
 */
export class SeriesBuckets {
	readonly count: Float64Array
	readonly xFirst: Float64Array
	private readonly stats: Map<string, { min: Float64Array; max: Float64Array; sum: Float64Array; n: Float64Array; last: Float64Array }>
	constructor(
		readonly keys: string[],
		/** The smallest x of the window, and how much of x each bucket covers. */
		private readonly lo: number,
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
		return new SeriesBuckets(keys, lo, width, Math.ceil(points / width))
	}

	/** Buckets over values of x from `lo` to `hi` (both in): `maxPoints` equal slices. */
	static overValues(keys: string[], lo: number, hi: number, maxPoints: number): SeriesBuckets {
		return new SeriesBuckets(keys, lo, hi > lo ? (hi - lo) / maxPoints : 1, hi > lo ? maxPoints : 1)
	}

	/** The bucket of an x value; -1 when it is outside the window (the window's largest x is in the last bucket). */
	bucketOf(x: number): number {
		if (!(x >= this.lo)) return -1 // NaN too
		const b = Math.floor((x - this.lo) / this.width)
		if (b < this.buckets) return b
		return x <= this.lo + this.width * this.buckets ? this.buckets - 1 : -1
	}

	/**
	 * Folds one chunk in: `xs[i]` is point i's x (NaN: no x, or outside the window: skipped), `from`
	 * and `to` the points of the chunk inside the index window. Chunks come in index order, and points
	 * within one too, so the last value folded into a bucket is its last.
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
	 * Folds one chunk's block summaries in (tracks/codec.ts): each block goes whole into the bucket of
	 * its first point (x = index) or of its smallest x (`xKey`'s block minimum), so a bucket's edges
	 * move by less than a block. Used when buckets span many blocks, where that cannot be seen.
	 */
	addBlocks(blocks: Blocks, chunkStart: number, chunkCount: number, first: number, last: number, xKey: string | null): void {
		const xs = xKey === null ? null : blocks.keys.get(xKey)
		if (xKey !== null && !xs) return
		for (let b = 0; b < blocks.blocks; b++) {
			const start = chunkStart + b * BLOCK_POINTS
			if (start < first || start > last) continue // a block is in the window by its first point
			const points = Math.min(BLOCK_POINTS, chunkCount - b * BLOCK_POINTS)
			const x = xs ? xs[b * 5]! : start
			const bucket = this.bucketOf(x)
			if (bucket < 0 || (xs && !(xs[b * 5 + 3]! > 0))) continue
			this.count[bucket]! += xs ? xs[b * 5 + 3]! : points
			if (!(x >= this.xFirst[bucket]!)) this.xFirst[bucket] = x
			for (const [key, s] of this.stats) {
				const stats = blocks.keys.get(key)
				if (!stats || !(stats[b * 5 + 3]! > 0)) continue
				const at = b * 5
				if (stats[at]! < s.min[bucket]!) s.min[bucket] = stats[at]!
				if (stats[at + 1]! > s.max[bucket]!) s.max[bucket] = stats[at + 1]!
				s.sum[bucket]! += stats[at + 2]!
				s.n[bucket]! += stats[at + 3]!
				s.last[bucket] = stats[at + 4]!
			}
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
