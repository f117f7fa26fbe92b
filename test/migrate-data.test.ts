import { afterAll, beforeAll, describe, expect, it, setDefaultTimeout } from 'bun:test'
import { SQL } from 'bun'
import { Database } from 'bun:sqlite'
import { cpSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { is } from 'drizzle-orm'
import { getTableConfig, SQLiteTable } from 'drizzle-orm/sqlite-core'
import * as sqliteSchema from '../src/db/schema'
import { migrateData as runMigrateData } from '../src/db/migrate-data'
import { closePostgres, connectPostgres } from '../src/db/postgres-client'
import { acquireServerLock } from '../src/db/server-lock'
import { randomBytes } from './support/bytes'
import { Harness, type TestUser } from './support/harness'
import { startTestPostgres, type TestPostgres } from './support/postgres'
import { runCli } from './support/process'
import { Random } from './support/random'

/**
 * `migrate-data --to postgres://…` (src/db/migrate-data.ts) as an operator runs it, a process (the
 * compiled binary when DREAMLAKE_BINARY is set), from a data folder the real app wrote, into a real
 * PostgreSQL (test/support/postgres.ts). Every row of every table is compared afterwards by a reading
 * of its own (row_to_json on PostgreSQL's side, the drizzle column kinds on SQLite's), not by the
 * command's checksum.
 */

setDefaultTimeout(60_000)
const PASSWORD = 'pg-secret-Zq81x'
const root = mkdtempSync(join(tmpdir(), 'dreamlake-migrate-data-'))
const data = join(root, 'data')
let postgres: TestPostgres
let admin: SQL
const random = new Random(Number(process.env.SEED ?? Date.now() % 1_000_000))

/** A fresh database's URL, with a password in it (the test cluster trusts loopback, so any password is accepted: what matters is that none is printed). */
async function newTarget(): Promise<string> {
	const url = new URL(await postgres.createDatabase('dreamlake_move'))
	url.password = PASSWORD
	return url.href
}
const migrateData = (to: string, folder = data) => runCli(['migrate-data', '--to', to, '--data', folder], { cwd: root })

/** Random JSON and text without NUL (PostgreSQL refuses it: its own test below) and without the keys the API refuses. */
const json = (): unknown => {
	for (;;) {
		const value = random.json(1)
		if (!/\\u0000|"(__proto__|constructor|prototype)"/.test(JSON.stringify(value))) return value
	}
}
const text = (max = 40) => random.string(max).replaceAll('\u0000', '')

async function writeData(h: Harness): Promise<void> {
	const call = async (method: string, path: string, token: string, body?: unknown) => {
		const reply = await h.call(method, path, { token, body })
		if (reply.status >= 300) throw new Error(`${method} ${path} → ${reply.status} ${JSON.stringify(reply.body)}`)
		return reply.body
	}
	const people: TestUser[] = []
	for (let i = 0; i < 3; i++) people.push(await h.newUser())
	const [owner, member] = people as [TestUser, TestUser]
	const team = `lab-${random.int(1e9)}`
	await call('POST', '/namespaces', owner.token, { slug: team, name: 'The Lab é日🤖' })
	await call('POST', `/namespaces/${team}/members`, owner.token, { username: member.claims.username, role: 'member' })
	await call('POST', `/namespaces/${team}/api-keys`, owner.token, { name: 'ci', role: 'member' })
	await call('POST', `/namespaces/${team}/invitations`, owner.token, { role: 'viewer', maxUses: 3 })
	for (const [ns, user] of [[owner.ns, owner], [team, member]] as const) {
		await call('POST', `/namespaces/${ns}/projects`, user.token, { name: 'arm', description: text(), tags: ['a', 'é日🤖'], metadata: { m: json() } })
		for (let e = 0; e < 2 + random.int(3); e++) {
			const episode = (await call('POST', `/namespaces/${ns}/projects/arm/episodes`, user.token, { name: `run-${e}`, description: text(), tags: ['x'], metadata: { any: json() } })).id as string
			const lines = Array.from({ length: 1 + random.int(120) }, (_, i) => ({ timestamp: new Date(Date.UTC(2026, 11, 3) + i * 1.5).toISOString(), level: random.pick(['debug', 'info', 'warn', 'error', 'fatal']), message: text(200), ...(random.chance(0.3) && { metadata: { k: json() } }) }))
			for (let i = 0; i < lines.length; i += 50) await call('POST', `/episodes/${episode}/logs`, user.token, { logs: lines.slice(i, i + 50) })
			// numbers (integer, real, huge), text that looks like a number, booleans, null, lists: parameter_values' every kind
			for (let v = 0; v < 2; v++) await call('POST', `/episodes/${episode}/parameters`, user.token, { data: { lr: random.pick([0.001, 1, 2.5, 1e308, -0, 9007199254740993]), name: text(10), n: '1', flag: random.chance(0.5), none: null, list: [1, 'a', text(10), null, true, [2.5]], nested: { deep: text(10) }, odd: 'half \ud800 a pair' } })
			const points = Array.from({ length: 1 + random.int(300) }, (_, i) => ({ step: i, loss: random.next() * 10, ...(random.chance(0.2) && { note: text(10) }) }))
			await call('POST', `/episodes/${episode}/tracks/train%2Floss/append-batch`, user.token, { dataPoints: points })
			await call('POST', `/episodes/${episode}/tracks/gone/append`, user.token, { data: { step: 0, v: 1 } })
			await call('DELETE', `/episodes/${episode}/tracks/gone`, user.token)
			const bytes = randomBytes(1 + random.int(4000))
			const form = new FormData()
			form.set('prefix', '/ckpt')
			form.set('checksum', new Bun.CryptoHasher('sha256').update(bytes).digest('hex'))
			form.set('sizeBytes', String(bytes.length))
			form.set('file', new Blob([bytes]), 'model.bin')
			await call('POST', `/episodes/${episode}/files`, user.token, form)
		}
	}
}

beforeAll(async () => {
	postgres = await startTestPostgres()
	admin = new SQL(postgres.url, { max: 1 })
	const h = await Harness.start({ dir: data })
	try {
		await writeData(h)
	} finally {
		h.close()
	}
	// a builtin account and its password link, as the CLI makes them
	const added = await runCli(['user', 'add', 'alice', '--admin'], { cwd: root, env: { DATABASE_URL: join(data, 'dreamlake.db'), PUBLIC_URL: 'http://localhost:1' } })
	if (added.code !== 0) throw new Error(added.stderr)
})

afterAll(async () => {
	await admin?.close()
	await postgres?.stop()
	rmSync(root, { recursive: true, force: true })
})

const TABLES = (Object.values(sqliteSchema) as unknown[])
	.filter((t): t is SQLiteTable => is(t, SQLiteTable))
	.map((t) => getTableConfig(t))

/** JSON with each lone UTF-16 surrogate as U+FFFD, what migrate-data stores for one (jsonb refuses them). */
const wellFormed = (value: unknown): unknown =>
	typeof value === 'string' ? value.toWellFormed() : Array.isArray(value) ? value.map(wellFormed) : value !== null && typeof value === 'object' ? Object.fromEntries(Object.entries(value).map(([k, v]) => [k.toWellFormed(), wellFormed(v)])) : value

/** Every row of every table as SQLite holds it, each value as the drizzle column kind means it. */
function sqliteRows(path: string): Map<string, unknown[][]> {
	const db = new Database(path, { readonly: true })
	try {
		const out = new Map<string, unknown[][]>()
		for (const table of TABLES) {
			const keys = (table.primaryKeys[0]?.columns ?? table.columns.filter((c) => c.primary)).map((c) => `"${c.name}"`).join(', ')
			const rows = db.query(`SELECT * FROM "${table.name}" ORDER BY ${keys}`).all() as Record<string, unknown>[]
			out.set(
				table.name,
				rows.map((row) =>
					table.columns.map((c) => {
						const v = row[c.name]
						if (v === null) return null
						if (c.columnType === 'SQLiteTimestamp') return new Date(v as number).toISOString()
						if (c.columnType === 'SQLiteBoolean') return v === 1
						if (c.columnType === 'SQLiteTextJson') return wellFormed(JSON.parse(v as string))
						if (c.columnType === 'SQLiteBlobBuffer') return table.name === 'parameter_values' ? (v instanceof Uint8Array ? wellFormed(JSON.parse(new TextDecoder().decode(v))) : v) : `\\x${Buffer.from(v as Uint8Array).toString('hex')}`
						return v
					}),
				),
			)
		}
		return out
	} finally {
		db.close()
	}
}

/** The same from PostgreSQL, by row_to_json (its own spelling of every type), in the same order (COLLATE "C": UTF-8 bytes, as SQLite orders text). */
async function postgresRows(url: string): Promise<Map<string, unknown[][]>> {
	const db = new SQL(url, { max: 1 })
	try {
		const out = new Map<string, unknown[][]>()
		for (const table of TABLES) {
			const keys = (table.primaryKeys[0]?.columns ?? table.columns.filter((c) => c.primary)).map((c) => `"${c.name}"${c.columnType === 'SQLiteText' ? ' COLLATE "C"' : ''}`).join(', ')
			const rows = (await db.unsafe(`SELECT row_to_json(t)::text AS row FROM "${table.name}" t ORDER BY ${keys}`)) as { row: string }[]
			out.set(
				table.name,
				rows.map(({ row }) => {
					const parsed = JSON.parse(row) as Record<string, unknown>
					return table.columns.map((c) => {
						const v = parsed[c.name]
						if (v === null || v === undefined) return null
						if (c.columnType === 'SQLiteTimestamp') return new Date(v as string).toISOString()
						return v
					})
				}),
			)
		}
		return out
	} finally {
		await db.close()
	}
}

const rowCounts = async (url: string) => {
	const db = new SQL(url, { max: 1 })
	try {
		const counts: Record<string, number> = {}
		for (const table of TABLES) counts[table.name] = Number(((await db.unsafe(`SELECT count(*)::int AS n FROM "${table.name}"`)) as { n: number }[])[0]!.n)
		return counts
	} finally {
		await db.close()
	}
}

describe('migrate-data --to postgres://…', () => {
	let target: string
	let output: string

	it('copies every row of every table, says so per table and verified, and never prints the password', async () => {
		target = await newTarget()
		const run = await migrateData(target)
		output = run.stdout + run.stderr
		expect({ code: run.code, stderr: run.stderr }).toEqual({ code: 0, stderr: run.code === 0 ? '' : run.stdout })
		expect(output).not.toContain(PASSWORD)
		for (const table of TABLES) expect(run.stdout).toMatch(new RegExp(`^  ${table.name} +[\\d,]+/[\\d,]+ rows$`, 'm'))
		expect(run.stdout).toContain(`verified: the ${TABLES.length} tables' row counts and sha256 checksums match`)
		expect(run.stdout).toContain('done in')
		// parameters' JSON keeps the lone surrogate as an escape; jsonb refuses one: U+FFFD, and said
		expect(run.stdout).toMatch(/^note: \d+ JSON values held a lone UTF-16 surrogate/m)

		const lite = sqliteRows(join(data, 'dreamlake.db'))
		const post = await postgresRows(target)
		for (const table of TABLES) {
			// through JSON, as the API answers: jsonb's numbers have no -0, and JSON none either
			const asJson = (rows: unknown) => JSON.parse(JSON.stringify(rows))
			expect({ table: table.name, rows: asJson(post.get(table.name)) }).toEqual({ table: table.name, rows: asJson(lite.get(table.name)!) })
			if (['users', 'episodes', 'log_entries', 'parameter_values', 'track_chunks', 'files', 'metric_summaries', 'password_accounts', 'api_keys'].includes(table.name)) expect(lite.get(table.name)!.length).toBeGreaterThan(0)
		}
	})

	it("keeps the counters as SQLite's (log sequences, track indexes, summary counts), and PostgreSQL's summary trigger is on again", async () => {
		const db = new SQL(target, { max: 1 })
		const lite = new Database(join(data, 'dreamlake.db'), { readonly: true })
		try {
			const query = 'SELECT s.episode_id AS id, s.total AS total, (SELECT count(*) FROM log_entries l WHERE l.episode_id = s.episode_id) AS lines, (SELECT max(sequence) + 1 FROM log_entries l WHERE l.episode_id = s.episode_id) AS next FROM log_summaries s ORDER BY 1'
			const pgSummaries = ((await db.unsafe(query)) as Record<string, unknown>[]).map((r) => Object.values(r).map(Number))
			const liteSummaries = (lite.query(query).all() as Record<string, unknown>[]).map((r) => Object.values(r).map(Number))
			expect(pgSummaries).toEqual(liteSummaries)
			for (const [, total, lines, next] of pgSummaries) expect([total, lines]).toEqual([next, next])
			const tracks = 'SELECT t.id AS id, t.total AS total, (SELECT coalesce(sum(count), 0) FROM track_chunks c WHERE c.track_id = t.id) AS points FROM tracks t ORDER BY 1'
			expect(((await db.unsafe(tracks)) as Record<string, unknown>[]).map((r) => Object.values(r).map(Number))).toEqual((lite.query(tracks).all() as Record<string, unknown>[]).map((r) => Object.values(r).map(Number)))
			const summaries = 'SELECT episode_id, track_name, key, count, deleted FROM metric_summaries ORDER BY 1, 2, 3'
			expect(((await db.unsafe(summaries)) as Record<string, unknown>[]).map((r) => [Number(r.episode_id), r.track_name, r.key, Number(r.count), Boolean(r.deleted)])).toEqual(
				(lite.query(summaries).all() as Record<string, unknown>[]).map((r) => [Number(r.episode_id), r.track_name, r.key, Number(r.count), Boolean(r.deleted)]),
			)
			// the next line of an episode goes where SQLite's would have, and the trigger counts it
			const [{ id, total }] = (await db.unsafe('SELECT episode_id::text AS id, total FROM log_summaries ORDER BY episode_id LIMIT 1')) as [{ id: string; total: number }]
			await db.unsafe('INSERT INTO log_entries (episode_id, sequence, timestamp, level, message) VALUES ($1, $2, 0, 1, $3)', [id, Number(total), 'after the move'])
			expect(Number(((await db.unsafe('SELECT total FROM log_summaries WHERE episode_id = $1', [id])) as { total: number }[])[0]!.total)).toBe(Number(total) + 1)
		} finally {
			lite.close()
			await db.close()
		}
	})

	it('reads PostgreSQL back in keyset pages across every primary key (integer, text, composite) without a row lost or read twice', async () => {
		// in process, with pages of 3 rows, so every table of more than 3 rows spans pages (its checksum would differ otherwise)
		const db = await connectPostgres({ url: await newTarget(), poolSize: 1 })
		try {
			const report = await runMigrateData(join(data, 'dreamlake.db'), db, undefined, { readPage: 3 })
			expect(report.tables.filter((t) => t.rows > 3).map((t) => t.table)).toEqual(expect.arrayContaining(['namespaces', 'log_entries', 'parameter_values', 'metric_summaries', 'track_chunks']))
			expect(report.rows).toBe(Object.values(await rowCounts(target)).reduce((a, b) => a + b, 0) - 1) // the line the test above added
		} finally {
			await closePostgres(db)
		}
	})

	it('refuses a database with any row, naming the table, and changes nothing', async () => {
		const before = await rowCounts(target)
		const run = await migrateData(target)
		expect(run.code).toBe(1)
		expect(run.stderr).toMatch(/^dreamlake-server: migrate-data: the target database is not empty \(before migrating it\): its table \w+ holds rows; .*changed nothing\.\n$/)
		expect(run.stdout + run.stderr).not.toContain(PASSWORD)
		expect(await rowCounts(target)).toEqual(before)
		// a stranger's table counts too
		const other = await newTarget()
		const db = new SQL(other, { max: 1 })
		await db.unsafe('CREATE TABLE notes (body text)')
		await db.unsafe("INSERT INTO notes VALUES ('mine')")
		await db.close()
		expect((await migrateData(other)).stderr).toContain('its table notes holds rows')
		expect(Object.values(await rowCounts(other).catch(() => ({})))).toEqual([])
	})

	it('refuses a NUL character (PostgreSQL cannot store it) midway, naming table, row and column, and leaves the target empty', async () => {
		const copy = join(root, 'with-nul')
		cpSync(data, copy, { recursive: true })
		const h = await Harness.start({ dir: copy })
		let episode: string
		try {
			const user = await h.newUser()
			episode = await h.newEpisode(user, 'nul')
			expect((await h.call('POST', `/episodes/${episode}/logs`, { token: user.token, body: { logs: [{ timestamp: '2026-12-03T10:00:00Z', level: 'info', message: 'a\u0000b' }] } })).status).toBe(201)
		} finally {
			h.close()
		}
		const empty = await newTarget()
		const run = await migrateData(empty, copy)
		expect(run.code).toBe(1)
		expect(run.stderr).toContain(`migrate-data: log_entries row (episode_id=${episode}, sequence=0), column message holds a NUL character`)
		// users, namespaces, projects and episodes were copied before log_entries: all undone
		expect(run.stdout).toMatch(/^  episodes +[\d,]+\/[\d,]+ rows$/m)
		expect(Object.values(await rowCounts(empty)).every((n) => n === 0)).toBe(true)
	})

	it('refuses while a server holds the data folder; an unreachable or missing PostgreSQL URL is one line, without the password', async () => {
		const lock = acquireServerLock(join(data, 'dreamlake.db'))
		try {
			const run = await migrateData(await newTarget())
			expect(run.code).toBe(1)
			expect(run.stderr).toContain('a dreamlake-server is serving')
		} finally {
			lock.release()
		}
		const unreachable = await migrateData(`postgres://mover:${PASSWORD}@127.0.0.1:1/dreamlake`)
		expect(unreachable.code).toBe(1)
		expect(unreachable.stderr).toContain('could not connect to PostgreSQL at mover@127.0.0.1:1/dreamlake')
		expect(unreachable.stdout + unreachable.stderr).not.toContain(PASSWORD)
		const usage = await runCli(['migrate-data', '--to', 's3://bucket/x'], { cwd: root })
		expect(usage.code).toBe(2)
		expect(usage.stderr).toContain('"migrate-data" needs --to postgres://')
	})
})

describe('backup with DATABASE_URL naming PostgreSQL', () => {
	it('says to use pg_dump (the command), exits 1, writes nothing, never prints the password', async () => {
		const cwd = mkdtempSync(join(root, 'backup-'))
		const run = await runCli(['backup', 'copy.db'], { cwd, env: { DATABASE_URL: await newTarget() } })
		expect(run.code).toBe(1)
		expect(run.stderr).toContain('pg_dump --format=custom --file=dreamlake.dump "$DATABASE_URL"')
		expect(run.stderr).toContain('pg_restore')
		expect(run.stdout + run.stderr).not.toContain(PASSWORD)
		expect(readdirSync(cwd)).toEqual([])
		expect(existsSync(join(cwd, 'copy.db'))).toBe(false)
	})
})
