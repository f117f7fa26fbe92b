import { describe, expect, it } from 'bun:test'
import { columnValues, decodeBlocks, decodeChunk, encodeBlocks, encodeChunk, pointsOf, summarize, toColumns, type Point } from '../src/tracks/codec'

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

	it('summarizes the numbers of each column: count, min, max, sum and last (a column mixing in other values too)', () => {
		const summaries = summarize(toColumns([{ x: 3, y: 'a', m: 2 }, { x: -1, m: null }, { x: 10, m: 5 }, { z: 1, m: 'nan' }]))
		expect(summaries).toEqual({ x: { count: 3, min: -1, max: 10, sum: 12, last: 10 }, m: { count: 2, min: 2, max: 5, sum: 7, last: 5 }, z: { count: 1, min: 1, max: 1, sum: 1, last: 1 } })
	})

	it('block summaries: per 64 points, min, max, sum, count and last of the numbers of each key, a column mixing in other values too', () => {
		const points = Array.from({ length: 130 }, (_, i) => ({ v: i, m: i % 2 === 0 ? i : 'odd', ...(i >= 128 && { late: 1 }), note: 'text' }))
		const blocks = decodeBlocks(encodeBlocks(points.length, toColumns(points)))
		expect(blocks.blocks).toBe(3)
		expect([...blocks.keys.keys()]).toEqual(['v', 'm', 'late'])
		expect([...blocks.keys.get('v')!]).toEqual([0, 63, 2016, 64, 63, 64, 127, 6112, 64, 127, 128, 129, 257, 2, 129])
		expect([...blocks.keys.get('m')!]).toEqual([0, 62, 992, 32, 62, 64, 126, 3040, 32, 126, 128, 128, 128, 1, 128])
		expect([...blocks.keys.get('late')!]).toEqual([Infinity, -Infinity, 0, 0, Number.NaN, Infinity, -Infinity, 0, 0, Number.NaN, 1, 1, 2, 2, 1])
		expect([...decodeBlocks(encodeBlocks(points.length, toColumns(points)), new Set(['m'])).keys.keys()]).toEqual(['m'])
	})

	it('block summaries written before version 2 (same layout, mixed columns left out) still read', () => {
		const blob = encodeBlocks(3, toColumns([{ v: 1 }, { v: 2 }, { v: 3 }]))
		new DataView(blob.buffer).setUint32(0, 1, true)
		expect([...decodeBlocks(blob).keys.get('v')!]).toEqual([1, 3, 6, 3, 3])
		new DataView(blob.buffer).setUint32(0, 3, true)
		expect(() => decodeBlocks(blob)).toThrow('unknown block summary version')
	})
})
