/**
 * A chunk of track points, stored as one blob: column by column, numbers as raw float64 (8 bytes a
 * value, read back without parsing), anything else as one JSON array per column. A point that
 * lacks a key is marked absent in that column's bitmap, so points with varying keys round-trip.
 *
 *   u32 version (1) | u32 points | u32 columns
 *   per column: u16 key bytes | key (UTF-8) | u8 kind (1 numbers, 2 JSON) | u8 all present (1) or bitmap (0)
 *               | padding to 8 | [bitmap, padded to 8] | numbers: present × f64 | JSON: u32 bytes, UTF-8, padding to 8
 *
 * Little-endian throughout. JSON numbers are float64 already, so storing them as such loses nothing.
 */

export type Point = Record<string, unknown>

const VERSION = 1
const NUMBERS = 1
const JSON_VALUES = 2

export interface Column {
	key: string
	/** Per point, whether it has this key; `null`: every point has it. */
	present: Uint8Array | null
	/** The present values in point order: numbers, or anything JSON. */
	values: Float64Array | unknown[]
}

/** Per-column figures kept beside a chunk (and summed into a track), for stats and chart reads. */
export interface ColumnSummary {
	count: number
	min: number
	max: number
	sum: number
	last: number
}

const encoder = new TextEncoder()
const decoder = new TextDecoder()
const pad8 = (n: number) => (n + 7) & ~7

/** The columns of `points`, keys in first-seen order, built in one pass over the points. */
export function toColumns(points: Point[]): Column[] {
	const n = points.length
	const builders = new Map<string, { values: unknown[]; numeric: boolean; present: Uint8Array | null }>()
	for (let i = 0; i < n; i++) {
		const point = points[i]!
		for (const key in point) {
			const value = point[key]
			if (value === undefined) continue
			let column = builders.get(key)
			if (!column) {
				// a key first seen after point 0 is absent from the points before
				column = { values: [], numeric: true, present: i === 0 ? null : new Uint8Array((n + 7) >> 3) }
				builders.set(key, column)
			}
			if (!column.present && column.values.length !== i) column.present = allPresent(column.values.length, n) // dense so far, but a point in between lacked it
			if (column.present) column.present[i >> 3]! |= 1 << (i & 7)
			if (typeof value !== 'number') column.numeric = false
			column.values.push(value)
		}
	}
	const columns: Column[] = []
	for (const [key, column] of builders) {
		// dense until the end? A column whose last points lacked the key still needs its bitmap
		const present = column.present ?? (column.values.length === n ? null : allPresent(column.values.length, n))
		columns.push({ key, present, values: column.numeric ? Float64Array.from(column.values as number[]) : column.values })
	}
	return columns
}

/** A bitmap with the first `upTo` points present (the column was dense until a point lacked it). */
function allPresent(upTo: number, points: number): Uint8Array {
	const bitmap = new Uint8Array((points + 7) >> 3)
	for (let i = 0; i < upTo; i++) bitmap[i >> 3]! |= 1 << (i & 7)
	return bitmap
}

export function encodeChunk(count: number, columns: Column[]): Uint8Array {
	const keys = columns.map((c) => encoder.encode(c.key))
	const jsons = columns.map((c) => (c.values instanceof Float64Array ? null : encoder.encode(JSON.stringify(c.values))))
	let size = 12
	columns.forEach((column, i) => {
		size = pad8(size + 2 + keys[i]!.length + 2)
		if (column.present) size = pad8(size + column.present.length)
		size = column.values instanceof Float64Array ? size + column.values.length * 8 : pad8(size + 4 + jsons[i]!.length)
	})
	const bytes = new Uint8Array(size)
	const view = new DataView(bytes.buffer)
	view.setUint32(0, VERSION, true)
	view.setUint32(4, count, true)
	view.setUint32(8, columns.length, true)
	let at = 12
	columns.forEach((column, i) => {
		const key = keys[i]!
		view.setUint16(at, key.length, true)
		bytes.set(key, at + 2)
		at += 2 + key.length
		bytes[at] = column.values instanceof Float64Array ? NUMBERS : JSON_VALUES
		bytes[at + 1] = column.present ? 0 : 1
		at = pad8(at + 2)
		if (column.present) {
			bytes.set(column.present, at)
			at = pad8(at + column.present.length)
		}
		if (column.values instanceof Float64Array) {
			bytes.set(new Uint8Array(column.values.buffer, column.values.byteOffset, column.values.byteLength), at)
			at += column.values.byteLength
		} else {
			const json = jsons[i]!
			view.setUint32(at, json.length, true)
			bytes.set(json, at + 4)
			at = pad8(at + 4 + json.length)
		}
	})
	return bytes
}

