import { Database } from 'bun:sqlite'
import type { SQL } from 'bun'
import { existsSync } from 'node:fs'
import { getTableColumns, is } from 'drizzle-orm'
import { getTableConfig as getPgTableConfig, PgTable } from 'drizzle-orm/pg-core'
import { getTableConfig, SQLiteTable } from 'drizzle-orm/sqlite-core'
import { closeDatabase, openDatabase } from './client'
import { migrateDatabase } from './migrate'
import type { PgDb } from './postgres-client'
import { migratePostgres } from './postgres-migrate'
import * as pgSchema from './schema-pg'
import * as sqliteSchema from './schema'
import { acquireServerLock, ServerLockError } from './server-lock'

/** Why the copy did not happen or was undone: one sentence, no SQL, no password. The target is left as it was. */
export class MigrateDataError extends Error {}

export interface TableProgress {
	table: string
	copied: number
	total: number
}

export interface MigrateDataReport {
	tables: { table: string; rows: number; sha256: string }[]
	rows: number
	/** PostgreSQL sequences moved past the largest copied id (none today: every id is made by the server, db/ids.ts). */
	sequences: number
	/** JSON values whose lone UTF-16 surrogates were stored as U+FFFD (jsonb refuses them; the checksum is of what was stored). */
	surrogatesReplaced: number
	copyMs: number
	verifyMs: number
}

/** How a PostgreSQL column's value (`dynamic`: jsonb from SQLite's number, text or JSON blob, parameter_values.value) is converted from SQLite's and written into a canonical form for the checksum. */
type Kind = 'bigint' | 'timestamp' | 'boolean' | 'text' | 'double' | 'jsonb' | 'bytea' | 'dynamic'

interface TablePlan {
	name: string
	columns: { name: string; kind: Kind }[]
	primaryKey: string[]
}

const KINDS: Record<string, Kind> = {
	bigint: 'bigint',
	'timestamp (3) with time zone': 'timestamp',
	boolean: 'boolean',
	text: 'text',
	'double precision': 'double',
	jsonb: 'jsonb',
	bytea: 'bytea',
}
/** Each kind's PostgreSQL type, as a cast (the keyset pages' parameters) and in messages. */
const CAST: Record<Kind, string> = { bigint: 'bigint', timestamp: 'timestamptz', boolean: 'boolean', text: 'text', double: 'float8', jsonb: 'jsonb', bytea: 'bytea', dynamic: 'jsonb' }

/** Characters of COPY text sent at a time: bounds the memory a table's copy takes. */
const COPY_CHUNK = 1 << 20
/** Rows per keyset page when reading PostgreSQL back for the checksum; fewer where rows hold bytes (a track chunk can be a megabyte). */
const READ_PAGE = 5_000
const READ_PAGE_WITH_BYTES = 50

const quote = (name: string) => `"${name.replaceAll('"', '""')}"`

/** Every table of src/db/schema-pg, parents before children (foreign keys), with the kind of each column. */
export function copyPlan(): TablePlan[] {
	const tables = (Object.values(pgSchema) as unknown[]).filter((t): t is PgTable => is(t, PgTable))
	const sqliteKinds = new Map<string, string>()
	for (const t of Object.values(sqliteSchema)) if (is(t, SQLiteTable)) for (const c of getTableConfig(t).columns) sqliteKinds.set(`${getTableConfig(t).name}.${c.name}`, c.columnType)
	const configs = new Map(tables.map((t) => [getPgTableConfig(t).name, getPgTableConfig(t)]))
	const ordered: TablePlan[] = []
	const placed = new Set<string>()
	const place = (name: string, path: string[]) => {
		if (placed.has(name)) return
		if (path.includes(name)) throw new Error(`foreign keys form a cycle: ${[...path, name].join(' → ')}`)
		const config = configs.get(name)!
		for (const fk of config.foreignKeys) {
			const parent = getPgTableConfig(fk.reference().foreignTable).name
			if (parent !== name) place(parent, [...path, name])
		}
		placed.add(name)
		const columns = Object.values(getTableColumns(tables.find((t) => getPgTableConfig(t).name === name)!)).map((column) => {
			const mapped = KINDS[column.getSQLType()]
			const kind = mapped === 'jsonb' && sqliteKinds.get(`${name}.${column.name}`) !== 'SQLiteTextJson' ? 'dynamic' : mapped
			if (!kind) throw new Error(`migrate-data cannot copy ${name}.${column.name} of type ${column.getSQLType()}`)
			return { name: column.name, kind }
		})
		const primaryKey = config.primaryKeys[0]?.columns.map((c) => c.name) ?? config.columns.filter((c) => c.primary).map((c) => c.name)
		ordered.push({ name, columns, primaryKey })
	}
	for (const name of [...configs.keys()].sort()) place(name, [])
	return ordered
}

