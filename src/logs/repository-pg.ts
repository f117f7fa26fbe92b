import { asc, desc, eq, sql } from 'drizzle-orm'
import type { BunSQLDatabase } from 'drizzle-orm/bun-sql'
import { meteredAsync, tally, type DbMeter } from '../db/meter'
import type { PgWriteQueue } from '../db/postgres-write-queue'
import type * as schema from '../db/schema-pg'
import { logEntries, logSummaries } from '../db/schema-pg'
import { containing } from '../db/sql'
import { logConditions, type LogQuery, type StoredLog } from './repository'
import type { LogRow } from './model'

/** Rows per INSERT, as on SQLite: one statement for the SDK's single line and for a batch of 100. */
const ROWS_PER_INSERT = 128

/**
 * Log lines in PostgreSQL, where several server processes append to one episode at once. The
 * sequence numbers are allocated in the database, not in memory: the append first takes the
 * episode's summary row (created when missing) under a row lock and reads its total, one
 * statement; the summary trigger (migration 0001) adds the lines to it in the INSERT's own
 * statement; the lock is held to the commit, so another process's append to the same episode
 * waits for it and numbers on from its end: gapless and disjoint across processes. The queue runs
 * a group's writes in episode order, so two processes' groups lock episodes in the same order and
 * do not deadlock (should one still happen, the queue runs the losing group again).
 */
export class PgLogRepository {
	constructor(
		private readonly db: BunSQLDatabase<typeof schema>,
		private readonly writes: PgWriteQueue,
	) {}

	/** Stores the lines as one contiguous range of sequence numbers; all or nothing. */
	async append(meter: DbMeter, episodeId: number, rows: LogRow[]): Promise<{ start: number; end: number }> {
		return this.writes.run(meter, async (tx) => {
			tally()
			// a no-op update takes the row lock and returns the total; the insert makes the row the first time
			const [held] = await tx.sql`INSERT INTO log_summaries AS s (episode_id) VALUES (${episodeId})
				ON CONFLICT (episode_id) DO UPDATE SET total = s.total RETURNING total`
			const start = Number(held.total)
			for (let offset = 0; offset < rows.length; offset += ROWS_PER_INSERT) {
				const count = Math.min(ROWS_PER_INSERT, rows.length - offset)
				const values = Array.from({ length: count }, (_, i) => {
					const row = rows[offset + i]!
					// the last line of a statement carries its first sequence, as SQLite's trigger wants: the rows are the same on both
					return { episode_id: episodeId, sequence: start + offset + i, timestamp: row.timestamp, level: row.level, message: row.message, metadata: row.metadata, closes_batch: i === count - 1 ? start + offset : null }
				})
				tally()
				await tx.sql`INSERT INTO log_entries ${tx.sql(values)}`
			}
			return { start, end: start + rows.length - 1 }
		}, episodeId)
	}

	read(meter: DbMeter, episodeId: number, query: LogQuery): Promise<StoredLog[]> {
		return meteredAsync(meter, () =>
			this.db
				.select()
				.from(logEntries)
				// ILIKE: case-insensitive as SQLite's LIKE is (there for ASCII only; here for all of Unicode)
				.where(logConditions(logEntries, episodeId, query, (column, text) => sql`${column} ILIKE ${containing(text)} ESCAPE '\\'`))
				.orderBy((query.dir === 'asc' ? asc : desc)(logEntries.sequence))
				.limit(query.limit),
		)
	}

	/** Lines stored for the episode: its summary's total, without counting. */
	async total(meter: DbMeter, episodeId: number): Promise<number> {
		const [row] = await meteredAsync(meter, () => this.db.select({ total: logSummaries.total }).from(logSummaries).where(eq(logSummaries.episodeId, episodeId)))
		return row?.total ?? 0
	}
}
