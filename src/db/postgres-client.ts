import { SQL } from 'bun'
import { drizzle, type BunSQLDatabase } from 'drizzle-orm/bun-sql'
import { statementCounter } from './meter'
import * as schema from './schema-pg'

/** drizzle's PostgreSQL dialect over Bun's built-in client (a pool of `max` connections). */
export type PgDb = BunSQLDatabase<typeof schema> & { $client: SQL }

export interface PostgresSettings {
	/** postgres:// or postgresql://, as given: TLS (`sslmode`), timeouts and the rest of its query string are Bun's to read. */
	url: string
	/** Connections this process keeps open at most. */
	poolSize: number
}

/** A PostgreSQL connection that could not be made at start: the message names DATABASE_URL and never carries the password. */
export class PostgresUnavailableError extends Error {}

/**
 * The pool for `settings`; connections open on first use. The database name is passed on its own
 * because Bun would otherwise let a PGDATABASE in the environment win over the URL's.
 */
export function openPostgres(settings: PostgresSettings): PgDb {
	const url = new URL(settings.url)
	const database = decodeURIComponent(url.pathname.replace(/^\//, ''))
	const client = new SQL(settings.url, { max: settings.poolSize, ...(database && { database }) })
	return drizzle({ client, schema, logger: statementCounter }) as PgDb
}

/** Opens one connection now (the pool opens the rest when needed), so a wrong URL or password is found at start. */
export async function connectPostgres(settings: PostgresSettings): Promise<PgDb> {
	const db = openPostgres(settings)
	try {
		await db.$client`SELECT 1`
		return db
	} catch (error) {
		await db.$client.close({ timeout: 0 })
		throw new PostgresUnavailableError(`DATABASE_URL: could not connect to PostgreSQL at ${describePostgresUrl(settings.url)}: ${reason(error, settings.url)}`)
	}
}

export async function closePostgres(db: PgDb): Promise<void> {
	await db.$client.close({ timeout: 5 })
}

/** `user@host:port/database` of a PostgreSQL URL: what log lines and errors may say of it (never the password). */
export function describePostgresUrl(value: string): string {
	const url = new URL(value)
	const user = url.username ? `${decodeURIComponent(url.username)}@` : ''
	return `${user}${url.hostname || url.searchParams.get('host') || 'localhost'}:${url.port || '5432'}${url.pathname.length > 1 ? url.pathname : ''}`
}

/** The first line of the client's error, without the password even if the server echoed it. */
function reason(error: unknown, value: string): string {
	const password = decodeURIComponent(new URL(value).password)
	let text = error instanceof Error ? error.message.split('\n')[0]!.slice(0, 200) : String(error)
	if (password) text = text.replaceAll(password, '***')
	const code = (error as { errno?: unknown; code?: unknown }).errno ?? (error as { code?: unknown }).code
	return typeof code === 'string' && !text.includes(code) ? `${text} (${code})` : text
}