/**
 * `migrate-data`: copies the SQLite database at `sqlitePath` into the empty PostgreSQL database
 * `target`, then checks it, in one PostgreSQL transaction, so a failure (of the copy or the check)
 * leaves the target as empty as it was.
 * - It holds the server lock of the SQLite database throughout: a server writing meanwhile would
 *   write what the copy never sees, so it refuses while one runs, and none can start until it ends.
 *   It reads in one read transaction besides (a `user` command may still write): one snapshot.
 * - Derived state is copied as it is, not recomputed: PostgreSQL's own triggers (the log summary)
 *   are off for the copy, so counters (log sequences, track totals, summary counts) stay exact.
 * - Then per table: the row count and a sha256 of its rows, ordered by primary key, each value in a
 *   canonical form (canonicalValue), computed from SQLite's rows and from PostgreSQL's read back.
 */
export async function migrateData(sqlitePath: string, target: PgDb, onProgress: (progress: TableProgress) => void = () => {}, options: { readPage?: number } = {}): Promise<MigrateDataReport> {
	if (!existsSync(sqlitePath)) throw new MigrateDataError(`there is no database at ${sqlitePath}.`)
	let lock: ReturnType<typeof acquireServerLock>
	try {
		lock = acquireServerLock(sqlitePath)
	} catch (error) {
		if (error instanceof ServerLockError) throw new MigrateDataError(`a dreamlake-server is serving ${sqlitePath}: stop it first, so that no write made during the copy is left behind.`)
		throw error
	}
	try {
		// the source at the latest SQLite migration, as serve would leave it, so its columns are the twins'
		const writable = openDatabase(sqlitePath)
		try {
			migrateDatabase(writable)
		} finally {
			closeDatabase(writable)
		}
		const client = target.$client
		await refuseRows(client, 'before migrating it')
		await migratePostgres(target)
		const source = new Database(sqlitePath, { readonly: true, safeIntegers: true })
		try {
			source.run('PRAGMA busy_timeout = 5000')
			source.run('BEGIN')
			const plan = copyPlan()
			const missing = (source.query("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name != '__drizzle_migrations'").all() as { name: string }[]).map((r) => r.name).filter((name) => !plan.some((t) => t.name === name))
			if (missing.length > 0) throw new MigrateDataError(`the SQLite tables ${missing.join(', ')} have no PostgreSQL twin in this version; nothing was copied.`)
			return await client.begin(async (tx) => {
				await refuseRows(tx, 'after migrating it')
				const tables: MigrateDataReport['tables'] = []
				const repaired = { count: 0 }
				const started = performance.now()
				for (const table of plan) {
					await tx.unsafe(`ALTER TABLE ${quote(table.name)} DISABLE TRIGGER USER`)
					const { rows, sha256 } = await copyTable(source, tx, table, onProgress, repaired)
					await tx.unsafe(`ALTER TABLE ${quote(table.name)} ENABLE TRIGGER USER`)
					tables.push({ table: table.name, rows, sha256 })
				}
				const sequences = await resetSequences(tx)
				const copyMs = performance.now() - started
				for (const table of plan) await verifyTable(tx, table, tables.find((t) => t.table === table.name)!, options.readPage)
				return { tables, rows: tables.reduce((sum, t) => sum + t.rows, 0), sequences, surrogatesReplaced: repaired.count, copyMs: Math.round(copyMs), verifyMs: Math.round(performance.now() - started - copyMs) }
			})
		} finally {
			source.close()
		}
	} finally {
		lock.release()
	}
}

