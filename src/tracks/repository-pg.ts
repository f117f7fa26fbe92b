import type { RowIds } from '../db/ids'
import { meteredAsync, tally, type DbMeter } from '../db/meter'
import type { PgDb } from '../db/postgres-client'
import type { PgTx, PgWriteQueue } from '../db/postgres-write-queue'
import { decodeChunk, joinRanges, keyRanges, pointsOf, type Column, type KeyRange, type Point } from './codec'
import type { TrackRow } from '../db/schema'
import { chunkRow, CHUNK_POINTS, mergedKeys, stepsOf, TAIL_POINTS, TrackDeletedError, type StoredChunk } from './repository'

/**
 * Tracks in PostgreSQL, where several server processes append to one track at once. Its next index
 * is read from the database, not memory: an append takes the track's row under a row lock in its
 * first statement (made the first time: INSERT … ON CONFLICT DO UPDATE … RETURNING), so another
 * process's append waits for the commit and numbers on from its end (gapless, disjoint). The
 * chunks, their block summaries and the metric summaries are SQLite's, byte for byte (codec.ts).
 */
export class PgTrackRepository {
	constructor(
		private readonly db: PgDb,
		private readonly writes: PgWriteQueue,
		private readonly ids: RowIds,
	) {}

	/** Appends the points as one contiguous range of indexes, creating the track on its first append; all or nothing. Throws TrackDeletedError for a deleted track's name. */
	async append(meter: DbMeter, episode: { id: number; projectId: number }, name: string, points: Point[]): Promise<{ trackId: number; startIndex: number }> {
		return this.writes.run(
			meter,
			async (tx) => {
				const now = Date.now()
				const state = await this.lockState(tx, episode.id, name, now)
				const startIndex = state.total
				let chunks = state.chunks
				let keys = state.keys
				let ranges: Map<string, KeyRange>
				if (points.length < TAIL_POINTS && state.tail && state.tail.count + points.length <= TAIL_POINTS) {
					tally()
					const [stored] = await tx.sql`SELECT data FROM track_chunks WHERE track_id = ${state.id} AND start_index = ${state.tail.startIndex}`
					const decoded = decodeChunk(stored.data)
					const joined = pointsOf(decoded, 0, decoded.count).concat(points)
					const columns = await this.writeChunk(tx, state.id, state.tail.startIndex, joined, now, 'replace')
					keys = mergedKeys(keys, columns)
					ranges = keyRanges(columns, decoded.count, startIndex)
				} else {
					ranges = new Map()
					for (let from = 0; from < points.length; from += CHUNK_POINTS) {
						const part = points.length <= CHUNK_POINTS ? points : points.slice(from, from + CHUNK_POINTS)
						const columns = await this.writeChunk(tx, state.id, startIndex + from, part, now, 'insert')
						keys = mergedKeys(keys, columns)
						ranges = joinRanges(ranges, keyRanges(columns, 0, startIndex + from))
						chunks++
					}
				}
				const stepAt = stepsOf(points, startIndex)
				for (const [key, r] of ranges) {
					tally()
					await tx.sql`INSERT INTO metric_summaries AS m (episode_id, project_id, track_id, track_name, key, count, last, last_index, "min", min_index, min_step, "max", max_index, max_step)
						VALUES (${episode.id}, ${episode.projectId}, ${state.id}, ${name}, ${key}, ${r.count}, ${r.last}, ${r.lastAt}, ${r.min}, ${r.minAt}, ${stepAt(r.minAt)}, ${r.max}, ${r.maxAt}, ${stepAt(r.maxAt)})
						ON CONFLICT (episode_id, track_name, key) DO UPDATE SET
							count = m.count + excluded.count, last = excluded.last, last_index = excluded.last_index,
							"min" = LEAST(m."min", excluded."min"),
							min_index = CASE WHEN excluded."min" < m."min" THEN excluded.min_index ELSE m.min_index END,
							min_step = CASE WHEN excluded."min" < m."min" THEN excluded.min_step ELSE m.min_step END,
							"max" = GREATEST(m."max", excluded."max"),
							max_index = CASE WHEN excluded."max" > m."max" THEN excluded.max_index ELSE m.max_index END,
							max_step = CASE WHEN excluded."max" > m."max" THEN excluded.max_step ELSE m.max_step END`
				}
				tally()
				const at = new Date(now)
				await tx.sql`UPDATE tracks SET total = ${startIndex + points.length}, chunks = ${chunks}, keys = ${keys === state.keys ? tx.sql`keys` : tx.sql`${JSON.stringify(keys)}::jsonb`},
					first_data_at = coalesce(first_data_at, ${at}), last_data_at = ${at}, updated_at = ${at} WHERE id = ${state.id}`
				return { trackId: state.id, startIndex }
			},
			episode.id,
		)
	}

