import type { Database } from 'bun:sqlite'
import { DbMeter, metered } from './meter'

/**
 * What a write job is handed, on either database: the one way to keep memory in step with what is
 * stored. A cache is changed only through these hooks: `afterCommit` for what other requests may
 * read once the write is durable, `onRollback` to undo what a job set for the jobs after it in the
 * same transaction (the next log sequence, a track's next index). `Done` is what a `beforeCommit`
 * step returns: nothing on SQLite (synchronous), a promise on PostgreSQL.
 */
export interface TxHooks<Done = void> {
	/** Runs `fn` once this write has committed, before its promise settles; never when it rolls back. */
	afterCommit(fn: () => void): void
	/** Runs `fn` when this write's work is undone: by its own savepoint, or with the whole transaction. */
	onRollback(fn: () => void): void
	/**
	 * Runs `fn` once for the whole group, after its last write and before its COMMIT, however many of
	 * its writes ask with the same `key`: what many writes share costs one statement (an episode's
	 * last activity). It runs outside any write's savepoint; its failure fails the group's commit.
	 */
	beforeCommit(key: string, fn: (afterCommit: (then: () => void) => void) => Done): void
}

/** A SQLite write job's proof that it runs inside the group's transaction (a repository method that takes a `Tx` may only be called from a job). */
export interface Tx extends TxHooks {
	/** The connection, inside the transaction (SQLite runs one at a time on it). */
	readonly sqlite: Database
}

interface Job {
	work: (tx: Tx) => unknown
	meter: DbMeter
	resolve: (value: unknown) => void
	reject: (error: unknown) => void
}

/** One job's hooks, gathered while it runs; the group's `beforeCommit` steps, shared by its jobs. */
export class JobHooks<Done = void> implements TxHooks<Done> {
	readonly committed: (() => void)[] = []
	readonly undone: (() => void)[] = []
	constructor(private readonly group: Map<string, (afterCommit: (then: () => void) => void) => Done>) {}
	beforeCommit(key: string, fn: (afterCommit: (then: () => void) => void) => Done): void {
		if (!this.group.has(key)) this.group.set(key, fn)
	}
	afterCommit(fn: () => void): void {
		this.committed.push(fn)
	}
	onRollback(fn: () => void): void {
		this.undone.push(fn)
	}
	rolledBack(): void {
		for (const fn of this.undone) fn()
	}
}

class JobTx extends JobHooks implements Tx {
	constructor(
		readonly sqlite: Database,
		group: Map<string, (afterCommit: (then: () => void) => void) => void>,
	) {
		super(group)
	}
}

/**
 * Group commit: the writes that arrive in one turn of the event loop share one transaction, each
 * inside its own savepoint, so one failing write rolls back alone and the others still commit.
 * A commit is the expensive part of a SQLite write here (WAL frames and file locks, bun run bench);
 * one per turn instead of one per request. A write's promise settles only after its commit. The
 * composition root (app.ts) makes one per database and hands it to every repository.
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
	run<T>(meter: DbMeter, work: (tx: Tx) => T): Promise<T> {
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
		const outcomes: { ok: boolean; value: unknown; tx: JobTx }[] = []
		const beforeCommit = new Map<string, (afterCommit: (then: () => void) => void) => void>()
		const groupCommitted: (() => void)[] = []
		try {
			this.sql.begin.run()
		} catch (error) {
			for (const job of jobs) job.reject(error)
			return
		}
		for (const [i, job] of jobs.entries()) {
			const tx = new JobTx(this.sqlite, beforeCommit)
			try {
				this.sql.savepoint.run()
				outcomes.push({ ok: true, value: metered(job.meter, () => job.work(tx)), tx })
				this.sql.release.run()
			} catch (error) {
				if (!this.sqlite.inTransaction) {
					// SQLite rolled the whole transaction back, not just this write: SQLITE_FULL (or an I/O
					// error) in a statement without a statement journal does. The writes before it are gone
					// too, and fail with it; those after it run in the next transaction.
					tx.rolledBack()
					for (const done of outcomes) if (done.ok) done.tx.rolledBack()
					for (const undone of jobs.slice(0, i + 1)) undone.reject(error)
					this.jobs = jobs.slice(i + 1).concat(this.jobs)
					if (this.jobs.length > 0) this.schedule()
					return
				}
				this.sql.rollbackToSavepoint.run()
				this.sql.release.run()
				tx.rolledBack()
				outcomes.push({ ok: false, value: error, tx })
			}
		}
		try {
			for (const fn of beforeCommit.values()) fn((then) => groupCommitted.push(then))
			this.sql.commit.run()
		} catch (error) {
			// SQLITE_FULL at COMMIT has already rolled back; a COMMIT that failed otherwise may not have
			try {
				if (this.sqlite.inTransaction) this.sql.rollback.run()
			} catch {
				// every write below fails with the first error either way
			}
			for (const outcome of outcomes) if (outcome.ok) outcome.tx.rolledBack()
			for (const job of jobs) job.reject(error)
			return
		}
		for (const fn of groupCommitted) fn()
		jobs.forEach((job, i) => {
			const outcome = outcomes[i]!
			if (!outcome.ok) return job.reject(outcome.value)
			for (const fn of outcome.tx.committed) fn()
			job.resolve(outcome.value)
		})
	}
}