/** Refuses a target with a row in any table (drizzle's own record of migrations aside), naming the first such table. */
async function refuseRows(client: SQL, when: string): Promise<void> {
	const tables = (await client.unsafe(
		"SELECT table_schema AS schema, table_name AS name FROM information_schema.tables WHERE table_type = 'BASE TABLE' AND table_schema NOT IN ('pg_catalog', 'information_schema', 'drizzle') ORDER BY 1, 2",
	)) as { schema: string; name: string }[]
	for (const { schema, name } of tables) {
		const [row] = (await client.unsafe(`SELECT EXISTS (SELECT 1 FROM ${quote(schema)}.${quote(name)}) AS full`)) as { full: boolean }[]
		if (row!.full) throw new MigrateDataError(`the target database is not empty (${when}): its table ${schema === 'public' ? name : `${schema}.${name}`} holds rows; migrate-data copies into an empty database only, and changed nothing.`)
	}
}


/**
 * Copies one table with COPY … FROM STDIN (text format) in chunks of about 1 MiB: three times as fast
 * as 1,000-row INSERTs end to end (200,000 log lines, copy and verification: 2.8 s against 8.4 s).
 * Values go as text, so JSON reaches jsonb as JSON (Bun would send a string bound to a jsonb parameter as a JSON string, oven-sh/bun#28819).
 * Returns the rows and the sha256 of their canonical form, in primary-key order.
 */
async function copyTable(source: Database, tx: SQL, table: TablePlan, onProgress: (progress: TableProgress) => void, repaired: { count: number }) {
	const names = table.columns.map((c) => quote(c.name)).join(', ')
	const total = Number((source.query(`SELECT count(*) AS n FROM ${quote(table.name)}`).get() as { n: bigint }).n)
	const hash = new Bun.CryptoHasher('sha256')
	const writer = tx.unsafe(`COPY ${quote(table.name)} (${names}) FROM STDIN`).writable().getWriter()
	let chunk = ''
	let rowsInChunk = 0
	let copied = 0
	const flush = async () => {
		if (rowsInChunk === 0) return
		await writer.write(chunk)
		copied += rowsInChunk
		chunk = ''
		rowsInChunk = 0
		onProgress({ table: table.name, copied, total })
	}
	onProgress({ table: table.name, copied: 0, total })
	try {
		// SQLite's order of the same key as PostgreSQL's COLLATE "C": both compare UTF-8 bytes
		for (const row of source.query(`SELECT ${names} FROM ${quote(table.name)} ORDER BY ${table.primaryKey.map(quote).join(', ')}`).iterate() as Iterable<Record<string, unknown>>) {
			const canonical: (string | null)[] = []
			const fields: string[] = []
			for (const column of table.columns) {
				const value = toPostgres(row[column.name], column.kind, () => describeRow(table, row, column.name), repaired)
				fields.push(copyField(value, column.kind))
				canonical.push(canonicalValue(value, column.kind))
			}
			hash.update(JSON.stringify(canonical) + '\n')
			chunk += fields.join('\t') + '\n'
			rowsInChunk++
			if (chunk.length >= COPY_CHUNK) await flush()
		}
		await flush()
		await writer.close()
	} catch (error) {
		await writer.abort().catch(() => {})
		throw error
	}
	return { rows: copied, sha256: hash.digest('hex') }
}

/** A value in COPY's text format: \N for null, backslash escapes for what would end a field or row, bytea as escaped hex. */
function copyField(value: unknown, kind: Kind): string {
	if (value === null) return '\\N'
	if (kind === 'boolean') return value ? 't' : 'f'
	if (kind === 'bytea') return `\\\\x${(value as Buffer).toString('hex')}`
	return String(value).replace(/[\\\t\n\r]/g, (c) => COPY_ESCAPES[c]!)
}
const COPY_ESCAPES: Record<string, string> = { '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r' }

const describeRow = (table: TablePlan, row: Record<string, unknown>, column: string) => `${table.name} row (${table.primaryKey.map((k) => `${k}=${String(row[k]).slice(0, 80)}`).join(', ')}), column ${column}`

const NUL = '\u0000'
const decoder = new TextDecoder()
const nulRefused = (where: string) => new MigrateDataError(`${where} holds a NUL character (\\u0000), which PostgreSQL cannot store in text or jsonb; nothing was copied. Remove or change that value in the SQLite database (or tell us), then run migrate-data again.`)

