// The PostgreSQL ceilings issue 23's bench targets are set against, the twins of scripts/tracks-ceiling.ts
// and scripts/logs-ceiling.ts: in process, Bun's client on one connection, nothing but the rows (no HTTP,
// no auth, no validation), on a fresh database migrated as the server would. Prints one JSON line.
// - tracks: the same 1,000-point bodies parsed and written one row per point (its JSON text), one
//   transaction per batch; awaited row by row (a round trip each), and pipelined (the batch's rows all
//   sent before the first answer is read): the second is the ceiling a server could reach.
// - logs: 100-line batches as one multi-row INSERT into log_entries, with the summary trigger and without.
// - commits: one-row INSERTs, each its own transaction: what a commit (the WAL's flush) costs here.
// - repositories: the PostgreSQL repositories themselves (PgTrackRepository, PgLogRepository through
//   PgWriteQueue, sequences and indexes allocated under row locks), 16 writers at once in process, on
//   16 episodes: the server's write path without HTTP, to hold against the two ceilings above.
// The database: DATABASE_URL when it names PostgreSQL, else a throwaway cluster (scripts/postgres.sh).
// bun scripts/pg-ceiling.ts [seconds=2] [points per batch=1000] [lines per batch=100]
import { SQL } from 'bun'
import { startTestPostgres } from '../test/support/postgres'
import { closePostgres, connectPostgres } from '../src/db/postgres-client'
import { migratePostgres } from '../src/db/postgres-migrate'
import { ingestBody } from './tracks-ceiling'
import { DbMeter } from '../src/db/meter'
import { openPostgres } from '../src/db/postgres-client'
import { PgWriteQueue } from '../src/db/postgres-write-queue'
import { RowIds } from '../src/db/ids'
import { PgLogRepository } from '../src/logs/repository-pg'
import { PgTrackRepository } from '../src/tracks/repository-pg'

const seconds = Number(process.argv[2] ?? 2)
const pointsPerBatch = Number(process.argv[3] ?? 1000)
const linesPerBatch = Number(process.argv[4] ?? 100)
const message = 'epoch 12 step 3400: loss=0.2345 acc=0.9123 lr=0.0001 grad_norm=1.234' // what the bench posts

/** Runs `batch` for `seconds` after a warm-up; rows a second. */
async function rate(rowsPerBatch: number, batch: (n: number) => Promise<void>, warmup = 20): Promise<number> {
	for (let b = 0; b < warmup; b++) await batch(b)
	let batches = 0
	const started = performance.now()
	while (performance.now() - started < seconds * 1000) await batch(warmup + batches++)
	return Math.round((batches * rowsPerBatch) / ((performance.now() - started) / 1000))
}

