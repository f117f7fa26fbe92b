import { afterAll, beforeAll, describe, expect, it, setDefaultTimeout } from 'bun:test'
import { SQL } from 'bun'
import { Database } from 'bun:sqlite'
import { cpSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, relative } from 'node:path'
import { eq, is } from 'drizzle-orm'
import { readMigrationFiles } from 'drizzle-orm/migrator'
import { getTableConfig as getPgTableConfig, PgTable } from 'drizzle-orm/pg-core'
import { getTableConfig, SQLiteTable } from 'drizzle-orm/sqlite-core'
import { closeDatabase, openDatabase } from '../src/db/client'
import { migrateDatabase } from '../src/db/migrate'
import { closePostgres, connectPostgres, PostgresUnavailableError, type PgDb } from '../src/db/postgres-client'
import { MIGRATION_LOCK, migratePostgres, POSTGRES_MIGRATIONS } from '../src/db/postgres-migrate'
import * as sqliteSchema from '../src/db/schema'
import * as pgSchema from '../src/db/schema-pg'
import { startTestPostgres, type TestPostgres } from './support/postgres'
import { runCli } from './support/process'
import { Random } from './support/random'

/**
 * The PostgreSQL schema (src/db/schema-pg, drizzle/postgres/) against the SQLite one (src/db/schema,
 * drizzle/), both migrated for real: the same tables, columns (name, nullability, default, the type
 * PG_TYPE maps to), primary keys, indexes (unique or not, keys, partial WHERE), foreign keys with
 * their ON DELETE, and triggers. Every difference is one sentence saying which side lacks what.
 * Runs against DATABASE_URL when it names PostgreSQL, else a cluster of its own (test/support/postgres.ts).
 */

setDefaultTimeout(60_000)
const root = join(import.meta.dir, '..')
const dir = mkdtempSync(join(tmpdir(), 'dreamlake-parity-'))
let postgres: TestPostgres
let pg: PgDb
let sqlite: ReturnType<typeof openDatabase>

beforeAll(async () => {
	postgres = await startTestPostgres()
	pg = await connectPostgres({ url: await postgres.createDatabase('dreamlake_parity'), poolSize: 4 })
	await migratePostgres(pg)
	sqlite = openDatabase(join(dir, 'parity.db'))
	migrateDatabase(sqlite)
})

afterAll(async () => {
	closeDatabase(sqlite)
	await closePostgres(pg)
	await postgres?.stop()
	rmSync(dir, { recursive: true, force: true })
})

/**
 * The PostgreSQL type each SQLite column kind becomes (src/db/schema-pg/types.ts says why): by the
 * drizzle column of src/db/schema, else (a column only a migration made) by its declared type.
 */
const PG_TYPE: Record<string, string> = {
	SQLiteInteger: 'bigint',
	SQLiteBigInt: 'bigint',
	SQLiteTimestamp: 'timestamp(3) with time zone',
	SQLiteBoolean: 'boolean',
	SQLiteText: 'text',
	SQLiteTextJson: 'jsonb',
	SQLiteBlobJson: 'jsonb',
	SQLiteReal: 'double precision',
	SQLiteBlobBuffer: 'bytea',
	SQLiteNumeric: 'numeric',
	integer: 'bigint',
	text: 'text',
	real: 'double precision',
	blob: 'bytea',
	numeric: 'numeric',
}
/** Columns whose twin is of another type than PG_TYPE says, and why (src/db/schema-pg says more). */
const PG_TYPE_OF_COLUMN: Record<string, string> = {
	// SQLite's dynamically typed number, text or JSON blob: jsonb keeps which it was (migrate-data copies it exactly)
	'parameter_values.value': 'jsonb',
}

interface Column {
	/** What PG_TYPE is looked up by (SQLite), or the type itself (PostgreSQL). */
	type: string
	notNull: boolean
	default: string | null
}
interface Index {
	unique: boolean
	keys: string
	where: string | null
}
interface Shape {
	tables: Map<string, { columns: Map<string, Column>; primaryKey: string; indexes: Map<string, Index>; foreignKeys: Set<string> }>
	triggers: Set<string>
}

