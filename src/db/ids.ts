/**
 * Ids for projects, episodes and what hangs under them: milliseconds since 2025-01-01 times 4,096,
 * plus a counter within the millisecond. They sort by creation time, fit in 53 bits (exact as
 * JavaScript numbers until 2094), and are written as decimal strings in JSON, as upstream's
 * Snowflake ids are (the SDK percent-encodes ids: a JSON number would break it).
 */
const EPOCH_MS = Date.UTC(2025, 0, 1)
const PER_MS = 4096

/**
 * One process's id counter. Several servers on one PostgreSQL each hold a node number (claimed at
 * start, db/postgres-nodes.ts) in the counter's top `nodeBits`, so their ids never collide: 16
 * nodes of 256 ids a millisecond each with 4 bits. SQLite's single process uses all 4,096.
 */
export class RowIds {
	private lastMs = 0
	private counter = 0
	private readonly perMs: number
	private readonly base: number

	constructor(node = 0, nodeBits = 0) {
		this.perMs = PER_MS >> nodeBits
		if (!Number.isInteger(node) || node < 0 || node >= 1 << nodeBits) throw new RangeError(`node ${node} does not fit in ${nodeBits} bits`)
		this.base = node * this.perMs
	}

	next(now = Date.now()): number {
		let ms = Math.max(now - EPOCH_MS, this.lastMs) // a clock that steps back keeps counting from where it was
		if (ms === this.lastMs) {
			if (++this.counter === this.perMs) {
				ms++
				this.counter = 0
			}
		} else {
			this.counter = 0
		}
		this.lastMs = ms
		return ms * PER_MS + this.base + this.counter
	}
}

const processIds = new RowIds()

export function newRowId(now = Date.now()): number {
	return processIds.next(now)
}

const ID = /^[1-9][0-9]{0,15}$/

/** The row id a path segment names, or `undefined` when it cannot name one (then: 404). */
export function parseRowId(segment: string | null | undefined): number | undefined {
	if (typeof segment !== 'string' || !ID.test(segment)) return undefined
	const id = Number(segment)
	return Number.isSafeInteger(id) ? id : undefined
}

export const formatRowId = (id: number): string => String(id)

/** Ids of users and namespaces: UUIDv7 strings (time-ordered), as upstream's are. */
export const newUuid = () => Bun.randomUUIDv7()