/**
 * The chunk's columns; only those in `wanted` when given (the others are skipped, not copied).
 * `kinds`, when given, learns every column's key, skipped or not, and whether it holds numbers
 * only in every chunk it was given so far (a JSON column has a value that is no number).
 */
export function decodeChunk(blob: Uint8Array, wanted?: ReadonlySet<string>, kinds?: Map<string, boolean>): { count: number; columns: Column[] } {
	const view = new DataView(blob.buffer, blob.byteOffset, blob.byteLength)
	if (view.getUint32(0, true) !== VERSION) throw new Error('unknown track chunk version')
	const count = view.getUint32(4, true)
	const columnCount = view.getUint32(8, true)
	const columns: Column[] = []
	let at = 12
	for (let c = 0; c < columnCount; c++) {
		const keyLength = view.getUint16(at, true)
		const key = decoder.decode(blob.subarray(at + 2, at + 2 + keyLength))
		at += 2 + keyLength
		const kind = blob[at]!
		const dense = blob[at + 1] === 1
		at = pad8(at + 2)
		let present: Uint8Array | null = null
		let presentCount = count
		if (!dense) {
			present = new Uint8Array(blob.subarray(at, at + ((count + 7) >> 3)))
			presentCount = 0
			for (let i = 0; i < count; i++) if (present[i >> 3]! & (1 << (i & 7))) presentCount++
			at = pad8(at + present.length)
		}
		const skip = wanted !== undefined && !wanted.has(key)
		if (kinds) kinds.set(key, kind === NUMBERS && kinds.get(key) !== false)
		if (kind === NUMBERS) {
			// a view where the blob owns its whole buffer (a SQLite row's does) and the offset is a multiple of 8, as a Float64Array requires; else a copy (a pooled Buffer's bytes are not ours to keep)
			const ownsBuffer = blob.byteOffset === 0 && blob.byteLength === blob.buffer.byteLength
			if (!skip) columns.push({ key, present, values: ownsBuffer && at % 8 === 0 ? new Float64Array(blob.buffer, at, presentCount) : float64Copy(blob, at, presentCount * 8) })
			at += presentCount * 8
		} else {
			const length = view.getUint32(at, true)
			if (!skip) columns.push({ key, present, values: JSON.parse(decoder.decode(blob.subarray(at + 4, at + 4 + length))) as unknown[] })
			at = pad8(at + 4 + length)
		}
	}
	return { count, columns }
}

/**
 * The float64s of `bytes` bytes of `blob` from `at`, copied. `new Uint8Array(view)` copies whatever
 * `blob` is: a Buffer's `slice` is a view into its pool (as PostgreSQL's bytea arrives), not a copy.
 */
function float64Copy(blob: Uint8Array, at: number, bytes: number): Float64Array {
	return new Float64Array(new Uint8Array(blob.subarray(at, at + bytes)).buffer)
}

/** Points `from` to `to` (exclusive) of a decoded chunk, with only `keys` when given. */
export function pointsOf(chunk: { count: number; columns: Column[] }, from: number, to: number, keys?: ReadonlySet<string>): Point[] {
	const points: Point[] = Array.from({ length: to - from }, () => ({}))
	for (const column of chunk.columns) {
		if (keys && !keys.has(column.key)) continue
		let j = 0 // index into the present values
		for (let i = 0; i < to; i++) {
			if (column.present && !(column.present[i >> 3]! & (1 << (i & 7)))) continue
			if (i >= from) points[i - from]![column.key] = column.values[j]
			j++
		}
	}
	return points
}

