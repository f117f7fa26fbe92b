import { and, asc, count, eq, isNull, sql } from 'drizzle-orm'
import { BoundedMap } from '../bounded-map'
import { sqliteErrorOf, type Db } from '../db/client'
import { newRowId } from '../db/ids'
import { DbMeter, metered, meteredRows, tally } from '../db/meter'
import { tracks, type TrackRow } from '../db/schema'
import type { Tx, WriteQueue } from '../db/write-queue'
import type { EpisodeActivity } from '../episodes/model'
import type { EventHub } from '../events/hub'
import { decodeChunk, encodeBlocks, encodeChunk, joinRanges, keyRanges, pointsOf, summarize, toColumns, type Column, type KeyRange, type Point } from './codec'

/** Points per chunk at most: a `data` page of 10,000 points reads three or four chunks. */
export const CHUNK_POINTS = 4096
/** A small append (the single `append`, a short flush) joins the last chunk while that stays under this. */
export const TAIL_POINTS = 512

/** What an append needs of a live track, kept in memory and updated inside each write. */
interface TrackState {
	id: number
	total: number
	chunks: number
	keys: string[]
	/** The last chunk, when small enough for the next small append to join it. */
	tail: { startIndex: number; count: number } | null
}

export interface TrackFields {
	description?: string | null
	tags?: string[]
	metadata?: Record<string, unknown>
}

export interface StoredChunk {
	startIndex: number
	count: number
	createdAt: number
	data: Uint8Array
}

export interface StoredSummary {
	startIndex: number
	count: number
	/** JSON: per key, count, min, max, sum and last of its numbers (tracks/codec.ts, summarize). */
	summary: string
}

export interface StoredBlocks {
	startIndex: number
	count: number
	blocks: Uint8Array
}

export class TrackDeletedError extends Error {
	constructor(readonly track: TrackRow) {
		super('track deleted')
	}
}

const stateKey = (episodeId: number, name: string) => `${episodeId}/${name}`

/**
 * Tracks and their chunks in SQLite. An append of up to 4,096 points is one INSERT of one chunk and
 * one UPDATE of the track; each live track's next index stays in memory (set inside the write, so
 * the next append in the same group commit numbers on from it; dropped when a write fails).
 */
export class TrackRepository {
	private readonly states: BoundedMap<string, TrackState>
	private readonly q

