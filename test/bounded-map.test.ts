import { describe, expect, it } from 'bun:test'
import { heapStats } from 'bun:jsc'
import { BoundedMap, SegmentedCache } from '../src/bounded-map'

describe('BoundedMap (the token and account caches)', () => {
	it('forgets the oldest-inserted entry first when full', () => {
		const map = new BoundedMap<string, number>(3)
		for (const [i, key] of ['a', 'b', 'c', 'd'].entries()) map.set(key, i)
		expect([map.get('a'), map.get('b'), map.get('c'), map.get('d')]).toEqual([undefined, 1, 2, 3])
		expect(map.size).toBe(3)
	})

	it('counts a replaced entry as the newest', () => {
		const map = new BoundedMap<string, number>(3)
		map.set('a', 1)
		map.set('b', 2)
		map.set('c', 3)
		map.set('a', 10) // a is now newer than b and c
		map.set('d', 4)
		expect([map.get('a'), map.get('b'), map.get('c'), map.get('d')]).toEqual([10, undefined, 3, 4])
	})

	it('refuses a capacity that is not a positive integer', () => {
		for (const capacity of [0, -1, 1.5, Number.NaN]) expect(() => new BoundedMap(capacity)).toThrow(RangeError)
	})

	it('behaves like a plain insertion-ordered list under thousands of random sets, replaces and deletes', () => {
		// the reference: an array of keys, oldest first, and a Map of values
		let seed = 42
		const random = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) % n)
		for (const capacity of [1, 2, 7, 100]) {
			const map = new BoundedMap<number, number>(capacity)
			const order: number[] = []
			const values = new Map<number, number>()
			for (let step = 0; step < 20_000; step++) {
				const key = random(capacity * 3)
				if (random(10) === 0) {
					expect(map.delete(key)).toBe(values.delete(key))
					if (order.includes(key)) order.splice(order.indexOf(key), 1)
				} else {
					map.set(key, step)
					if (values.has(key)) order.splice(order.indexOf(key), 1)
					else if (order.length >= capacity) values.delete(order.shift()!)
					order.push(key)
					values.set(key, step)
				}
				expect(map.size).toBe(values.size)
				expect(map.size).toBeLessThanOrEqual(capacity)
			}
			for (let key = 0; key < capacity * 3; key++) expect(map.get(key)).toBe(values.get(key))
		}
	})
})

describe('SegmentedCache (the account cache)', () => {
	it('keeps the entries in use through a burst of newcomers', () => {
		const cache = new SegmentedCache<string, number>(100)
		for (let i = 0; i < 80; i++) cache.set(`active-${i}`, i)
		for (let i = 0; i < 10_000; i++) cache.setNew(`once-${i}`, i) // a burst of sign-ups
		for (let i = 0; i < 80; i++) expect(cache.get(`active-${i}`)).toBe(i)
		expect(cache.get('once-9999')).toBe(9999) // the newest one-time entries are there too
		expect(cache.get('once-0')).toBeUndefined()
		expect(cache.size).toBe(100)
	})

	it('protects a newcomer read again while on probation', () => {
		const cache = new SegmentedCache<string, number>(10) // 8 protected, 2 on probation
		cache.setNew('newcomer', 1)
		expect(cache.get('newcomer')).toBe(1)
		for (let i = 0; i < 50; i++) cache.setNew(`once-${i}`, i)
		expect(cache.get('newcomer')).toBe(1)
		cache.setNew('forgotten', 1)
		for (let i = 0; i < 50; i++) cache.setNew(`twice-${i}`, i)
		expect(cache.get('forgotten')).toBeUndefined()
	})

	it('forgets protected entries that are not read again, through probation', () => {
		const cache = new SegmentedCache<string, number>(10) // 8 protected, 2 on probation
		for (let i = 0; i < 8; i++) cache.set(`old-${i}`, i)
		for (let i = 0; i < 8; i++) {
			cache.setNew(`new-${i}`, i)
			cache.get(`new-${i}`) // each promotion sends the oldest protected entry to probation
		}
		for (let i = 0; i < 8; i++) expect(cache.get(`new-${i}`)).toBe(i)
		expect([0, 1, 2, 3, 4, 5, 6, 7].filter((i) => cache.get(`old-${i}`) !== undefined).length).toBeLessThanOrEqual(2)
	})

	it('replaces an entry where it is, and deletes from either segment', () => {
		const cache = new SegmentedCache<string, number>(10)
		cache.setNew('a', 1)
		cache.setNew('a', 2)
		expect(cache.get('a')).toBe(2) // now protected
		cache.setNew('a', 3)
		expect(cache.get('a')).toBe(3)
		cache.setNew('b', 1)
		cache.delete('a')
		cache.delete('b')
		expect([cache.get('a'), cache.get('b'), cache.size]).toEqual([undefined, undefined, 0])
	})

	it('never holds more than its capacity, and never answers with a stale value, under random use', () => {
		let seed = 7
		const random = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) % n)
		for (const capacity of [2, 3, 10, 101]) {
			const cache = new SegmentedCache<number, number>(capacity)
			const latest = new Map<number, number>()
			for (let step = 0; step < 20_000; step++) {
				const key = random(capacity * 4)
				const op = random(10)
				if (op < 4) {
					if (op < 2) cache.set(key, step)
					else cache.setNew(key, step)
					latest.set(key, step)
				} else if (op < 9) {
					const value = cache.get(key)
					if (value !== undefined) expect(value).toBe(latest.get(key)!)
				} else {
					cache.delete(key)
					latest.delete(key)
				}
				expect(cache.size).toBeLessThanOrEqual(capacity)
			}
		}
	})

	it('holds no memory beyond its entries under a long run of reads (no pinned Map tables)', () => {
		const cache = new SegmentedCache<string, object>(10_000)
		const keys = Array.from({ length: 10_000 }, (_, i) => `sub-${i}`)
		for (const key of keys) cache.setNew(key, {})
		const churn = () => {
			for (let i = 0; i < 200_000; i++) {
				const key = keys[Math.floor(Math.random() * keys.length)]!
				if (cache.get(key) === undefined) cache.set(key, {})
			}
			Bun.gc(true)
			return heapStats().heapSize
		}
		const before = churn()
		const after = churn() + churn()
		// an iterator kept across evictions once grew this by about 3 MB per round
		expect(after / 2 - before).toBeLessThan(1_000_000)
	})

	it('refuses a capacity under 2', () => {
		for (const capacity of [1, 0, 2.5]) expect(() => new SegmentedCache(capacity)).toThrow(RangeError)
	})
})