/** SQL text of an index's keys or WHERE, without quotes, table names, casts, spaces around punctuation or wrapping parentheses, so both dialects' spellings meet. */
function normalize(text: string): string {
	let out = text
		.replace(/["`]/g, '')
		.replace(/\b[a-z_][a-z0-9_]*\./gi, '')
		.replace(/::[a-z_]+/gi, '')
		.replace(/\s+/g, ' ')
		.replace(/\s*([(),=<>])\s*/g, '$1')
		.trim()
		.toLowerCase()
	while (out.startsWith('(') && out.endsWith(')') && balanced(out.slice(1, -1))) out = out.slice(1, -1)
	return out
}
const balanced = (text: string) => {
	let depth = 0
	for (const c of text) if ((depth += c === '(' ? 1 : c === ')' ? -1 : 0) < 0) return false
	return depth === 0
}
function indexOf(definition: string, unique: boolean): Index {
	const match = /\bON\s+\S+(?:\s+USING\s+\w+)?\s*\((.*?)\)\s*(?:WHERE\s+(.*?))?;?\s*$/is.exec(definition)
	if (!match) throw new Error(`cannot read the index ${definition}`)
	return { unique, keys: normalize(match[1]!), where: match[2] ? normalize(match[2]) : null }
}
const normalizeDefault = (value: string | null) => (value === null ? null : value.replace(/::[a-z_ ]+$/i, '').trim())

function sqliteShape(db: Database): Shape {
	const kinds = new Map<string, string>()
	for (const table of Object.values(sqliteSchema)) {
		if (!is(table, SQLiteTable)) continue
		const config = getTableConfig(table)
		for (const column of config.columns) kinds.set(`${config.name}.${column.name}`, column.columnType)
	}
	const shape: Shape = { tables: new Map(), triggers: new Set() }
	const tables = db.query("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name != '__drizzle_migrations'").all() as { name: string }[]
	for (const { name } of tables) {
		const info = db.query(`PRAGMA table_info("${name}")`).all() as { name: string; type: string; notnull: number; dflt_value: string | null; pk: number }[]
		const columns = new Map<string, Column>()
		for (const c of info) columns.set(c.name, { type: kinds.get(`${name}.${c.name}`) ?? c.type.toLowerCase(), notNull: c.notnull === 1 || c.pk > 0, default: normalizeDefault(c.dflt_value) })
		const primaryKey = info.filter((c) => c.pk > 0).sort((a, b) => a.pk - b.pk).map((c) => c.name).join(',')
		const indexes = new Map<string, Index>()
		for (const index of db.query(`PRAGMA index_list("${name}")`).all() as { name: string; unique: number; origin: string }[]) {
			if (index.origin === 'pk') continue
			const sql = (db.query("SELECT sql FROM sqlite_master WHERE type = 'index' AND name = ?").get(index.name) as { sql: string | null } | null)?.sql
			const keys = () => (db.query(`PRAGMA index_info("${index.name}")`).all() as { name: string }[]).map((k) => k.name).join(',')
			indexes.set(index.name, sql ? indexOf(sql, index.unique === 1) : { unique: index.unique === 1, keys: keys(), where: null })
		}
		const byId = new Map<number, { table: string; from: string[]; to: string[]; on_delete: string; on_update: string }>()
		for (const fk of db.query(`PRAGMA foreign_key_list("${name}")`).all() as { id: number; table: string; from: string; to: string; on_delete: string; on_update: string }[]) {
			const entry = byId.get(fk.id) ?? { table: fk.table, from: [], to: [], on_delete: fk.on_delete, on_update: fk.on_update }
			entry.from.push(fk.from)
			entry.to.push(fk.to)
			byId.set(fk.id, entry)
		}
		const foreignKeys = new Set([...byId.values()].map((fk) => `(${fk.from.join(',')}) references ${fk.table}(${fk.to.join(',')}) on delete ${fk.on_delete.toLowerCase()} on update ${fk.on_update.toLowerCase()}`))
		shape.tables.set(name, { columns, primaryKey, indexes, foreignKeys })
	}
	for (const t of db.query("SELECT name, tbl_name AS tableName FROM sqlite_master WHERE type = 'trigger'").all() as { name: string; tableName: string }[]) shape.triggers.add(`${t.name} on ${t.tableName}`)
	return shape
}

const ACTIONS: Record<string, string> = { a: 'no action', r: 'restrict', c: 'cascade', n: 'set null', d: 'set default' }

async function postgresShape(sql: SQL): Promise<Shape> {
	const shape: Shape = { tables: new Map(), triggers: new Set() }
	const table = (name: string) => shape.tables.get(name)!
	for (const { name } of await sql`SELECT tablename AS name FROM pg_tables WHERE schemaname = 'public'`) shape.tables.set(name, { columns: new Map(), primaryKey: '', indexes: new Map(), foreignKeys: new Set() })
	const columns = await sql`
		SELECT c.relname AS "table", a.attname AS name, format_type(a.atttypid, a.atttypmod) AS type, a.attnotnull AS "notNull", pg_get_expr(d.adbin, d.adrelid) AS "default"
		FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
		LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
		WHERE n.nspname = 'public' AND c.relkind = 'r' AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum`
	for (const c of columns) table(c.table).columns.set(c.name, { type: c.type, notNull: c.notNull, default: normalizeDefault(c.default) })
	const indexes = await sql`
		SELECT t.relname AS "table", i.relname AS name, x.indisunique AS "unique", x.indisprimary AS "primary", pg_get_indexdef(x.indexrelid) AS definition
		FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid JOIN pg_namespace n ON n.oid = t.relnamespace
		WHERE n.nspname = 'public'`
	for (const index of indexes) {
		const read = indexOf(index.definition, index.unique)
		if (index.primary) table(index.table).primaryKey = read.keys
		else table(index.table).indexes.set(index.name, read)
	}
	const foreignKeys = await sql`
		SELECT c.conrelid::regclass::text AS "table", c.confrelid::regclass::text AS "references", c.confdeltype AS "onDelete", c.confupdtype AS "onUpdate",
			(SELECT string_agg(a.attname, ',' ORDER BY k.o) FROM unnest(c.conkey) WITH ORDINALITY k(n, o) JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.n) AS "from",
			(SELECT string_agg(a.attname, ',' ORDER BY k.o) FROM unnest(c.confkey) WITH ORDINALITY k(n, o) JOIN pg_attribute a ON a.attrelid = c.confrelid AND a.attnum = k.n) AS "to"
		FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace WHERE c.contype = 'f' AND n.nspname = 'public'`
	for (const fk of foreignKeys) table(fk.table).foreignKeys.add(`(${fk.from}) references ${fk.references}(${fk.to}) on delete ${ACTIONS[fk.onDelete]} on update ${ACTIONS[fk.onUpdate]}`)
	for (const t of await sql`SELECT tgname AS name, tgrelid::regclass::text AS "table" FROM pg_trigger WHERE NOT tgisinternal`) shape.triggers.add(`${t.name} on ${t.table}`)
	return shape
}

const TWIN = 'add its twin to src/db/schema-pg/ and run bun run db:generate'
const showIndex = (i: Index) => `${i.unique ? 'unique ' : ''}(${i.keys})${i.where ? ` where ${i.where}` : ''}`

/** Every way the two differ, one sentence each, naming the table, the column or constraint, and the side that lacks it. */
function differences(lite: Shape, post: Shape): string[] {
	const out: string[] = []
	for (const [name, s] of lite.tables) {
		const p = post.tables.get(name)
		if (!p) {
			out.push(`table ${name}: in SQLite, missing in PostgreSQL (${TWIN})`)
			continue
		}
		for (const [column, sc] of s.columns) {
			const pc = p.columns.get(column)
			if (!pc) {
				out.push(`column ${name}.${column}: in SQLite, missing in PostgreSQL (${TWIN})`)
				continue
			}
			const expected = PG_TYPE_OF_COLUMN[`${name}.${column}`] ?? PG_TYPE[sc.type]
			if (!expected) out.push(`column ${name}.${column}: no PostgreSQL type is known for SQLite's ${sc.type} (add it to PG_TYPE in test/schema-parity.test.ts and to src/db/schema-pg/types.ts)`)
			else if (pc.type !== expected) out.push(`column ${name}.${column}: SQLite ${sc.type} should be ${expected} in PostgreSQL, is ${pc.type} (src/db/schema-pg/types.ts)`)
			if (sc.notNull !== pc.notNull) out.push(`column ${name}.${column}: ${sc.notNull ? 'NOT NULL' : 'nullable'} in SQLite, ${pc.notNull ? 'NOT NULL' : 'nullable'} in PostgreSQL`)
			if (sc.default !== pc.default) out.push(`column ${name}.${column}: default ${sc.default ?? 'none'} in SQLite, ${pc.default ?? 'none'} in PostgreSQL`)
		}
		for (const column of p.columns.keys()) if (!s.columns.has(column)) out.push(`column ${name}.${column}: in PostgreSQL, missing in SQLite`)
		if (s.primaryKey !== p.primaryKey) out.push(`table ${name}: primary key (${s.primaryKey}) in SQLite, (${p.primaryKey}) in PostgreSQL`)
		for (const [index, si] of s.indexes) {
			const pi = p.indexes.get(index)
			if (!pi) out.push(`index ${index} on ${name}: ${showIndex(si)} in SQLite, missing in PostgreSQL (${TWIN})`)
			else if (showIndex(si) !== showIndex(pi)) out.push(`index ${index} on ${name}: ${showIndex(si)} in SQLite, ${showIndex(pi)} in PostgreSQL`)
		}
		for (const [index, pi] of p.indexes) if (!s.indexes.has(index)) out.push(`index ${index} on ${name}: ${showIndex(pi)} in PostgreSQL, missing in SQLite`)
		for (const fk of s.foreignKeys) if (!p.foreignKeys.has(fk)) out.push(`foreign key of ${name} ${fk}: in SQLite, missing in PostgreSQL`)
		for (const fk of p.foreignKeys) if (!s.foreignKeys.has(fk)) out.push(`foreign key of ${name} ${fk}: in PostgreSQL, missing in SQLite`)
	}
	for (const name of post.tables.keys()) if (!lite.tables.has(name)) out.push(`table ${name}: in PostgreSQL, missing in SQLite`)
	for (const trigger of lite.triggers) if (!post.triggers.has(trigger)) out.push(`trigger ${trigger}: in SQLite, missing in PostgreSQL (its twin is a custom migration: bun x drizzle-kit generate --config drizzle.postgres.config.ts --custom)`)
	for (const trigger of post.triggers) if (!lite.triggers.has(trigger)) out.push(`trigger ${trigger}: in PostgreSQL, missing in SQLite`)
	return out
}

describe('the PostgreSQL schema is the twin of the SQLite one', () => {
	it('has the same tables, columns, types, defaults, keys, indexes, foreign keys and triggers, once both are migrated', async () => {
		const lite = sqliteShape(sqlite.$client)
		expect(lite.tables.size).toBeGreaterThanOrEqual(14) // the comparison saw the tables, not an empty database
		expect(differences(lite, await postgresShape(pg.$client))).toEqual([])
	})

	it('tells exactly what is missing on which side', () => {
		const columns = new Map<string, Column>([['id', { type: 'SQLiteInteger', notNull: true, default: null }]])
		const lite: Shape = { tables: new Map([['metric_summaries', { columns, primaryKey: 'id', indexes: new Map(), foreignKeys: new Set() }], ['users', { columns: new Map([...columns, ['email', { type: 'SQLiteText', notNull: false, default: null }]]), primaryKey: 'id', indexes: new Map([['users_email_unique', { unique: true, keys: 'email', where: null }]]), foreignKeys: new Set() }]]), triggers: new Set() }
		const post: Shape = { tables: new Map([['users', { columns: new Map([['id', { type: 'integer', notNull: true, default: null }]]), primaryKey: 'id', indexes: new Map(), foreignKeys: new Set() }]]), triggers: new Set(['t on users']) }
		expect(differences(lite, post)).toEqual([
			`table metric_summaries: in SQLite, missing in PostgreSQL (${TWIN})`,
			'column users.id: SQLite SQLiteInteger should be bigint in PostgreSQL, is integer (src/db/schema-pg/types.ts)',
			`column users.email: in SQLite, missing in PostgreSQL (${TWIN})`,
			`index users_email_unique on users: unique (email) in SQLite, missing in PostgreSQL (${TWIN})`,
			'trigger t on users: in PostgreSQL, missing in SQLite',
		])
	})

	it('exports every table under the same name in both, for repositories to import either', () => {
		const names = (schema: object, kind: typeof SQLiteTable | typeof PgTable) =>
			Object.entries(schema)
				.filter(([, value]) => is(value, kind))
				.map(([key, value]) => `${key} (${(kind === SQLiteTable ? getTableConfig(value as SQLiteTable) : getPgTableConfig(value as PgTable)).name})`)
				.sort()
		const lite = names(sqliteSchema, SQLiteTable)
		const post = names(pgSchema, PgTable)
		expect(lite.filter((t) => !post.includes(t)).map((t) => `src/db/schema exports ${t}, src/db/schema-pg does not`)).toEqual([])
		expect(post.filter((t) => !lite.includes(t)).map((t) => `src/db/schema-pg exports ${t}, src/db/schema does not`)).toEqual([])
	})

	it('embeds exactly the migrations drizzle-kit wrote into drizzle/postgres/, in step with src/db/schema-pg', () => {
		expect(POSTGRES_MIGRATIONS).toEqual(readMigrationFiles({ migrationsFolder: join(root, 'drizzle', 'postgres') }))
		const out = mkdtempSync(join(dir, 'kit-'))
		cpSync(join(root, 'drizzle', 'postgres'), out, { recursive: true })
		const kit = Bun.spawnSync([process.execPath, 'x', 'drizzle-kit', 'generate', '--dialect', 'postgresql', '--schema', 'src/db/schema-pg/index.ts', '--out', relative(root, out)], { cwd: root })
		expect(kit.stdout.toString() + kit.stderr.toString()).toContain('No schema changes')
	})
})

describe('the PostgreSQL schema holds what the SQLite one does', () => {
	it('stores JSON columns as JSON objects and arrays (not strings), and gives back what was written', async () => {
		const now = new Date(Date.UTC(2026, 0, 2, 3, 4, 5, 678))
		const metadata = { b: 1, nested: { list: [1, 'two', null, true] }, 'dot.key': 'é日🤖' }
		await pg.insert(pgSchema.users).values({ id: 'json-user', sub: 'json-sub', createdAt: now, updatedAt: now, metadata })
		await pg.insert(pgSchema.namespaces).values({ id: 'json-ns', slug: 'json-ns', ownerId: 'json-user', createdAt: now })
		await pg.insert(pgSchema.projects).values({ id: 2 ** 53 - 1, namespaceId: 'json-ns', name: 'p', slug: 'p', tags: ['a', 'b'], createdAt: now, updatedAt: now })
		const [stored] = await pg.$client`SELECT jsonb_typeof(u.metadata) AS metadata, jsonb_typeof(p.tags) AS tags, jsonb_typeof(p.metadata) AS "defaultMetadata" FROM users u, projects p WHERE u.id = 'json-user'`
		expect(stored).toEqual({ metadata: 'object', tags: 'array', defaultMetadata: 'object' })
		const [user] = await pg.select().from(pgSchema.users).where(eq(pgSchema.users.id, 'json-user'))
		expect(user!.metadata).toEqual(metadata)
		expect(user!.createdAt).toEqual(now)
		const [project] = await pg.select().from(pgSchema.projects)
		expect(project).toMatchObject({ id: 2 ** 53 - 1, tags: ['a', 'b'], metadata: {}, visibility: 'private', createdAt: now })
	})

	it('keeps the log summary by its trigger as SQLite does, for any batches of lines', async () => {
		const random = new Random(Number(process.env.PARITY_SEED ?? Date.now() % 1_000_000))
		const now = Date.now()
		sqlite.$client.run("INSERT INTO users (id, sub, metadata, token_version, created_at, updated_at) VALUES ('log-user', 'log-sub', '{}', 0, 0, 0)")
		sqlite.$client.run("INSERT INTO namespaces (id, slug, owner_id, kind, metadata, created_at) VALUES ('log-ns', 'log-ns', 'log-user', 'personal', '{}', 0)")
		sqlite.$client.run("INSERT INTO projects (id, namespace_id, name, slug, tags, metadata, visibility, created_at, updated_at) VALUES (1, 'log-ns', 'p', 'p', '[]', '{}', 'private', 0, 0)")
		await pg.$client`INSERT INTO users (id, sub, created_at, updated_at) VALUES ('log-user', 'log-sub', now(), now())`
		await pg.$client`INSERT INTO namespaces (id, slug, owner_id, created_at) VALUES ('log-ns', 'log-ns', 'log-user', now())`
		await pg.$client`INSERT INTO projects (id, namespace_id, name, slug, created_at, updated_at) VALUES (1, 'log-ns', 'p', 'p', now(), now())`
		const next = new Map<number, number>()
		for (const episode of [11, 12, 13]) {
			sqlite.$client.run(`INSERT INTO episodes (id, project_id, name, tags, status, write_protected, metadata, created_at, updated_at) VALUES (${episode}, 1, 'e${episode}', '[]', 'running', 0, '{}', 0, 0)`)
			await pg.$client`INSERT INTO episodes (id, project_id, name, created_at, updated_at) VALUES (${episode}, 1, ${`e${episode}`}, now(), now())`
			next.set(episode, 0)
		}
		for (let batch = 0; batch < 40; batch++) {
			const episode = random.pick([11, 12, 13])
			const first = next.get(episode)!
			const count = 1 + random.int(random.chance(0.2) ? 300 : 8)
			const rows = Array.from({ length: count }, (_, i) => [episode, first + i, now * 1000 + random.int(10_000_000) - 5_000_000, random.int(5), `line ${first + i}`, null, i === count - 1 ? first : null] as const)
			next.set(episode, first + count)
			// as logs/repository.ts writes them: one INSERT per batch, its last line carrying closes_batch
			const placeholders = rows.map(() => '(?,?,?,?,?,?,?)').join(',')
			sqlite.$client.query(`INSERT INTO log_entries (episode_id, sequence, timestamp, level, message, metadata, closes_batch) VALUES ${placeholders}`).run(...rows.flat())
			const values = rows.map((_, r) => `(${Array.from({ length: 7 }, (_, c) => `$${r * 7 + c + 1}`).join(',')})`).join(',')
			await pg.$client.unsafe(`INSERT INTO log_entries (episode_id, sequence, timestamp, level, message, metadata, closes_batch) VALUES ${values}`, rows.flat())
		}
		const order = 'ORDER BY episode_id'
		const lite = sqlite.$client.query(`SELECT * FROM log_summaries ${order}`).all()
		const post = (await pg.$client.unsafe(`SELECT * FROM log_summaries ${order}`)).map((row: Record<string, unknown>) => Object.fromEntries(Object.entries(row).map(([k, v]) => [k, v === null ? null : Number(v)])))
		expect(lite.length).toBe(3)
		expect(post).toEqual(lite)
	})
})

describe('the PostgreSQL client and migrator', () => {
	it('migrates a fresh database once when two processes migrate it at the same moment, and a third run is a no-op', async () => {
		const url = await postgres.createDatabase('dreamlake_migrate')
		const env = { DATABASE_URL: url, LOG_FORMAT: 'json' }
		const runs = await Promise.all([runCli(['migrate'], { cwd: dir, env }), runCli(['migrate'], { cwd: dir, env })])
		for (const run of runs) expect({ code: run.code, stderr: run.stderr }).toEqual({ code: 0, stderr: '' })
		const applied = runs.map((run) => JSON.parse(run.stdout.trim().split('\n').at(-1)!).applied).sort()
		expect(applied).toEqual([0, POSTGRES_MIGRATIONS.length])
		const check = new SQL(url, { max: 1 })
		try {
			const [ran] = await check`SELECT count(*)::int AS n, count(DISTINCT hash)::int AS hashes FROM drizzle.__drizzle_migrations`
			expect(ran).toEqual({ n: POSTGRES_MIGRATIONS.length, hashes: POSTGRES_MIGRATIONS.length })
			const [tables] = await check`SELECT count(*)::int AS n FROM pg_tables WHERE schemaname = 'public'`
			expect(tables.n).toBe(sqliteShape(sqlite.$client).tables.size)
		} finally {
			await check.close()
		}
		const again = await runCli(['migrate'], { cwd: dir, env })
		expect(again.code).toBe(0)
		expect(JSON.parse(again.stdout.trim().split('\n').at(-1)!)).toMatchObject({ msg: 'database already up to date', applied: 0, total: POSTGRES_MIGRATIONS.length })
	})

	it('waits for the advisory lock another migrator holds before reading what has run', async () => {
		const url = await postgres.createDatabase('dreamlake_lock')
		const holder = new SQL(url, { max: 1 })
		const db = await connectPostgres({ url, poolSize: 2 })
		const reserved = await holder.reserve()
		try {
			await reserved.unsafe(`SELECT pg_advisory_lock(${MIGRATION_LOCK})`)
			let done = false
			const migrating = migratePostgres(db).then((report) => ((done = true), report))
			await Bun.sleep(300)
			expect(done).toBe(false)
			await reserved.unsafe(`SELECT pg_advisory_unlock(${MIGRATION_LOCK})`)
			expect(await migrating).toEqual({ applied: POSTGRES_MIGRATIONS.length, total: POSTGRES_MIGRATIONS.length })
			expect(await migratePostgres(db)).toEqual({ applied: 0, total: POSTGRES_MIGRATIONS.length })
		} finally {
			reserved.release()
			await holder.close({ timeout: 0 })
			await closePostgres(db)
		}
	})

	it('keeps at most DATABASE_POOL_SIZE connections, however many queries wait', async () => {
		const db = await connectPostgres({ url: postgres.url, poolSize: 2 })
		try {
			const pids = await Promise.all(Array.from({ length: 6 }, async () => (await db.$client`SELECT pg_backend_pid() AS pid, pg_sleep(0.05)`)[0].pid as number))
			expect(new Set(pids).size).toBe(2)
		} finally {
			await closePostgres(db)
		}
	})

	it("delivers a committed NOTIFY to another client's LISTEN, and a rolled-back one never (what cross-server cache invalidation will ride on)", async () => {
		const listener = new SQL(postgres.url, { max: 1 })
		const notifier = new SQL(postgres.url, { max: 1 })
		const heard: string[] = []
		const subscription = await listener.listen('dreamlake_parity', (payload) => heard.push(payload))
		try {
			await notifier.begin(async (tx) => void (await tx`SELECT pg_notify('dreamlake_parity', 'account:1')`))
			await notifier
				.begin(async (tx) => {
					await tx`SELECT pg_notify('dreamlake_parity', 'account:2')`
					throw new Error('roll back')
				})
				.catch(() => {})
			await notifier`SELECT pg_notify('dreamlake_parity', 'account:3')`
			for (let i = 0; i < 50 && heard.length < 2; i++) await Bun.sleep(20)
			expect(heard).toEqual(['account:1', 'account:3'])
		} finally {
			await subscription.unlisten()
			await listener.close()
			await notifier.close()
		}
	})

	it('uses TLS when the URL says sslmode=require', async () => {
		const probe = new SQL(postgres.url, { max: 1 })
		const [{ ssl }] = await probe`SHOW ssl`
		await probe.close()
		const url = `${postgres.url}?sslmode=require`
		if (ssl === 'on') {
			// scripts/postgres.sh turns TLS on (a self-signed certificate): the connection is encrypted
			const db = await connectPostgres({ url, poolSize: 1 })
			const [row] = await db.$client`SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()`
			await closePostgres(db)
			expect(row.ssl).toBe(true)
		} else {
			// a server without TLS: the client refuses rather than falling back to plain text
			expect(connectPostgres({ url, poolSize: 1 })).rejects.toThrow(PostgresUnavailableError)
		}
	})

	it('says at start in one line, naming DATABASE_URL, why it cannot connect, never printing the password', async () => {
		const refused = await runCli(['migrate'], { cwd: dir, env: { DATABASE_URL: 'postgres://app:hunter2-secret@127.0.0.1:1/lab' } })
		const unknown = await runCli(['migrate'], { cwd: dir, env: { DATABASE_URL: `${postgres.url.replace('postgres@', 'nobody:hunter2-secret@')}` } })
		for (const run of [refused, unknown]) {
			expect(run.code).toBe(1)
			expect(run.stderr).toStartWith('dreamlake-server: DATABASE_URL: could not connect to PostgreSQL at ')
			expect(run.stderr.trim().split('\n')).toHaveLength(1)
			expect(run.stderr + run.stdout).not.toContain('hunter2')
		}
		expect(refused.stderr).toContain('app@127.0.0.1:1/lab')
		expect(unknown.stderr).toContain('"nobody"')
	})

	it('serve migrates, then stops saying PostgreSQL is not supported yet', async () => {
		const url = await postgres.createDatabase('dreamlake_serve')
		const run = await runCli(['serve', '--port', '0'], { cwd: dir, env: { DATABASE_URL: url } })
		expect(run.code).toBe(1)
		expect(run.stderr).toContain('DATABASE_URL names PostgreSQL: its database is migrated, but serving from PostgreSQL is not supported yet')
		expect(JSON.parse(run.stdout.trim().split('\n')[0]!)).toMatchObject({ msg: 'database migrated', applied: POSTGRES_MIGRATIONS.length })
	})
})