	constructor(
		private readonly db: Db,
		private readonly writes: WriteQueue,
		private readonly activity: EpisodeActivity,
		private readonly events: EventHub,
		{ cacheSize = 10_000 }: { cacheSize?: number } = {},
	) {
		this.states = new BoundedMap(cacheSize)
		const sqlite = db.$client
		this.q = {
			byName: db
				.select()
				.from(tracks)
				.where(and(eq(tracks.episodeId, sql.placeholder('episodeId')), eq(tracks.name, sql.placeholder('name'))))
				.prepare(),
			// an append's update of its track: one prepared statement (drizzle built and prepared one per batch: 7% of an ingest)
			advance: sqlite.prepare<never, [number, number, number, string | null, number]>(
				'UPDATE tracks SET total = ?2, chunks = ?3, keys = coalesce(?4, keys), first_data_at = coalesce(first_data_at, ?5), last_data_at = ?5, updated_at = ?5 WHERE id = ?1',
			),
			tail: sqlite.prepare<{ startIndex: number; count: number }, [number]>('SELECT start_index AS startIndex, count FROM track_chunks WHERE track_id = ? ORDER BY start_index DESC LIMIT 1'),
			chunkData: sqlite.prepare<{ data: Uint8Array }, [number, number]>('SELECT data FROM track_chunks WHERE track_id = ? AND start_index = ?'),
			insertChunk: sqlite.prepare<never, [number, number, number, number | null, number | null, string, number, Uint8Array, Uint8Array]>(
				'INSERT INTO track_chunks (track_id, start_index, count, min_ts, max_ts, summary, created_at, blocks, data) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
			),
			replaceChunk: sqlite.prepare<never, [number, number | null, number | null, string, Uint8Array, Uint8Array, number, number]>(
				'UPDATE track_chunks SET count = ?, min_ts = ?, max_ts = ?, summary = ?, blocks = ?, data = ? WHERE track_id = ? AND start_index = ?',
			),
			blocks: sqlite.prepare<StoredBlocks, [number, number, number]>(
				`SELECT start_index AS startIndex, count, blocks FROM track_chunks
				WHERE track_id = ?1 AND start_index >= coalesce((SELECT max(start_index) FROM track_chunks WHERE track_id = ?1 AND start_index <= ?2), 0) AND start_index < ?3
				ORDER BY start_index`,
			),
			blocksInTime: sqlite.prepare<StoredBlocks, [number, number, number, number, number]>(
				`SELECT start_index AS startIndex, count, blocks FROM track_chunks
				WHERE track_id = ?1 AND start_index >= coalesce((SELECT max(start_index) FROM track_chunks WHERE track_id = ?1 AND start_index <= ?2), 0) AND start_index < ?3
				AND max_ts >= ?4 AND min_ts <= ?5
				ORDER BY start_index`,
			),
			// the chunk holding `from` and those after it, up to `to`
			chunks: sqlite.prepare<StoredChunk, [number, number, number]>(
				`SELECT start_index AS startIndex, count, created_at AS createdAt, data FROM track_chunks
				WHERE track_id = ?1 AND start_index >= coalesce((SELECT max(start_index) FROM track_chunks WHERE track_id = ?1 AND start_index <= ?2), 0) AND start_index < ?3
				ORDER BY start_index`,
			),
			summaries: sqlite.prepare<StoredSummary, [number, number, number]>(
				`SELECT start_index AS startIndex, count, summary FROM track_chunks
				WHERE track_id = ?1 AND start_index >= coalesce((SELECT max(start_index) FROM track_chunks WHERE track_id = ?1 AND start_index <= ?2), 0) AND start_index < ?3
				ORDER BY start_index`,
			),
			summariesInTime: sqlite.prepare<StoredSummary, [number, number, number, number, number]>(
				`SELECT start_index AS startIndex, count, summary FROM track_chunks
				WHERE track_id = ?1 AND start_index >= coalesce((SELECT max(start_index) FROM track_chunks WHERE track_id = ?1 AND start_index <= ?2), 0) AND start_index < ?3
				AND max_ts >= ?4 AND min_ts <= ?5
				ORDER BY start_index`,
			),
			// a batch's numbers folded into its track's metric summaries: one statement a key, the old values read by SQLite itself
			summarize: sqlite.prepare<never, [number, number, number, string, string, number, number, number, number, number, number | null, number, number, number | null]>(
				`INSERT INTO metric_summaries (episode_id, project_id, track_id, track_name, key, count, last, last_index, "min", min_index, min_step, "max", max_index, max_step)
				VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)
				ON CONFLICT (episode_id, track_name, key) DO UPDATE SET
					count = count + excluded.count, last = excluded.last, last_index = excluded.last_index,
					"min" = CASE WHEN excluded."min" < "min" THEN excluded."min" ELSE "min" END,
					min_index = CASE WHEN excluded."min" < "min" THEN excluded.min_index ELSE min_index END,
					min_step = CASE WHEN excluded."min" < "min" THEN excluded.min_step ELSE min_step END,
					"max" = CASE WHEN excluded."max" > "max" THEN excluded."max" ELSE "max" END,
					max_index = CASE WHEN excluded."max" > "max" THEN excluded.max_index ELSE max_index END,
					max_step = CASE WHEN excluded."max" > "max" THEN excluded.max_step ELSE max_step END`,
			),
			summariesDeleted: sqlite.prepare<never, [number, number]>('UPDATE metric_summaries SET deleted = ?2 WHERE track_id = ?1'),
			chunkBlocks: sqlite.prepare<{ blocks: Uint8Array }, [number, number]>('SELECT blocks FROM track_chunks WHERE track_id = ? AND start_index = ?'),
			chunksInTime: sqlite.prepare<StoredChunk, [number, number, number, number, number]>(
				`SELECT start_index AS startIndex, count, created_at AS createdAt, data FROM track_chunks
				WHERE track_id = ?1 AND start_index >= coalesce((SELECT max(start_index) FROM track_chunks WHERE track_id = ?1 AND start_index <= ?2), 0) AND start_index < ?3
				AND max_ts >= ?4 AND min_ts <= ?5
				ORDER BY start_index`,
			),
		}
	}

