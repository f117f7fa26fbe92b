import { describe, expect, it } from 'bun:test'
import { BoundedMap } from '../src/bounded-map'

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