/** `value` as SQLite gave it (integers as bigint), as the parameter PostgreSQL casts to the column's type. */
function toPostgres(value: unknown, kind: Kind, where: () => string, repaired: { count: number }): unknown {
	if (value === null || value === undefined) return null
	switch (kind) {
		case 'bigint':
			if (typeof value === 'bigint') return value.toString()
			if (typeof value === 'number' && Number.isInteger(value)) return String(value)
			break
		case 'timestamp': {
			// the schema stores milliseconds; an ISO or SQLite text time ('YYYY-MM-DD HH:MM:SS', UTC) is read as such
			const ms = typeof value === 'bigint' ? Number(value) : typeof value === 'number' ? value : typeof value === 'string' ? Date.parse(/[zZ]|[+-]\d\d:?\d\d$/.test(value) ? value : `${value.replace(' ', 'T')}Z`) : NaN
			if (Number.isFinite(ms)) return new Date(ms).toISOString()
			break
		}
		case 'boolean':
			if (value === 0n || value === 1n) return value === 1n
			break
		case 'double':
			if (typeof value === 'number' || typeof value === 'bigint') return Number(value)
			break
		case 'text':
			if (typeof value === 'string') {
				if (value.includes(NUL)) throw nulRefused(where())
				return value
			}
			break
		case 'jsonb':
		case 'dynamic': {
			// JSON text as it is; a dynamic column's number or text as the JSON of it, its blob is JSON already
			const text = kind === 'jsonb' ? (typeof value === 'string' ? value : undefined) : typeof value === 'string' ? JSON.stringify(value) : typeof value === 'bigint' ? value.toString() : typeof value === 'number' ? JSON.stringify(value) : value instanceof Uint8Array ? decoder.decode(value) : undefined
			if (text === undefined) break
			let parsed: unknown
			try {
				parsed = JSON.parse(text)
			} catch {
				throw new MigrateDataError(`${where()} holds text that is not JSON; nothing was copied.`)
			}
			if (holdsNul(parsed)) throw nulRefused(where())
			if (wellFormed(parsed)) return text
			// a lone UTF-16 surrogate (JSON can escape one, jsonb refuses it) becomes U+FFFD, as SQLite's own text columns store it
			repaired.count++
			return JSON.stringify(toWellFormed(parsed))
		}
		case 'bytea':
			if (value instanceof Uint8Array) return Buffer.from(value.buffer, value.byteOffset, value.byteLength)
			break
	}
	throw new MigrateDataError(`${where()} holds ${typeof value === 'bigint' ? 'an integer' : typeof value === 'number' ? 'a real number' : typeof value === 'string' ? 'text' : 'a blob'} where PostgreSQL's column is ${CAST[kind]}; nothing was copied.`)
}

const wellFormed = (value: unknown): boolean =>
	typeof value === 'string' ? value.isWellFormed() : Array.isArray(value) ? value.every(wellFormed) : value !== null && typeof value === 'object' ? Object.entries(value).every(([k, v]) => k.isWellFormed() && wellFormed(v)) : true
const toWellFormed = (value: unknown): unknown =>
	typeof value === 'string' ? value.toWellFormed() : Array.isArray(value) ? value.map(toWellFormed) : value !== null && typeof value === 'object' ? Object.fromEntries(Object.entries(value).map(([k, v]) => [k.toWellFormed(), toWellFormed(v)])) : value

const holdsNul = (value: unknown): boolean =>
	typeof value === 'string' ? value.includes(NUL) : Array.isArray(value) ? value.some(holdsNul) : value !== null && typeof value === 'object' ? Object.entries(value).some(([k, v]) => k.includes(NUL) || holdsNul(v)) : false

/**
 * One value in the form both sides' checksums use: an integer in decimal, a time in epoch
 * milliseconds, a boolean as true/false, a real as JavaScript's shortest exact form, JSON with its
 * keys sorted (jsonb keeps them in its own order), bytes in base64.
 */