	/** The track of this name under the episode, live or deleted. */
	byName(meter: DbMeter, episodeId: number, name: string): TrackRow | undefined {
		return metered(meter, () => this.q.byName.get({ episodeId, name }))
	}

	/** A page of the episode's tracks, live ones (or deleted ones), by name, and how many there are. */
	list(meter: DbMeter, episodeId: number, { deleted, offset, limit }: { deleted: boolean; offset: number; limit: number }): { rows: TrackRow[]; total: number } {
		const where = and(eq(tracks.episodeId, episodeId), deleted ? sql`${tracks.deletedAt} IS NOT NULL` : isNull(tracks.deletedAt))
		return metered(meter, () => ({
			rows: this.db.select().from(tracks).where(where).orderBy(asc(tracks.name)).limit(limit).offset(offset).all(),
			total: this.db.select({ n: count() }).from(tracks).where(where).get()!.n,
		}))
	}

	/** How many live tracks the episode has. */
	countLive(meter: DbMeter, episodeId: number): number {
		return metered(meter, () => this.db.select({ n: count() }).from(tracks).where(and(eq(tracks.episodeId, episodeId), isNull(tracks.deletedAt))).get()!.n)
	}

	/**
	 * Appends the points as one contiguous range of indexes, creating the track on its first append
	 * (the fields sent replace the stored ones); all or nothing. Throws TrackDeletedError for the
	 * name of a deleted track.
	 */
	async append(meter: DbMeter, episode: { id: number; projectId: number }, name: string, points: Point[], fields: TrackFields): Promise<{ trackId: number; startIndex: number }> {
		const episodeId = episode.id
		const key = stateKey(episodeId, name)
		return this.writes.run(meter, (tx) => {
			// a write rolled back after this job counted on it: read the track again next time
			tx.onRollback(() => this.states.delete(key))
			this.activity.touch(tx, episodeId)
			const known = this.states.get(key) ?? this.loadState(episodeId, name)
			const state = known ?? this.create(episodeId, name)
			const startIndex = state.total
			const now = Date.now()
			let chunks = state.chunks
			let tail = state.tail
			let keys = state.keys
			let ranges: Map<string, KeyRange>
			if (points.length < TAIL_POINTS && tail && tail.count + points.length <= TAIL_POINTS) {
				tally()
				const stored = this.q.chunkData.get(state.id, tail.startIndex)!.data
				const decoded = decodeChunk(stored)
				const joined = pointsOf(decoded, 0, decoded.count).concat(points)
				tally()
				const columns = this.writeChunk(state.id, tail.startIndex, joined, now, 'replace')
				keys = mergedKeys(keys, columns)
				ranges = keyRanges(columns, decoded.count, startIndex)
				tail = { startIndex: tail.startIndex, count: joined.length }
			} else {
				ranges = new Map()
				for (let from = 0; from < points.length; from += CHUNK_POINTS) {
					const part = points.length <= CHUNK_POINTS ? points : points.slice(from, from + CHUNK_POINTS)
					tally()
					const columns = this.writeChunk(state.id, startIndex + from, part, now, 'insert')
					keys = mergedKeys(keys, columns)
					ranges = joinRanges(ranges, keyRanges(columns, 0, startIndex + from))
					chunks++
					tail = part.length < TAIL_POINTS ? { startIndex: startIndex + from, count: part.length } : null
				}
			}
			const stepAt = stepsOf(points, startIndex)
			for (const [key, r] of ranges) {
				tally()
				this.q.summarize.run(episodeId, episode.projectId, state.id, name, key, r.count, r.last, r.lastAt, r.min, r.minAt, stepAt(r.minAt), r.max, r.maxAt, stepAt(r.maxAt))
			}
			const total = startIndex + points.length
			tally()
			this.q.advance.run(state.id, total, chunks, keys === state.keys ? null : JSON.stringify(keys), now)
			if (Object.keys(fields).length > 0) {
				tally()
				this.db.update(tracks).set(fields).where(eq(tracks.id, state.id)).run()
			}
			// inside the transaction: the next append in it numbers on from here
			this.states.set(key, { id: state.id, total, chunks, keys, tail })
			this.events.episodes.afterCommit(tx, episodeId, 'track', () => trackEvent(name, startIndex, points))
			if (!known) this.countsChanged(tx, episodeId)
			return { trackId: state.id, startIndex }
		})
	}

