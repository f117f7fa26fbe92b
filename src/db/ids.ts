/**
 * Ids for projects, episodes and what hangs under them: milliseconds since 2025-01-01 times 4,096,
 * plus a counter within the millisecond. They sort by creation time, fit in 53 bits (exact as
 * JavaScript numbers until 2094), and are written as decimal strings in JSON, as upstream's
 * Snowflake ids are (the SDK percent-encodes ids: a JSON number would break it).
 */
const EPOCH_MS = Date.UTC(2025, 0, 1)
const PER_MS = 4096

let lastMs = 0
let counter = 0

export function newRowId(now = Date.now()): number {
	let ms = Math.max(now - EPOCH_MS, lastMs) // a clock that steps back keeps counting from where it was
	if (ms === lastMs) {
		if (++counter === PER_MS) {
			ms++
			counter = 0
		}
	} else {
		counter = 0
	}
	lastMs = ms
	return ms * PER_MS + counter
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