export function canonicalValue(value: unknown, kind: Kind): string | null {
	if (value === null || value === undefined) return null
	switch (kind) {
		case 'bigint':
			return String(value)
		case 'timestamp':
			return String((value instanceof Date ? value : new Date(value as string)).getTime())
		case 'boolean':
			return String(value)
		case 'double':
			return String(Number(value))
		case 'text':
			return value as string
		case 'jsonb':
		case 'dynamic':
			return sortedJson(JSON.parse(value as string))
		case 'bytea':
			return Buffer.from(value as Uint8Array).toString('base64')
	}
}

const sortedJson = (value: unknown): string =>
	Array.isArray(value)
		? `[${value.map(sortedJson).join(',')}]`
		: value !== null && typeof value === 'object'
			? `{${Object.keys(value)
					.sort()
					.map((k) => `${JSON.stringify(k)}:${sortedJson((value as Record<string, unknown>)[k])}`)
					.join(',')}}`
			: JSON.stringify(value)

/** Reads the table back from PostgreSQL, in the same order, and compares its count and checksum with the copy's. */
async function verifyTable(tx: SQL, table: TablePlan, copied: { rows: number; sha256: string }, readPage?: number): Promise<void> {
	// integers and JSON as their text: exact, and JSON parsed the one way SQLite's was
	const select = table.columns.map((c) => (c.kind === 'bigint' || c.kind === 'jsonb' || c.kind === 'dynamic' ? `source.${quote(c.name)}::text AS ${quote(c.name)}` : `source.${quote(c.name)}`)).join(', ')
	// qualified: a bare name in ORDER BY would be the text alias of the select list
	const keys = table.primaryKey.map((name) => `source.${quote(name)}${table.columns.find((c) => c.name === name)!.kind === 'text' ? ' COLLATE "C"' : ''}`)
	const [{ n }] = (await tx.unsafe(`SELECT count(*)::text AS n FROM ${quote(table.name)}`)) as [{ n: string }]
	const hash = new Bun.CryptoHasher('sha256')
	const page = readPage ?? (table.columns.some((c) => c.kind === 'bytea') ? READ_PAGE_WITH_BYTES : READ_PAGE)
	let after: unknown[] | null = null
	for (;;) {
		// keyset paging: (k1, k2) > (last k1, last k2) in the primary key's order
		const where = after ? `WHERE (${keys.join(', ')}) > (${table.primaryKey.map((name, i) => `$${i + 1}::${CAST[table.columns.find((c) => c.name === name)!.kind]}`).join(', ')})` : ''
		const rows = (await tx.unsafe(`SELECT ${select} FROM ${quote(table.name)} AS source ${where} ORDER BY ${keys.join(', ')} LIMIT ${page}`, after ?? [])) as Record<string, unknown>[]
		for (const row of rows) hash.update(JSON.stringify(table.columns.map((c) => canonicalValue(row[c.name], c.kind))) + '\n')
		if (rows.length < page) break
		const last = rows[rows.length - 1]!
		after = table.primaryKey.map((name) => last[name])
	}
	const sha256 = hash.digest('hex')
	if (Number(n) !== copied.rows) throw new MigrateDataError(`verification failed: ${table.name} has ${n} rows in PostgreSQL, ${copied.rows} in SQLite; nothing was kept.`)
	if (sha256 !== copied.sha256) throw new MigrateDataError(`verification failed: the rows of ${table.name} differ between SQLite and PostgreSQL (checksums ${copied.sha256.slice(0, 12)}… and ${sha256.slice(0, 12)}…); nothing was kept.`)
}

/** Moves every sequence behind a column (serial or identity) past the largest value copied into it. */
async function resetSequences(tx: SQL): Promise<number> {
	const owned = (await tx.unsafe(
		`SELECT table_name AS "table", column_name AS "column", pg_get_serial_sequence(quote_ident(table_schema) || '.' || quote_ident(table_name), column_name) AS sequence
		FROM information_schema.columns WHERE table_schema = current_schema() AND (column_default LIKE 'nextval(%' OR is_identity = 'YES')`,
	)) as { table: string; column: string; sequence: string | null }[]
	let reset = 0
	for (const { table, column, sequence } of owned) {
		if (!sequence) continue
		await tx.unsafe(`SELECT setval($1, coalesce(max(${quote(column)}), 1), max(${quote(column)}) IS NOT NULL) FROM ${quote(table)}`, [sequence])
		reset++
	}
	return reset
}
