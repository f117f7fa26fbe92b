// The in-process ceiling of POST …/tracks/{name}/append-batch that issue 12 measures against: the
// same 1,000-point bodies parsed (JSON text) and written one row per point, each point's JSON by a
// prepared statement, one transaction per batch, on a file with the server's pragmas; no HTTP, no
// auth, no validation. Prints one JSON line.
// bun scripts/tracks-ceiling.ts [seconds=2] [points per batch=1000]
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { closeDatabase, openDatabase } from '../src/db/client'

const seconds = Number(process.argv[2] ?? 2)
const perBatch = Number(process.argv[3] ?? 1000)

/** The bench's body: numeric points {_ts, step, loss, acc}. */
export function ingestBody(batch: number, perBatch: number): string {
	const points = Array.from({ length: perBatch }, (_, i) => {
		const step = batch * perBatch + i
		return { _ts: 1_765_000_000 + step / 100, step, loss: 1 / (step + 1), acc: (step % 1000) / 1000 }
	})
	return JSON.stringify({ dataPoints: points })
}

if (import.meta.main) {
	const dir = mkdtempSync(join(tmpdir(), 'dreamlake-tracks-ceiling-'))
	const db = openDatabase(join(dir, 'ceiling.db'))
	try {
		const sqlite = db.$client
		sqlite.run('CREATE TABLE points (track_id INTEGER NOT NULL, idx INTEGER NOT NULL, data TEXT NOT NULL, PRIMARY KEY (track_id, idx))')
		const insert = sqlite.prepare('INSERT INTO points (track_id, idx, data) VALUES (?, ?, ?)')
		const begin = sqlite.prepare('BEGIN IMMEDIATE')
		const commit = sqlite.prepare('COMMIT')
		const bodies = Array.from({ length: 16 }, (_, b) => ingestBody(b, perBatch))
		let index = 0
		const batch = (b: number) => {
			const { dataPoints } = JSON.parse(bodies[b % bodies.length]!) as { dataPoints: Record<string, unknown>[] }
			begin.run()
			for (const point of dataPoints) insert.run(1, index++, JSON.stringify(point))
			commit.run()
		}
		for (let b = 0; b < 50; b++) batch(b) // warm up
		let batches = 0
		const started = performance.now()
		while (performance.now() - started < seconds * 1000) batch(batches++)
		const elapsed = (performance.now() - started) / 1000
		console.log(JSON.stringify({ pointsPerSecond: Math.round((batches * perBatch) / elapsed), pointsPerBatch: perBatch }))
	} finally {
		closeDatabase(db)
		rmSync(dir, { recursive: true, force: true })
	}
}
