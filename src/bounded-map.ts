/**
 * A Map of at most `capacity` entries that forgets the oldest-inserted first; replacing an entry
 * makes it the newest. Eviction walks one iterator kept from call to call: `keys().next()` per
 * eviction rescans the deleted slots JavaScriptCore leaves at the front of a Map, 6 to 15 µs an
 * eviction at 10,000 entries against 0.4 µs this way, which made every cache miss of a full
 * account cache cost about 45 µs (in-process, after 15,000 new users).
 */
export class BoundedMap<K, V> {
	private readonly entries = new Map<K, V>()
	/** Walks the entries in insertion order; everything before its position has been evicted. */
	private oldest: ReturnType<Map<K, V>['keys']> | undefined

	/** `onEvict` hears of every entry that makes room for a new one (not of replaced or deleted ones). */
	constructor(
		readonly capacity: number,
		private readonly onEvict?: (key: K, value: V) => void,
	) {
		if (!Number.isSafeInteger(capacity) || capacity < 1) throw new RangeError(`capacity must be a positive integer, not ${capacity}`)
	}

	get size(): number {
		return this.entries.size
	}

	get(key: K): V | undefined {
		return this.entries.get(key)
	}

	set(key: K, value: V): void {
		// a replaced entry is deleted and added again: the Map's order is the eviction order
		if (!this.entries.delete(key) && this.entries.size >= this.capacity) this.evictOldest()
		this.entries.set(key, value)
	}

	delete(key: K): boolean {
		return this.entries.delete(key)
	}

	private evictOldest(): void {
		let next = this.oldest?.next()
		if (next === undefined || next.done) {
			// an iterator that has finished stays finished, even if entries are added later
			this.oldest = this.entries.keys()
			next = this.oldest.next()
		}
		if (next.done) return
		const value = this.entries.get(next.value)!
		this.entries.delete(next.value)
		this.onEvict?.(next.value, value)
	}
}

/**
 * A bounded cache that a burst of newcomers cannot empty of the entries in use. A newcomer
 * (`setNew`) starts in a small probation segment and moves to the protected one (four fifths of
 * the room) when it is read again; an entry known to be in use (`set`) goes there directly. The
 * protected segment's oldest go back to probation, and only probation's oldest are forgotten.
 * Without it, a round of 15,000 first logins pushed all 10,000 active accounts out of memory, and
 * each came back at the price of a database read (bun run bench).
 */
export class SegmentedCache<K, V> {
	private readonly probation: BoundedMap<K, V>
	private readonly protectedSegment: BoundedMap<K, V>

	constructor(readonly capacity: number) {
		if (!Number.isSafeInteger(capacity) || capacity < 2) throw new RangeError(`capacity must be an integer of at least 2, not ${capacity}`)
		const probation = Math.max(1, Math.floor(capacity / 5))
		this.probation = new BoundedMap(probation)
		this.protectedSegment = new BoundedMap(capacity - probation, (key, value) => this.probation.set(key, value))
	}

	get size(): number {
		return this.probation.size + this.protectedSegment.size
	}

	get(key: K): V | undefined {
		const hot = this.protectedSegment.get(key)
		if (hot !== undefined) return hot
		const cold = this.probation.get(key)
		if (cold !== undefined) {
			this.probation.delete(key)
			this.protectedSegment.set(key, cold)
		}
		return cold
	}

	/** An entry known to be in use: protected, as the newest there. */
	set(key: K, value: V): void {
		this.probation.delete(key)
		this.protectedSegment.set(key, value)
	}

	/** A newcomer: on probation until it is read again. A known entry is replaced where it is. */
	setNew(key: K, value: V): void {
		if (this.protectedSegment.get(key) !== undefined) this.protectedSegment.set(key, value)
		else this.probation.set(key, value)
	}

	delete(key: K): void {
		this.protectedSegment.delete(key)
		this.probation.delete(key)
	}
}
