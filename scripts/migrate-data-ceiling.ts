// What `migrate-data` copies a second, against the bare COPY of the same rows in the same run (its
// ceiling: no SQLite read beyond the rows, no conversion, no checksum, no verification). A data
// folder of <lines> synthetic log lines under one episode, written straight into a migrated SQLite
// database; each copy into a fresh database on DATABASE_URL's server, else a throwaway cluster
// (scripts/postgres.sh). Prints one JSON line.
// bun scripts/migrate-data-ceiling.ts [lines=200000]
import { Database } from 'bun:sqlite'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startTestPostgres } from '../test/support/postgres'
import { closeDatabase, openDatabase } from '../src/db/client'
import { migrateDatabase } from '../src/db/migrate'
import { migrateData } from '../src/db/migrate-data'
import { closePostgres, connectPostgres } from '../src/db/postgres-client'
import { migratePostgres } from '../src/db/postgres-migrate'

const lines = Number(process.argv[2] ?? 200_000)
const folder = mkdtempSync(join(tmpdir(), 'dreamlake-move-'))
const path = join(folder, 'dreamlake.db')
const server = await startTestPostgres()
try {
	const db = openDatabase(path)
	migrateDatabase(db)
	const sqlite = db.$client
	const now = Date.now()
	sqlite.run(`INSERT INTO users (id, sub, metadata, token_version, created_at, updated_at) VALUES ('u', 's', '{}', 0, ${now}, ${now})`)
	sqlite.run(`INSERT INTO namespaces (id, slug, owner_id, kind, metadata, created_at) VALUES ('n', 'n', 'u', 'personal', '{}', ${now})`)
	sqlite.run(`INSERT INTO projects (id, namespace_id, name, slug, created_at, updated_at) VALUES (1, 'n', 'p', 'p', ${now}, ${now})`)
	sqlite.run(`INSERT INTO episodes (id, project_id, name, created_at, updated_at) VALUES (1, 1, 'e', ${now}, ${now})`)
	sqlite.run('BEGIN')
	const insert = sqlite.prepare('INSERT INTO log_entries (episode_id, sequence, timestamp, level, message, metadata, closes_batch) VALUES (1, ?, ?, ?, ?, ?, ?)')
	for (let i = 0; i < lines; i++) insert.run(i, now * 1000 + i, i % 5, `epoch 12 step ${i}: loss=0.2345 acc=0.9123 lr=0.0001`, i % 3 ? null : '{"k":1}', i === lines - 1 ? 0 : null)
	sqlite.run('COMMIT')
	closeDatabase(db)

	const target = await connectPostgres({ url: await server.createDatabase('dreamlake_move'), poolSize: 1 })
	const started = performance.now()
	const report = await migrateData(path, target)
	const totalMs = performance.now() - started
	await closePostgres(target)

	// the ceiling: the same rows, COPY'd as they come, no foreign keys or triggers in the way
	const bare = await connectPostgres({ url: await server.createDatabase('dreamlake_copy'), poolSize: 1 })
	await migratePostgres(bare)
	const source = new Database(path, { readonly: true })
	const escape = (v: unknown) => (v === null ? '\\N' : String(v).replace(/[\\\t\n\r]/g, (c) => ({ '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r' })[c]!))
	const copyStarted = performance.now()
	await bare.$client.begin(async (tx) => {
		await tx.unsafe('ALTER TABLE log_entries DISABLE TRIGGER USER')
		await tx.unsafe('ALTER TABLE log_entries DROP CONSTRAINT log_entries_episode_id_episodes_id_fk')
		const writer = tx.unsafe('COPY log_entries (episode_id, sequence, timestamp, level, message, metadata, closes_batch) FROM STDIN').writable().getWriter()
		let chunk = ''
		for (const row of source.query('SELECT episode_id, sequence, timestamp, level, message, metadata, closes_batch FROM log_entries ORDER BY episode_id, sequence').values()) {
			chunk += row.map(escape).join('\t') + '\n'
			if (chunk.length >= 1 << 20) {
				await writer.write(chunk)
				chunk = ''
			}
		}
		if (chunk) await writer.write(chunk)
		await writer.close()
	})
	const copyMs = performance.now() - copyStarted
	source.close()
	await closePostgres(bare)
	console.log(
		JSON.stringify({
			lines,
			rowsPerSecond: Math.round(report.rows / (totalMs / 1000)),
			copyRowsPerSecond: Math.round(report.rows / (report.copyMs / 1000)),
			copyMs: report.copyMs,
			verifyMs: report.verifyMs,
			bareCopyRowsPerSecond: Math.round(lines / (copyMs / 1000)),
		}),
	)
} finally {
	await server.stop()
	rmSync(folder, { recursive: true, force: true })
}
