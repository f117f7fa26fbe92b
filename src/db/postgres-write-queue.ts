import type { ReservedSQL, SQL } from 'bun'
import { drizzle, type BunSQLDatabase } from 'drizzle-orm/bun-sql'
import { DbMeter, meteredAsync, statementCounter } from './meter'
import { asDatabaseFailure, classifyPostgresError, DatabaseUnavailableError, isConnectionLost } from './postgres-errors'
import * as schema from './schema-pg'
import { JobHooks, type TxHooks } from './write-queue'

/** A PostgreSQL write job's proof that it runs inside the group's transaction, on the connection the queue holds for it. */
export interface PgTx extends TxHooks<Promise<void> | void> {
	/** drizzle over the queue's connection, inside the transaction. */
	readonly db: BunSQLDatabase<typeof schema>
	/** The same connection without drizzle, for what drizzle cannot say (`SELECT … FOR UPDATE SKIP LOCKED`, `pg_notify`). */
	readonly sql: ReservedSQL
}

export interface PgWriteQueueOptions {
	/** Writes waiting at most (beyond them a write is refused at once with a 503): a slow database queues with a bound. */
	maxQueued?: number
	/** Writes in one transaction at most. */
	maxGroup?: number
	/** A group that has not committed after this long is given up (its writes answer 503) and its connection closed. */
	groupTimeoutMs?: number
}

/** Whole-group reruns after a deadlock or serialization failure, before the write that met it fails. */
const MAX_RETRIES = 3

type Step = (afterCommit: (then: () => void) => void) => Promise<void> | void

interface Job {
	work: (tx: PgTx) => unknown
	meter: DbMeter
	lockOrder: number
	resolve: (value: unknown) => void
	reject: (error: unknown) => void
}

class PgJobTx extends JobHooks<Promise<void> | void> implements PgTx {
	constructor(
		readonly db: BunSQLDatabase<typeof schema>,
		readonly sql: ReservedSQL,
		group: Map<string, Step>,
	) {
		super(group)
	}
}

/** The connection a queue writes on: reserved from the pool, kept while it works, replaced once lost. */
interface Connection {
	sql: ReservedSQL
	db: BunSQLDatabase<typeof schema>
}

/**
 * Group commit on PostgreSQL: the writes waiting when a group starts share one transaction on one
 * reserved connection, one group at a time per process (the next gathers while this one commits).
 * No savepoint per write, since each would cost two round trips: a write that fails rolls the
 * group back, fails alone, and the others run again at once, each in a savepoint this time
 * (two transactions at most, whatever fails). A write's promise settles only after its COMMIT; a
 * lost connection fails the group's writes with DatabaseUnavailableError (a 503) and the next
 * group takes a new connection, so the server recovers by itself when the database is back.
 * A job may run more than once: it must keep memory in step only through its hooks.
 */
export class PgWriteQueue {
	private jobs: Job[] = []
	/** The drain at work, while there is one: what close() waits for. */
	private draining: Promise<void> | undefined
	private connection: Connection | undefined
	private readonly maxQueued: number
	private readonly maxGroup: number
	private readonly groupTimeoutMs: number

	constructor(
		private readonly pool: SQL,
		options: PgWriteQueueOptions = {},
	) {
		this.maxQueued = options.maxQueued ?? 10_000
		this.maxGroup = options.maxGroup ?? 1_000
		this.groupTimeoutMs = options.groupTimeoutMs ?? 10_000
	}

	/**
	 * Runs `work` in the next group transaction; its statements are charged to `meter`. `lockOrder`
	 * is the key it takes row locks under (the episode whose rows it writes): a group runs its writes
	 * in ascending order of it (keeping their order among equals), so two processes' groups take
	 * their locks in the same order and do not deadlock. Writes without one run first, in order.
	 */
	run<T>(meter: DbMeter, work: (tx: PgTx) => Promise<T> | T, lockOrder = -1): Promise<T> {
		if (this.jobs.length >= this.maxQueued) return Promise.reject(new DatabaseUnavailableError(`the write queue is full (${this.maxQueued} writes waiting)`))
		return new Promise<T>((resolve, reject) => {
			meter.transactions++
			this.jobs.push({ work, meter, lockOrder, resolve: resolve as (value: unknown) => void, reject })
			this.draining ??= this.drain()
		})
	}

	/** Writes waiting for a group. */
	get queued(): number {
		return this.jobs.length
	}

	/** Waits for the writes already queued, then gives the connection back to the pool. */
	async close(): Promise<void> {
		while (this.draining) await this.draining
		this.connection?.sql.release()
		this.connection = undefined
	}

	private async drain(): Promise<void> {
		// the writes of this turn of the event loop join the first group too
		await new Promise((resolve) => setImmediate(resolve))
		try {
			while (this.jobs.length > 0) {
				// a stable sort: writes to one episode keep the order they came in
				const group = this.jobs.splice(0, this.maxGroup).sort((a, b) => a.lockOrder - b.lockOrder)
				await this.withDeadline(group, () => this.runGroup(group, false))
			}
		} finally {
			this.draining = undefined
		}
	}