const server = await startTestPostgres()
try {
	const url = await server.createDatabase('dreamlake_ceiling')
	const db = await connectPostgres({ url, poolSize: 1 })
	await migratePostgres(db)
	await closePostgres(db)
	const sql = new SQL(url, { max: 1 })
	const connection = await sql.reserve()
	try {
		await connection`CREATE TABLE points (track_id bigint NOT NULL, idx bigint NOT NULL, data text NOT NULL, PRIMARY KEY (track_id, idx))`
		const bodies = Array.from({ length: 16 }, (_, b) => ingestBody(b, pointsPerBatch))
		let index = 0
		const pointsBatch = (pipelined: boolean) => async (b: number) => {
			const { dataPoints } = JSON.parse(bodies[b % bodies.length]!) as { dataPoints: Record<string, unknown>[] }
			await connection`BEGIN`
			if (pipelined) await Promise.all(dataPoints.map((point) => connection`INSERT INTO points (track_id, idx, data) VALUES (1, ${index++}, ${JSON.stringify(point)})`))
			else for (const point of dataPoints) await connection`INSERT INTO points (track_id, idx, data) VALUES (1, ${index++}, ${JSON.stringify(point)})`
			await connection`COMMIT`
		}
		const awaited = await rate(pointsPerBatch, pointsBatch(false), 5)
		const pipelined = await rate(pointsPerBatch, pointsBatch(true))

		await connection`INSERT INTO users (id, sub, created_at, updated_at) VALUES ('u', 's', now(), now())`
		await connection`INSERT INTO namespaces (id, slug, owner_id, created_at) VALUES ('n', 'n', 'u', now())`
		await connection`INSERT INTO projects (id, namespace_id, name, slug, created_at, updated_at) VALUES (1, 'n', 'p', 'p', now(), now())`
		await connection`INSERT INTO episodes (id, project_id, name, created_at, updated_at) VALUES (1, 1, 'e', now(), now()), (2, 1, 'f', now(), now())`
		const insertLines = `INSERT INTO log_entries (episode_id, sequence, timestamp, level, message, metadata, closes_batch) VALUES ${Array.from({ length: linesPerBatch }, (_, r) => `(${Array.from({ length: 7 }, (_, c) => `$${r * 7 + c + 1}`).join(',')})`).join(',')}`
		const sequences = new Map<number, number>()
		const linesBatch = (episode: number) => async () => {
			const first = sequences.get(episode) ?? 0
			sequences.set(episode, first + linesPerBatch)
			const now = Date.now() * 1000
			const values: (number | string | null)[] = []
			for (let i = 0; i < linesPerBatch; i++) values.push(episode, first + i, now, 1, message, null, i === linesPerBatch - 1 ? first : null)
			await connection.unsafe(insertLines, values) // one statement: its own transaction
		}
		const withSummary = await rate(linesPerBatch, linesBatch(1))
		// the repositories (before the trigger is dropped: PgLogRepository numbers on from what it keeps), 16 writers on 16 episodes, each awaiting its append before the next
		const writers = 16
		await connection.unsafe(`INSERT INTO episodes (id, project_id, name, created_at, updated_at) SELECT 100 + n, 1, 'w' || n, now(), now() FROM generate_series(1, ${writers}) AS n`)
		const pool = openPostgres({ url, poolSize: 4 })
		const queue = new PgWriteQueue(pool.$client)
		const logs = new PgLogRepository(pool, queue)
		const trackRepository = new PgTrackRepository(pool, queue, new RowIds(1, 4))
		const lines = Array.from({ length: linesPerBatch }, () => ({ timestamp: Date.now() * 1000, level: 1, message, metadata: null }))
		const together = async (rowsPerAppend: number, append: (episodeId: number, n: number) => Promise<unknown>): Promise<number> => {
			let appends = 0
			const until = performance.now() + seconds * 1000
			const started = performance.now()
			await Promise.all(
				Array.from({ length: writers }, async (_, w) => {
					for (let n = 0; performance.now() < until; n++, appends++) await append(101 + w, n)
				}),
			)
			return Math.round((appends * rowsPerAppend) / ((performance.now() - started) / 1000))
		}
		const repositoryLines = await together(linesPerBatch, (episodeId) => logs.append(new DbMeter(), episodeId, lines))
		const repositoryPoints = await together(pointsPerBatch, (episodeId, n) => {
			const { dataPoints } = JSON.parse(bodies[n % bodies.length]!) as { dataPoints: Record<string, unknown>[] }
			return trackRepository.append(new DbMeter(), { id: episodeId, projectId: 1 }, 'train', dataPoints)
		})
		await queue.close()
		await pool.$client.close({ timeout: 0 })
		await connection`DROP TRIGGER log_entries_summary ON log_entries`
		const plain = await rate(linesPerBatch, linesBatch(2))
		// what one commit costs on this disk (the WAL's flush): the floor a group commit amortizes
		await connection`CREATE TABLE commits (n bigint NOT NULL)`
		const commits = await rate(1, async (n) => void (await connection`INSERT INTO commits (n) VALUES (${n})`))
		const [{ server_version: version }] = await connection`SHOW server_version`
		console.log(
			JSON.stringify({
				pointsPerSecondOneRowPerPoint: pipelined,
				pointsPerSecondOneRowPerPointAwaited: awaited,
				rowsPerSecondMultiRow: plain,
				rowsPerSecondMultiRowWithSummary: withSummary,
				commitsPerSecond: commits,
				repositoryPointsPerSecond: repositoryPoints,
				repositoryLinesPerSecond: repositoryLines,
				repositoryWriters: writers,
				pointsPerBatch,
				linesPerBatch,
				postgres: version,
			}),
		)
	} finally {
		connection.release()
		await sql.close()
	}
} finally {
	await server.stop()
}
