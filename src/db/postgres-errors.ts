import { SQL } from 'bun'

/**
 * What a PostgreSQL failure means to the server: the database out of reach (a 503 the client may
 * retry), its disk full (a 507, as SQLite's SQLITE_FULL), a constraint the repository can answer
 * in the domain's words, or anything else (a bug: a 500). Read from the SQLSTATE code and Bun's
 * client codes, never from the message: the message can quote rows, and drizzle's wrapper quotes
 * the statement with its parameters.
 */
export type PostgresFailure = 'unavailable' | 'disk_full' | 'unique' | 'foreign_key' | 'retry' | 'other'

/** Bun's client codes for a connection that is gone, cannot be made, or gave up waiting. */
const CONNECTION_CODES = new Set([
	'ERR_POSTGRES_CONNECTION_CLOSED',
	'ERR_POSTGRES_CONNECTION_FAILED',
	'ERR_POSTGRES_CONNECTION_REFUSED',
	'ERR_POSTGRES_CONNECTION_TIMEOUT',
	'ERR_POSTGRES_IDLE_TIMEOUT',
	'ERR_POSTGRES_LIFETIME_TIMEOUT',
	'ERR_POSTGRES_TLS_UPGRADE_FAILED',
	'ECONNREFUSED',
	'ECONNRESET',
	'EPIPE',
	'ETIMEDOUT',
])

/** SQLSTATEs of a server that is shutting down, starting, overloaded or out of connections. */
const UNAVAILABLE_STATES = new Set(['57P01', '57P02', '57P03', '53300', '53400', '58030'])

/** `error` and the causes under it (drizzle wraps the client's error in a DrizzleQueryError), a few deep at most. */
function* causes(error: unknown): Generator<Error> {
	for (let e = error, depth = 0; e instanceof Error && depth < 4; e = e.cause, depth++) yield e
}

/** The PostgreSQL error behind a failure, whether thrown by Bun's client or wrapped by drizzle (DrizzleQueryError's cause). */
export function postgresErrorOf(error: unknown): InstanceType<typeof SQL.PostgresError> | undefined {
	for (const e of causes(error)) if (e instanceof SQL.PostgresError) return e
	return undefined
}

export function classifyPostgresError(error: unknown): PostgresFailure {
	const pg = postgresErrorOf(error)
	const code = pg?.code ?? codeOf(error)
	const state = typeof pg?.errno === 'string' ? pg.errno : undefined
	if (state) {
		if (state.startsWith('08') || UNAVAILABLE_STATES.has(state)) return 'unavailable'
		if (state === '53100') return 'disk_full'
		if (state === '23505') return 'unique'
		if (state === '23503') return 'foreign_key'
		// a serialization failure or a deadlock: the same work again may well succeed
		if (state === '40001' || state === '40P01') return 'retry'
		return 'other'
	}
	if (code && CONNECTION_CODES.has(code)) return 'unavailable'
	return 'other'
}

/** Whether the connection that met `error` is of no more use (the next write must take another). */
export function isConnectionLost(error: unknown): boolean {
	return classifyPostgresError(error) === 'unavailable'
}

/** Whether a request that met `error` answers 503 `database_unavailable`: the database out of reach, or a bound of ours in front of it. */
export function isDatabaseUnavailable(error: unknown): boolean {
	return error instanceof DatabaseUnavailableError || isConnectionLost(error)
}

/**
 * The database could not be reached, or gave up, while a request needed it: error-handler.ts
 * answers 503 `database_unavailable`. The message is for the log: a reason, never SQL or a password.
 */
export class DatabaseUnavailableError extends Error {
	constructor(reason: string, options?: { cause?: unknown }) {
		super(reason, options)
		this.name = 'DatabaseUnavailableError'
	}
}

/** `error` as the caller should see it: a lost database becomes a DatabaseUnavailableError naming the code, anything else unchanged. */
export function asDatabaseFailure(error: unknown): unknown {
	if (error instanceof DatabaseUnavailableError || !isConnectionLost(error)) return error
	const pg = postgresErrorOf(error)
	const code = typeof pg?.errno === 'string' ? pg.errno : (pg?.code ?? codeOf(error) ?? 'unknown')
	return new DatabaseUnavailableError(`PostgreSQL is unavailable (${code})`, { cause: error })
}

function codeOf(error: unknown): string | undefined {
	for (const e of causes(error)) {
		const code = (e as { code?: unknown }).code
		if (typeof code === 'string') return code
	}
	return undefined
}
