import type { Database } from 'bun:sqlite'
import { DbMeter, metered } from './meter'

interface Job {
	work: () => unknown
	meter: DbMeter
	resolve: (value: unknown) => void
	reject: (error: unknown) => void
}

const queues = new WeakMap<Database, WriteQueue>()

/** The one write queue of a database connection, shared by every feature's repository. */
export function writeQueueOf(sqlite: Database): WriteQueue {
	let queue = queues.get(sqlite)
	if (!queue) queues.set(sqlite, (queue = new WriteQueue(sqlite)))
	return queue
}

/**
 * Group commit: the writes that arrive in one turn of the event loop share one transaction, each
 * inside its own savepoint, so one failing write rolls back alone and the others still commit.
 * A commit is the expensive part of a SQLite write here (WAL frames and file locks, bun run bench);
 * one per turn instead of one per request. A write's promise settles only after its commit.
 */
export class WriteQueue {
	private jobs: Job[] = []
	private scheduled = false
	/** Prepared once: compiling these six tiny statements again per write was a few µs of every PATCH. */
	private readonly sql

	constructor(private readonly sqlite: Database) {
		this.sql = {
			begin: sqlite.prepare('BEGIN IMMEDIATE'),
			commit: sqlite.prepare('COMMIT'),
			rollback: sqlite.prepare('ROLLBACK'),
			savepoint: sqlite.prepare('SAVEPOINT write'),
			release: sqlite.prepare('RELEASE write'),
			rollbackToSavepoint: sqlite.prepare('ROLLBACK TO write'),
		}
	}

	/** Runs `work` (synchronous) in the next group transaction; its statements are charged to `meter`. */
	run<T>(meter: DbMeter, work: () => T): Promise<T> {
		return new Promise<T>((resolve, reject) => {
			meter.transactions++
			this.jobs.push({ work, meter, resolve: resolve as (value: unknown) => void, reject })
			this.schedule()
		})
	}

	private schedule(): void {
		if (this.scheduled) return
		this.scheduled = true
		setImmediate(() => this.flush())
	}

	private flush(): void {
		this.scheduled = false
		const jobs = this.jobs
		this.jobs = []
		const outcomes: { ok: boolean; value: unknown }[] = []
		try {
			this.sql.begin.run()
		} catch (error) {
			for (const job of jobs) job.reject(error)
			return
		}
		for (const [i, job] of jobs.entries()) {
			try {
				this.sql.savepoint.run()
				outcomes.push({ ok: true, value: metered(job.meter, job.work) })
				this.sql.release.run()
			} catch (error) {
				if (!this.sqlite.inTransaction) {
					// SQLite rolled the whole transaction back, not just this write: SQLITE_FULL (or an I/O
					// error) in a statement without a statement journal does. The writes before it are gone
					// too, and fail with it; those after it wait for the next transaction, after the failed
					// ones have forgotten what they remembered of theirs (logs' and tracks' next numbers).
					for (const undone of jobs.slice(0, i + 1)) undone.reject(error)
					this.jobs = jobs.slice(i + 1).concat(this.jobs)
					if (this.jobs.length > 0) this.schedule()
					return
				}
				this.sql.rollbackToSavepoint.run()
				this.sql.release.run()
				outcomes.push({ ok: false, value: error })
			}
		}
		try {
			this.sql.commit.run()
		} catch (error) {
			// SQLITE_FULL at COMMIT has already rolled back; a COMMIT that failed otherwise may not have
			try {
				if (this.sqlite.inTransaction) this.sql.rollback.run()
			} catch {
				// every write below fails with the first error either way
			}
			for (const job of jobs) job.reject(error)
			return
		}
		jobs.forEach((job, i) => (outcomes[i]!.ok ? job.resolve(outcomes[i]!.value) : job.reject(outcomes[i]!.value)))
	}
}
