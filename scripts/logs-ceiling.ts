// The in-process ceiling of POST /episodes/{id}/logs with 100 lines: the same rows inserted into the
// same table with one prepared statement per row, one transaction per batch, on a database file with
// the server's pragmas and nothing else (no HTTP, no JSON, no validation). Prints one JSON line.
// Also with the summary trigger (drizzle/0002), set off by the last row of each batch as the server's is.
// bun scripts/logs-ceiling.ts [seconds=2] [lines per batch=100]
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { closeDatabase, openDatabase } from '../src/db/client'
import { migrateDatabase } from '../src/db/migrate'

const seconds = Number(process.argv[2] ?? 2)
const perBatch = Number(process.argv[3] ?? 100)
const message = 'epoch 12 step 3400: loss=0.2345 acc=0.9123 lr=0.0001 grad_norm=1.234' // what the bench posts

function measure(withTrigger: boolean): number {
	const dir = mkdtempSync(join(tmpdir(), 'dreamlake-ceiling-'))
	const db = openDatabase(join(dir, 'ceiling.db'))
	try {
		migrateDatabase(db)
		const sqlite = db.$client
		if (!withTrigger) sqlite.run('DROP TRIGGER log_entries_summary')
		sqlite.run("INSERT INTO users (id, sub, created_at, updated_at) VALUES ('u', 's', 0, 0)")
		sqlite.run("INSERT INTO namespaces (id, slug, owner_id, created_at) VALUES ('n', 'n', 'u', 0)")
		sqlite.run("INSERT INTO projects (id, namespace_id, name, slug, created_at, updated_at) VALUES (1, 'n', 'p', 'p', 0, 0)")
		sqlite.run("INSERT INTO episodes (id, project_id, name, created_at, updated_at) VALUES (1, 1, 'e', 0, 0)")
		const insert = sqlite.prepare('INSERT INTO log_entries (episode_id, sequence, timestamp, level, message, metadata, closes_batch) VALUES (?, ?, ?, ?, ?, ?, ?)')
		const begin = sqlite.prepare('BEGIN IMMEDIATE')
		const commit = sqlite.prepare('COMMIT')
		let sequence = 0
		const batch = () => {
			begin.run()
			const now = Date.now() * 1000
			// with the trigger, the batch's last row sets it off (as the server's last row of a statement does)
			const first = sequence
			for (let i = 0; i < perBatch; i++) insert.run(1, sequence++, now, 1, message, null, withTrigger && i === perBatch - 1 ? first : null)
			commit.run()
		}
		for (let i = 0; i < 200; i++) batch() // warm up
		let batches = 0
		const started = performance.now()
		const deadline = started + seconds * 1000
		while (performance.now() < deadline) {
			for (let i = 0; i < 20; i++) batch()
			batches += 20
		}
		return (batches * perBatch) / ((performance.now() - started) / 1000)
	} finally {
		closeDatabase(db)
		rmSync(dir, { recursive: true, force: true })
	}
}

const plain = measure(false)
const withTrigger = measure(true)
console.log(JSON.stringify({ rowsPerSecond: Math.round(plain), rowsPerSecondWithSummary: Math.round(withTrigger), linesPerBatch: perBatch }))
