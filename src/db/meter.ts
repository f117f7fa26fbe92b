import { AsyncLocalStorage } from 'node:async_hooks'
import type { Logger as DrizzleLogger } from 'drizzle-orm/logger'

/** What serverTiming() formats for a request that sent no statement: most of them. */
const UNTOUCHED = 'db;dur=0.000;desc="0"'

/**
 * What one request asked of the database: statements sent, write transactions, and time spent.
 * Statements are counted by drizzle's query logger, so nothing the ORM sends goes uncounted.
 */
export class DbMeter {
	statements = 0
	transactions = 0
	ms = 0

	/** `Server-Timing` value: `db;dur=<ms>;desc="<statements>"`, plus `db-tx` when a transaction ran. */
	serverTiming(): string {
		if (this.ms === 0 && this.statements === 0 && this.transactions === 0) return UNTOUCHED
		const db = `db;dur=${this.ms.toFixed(3)};desc="${this.statements}"`
		return this.transactions > 0 ? `${db}, db-tx;desc="${this.transactions}"` : db
	}
}

// bun:sqlite is synchronous, so while `metered` runs no other request can touch the database:
// a single slot is enough to know whose statement the logger sees.
let active: DbMeter | undefined
// PostgreSQL's work awaits, and other requests run meanwhile: there the meter travels with the async context
const asyncMeter = new AsyncLocalStorage<DbMeter>()

/** The meter of the work running now: the synchronous block's, else the async context's. */
const current = (): DbMeter | undefined => active ?? asyncMeter.getStore()

export const statementCounter: DrizzleLogger = {
	logQuery() {
		const meter = current()
		if (meter) meter.statements++
	},
}

/** Charges statements sent without drizzle (raw prepared statements on hot paths) to the running block's meter. */
export function tally(statements = 1): void {
	const meter = current()
	if (meter) meter.statements += statements
}

/** Runs asynchronous database work (PostgreSQL's), charging the statements sent from it and its time to `meter`. */
export async function meteredAsync<T>(meter: DbMeter, work: () => Promise<T> | T): Promise<T> {
	const started = performance.now()
	try {
		// awaited inside the context: a drizzle query is a thenable that sends its statement only when awaited
		return await asyncMeter.run(meter, async () => await work())
	} finally {
		meter.ms += performance.now() - started
	}
}

/** Runs a synchronous block of database work, charging its statements and time to `meter`. */
export function metered<T>(meter: DbMeter, work: () => T): T {
	const outer = active
	active = meter
	const started = performance.now()
	try {
		return work()
	} finally {
		meter.ms += performance.now() - started
		active = outer
	}
}

/**
 * The rows of one raw statement (`open` starts its `.iterate()`), read one at a time with each
 * read charged to `meter`, so memory stays bounded however many rows there are. The caller must
 * not await while it iterates (the connection is busy with this statement meanwhile); leaving the
 * loop early ends the read.
 */
export function* meteredRows<T>(meter: DbMeter, open: () => IterableIterator<T>): Generator<T> {
	const rows = metered(meter, () => {
		tally()
		return open()
	})
	try {
		for (;;) {
			const next = metered(meter, () => rows.next())
			if (next.done) return
			yield next.value
		}
	} finally {
		rows.return?.()
	}
}