	/**
	 * The chunks covering points `from` to `to` (exclusive), in order, optionally only those whose
	 * `_ts` range meets [start, end], one row at a time (meteredRows: memory stays bounded however
	 * long the track; do not await while iterating).
	 */
	*chunks(meter: DbMeter, trackId: number, from: number, to: number, time?: { start: number; end: number }): Generator<StoredChunk> {
		yield* meteredRows(meter, () => (time ? this.q.chunksInTime.iterate(trackId, from, to, time.start, time.end) : this.q.chunks.iterate(trackId, from, to)))
	}

	/** The block summaries of the chunks covering points `from` to `to` (exclusive), optionally only those whose `_ts` range meets [start, end]; read as `chunks` is. */
	*blocks(meter: DbMeter, trackId: number, from: number, to: number, time?: { start: number; end: number }): Generator<StoredBlocks> {
		yield* meteredRows(meter, () => (time ? this.q.blocksInTime.iterate(trackId, from, to, time.start, time.end) : this.q.blocks.iterate(trackId, from, to)))
	}

	/** The per-key summaries of the chunks covering points `from` to `to` (exclusive), optionally only those whose `_ts` range meets [start, end]; read as `chunks` is. */
	*summaries(meter: DbMeter, trackId: number, from: number, to: number, time?: { start: number; end: number }): Generator<StoredSummary> {
		yield* meteredRows(meter, () => (time ? this.q.summariesInTime.iterate(trackId, from, to, time.start, time.end) : this.q.summaries.iterate(trackId, from, to)))
	}

	/** The block summaries of the chunk starting at `startIndex`: for a chunk a chart read cannot take whole from its summary. */
	chunkBlocks(meter: DbMeter, trackId: number, startIndex: number): Uint8Array {
		return metered(meter, () => {
			tally()
			return this.q.chunkBlocks.get(trackId, startIndex)!.blocks
		})
	}

	/** The points of the chunk starting at `startIndex`, encoded: for the blocks a chart read cannot fold whole. */
	chunkData(meter: DbMeter, trackId: number, startIndex: number): Uint8Array {
		return metered(meter, () => {
			tally()
			return this.q.chunkData.get(trackId, startIndex)!.data
		})
	}

	async softDelete(meter: DbMeter, episodeId: number, name: string): Promise<TrackRow | undefined> {
		const key = stateKey(episodeId, name)
		const now = new Date()
		return this.writes.run(meter, (tx) => {
			// an append earlier in this same transaction may have just put the state back; and after, committed or not, it is read again
			const forget = () => this.states.delete(key)
			forget()
			tx.afterCommit(forget)
			tx.onRollback(forget)
			this.activity.touch(tx, episodeId)
			this.countsChanged(tx, episodeId)
			const row = this.db
				.update(tracks)
				.set({ deletedAt: now, updatedAt: now })
				.where(and(eq(tracks.episodeId, episodeId), eq(tracks.name, name), isNull(tracks.deletedAt)))
				.returning()
				.get()
			if (row) this.summariesDeleted(row.id, true)
			return row
		})
	}

	async restore(meter: DbMeter, episodeId: number, name: string): Promise<TrackRow | undefined> {
		return this.writes.run(meter, (tx) => {
			const row = this.touched(tx, episodeId)
				.db.update(tracks)
				.set({ deletedAt: null, updatedAt: new Date() })
				.where(and(eq(tracks.episodeId, episodeId), eq(tracks.name, name), sql`${tracks.deletedAt} IS NOT NULL`))
				.returning()
				.get()
			if (row) this.summariesDeleted(row.id, false)
			return row
		})
	}

	/** Inside a write job: the track's metric summaries follow its soft delete (out of every search while deleted). */
	private summariesDeleted(trackId: number, deleted: boolean): void {
		tally()
		this.q.summariesDeleted.run(trackId, deleted ? 1 : 0)
	}

	/** Notes the write to the episode (its last activity, its count of tracks), then goes on. */
	private touched(tx: Tx, episodeId: number): this {
		this.activity.touch(tx, episodeId)
		this.countsChanged(tx, episodeId)
		return this
	}