/** The value of `key` of every point (`undefined` where absent), for filters on `_ts` and chart reads. */
export function columnValues(chunk: { count: number; columns: Column[] }, key: string): (unknown | undefined)[] | undefined {
	const column = chunk.columns.find((c) => c.key === key)
	if (!column) return undefined
	const out: unknown[] = new Array(chunk.count)
	let j = 0
	for (let i = 0; i < chunk.count; i++) {
		if (column.present && !(column.present[i >> 3]! & (1 << (i & 7)))) continue
		out[i] = column.values[j++]
	}
	return out
}

/** min, max, sum, count and last of the numbers of each column that has any (a column mixing numbers with other values too). */
export function summarize(columns: Column[]): Record<string, ColumnSummary> {
	const summaries: Record<string, ColumnSummary> = {}
	for (const column of columns) {
		const values = column.values
		const numbers = values instanceof Float64Array ? values : (values.filter((v) => typeof v === 'number') as number[])
		if (numbers.length === 0) continue
		let min = Infinity
		let max = -Infinity
		let sum = 0
		for (let i = 0; i < numbers.length; i++) {
			const v = numbers[i]!
			if (v < min) min = v
			if (v > max) max = v
			sum += v
		}
		summaries[column.key] = { count: numbers.length, min, max, sum, last: numbers[numbers.length - 1]! }
	}
	return summaries
}

/** A key's numbers over some points of a track: what its metric summary (db metric_summaries) takes from them. `*At`: the point's index in the track. */
export interface KeyRange {
	count: number
	last: number
	lastAt: number
	min: number
	minAt: number
	max: number
	maxAt: number
}

/**
 * Per key with a number among points `from` onward of the chunk's columns, its range, the points
 * numbered from `firstIndex` (the index of the chunk's point `from`). A pass over each column's
 * stored values: numbers are a Float64Array already, so this is a few ns a value.
 */
export function keyRanges(columns: Column[], from: number, firstIndex: number): Map<string, KeyRange> {
	const ranges = new Map<string, KeyRange>()
	for (const column of columns) {
		const values = column.values
		const present = column.present
		if (present === null && values instanceof Float64Array) {
			// the usual column, every point a number: one tight loop over the typed array
			if (values.length > from) ranges.set(column.key, denseRange(values, from, firstIndex))
			continue
		}
		let range: KeyRange | undefined
		let point = -1
		for (let j = 0; j < values.length; j++) {
			// the chunk's point this value belongs to
			if (present === null) point = j
			else do point++; while (!(present[point >> 3]! & (1 << (point & 7))))
			if (point < from) continue
			const v = values[j]
			if (typeof v !== 'number') continue
			const at = firstIndex + point - from
			if (!range) range = { count: 1, last: v, lastAt: at, min: v, minAt: at, max: v, maxAt: at }
			else {
				range.count++
				range.last = v
				range.lastAt = at
				if (v < range.min) (range.min = v), (range.minAt = at)
				if (v > range.max) (range.max = v), (range.maxAt = at)
			}
		}
		if (range) ranges.set(column.key, range)
	}
	return ranges
}

/** keyRanges of a column every point has, all numbers. */
function denseRange(values: Float64Array, from: number, firstIndex: number): KeyRange {
	let min = values[from]!
	let max = min
	let minAt = from
	let maxAt = from
	for (let j = from + 1; j < values.length; j++) {
		const v = values[j]!
		if (v < min) (min = v), (minAt = j)
		else if (v > max) (max = v), (maxAt = j)
	}
	const last = values.length - 1
	return { count: values.length - from, last: values[last]!, lastAt: firstIndex + last - from, min, minAt: firstIndex + minAt - from, max, maxAt: firstIndex + maxAt - from }
}

/** `later` (of points after `earlier`'s) folded into `earlier`; ties keep the first point. */
export function joinRanges(earlier: Map<string, KeyRange>, later: Map<string, KeyRange>): Map<string, KeyRange> {
	for (const [key, next] of later) {
		const range = earlier.get(key)
		if (!range) {
			earlier.set(key, next)
			continue
		}
		range.count += next.count
		range.last = next.last
		range.lastAt = next.lastAt
		if (next.min < range.min) (range.min = next.min), (range.minAt = next.minAt)
		if (next.max > range.max) (range.max = next.max), (range.maxAt = next.maxAt)
	}
	return earlier
}

