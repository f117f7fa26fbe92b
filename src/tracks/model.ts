import { t, type Static } from 'elysia'
import { formatRowId } from '../db/ids'
import type { TrackRow } from '../db/schema'
import { invalidField } from '../http/errors'
import { Description, FORBIDDEN_KEYS, hasControlCharacters, isoOrNull, iso, Metadata, Tags, Timestamp } from '../http/fields'
import type { Point } from './codec'
import { CHUNK_POINTS } from './repository'

export const TRACK_NAME_MAX_LENGTH = 255
export const MAX_BATCH = 10_000
export const MAX_PAGE = 10_000
export const KEYS_PER_POINT = 1000
export const KEY_MAX_LENGTH = 255

const trackFields = {
	description: t.Optional(Description),
	tags: t.Optional(Tags),
	metadata: t.Optional(Metadata),
}

export const TrackAppend = t.Object(
	{ data: t.Record(t.String(), t.Unknown(), { error: 'must be a JSON object (one point)' }), ...trackFields },
	{ additionalProperties: false },
)
export type TrackAppend = Static<typeof TrackAppend>

// the points are checked by `checkPoints`, in one pass: a schema check per point cost about a microsecond each
export const TrackAppendBatch = t.Object(
	{
		dataPoints: t.Array(t.Unknown(), {
			minItems: 1,
			maxItems: MAX_BATCH,
			error: `must be a list of 1 to ${MAX_BATCH.toLocaleString('en-US')} points (JSON objects)`,
			description: 'JSON objects; `_ts` (epoch seconds), when present, is the point’s time',
		}),
		...trackFields,
	},
	{ additionalProperties: false },
)
export type TrackAppendBatch = Static<typeof TrackAppendBatch>

export const Appended = t.Object({ inserted: t.Number(), trackName: t.String(), trackId: t.String(), startIndex: t.Number(), index: t.Optional(t.Number()) })

export const TrackPoint = t.Object({ index: t.String({ description: 'A string, as the SDK reads it' }), data: t.Record(t.String(), t.Unknown()), createdAt: Timestamp })

export const TrackPage = t.Object({
	trackName: t.String(),
	points: t.Array(TrackPoint),
	startIndex: t.Number(),
	count: t.Number(),
	total: t.Number({ description: 'Points in the track' }),
	hasMore: t.Boolean({ description: 'More points match past this page' }),
	nextIndex: t.Union([t.Number(), t.Null()], { description: 'Send as startIndex to read on; null when nothing is left' }),
})

const Column = t.Array(t.Union([t.Number(), t.Null()]))
export const TrackSeries = t.Object({
	trackName: t.String(),
	x: t.String(),
	keys: t.Array(t.String()),
	maxPoints: t.Number(),
	points: t.Number({ description: 'Points folded into the buckets' }),
	buckets: t.Number(),
	bucketWidth: t.Union([t.Number(), t.Null()], { description: 'How much of x each bucket covers' }),
	series: t.Object({
		x: t.Array(t.Number(), { description: 'Each bucket’s smallest x' }),
		count: t.Array(t.Number()),
		values: t.Record(t.String(), t.Object({ min: Column, max: Column, mean: Column, last: Column })),
	}),
})

const summaryFields = {
	trackId: t.String(),
	name: t.String(),
	description: t.Union([t.String(), t.Null()]),
	tags: t.Array(t.String()),
	totalDataPoints: t.Number(),
	keys: t.Array(t.String()),
	firstDataAt: t.Union([Timestamp, t.Null()]),
	lastDataAt: t.Union([Timestamp, t.Null()]),
	createdAt: Timestamp,
}

export const TrackSummary = t.Object(summaryFields)
/** Tracks a page of the track list holds at most (and by default). */
export const LIST_PAGE_MAX = 1000

export const TrackStats = t.Object({
	...summaryFields,
	id: t.String(),
	trackName: t.String(),
	path: t.String(),
	metadata: Metadata,
	length: t.Number(),
	bufferedDataPoints: t.Number({ description: 'Always 0: every point is in a chunk once acknowledged' }),
	chunkedDataPoints: t.Number(),
	totalChunks: t.Number(),
	chunkSize: t.Number(),
	updatedAt: Timestamp,
})

export const TrackDeleted = t.Object({ id: t.String(), name: t.String(), deletedAt: Timestamp })

/** A track name from the path: 1 to 255 characters, no control characters (`/` is allowed). */
export const isTrackName = (name: string | null | undefined): name is string =>
	typeof name === 'string' && name.length >= 1 && name.length <= TRACK_NAME_MAX_LENGTH && !hasControlCharacters(name)

/**
 * The points of a batch, checked in one pass: JSON objects, at most 1,000 keys of 1 to 255
 * characters each, none of them `__proto__`-like, and `_ts` a number when present. Else a 422
 * naming the point (`dataPoints.12._ts`).
 */
export function checkPoints(points: unknown[], field: string): Point[] {
	for (let i = 0; i < points.length; i++) checkPoint(points[i], `${field}.${i}`)
	return points as Point[]
}

/** One point, as `checkPoints` checks each; the 422 names `field` (`data`, `dataPoints.3`). */
export function checkPoint(point: unknown, field: string): Point {
	if (point === null || typeof point !== 'object' || Array.isArray(point)) throw invalidField(field, 'must be a JSON object')
	let keys = 0
	for (const key in point) {
		if (++keys > KEYS_PER_POINT) throw invalidField(field, `must have at most ${KEYS_PER_POINT} keys`)
		if (key.length === 0 || key.length > KEY_MAX_LENGTH || FORBIDDEN_KEYS.has(key)) throw invalidField(field, `has a key that is empty, over ${KEY_MAX_LENGTH} characters, or reserved`)
	}
	const ts = (point as Point)._ts
	if (ts !== undefined && (typeof ts !== 'number' || !Number.isFinite(ts))) throw invalidField(`${field}._ts`, 'must be a number (epoch seconds)')
	return point as Point
}

export const toTrackSummary = (row: TrackRow) => ({
	trackId: formatRowId(row.id),
	name: row.name,
	description: row.description,
	tags: row.tags,
	totalDataPoints: row.total,
	keys: row.keys,
	firstDataAt: isoOrNull(row.firstDataAt),
	lastDataAt: isoOrNull(row.lastDataAt),
	createdAt: iso(row.createdAt),
})

export const toTrackStats = (row: TrackRow) => ({
	...toTrackSummary(row),
	id: formatRowId(row.id),
	trackName: row.name,
	path: row.name,
	metadata: row.metadata,
	length: row.total,
	bufferedDataPoints: 0,
	chunkedDataPoints: row.total,
	totalChunks: row.chunks,
	chunkSize: CHUNK_POINTS,
	updatedAt: iso(row.updatedAt),
})