	/** The episode's count of live tracks, to its watchers once the write has committed (read only when someone watches). */
	private countsChanged(tx: Tx, episodeId: number): void {
		this.events.episodes.afterCommit(tx, episodeId, 'counts', () => ({ trackCount: this.countLive(new DbMeter(), episodeId) }))
	}

	/** Inside a write job: the live track's state as stored; throws for a deleted one; undefined when there is none. */
	private loadState(episodeId: number, name: string): TrackState | undefined {
		tally()
		const row = this.q.byName.get({ episodeId, name })
		if (!row) return undefined
		if (row.deletedAt !== null) throw new TrackDeletedError(row)
		tally()
		const last = this.q.tail.get(row.id)
		return { id: row.id, total: row.total, chunks: row.chunks, keys: row.keys, tail: last && last.count < TAIL_POINTS ? last : null }
	}

	/** Inside a write job: a new, empty track. */
	private create(episodeId: number, name: string): TrackState {
		const now = new Date()
		for (;;) {
			try {
				tally()
				const row = this.db.insert(tracks).values({ id: newRowId(), episodeId, name, createdAt: now, updatedAt: now }).returning().get()
				return { id: row.id, total: 0, chunks: 0, keys: [], tail: null }
			} catch (error) {
				if (sqliteErrorOf(error)?.code !== 'SQLITE_CONSTRAINT_PRIMARYKEY') throw error // an id taken after a clock step: draw again
			}
		}
	}

	/** Encodes and stores one chunk; returns its columns (their keys are the track's new keys, if any). */
	private writeChunk(trackId: number, startIndex: number, points: Point[], now: number, how: 'insert' | 'replace'): Column[] {
		const { columns, minTs, maxTs, summary, blocks, data } = chunkRow(points)
		const text = JSON.stringify(summary)
		if (how === 'insert') this.q.insertChunk.run(trackId, startIndex, points.length, minTs, maxTs, text, now, blocks, data)
		else this.q.replaceChunk.run(points.length, minTs, maxTs, text, blocks, data, trackId, startIndex)
		return columns
	}
}

/** What a chunk row stores of `points`, as both databases store it: the encoded points, their block summaries, the per-key summary and the `_ts` range. */
export function chunkRow(points: Point[]) {
	const columns = toColumns(points)
	const [minTs, maxTs] = timeRange(columns)
	return { columns, minTs, maxTs, summary: summarize(columns), blocks: encodeBlocks(points.length, columns), data: encodeChunk(points.length, columns) }
}

/** The `step` of the point at a track index, for a batch appended from `startIndex` (null when it has none): where a metric summary's min and max were. */
export function stepsOf(points: Point[], startIndex: number): (index: number) => number | null {
	return (index) => {
		const step = points[index - startIndex]!.step
		return typeof step === 'number' ? step : null
	}
}

/** The smallest and largest numeric `_ts` of the chunk, or nulls when its points have none. */
function timeRange(columns: Column[]): [number | null, number | null] {
	const ts = columns.find((c) => c.key === '_ts')
	if (!ts || ts.values.length === 0) return [null, null]
	let min = Infinity
	let max = -Infinity
	for (const value of ts.values) {
		if (typeof value !== 'number') continue
		if (value < min) min = value
		if (value > max) max = value
	}
	return min === Infinity ? [null, null] : [min, max]
}

/** `known` with the keys of `columns` it lacks appended (the same array when there are none). */
export function mergedKeys(known: string[], columns: Column[]): string[] {
	let merged = known
	for (const column of columns) {
		if (merged.includes(column.key)) continue
		if (merged === known) merged = [...known]
		merged.push(column.key)
	}
	return merged
}

/** Points a `track` event carries itself, so a chart draws them without a read; past it, the range to read. */
export const EVENT_POINTS_MAX = 256

/** The `track` event: the track, the range of indexes appended, the last point, and the points when few. */
function trackEvent(name: string, startIndex: number, points: Point[]) {
	const range = { track: name, startIndex, endIndex: startIndex + points.length - 1, total: startIndex + points.length, last: points[points.length - 1] ?? null }
	return { ...range, points: points.length <= EVENT_POINTS_MAX ? points : null }
}
