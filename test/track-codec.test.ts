import { describe, expect, it } from 'bun:test'
import { columnValues, decodeChunk, encodeChunk, pointsOf, summarize, toColumns, type Point } from '../src/tracks/codec'

const roundTrip = (points: Point[]) => {
	const blob = encodeChunk(points.length, toColumns(points))
	// stored blobs come back at any offset: decode from an unaligned copy, as SQLite may hand it over
	const unaligned = new Uint8Array(blob.length + 3)
	unaligned.set(blob, 3)
	return { blob, points: pointsOf(decodeChunk(unaligned.subarray(3)), 0, points.length) }
}

describe('track chunk codec', () => {
	it('round-trips numeric points, 8 bytes a value plus a small header', () => {
		const points = Array.from({ length: 1000 }, (_, i) => ({ _ts: 1_765_000_000 + i / 100, step: i, loss: 1 / (i + 1), acc: Math.random() }))
		const { blob, points: back } = roundTrip(points)
		expect(back).toEqual(points)
		expect(blob.length).toBeLessThan(1000 * 4 * 8 + 100)
	})

	it('round-trips points whose keys vary, and absent stays absent (not null)', () => {
		const points = [{ a: 1, b: 2 }, { a: 3, c: 4 }, { c: null, a: 5, b: 6 }, {}, { d: 'x' }]
		expect(roundTrip(points).points).toEqual(points)
	})

	it('round-trips strings, booleans, nulls, arrays, nested objects, unicode and extreme numbers', () => {
		const points = [
			{ s: 'héllo 🤖', t: true, n: null, q: [0.1, 0.2, 0.3], nested: { train: { loss: 0.5 } }, big: 999999999999999, huge: 1.23e100, tiny: 1.23e-100, neg: -0.5 },
			{ s: '', t: false, q: [], nested: {}, big: -(2 ** 53 - 1), huge: Number.MAX_VALUE, tiny: Number.MIN_VALUE, neg: -1e-300 },
		]
		expect(roundTrip(points).points).toEqual(points)
	})

	it('a column with a non-number anywhere is stored as JSON, whole', () => {
		const points = [{ v: 1 }, { v: 'two' }, { v: 3 }]
		const columns = toColumns(points)
		expect(columns[0]!.values).toEqual([1, 'two', 3])
		expect(roundTrip(points).points).toEqual(points)
	})

	it('reads a slice of points and only the keys asked for', () => {
		const points = Array.from({ length: 20 }, (_, i) => ({ step: i, loss: i * 2, ...(i % 3 === 0 && { note: `n${i}` }) }))
		const chunk = decodeChunk(encodeChunk(points.length, toColumns(points)))
		expect(pointsOf(chunk, 5, 8)).toEqual(points.slice(5, 8))
		expect(pointsOf(chunk, 0, 4, new Set(['step', 'note']))).toEqual([{ step: 0, note: 'n0' }, { step: 1 }, { step: 2 }, { step: 3, note: 'n3' }])
		expect(columnValues(chunk, 'note')!.slice(0, 4)).toEqual(['n0', undefined, undefined, 'n3'])
	})

	it('summarizes numeric columns: count, min, max, sum and last', () => {
		const summaries = summarize(toColumns([{ x: 3, y: 'a' }, { x: -1 }, { x: 10 }, { z: 1 }]))
		expect(summaries).toEqual({ x: { count: 3, min: -1, max: 10, sum: 12, last: 10 }, z: { count: 1, min: 1, max: 1, sum: 1, last: 1 } })
	})
})