/** Points a block summary covers: chart reads over wide windows fold blocks, not points. */
export const BLOCK_POINTS = 64
/** Per block and key: min, max, sum, count, last. */
const BLOCK_FIELDS = 5
/** 2: the numbers of a column that also holds other values are summarized too (1 skipped such a column). */
const BLOCKS_VERSION = 2

/** Per key with a number in the chunk, its blocks' [min, max, sum, count, last] in a row (count 0, last NaN: a block without one). */
export interface Blocks {
	blocks: number
	keys: Map<string, Float64Array>
}

/**
 * Block summaries of a chunk: for every key that holds a number, min, max, sum, count and last of
 * the numbers in each run of 64 points, as float64s. About 0.6 bytes a point per key beside the 8
 * of the value itself.
 *
 *   u32 version (2) | u32 blocks | u32 keys | per key: u16 key bytes | key | padding to 8 | blocks × 5 × f64
 */
export function encodeBlocks(count: number, columns: Column[]): Uint8Array {
	const blocks = Math.ceil(count / BLOCK_POINTS)
	// a column mixing numbers with other values too: a chart read folds its numbers
	const numeric = columns.filter((c) => (c.values instanceof Float64Array ? c.values.length > 0 : c.values.some((v) => typeof v === 'number')))
	const stats = numeric.map((column) => {
		const out = new Float64Array(blocks * BLOCK_FIELDS)
		for (let b = 0; b < blocks; b++) out.set([Infinity, -Infinity, 0, 0, Number.NaN], b * BLOCK_FIELDS)
		const values = column.values
		let j = 0
		for (let i = 0; i < count; i++) {
			if (column.present && !(column.present[i >> 3]! & (1 << (i & 7)))) continue
			const v = values[j++]
			if (typeof v !== 'number') continue
			const at = ((i / BLOCK_POINTS) | 0) * BLOCK_FIELDS
			if (v < out[at]!) out[at] = v
			if (v > out[at + 1]!) out[at + 1] = v
			out[at + 2]! += v
			out[at + 3]!++
			out[at + 4] = v
		}
		return out
	})
	const keys = numeric.map((c) => encoder.encode(c.key))
	let size = 12
	for (const key of keys) size = pad8(size + 2 + key.length) + blocks * BLOCK_FIELDS * 8
	const bytes = new Uint8Array(size)
	const view = new DataView(bytes.buffer)
	view.setUint32(0, BLOCKS_VERSION, true)
	view.setUint32(4, blocks, true)
	view.setUint32(8, keys.length, true)
	let at = 12
	keys.forEach((key, k) => {
		view.setUint16(at, key.length, true)
		bytes.set(key, at + 2)
		at = pad8(at + 2 + key.length)
		const s = stats[k]!
		bytes.set(new Uint8Array(s.buffer, s.byteOffset, s.byteLength), at)
		at += s.byteLength
	})
	return bytes
}

export function decodeBlocks(blob: Uint8Array, wanted?: ReadonlySet<string>): Blocks {
	const view = new DataView(blob.buffer, blob.byteOffset, blob.byteLength)
	// version 1 lacks the numbers of mixed columns: read as it is, those count as absent
	const version = view.getUint32(0, true)
	if (version !== 1 && version !== BLOCKS_VERSION) throw new Error('unknown block summary version')
	const blocks = view.getUint32(4, true)
	const count = view.getUint32(8, true)
	const keys = new Map<string, Float64Array>()
	let at = 12
	for (let k = 0; k < count; k++) {
		const length = view.getUint16(at, true)
		const key = decoder.decode(blob.subarray(at + 2, at + 2 + length))
		at = pad8(at + 2 + length)
		const bytes = blocks * BLOCK_FIELDS * 8
		if (!wanted || wanted.has(key)) keys.set(key, float64Copy(blob, at, bytes))
		at += bytes
	}
	return { blocks, keys }
}