	/** The chunks covering points `from` to `to` (exclusive), in order. */
	async chunks(meter: DbMeter, trackId: number, from: number, to: number): Promise<StoredChunk[]> {
		const rows = await meteredAsync(meter, () => {
			tally()
			return this.db.$client`SELECT start_index AS "startIndex", count, created_at AS "createdAt", data FROM track_chunks
			WHERE track_id = ${trackId} AND start_index >= coalesce((SELECT max(start_index) FROM track_chunks WHERE track_id = ${trackId} AND start_index <= ${from}), 0) AND start_index < ${to}
			ORDER BY start_index`
		})
		return rows.map((row: { startIndex: number | string; count: number | string; createdAt: Date; data: Uint8Array }) => ({ startIndex: Number(row.startIndex), count: Number(row.count), createdAt: row.createdAt.getTime(), data: row.data }))
	}

	/** Inside the write: the track's row, locked to the commit (made when missing), and its last chunk when small enough to join. */
	private async lockState(tx: PgTx, episodeId: number, name: string, now: number) {
		const at = new Date(now)
		tally()
		const [row] = await tx.sql`INSERT INTO tracks AS t (id, episode_id, name, created_at, updated_at) VALUES (${this.ids.next(now)}, ${episodeId}, ${name}, ${at}, ${at})
			ON CONFLICT (episode_id, name) DO UPDATE SET name = t.name
			RETURNING id, total, chunks, keys, deleted_at AS "deletedAt"`
		if (row.deletedAt !== null) throw new TrackDeletedError(row as TrackRow)
		const state = { id: Number(row.id), total: Number(row.total), chunks: Number(row.chunks), keys: row.keys as string[], tail: null as { startIndex: number; count: number } | null }
		if (state.chunks > 0) {
			tally()
			const [last] = await tx.sql`SELECT start_index AS "startIndex", count FROM track_chunks WHERE track_id = ${state.id} ORDER BY start_index DESC LIMIT 1`
			if (last && Number(last.count) < TAIL_POINTS) state.tail = { startIndex: Number(last.startIndex), count: Number(last.count) }
		}
		return state
	}

	/** Encodes and stores one chunk; returns its columns. */
	private async writeChunk(tx: PgTx, trackId: number, startIndex: number, points: Point[], now: number, how: 'insert' | 'replace'): Promise<Column[]> {
		const { columns, minTs, maxTs, summary, blocks, data } = chunkRow(points)
		tally()
		if (how === 'insert')
			await tx.sql`INSERT INTO track_chunks (track_id, start_index, count, min_ts, max_ts, summary, created_at, blocks, data)
				VALUES (${trackId}, ${startIndex}, ${points.length}, ${minTs}, ${maxTs}, ${summary}, ${new Date(now)}, ${blocks}, ${data})`
		else
			await tx.sql`UPDATE track_chunks SET count = ${points.length}, min_ts = ${minTs}, max_ts = ${maxTs}, summary = ${summary}, blocks = ${blocks}, data = ${data}
				WHERE track_id = ${trackId} AND start_index = ${startIndex}`
		return columns
	}
}