	/** Runs a group, or fails its writes as unavailable when it has not settled in time (and drops the connection, which rolls back what it held). */
	private async withDeadline(group: Job[], work: () => Promise<void>): Promise<void> {
		let timer: ReturnType<typeof setTimeout> | undefined
		const settled = new Set<Job>()
		for (const job of group) {
			const { resolve, reject } = job
			job.resolve = (value) => (settled.add(job), resolve(value))
			job.reject = (error) => (settled.add(job), reject(error))
		}
		const timedOut = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), this.groupTimeoutMs)))
		const outcome = await Promise.race([work().then(() => 'done' as const), timedOut])
		clearTimeout(timer)
		if (outcome === 'done') return
		this.dropConnection()
		const error = new DatabaseUnavailableError(`PostgreSQL did not commit a write within ${this.groupTimeoutMs} ms`)
		for (const job of group) if (!settled.has(job)) job.reject(error)
	}

	private async connect(): Promise<Connection> {
		if (this.connection) return this.connection
		const sql = await this.pool.reserve()
		this.connection = { sql, db: drizzle({ client: sql as unknown as SQL, schema, logger: statementCounter }) }
		return this.connection
	}

	/** Forgets `lost` (when it is still the queue's connection) and closes it: the server rolls back what it held. */
	private dropConnection(lost: Connection | undefined = this.connection): void {
		if (!lost) return
		if (this.connection === lost) this.connection = undefined
		void Promise.resolve()
			.then(() => lost.sql.close({ timeout: 0 }))
			.catch(() => lost.sql.release())
	}

	/** Times a group met a deadlock or a serialization failure and ran again whole (no write's fault: another process locked in another order). */
	retries = 0

	private async runGroup(group: Job[], savepoints: boolean, attempt = 0): Promise<void> {
		if (group.length === 0) return
		const steps = new Map<string, Step>()
		// per job, its hooks and what it returned or threw
		const txs: PgJobTx[] = []
		const results: { ok: boolean; value: unknown }[] = []
		const undoAll = () => txs.forEach((tx, i) => results[i]?.ok !== false && tx.rolledBack())
		let connection: Connection | undefined
		try {
			connection = await this.connect()
			await connection.sql`BEGIN`
		} catch (error) {
			return this.lost(group, connection, undoAll, error)
		}
		const { sql, db } = connection
		for (const [i, job] of group.entries()) {
			const tx = new PgJobTx(db, sql, steps)
			txs.push(tx)
			try {
				if (savepoints) await sql`SAVEPOINT write`
				const value = await meteredAsync(job.meter, () => job.work(tx))
				if (savepoints) await sql`RELEASE SAVEPOINT write`
				results.push({ ok: true, value })
			} catch (error) {
				if (isConnectionLost(error)) return this.lost(group, connection, undoAll, error)
				try {
					if (savepoints) {
						await sql`ROLLBACK TO SAVEPOINT write`
						await sql`RELEASE SAVEPOINT write`
					} else await sql`ROLLBACK`
				} catch (lostToo) {
					return this.lost(group, connection, undoAll, lostToo)
				}
				if (classifyPostgresError(error) === 'retry' && attempt < MAX_RETRIES) {
					// a deadlock with another process's group, or a serialization failure: the whole transaction is gone, and the same work again will do
					if (savepoints) {
						try {
							await sql`ROLLBACK`
						} catch (lostToo) {
							return this.lost(group, connection, undoAll, lostToo)
						}
					}
					undoAll()
					this.retries++
					return this.runGroup(group, savepoints, attempt + 1)
				}
				if (savepoints) {
					tx.rolledBack()
					results.push({ ok: false, value: error })
					continue
				}
				// without savepoints the whole transaction is gone: this write fails alone, the others run again with savepoints
				undoAll()
				job.reject(error)
				return this.runGroup([...group.slice(0, i), ...group.slice(i + 1)], true, attempt)
			}
		}
		const groupCommitted: (() => void)[] = []
		try {
			for (const step of steps.values()) await step((then) => groupCommitted.push(then))
			await sql`COMMIT`
		} catch (error) {
			if (isConnectionLost(error)) return this.lost(group, connection, undoAll, error)
			try {
				await sql`ROLLBACK`
			} catch {
				this.dropConnection(connection)
			}
			undoAll()
			for (const job of group) job.reject(error)
			return
		}
		for (const fn of groupCommitted) fn()
		group.forEach((job, i) => {
			const result = results[i]!
			if (!result.ok) return job.reject(result.value)
			for (const fn of txs[i]!.committed) fn()
			job.resolve(result.value)
		})
	}

	/** The connection is gone mid-group: nothing of the group committed; its writes fail as unavailable, the next group reconnects. */
	private lost(group: Job[], connection: Connection | undefined, undo: () => void, error: unknown): void {
		this.dropConnection(connection)
		undo()
		const failure = asDatabaseFailure(error)
		const unavailable = failure instanceof DatabaseUnavailableError ? failure : new DatabaseUnavailableError('PostgreSQL failed while a write was in flight', { cause: error })
		for (const job of group) job.reject(unavailable)
	}
}
