/**
 * A Map of at most `capacity` entries that forgets the oldest-inserted first; replacing an entry
 * makes it the newest. The order is a linked list beside the Map. Evicting with
 * `map.keys().next()` rescanned the deleted slots JavaScriptCore leaves at the front of a Map,
 * 6 to 15 µs an eviction at 10,000 entries, which made each miss of a full account cache cost
 * about 45 µs; and an iterator kept from one eviction to the next pinned every table the Map
 * outgrew while it was not advanced (the heap grew by megabytes a minute under GET /auth/me).
 */
export class BoundedMap<K, V> {
	private readonly nodes = new Map<K, Node<K, V>>()
	private oldest: Node<K, V> | undefined
	private newest: Node<K, V> | undefined

	/** `onEvict` hears of every entry that makes room for a new one (not of replaced or deleted ones). */
	constructor(
		readonly capacity: number,
		private readonly onEvict?: (key: K, value: V) => void,
	) {
		if (!Number.isSafeInteger(capacity) || capacity < 1) throw new RangeError(`capacity must be a positive integer, not ${capacity}`)
	}

	get size(): number {
		return this.nodes.size
	}

	get(key: K): V | undefined {
		return this.nodes.get(key)?.value
	}

	set(key: K, value: V): void {
		const known = this.nodes.get(key)
		if (known) {
			known.value = value
			this.unlink(known)
			this.append(known)
			return
		}
		if (this.nodes.size >= this.capacity) this.evictOldest()
		const node: Node<K, V> = { key, value, older: undefined, newer: undefined }
		this.nodes.set(key, node)
		this.append(node)
	}

	delete(key: K): boolean {
		const node = this.nodes.get(key)
		if (!node) return false
		this.nodes.delete(key)
		this.unlink(node)
		return true
	}

	private evictOldest(): void {
		const node = this.oldest
		if (!node) return
		this.nodes.delete(node.key)
		this.unlink(node)
		this.onEvict?.(node.key, node.value)
	}

	private append(node: Node<K, V>): void {
		node.older = this.newest
		node.newer = undefined
		if (this.newest) this.newest.newer = node
		else this.oldest = node
		this.newest = node
	}

	private unlink(node: Node<K, V>): void {
		if (node.older) node.older.newer = node.newer
		else this.oldest = node.newer
		if (node.newer) node.newer.older = node.older
		else this.newest = node.older
		node.older = node.newer = undefined
	}
}

interface Node<K, V> {
	key: K
	value: V
	older: Node<K, V> | undefined
	newer: Node<K, V> | undefined
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
