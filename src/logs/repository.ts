import type { Statement } from 'bun:sqlite'
import { and, asc, desc, eq, gt, gte, inArray, lt, lte, sql, type Column, type SQL } from 'drizzle-orm'
import { BoundedMap } from '../bounded-map'
import type { Db } from '../db/client'
import { metered, tally, type DbMeter } from '../db/meter'
import { logEntries, logSummaries, type LogSummaryRow } from '../db/schema'
import { likeAnywhere } from '../db/sql'
import type { WriteQueue } from '../db/write-queue'
import { EVENT_LINES_MAX_BYTES, toLogLine, type LogRow } from './model'
import type { EpisodeActivity } from '../episodes/model'
import type { EventHub } from '../events/hub'

export interface LogQuery {
	afterSequence?: number
	dir: 'asc' | 'desc'
	limit: number
	levels: number[]
	search?: string
	/** Microseconds, inclusive. */
	startTime?: number
	endTime?: number
}

export interface StoredLog extends LogRow {
	sequence: number
}

/** The columns a log read filters on, as both databases' `log_entries` tables have them. */
interface LogColumns {
	episodeId: Column
	sequence: Column
	level: Column
	message: Column
	timestamp: Column
}

/**
 * The WHERE of a log read, the same on SQLite and PostgreSQL: the episode, after a sequence in
 * the read's direction, levels, a time window, and the search in the database's own case-insensitive
 * `like` (SQLite's LIKE, PostgreSQL's ILIKE).
 */
export function logConditions(table: LogColumns, episodeId: number, query: LogQuery, like: (column: Column, text: string) => SQL): SQL | undefined {
	const { afterSequence, dir, levels, search, startTime, endTime } = query
	return and(
		eq(table.episodeId, episodeId),
		afterSequence === undefined ? undefined : dir === 'asc' ? gt(table.sequence, afterSequence) : lt(table.sequence, afterSequence),
		levels.length > 0 ? inArray(table.level, levels) : undefined,
		search ? like(table.message, search) : undefined,
		startTime === undefined ? undefined : gte(table.timestamp, startTime),
		endTime === undefined ? undefined : lte(table.timestamp, endTime),
	)
}

/** Rows per INSERT: one statement for the SDK's single line and for a batch of 100, at most 8 for 1,000. */
const ROWS_PER_INSERT = 128

/**
 * Log lines in SQLite, clustered by (episode, sequence). An append is one multi-row INSERT per
 * 128 lines; the per-episode summary follows each INSERT by trigger (drizzle/0002), once per
 * statement, and the next sequence number of each episode stays in memory, so an append to a known
 * episode sends nothing else.
 */
export class LogRepository {
	/** Next sequence number per episode; dropped whenever a write fails, to be read again. */
	private readonly nextSequence: BoundedMap<number, number>
	/** `INSERT … VALUES (…), (…)` with n rows, at index n, prepared on first use. */
	private readonly inserts: Statement[] = []
	private readonly q

	constructor(
		private readonly db: Db,
		private readonly writes: WriteQueue,
		private readonly activity: EpisodeActivity,
		private readonly events: EventHub,
		{ cacheSize = 10_000 }: { cacheSize?: number } = {},
	) {
		this.nextSequence = new BoundedMap(cacheSize)
		this.q = {
			total: db.$client.prepare<{ total: number }, [number]>('SELECT total FROM log_summaries WHERE episode_id = ?'),
			summary: db
				.select()
				.from(logSummaries)
				.where(eq(logSummaries.episodeId, sql.placeholder('episodeId')))
				.prepare(),
		}
	}

	/** Stores the lines as one contiguous range of sequence numbers; all or nothing. */
	async append(meter: DbMeter, episodeId: number, rows: LogRow[]): Promise<{ start: number; end: number }> {
		return this.writes.run(meter, (tx) => {
			// a write rolled back after this job counted on it: read the number again next time
			tx.onRollback(() => this.nextSequence.delete(episodeId))
			this.activity.touch(tx, episodeId)
			const start = this.nextSequence.get(episodeId) ?? this.storedTotal(episodeId)
			for (let offset = 0; offset < rows.length; offset += ROWS_PER_INSERT) this.insert(episodeId, start + offset, rows, offset, Math.min(ROWS_PER_INSERT, rows.length - offset))
			// inside the transaction: the next append in it numbers on from here
			this.nextSequence.set(episodeId, start + rows.length)
			this.events.episodes.afterCommit(tx, episodeId, 'logs', () => logsEvent(start, rows))
			return { start, end: start + rows.length - 1 }
		})
	}

	read(meter: DbMeter, episodeId: number, query: LogQuery): StoredLog[] {
		return metered(meter, () =>
			this.db
				.select()
				.from(logEntries)
				.where(logConditions(logEntries, episodeId, query, likeAnywhere))
				.orderBy((query.dir === 'asc' ? asc : desc)(logEntries.sequence))
				.limit(query.limit)
				.all(),
		)
	}

	summary(meter: DbMeter, episodeId: number): LogSummaryRow | undefined {
		return metered(meter, () => this.q.summary.get({ episodeId }))
	}

	/** Lines stored for the episode: its summary's total, without counting. */
	total(meter: DbMeter, episodeId: number): number {
		return this.summary(meter, episodeId)?.total ?? 0
	}

	private storedTotal(episodeId: number): number {
		tally()
		return this.q.total.get(episodeId)?.total ?? 0
	}

	/** One INSERT of `count` lines; its last one carries `closes_batch`, for the summary trigger. */
	private insert(episodeId: number, firstSequence: number, rows: LogRow[], from: number, count: number): void {
		const values: (string | number | null)[] = new Array(count * 6 + 1)
		for (let i = 0; i < count; i++) {
			const row = rows[from + i]!
			const at = i * 6
			values[at] = episodeId
			values[at + 1] = firstSequence + i
			values[at + 2] = row.timestamp
			values[at + 3] = row.level
			values[at + 4] = row.message
			values[at + 5] = row.metadata
		}
		values[count * 6] = firstSequence
		tally()
		this.insertOf(count).run(...values)
	}

	private insertOf(rows: number): Statement {
		const line = '(?,?,?,?,?,?,NULL)'
		return (this.inserts[rows] ??= this.db.$client.prepare(
			`INSERT INTO log_entries (episode_id, sequence, timestamp, level, message, metadata, closes_batch) VALUES ${Array.from({ length: rows - 1 }, () => `${line},`).join('')}(?,?,?,?,?,?,?)`,
		))
	}
}

/** The `logs` event: the range appended, the count it makes, and the lines themselves unless they are many bytes. */
function logsEvent(start: number, rows: LogRow[]) {
	let bytes = 0
	for (const row of rows) bytes += row.message.length + (row.metadata?.length ?? 0)
	const range = { startSequence: start, endSequence: start + rows.length - 1, logCount: start + rows.length }
	return bytes > EVENT_LINES_MAX_BYTES ? { ...range, lines: null } : { ...range, lines: rows.map((row, i) => toLogLine(start + i, row)) }
}
