import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { DbMeter } from '../src/db/meter'
import { openPostgres, type PgDb } from '../src/db/postgres-client'
import { migratePostgres } from '../src/db/postgres-migrate'
import { PgWriteQueue } from '../src/db/postgres-write-queue'
import { episodes, logSummaries, namespaces, projects } from '../src/db/schema-pg'
import type { LogRow } from '../src/logs/model'
import { PgLogRepository } from '../src/logs/repository-pg'
import { startTestPostgres, type TestPostgres } from './support/postgres'
import { Random } from './support/random'

// Log sequences allocated in PostgreSQL: two server processes' pools, queues and repositories on one
// migrated database, appending to the same episodes at once.
const SEED = Number(process.env.PG_LOGS_SEED ?? Date.now() % 1_000_000)
let postgres: TestPostgres
let servers: { db: PgDb; queue: PgWriteQueue; logs: PgLogRepository }[] = []
const EPISODES = [101, 102, 103]

beforeAll(async () => {
	postgres = await startTestPostgres()
	const url = await postgres.createDatabase('logs')
	servers = [0, 1].map(() => {
		const db = openPostgres({ url, poolSize: 4 })
		const queue = new PgWriteQueue(db.$client)
		return { db, queue, logs: new PgLogRepository(db, queue) }
	})
	const { db } = servers[0]!
	await migratePostgres(db)
	const now = new Date()
	await db.insert(namespaces).values({ id: 'ns-1', slug: 'lab', name: 'Lab', createdAt: now, updatedAt: now } as never)
	await db.insert(projects).values({ id: 1, namespaceId: 'ns-1', name: 'p', slug: 'p', createdAt: now, updatedAt: now })
	await db.insert(episodes).values(EPISODES.map((id) => ({ id, projectId: 1, name: `e${id}`, createdAt: now, updatedAt: now })))
}, 60_000)
afterAll(async () => {
	for (const server of servers) {
		await server.queue.close()
		await server.db.$client.close({ timeout: 0 })
	}
	await postgres?.stop()
}, 60_000)

const line = (writer: string, n: number, level = 1): LogRow => ({ timestamp: 1_700_000_000_000_000 + n, level, message: `${writer}#${n}`, metadata: null })

describe('PgLogRepository: sequences from the database', () => {
	it(`two processes appending to the same episodes at once: every range gapless, disjoint, and stored as acknowledged (PG_LOGS_SEED=${SEED})`, async () => {
		const random = new Random(SEED)
		const acknowledged = new Map<number, { start: number; end: number; writer: string; first: number; count: number }[]>(EPISODES.map((id) => [id, []]))
		// 8 writers, 4 a process, each appending batches of 1 to 300 lines to random episodes
		await Promise.all(
			Array.from({ length: 8 }, async (_, w) => {
				const server = servers[w % 2]!
				const writer = `w${w}`
				let n = 0
				for (let batch = 0; batch < 25; batch++) {
					const episode = random.pick(EPISODES)
					const count = 1 + random.int(random.chance(0.2) ? 300 : 5)
					const rows = Array.from({ length: count }, (_, i) => line(writer, n + i, random.int(5)))
					const range = await server.logs.append(new DbMeter(), episode, rows)
					acknowledged.get(episode)!.push({ ...range, writer, first: n, count })
					n += count
				}
			}),
		)
		for (const episode of EPISODES) {
			const ranges = acknowledged.get(episode)!.sort((a, b) => a.start - b.start)
			// gapless and disjoint: each range starts where the one before ended
			let next = 0
			for (const range of ranges) {
				expect(range.start).toBe(next)
				expect(range.end - range.start + 1).toBe(range.count)
				next = range.end + 1
			}
			// what is stored is exactly what was acknowledged, line for line, read through either process
			const stored = await servers[1]!.logs.read(new DbMeter(), episode, { dir: 'asc', limit: 100_000, levels: [] })
			expect(stored.map((row) => row.sequence)).toEqual(Array.from({ length: next }, (_, i) => i))
			for (const range of ranges)
				for (let i = 0; i < range.count; i++) expect(stored[range.start + i]!.message).toBe(`${range.writer}#${range.first + i}`)
			// and the summary the trigger keeps counts them all
			const [summary] = await servers[0]!.db.select().from(logSummaries).where((await import('drizzle-orm')).eq(logSummaries.episodeId, episode))
			expect(summary?.total ?? 0).toBe(next)
			expect((summary?.debug ?? 0) + (summary?.info ?? 0) + (summary?.warn ?? 0) + (summary?.error ?? 0) + (summary?.fatal ?? 0)).toBe(next)
			expect(await servers[0]!.logs.total(new DbMeter(), episode)).toBe(next)
		}
	}, 60_000)

	it('reads as the list does: after a sequence, both directions, levels, a search with % and _ taken literally, case-insensitive', async () => {
		const { logs } = servers[0]!
		const episode = 103
		const base = await logs.total(new DbMeter(), episode)
		await logs.append(new DbMeter(), episode, [
			{ timestamp: 1, level: 3, message: 'Loss went 100% NaN', metadata: '{"k":1}' },
			{ timestamp: 2, level: 1, message: 'loss_ok', metadata: null },
			{ timestamp: 3, level: 3, message: 'lossXok', metadata: null },
		])
		const meter = new DbMeter()
		expect((await logs.read(meter, episode, { dir: 'asc', afterSequence: base - 1, limit: 10, levels: [3], search: 'LOSS' })).map((r) => r.message)).toEqual(['Loss went 100% NaN', 'lossXok'])
		expect((await logs.read(meter, episode, { dir: 'asc', afterSequence: base - 1, limit: 10, levels: [], search: '100%' })).map((r) => r.message)).toEqual(['Loss went 100% NaN'])
		expect((await logs.read(meter, episode, { dir: 'asc', afterSequence: base - 1, limit: 10, levels: [], search: 's_o' })).map((r) => r.message)).toEqual(['loss_ok'])
		expect((await logs.read(meter, episode, { dir: 'desc', limit: 2, levels: [] })).map((r) => r.sequence)).toEqual([base + 2, base + 1])
		expect(meter.statements).toBe(4)
	})
})
