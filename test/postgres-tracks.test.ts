import { SQL } from 'bun'
import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { eq } from 'drizzle-orm'
import { RowIds } from '../src/db/ids'
import { DbMeter } from '../src/db/meter'
import { openPostgres, type PgDb } from '../src/db/postgres-client'
import { migratePostgres } from '../src/db/postgres-migrate'
import { claimNode, MAX_NODES, NoFreeNodeError, type NodeClaim } from '../src/db/postgres-nodes'
import { PgWriteQueue } from '../src/db/postgres-write-queue'
import { episodes, metricSummaries, namespaces, projects, tracks } from '../src/db/schema-pg'
import { decodeChunk, pointsOf, type Point } from '../src/tracks/codec'
import { PgTrackRepository } from '../src/tracks/repository-pg'
import { startTestPostgres, type TestPostgres } from './support/postgres'
import { Random } from './support/random'

// Track indexes allocated in PostgreSQL, and ids that two processes never share: two processes'
// pools, node claims, queues and repositories on one migrated database.
const SEED = Number(process.env.PG_TRACKS_SEED ?? Date.now() % 1_000_000)
let postgres: TestPostgres
let url: string
let servers: { db: PgDb; queue: PgWriteQueue; claim: NodeClaim; tracks: PgTrackRepository }[] = []
const EPISODES = [{ id: 201, projectId: 1 }, { id: 202, projectId: 1 }]

beforeAll(async () => {
	postgres = await startTestPostgres()
	url = await postgres.createDatabase('tracks')
	const dbs = [0, 1].map(() => openPostgres({ url, poolSize: 4 }))
	await migratePostgres(dbs[0]!)
	servers = await Promise.all(
		dbs.map(async (db) => {
			const queue = new PgWriteQueue(db.$client)
			const claim = await claimNode(db.$client)
			return { db, queue, claim, tracks: new PgTrackRepository(db, queue, claim.ids) }
		}),
	)
	const { db } = servers[0]!
	const now = new Date()
	await db.insert(namespaces).values({ id: 'ns-1', slug: 'lab', name: 'Lab', createdAt: now, updatedAt: now })
	await db.insert(projects).values({ id: 1, namespaceId: 'ns-1', name: 'p', slug: 'p', createdAt: now, updatedAt: now })
	await db.insert(episodes).values(EPISODES.map(({ id }) => ({ id, projectId: 1, name: `e${id}`, createdAt: now, updatedAt: now })))
}, 60_000)
afterAll(async () => {
	for (const server of servers) {
		await server.queue.close()
		await server.claim.release()
		await server.db.$client.close({ timeout: 0 })
	}
	await postgres?.stop()
}, 60_000)

describe('ids of several processes', () => {
	it('claimNode gives each live process its own node, and a released one is free again', async () => {
		expect(new Set(servers.map((s) => s.claim.node)).size).toBe(2)
		// the other fourteen, each as a process of its own would hold it: a connection apiece
		const others = new SQL(url, { max: MAX_NODES + 2 })
		const more: NodeClaim[] = []
		for (let i = 2; i < MAX_NODES; i++) more.push(await claimNode(others))
		expect(new Set([...servers.map((s) => s.claim.node), ...more.map((c) => c.node)]).size).toBe(MAX_NODES)
		await expect(claimNode(others)).rejects.toBeInstanceOf(NoFreeNodeError)
		const freed = more.pop()!
		await freed.release()
		const again = await claimNode(others)
		expect(again.node).toBe(freed.node)
		await again.release()
		for (const claim of more) await claim.release()
		await others.close({ timeout: 0 })
	})

	it('RowIds of different nodes never collide, even in the same millisecond, and each stays increasing', () => {
		const now = Date.UTC(2026, 11, 3)
		const seen = new Set<number>()
		for (let node = 0; node < MAX_NODES; node++) {
			const ids = new RowIds(node, 4)
			let last = 0
			for (let i = 0; i < 1_000; i++) {
				const id = ids.next(now) // 1,000 in one millisecond: the counter spills into the next ones
				expect(id).toBeGreaterThan(last)
				expect(Number.isSafeInteger(id)).toBe(true)
				expect(seen.has(id)).toBe(false)
				seen.add(id)
				last = id
			}
		}
		expect(() => new RowIds(16, 4)).toThrow(RangeError)
	})
})

describe('PgTrackRepository: indexes from the database', () => {
	it(`two processes appending to the same tracks at once, new ones too: gapless, disjoint, every point where it was acknowledged, summaries exact (PG_TRACKS_SEED=${SEED})`, async () => {
		const random = new Random(SEED)
		const names = ['train/loss', 'robot/pose', 'eval']
		const acknowledged = new Map<string, { startIndex: number; points: Point[] }[]>()
		await Promise.all(
			Array.from({ length: 8 }, async (_, w) => {
				const server = servers[w % 2]!
				for (let batch = 0; batch < 20; batch++) {
					const episode = random.pick(EPISODES)
					const name = random.pick(names)
					const count = 1 + random.int(random.chance(0.15) ? 5_000 : 40)
					const points = Array.from({ length: count }, (_, i) => ({ step: batch * 10_000 + i, loss: random.next() * 10 - 5, ...(random.chance(0.5) && { acc: random.int(100) }), writer: `w${w}` }))
					const { startIndex } = await server.tracks.append(new DbMeter(), episode, name, points)
					const key = `${episode.id}/${name}`
					if (!acknowledged.has(key)) acknowledged.set(key, [])
					acknowledged.get(key)!.push({ startIndex, points })
				}
			}),
		)
		for (const [key, appends] of acknowledged) {
			const [episodeId, name] = [Number(key.split('/')[0]), key.slice(key.indexOf('/') + 1)]
			appends.sort((a, b) => a.startIndex - b.startIndex)
			const expected: Point[] = []
			for (const append of appends) {
				expect(append.startIndex).toBe(expected.length) // gapless and disjoint
				expected.push(...append.points)
			}
			const [track] = await servers[1]!.db.select().from(tracks).where(eq(tracks.name, name)).then((rows) => rows.filter((t) => t.episodeId === episodeId))
			expect(track!.total).toBe(expected.length)
			// one track per name, however many processes created it at once
			expect((await servers[0]!.db.select().from(tracks).where(eq(tracks.episodeId, episodeId))).filter((t) => t.name === name)).toHaveLength(1)
			const stored: Point[] = []
			for (const chunk of await servers[1]!.tracks.chunks(new DbMeter(), track!.id, 0, expected.length)) {
				expect(chunk.startIndex).toBe(stored.length)
				const decoded = decodeChunk(chunk.data)
				stored.push(...pointsOf(decoded, 0, decoded.count))
			}
			expect(stored).toEqual(expected)
			// the metric summaries against the points themselves
			const summaries = await servers[0]!.db.select().from(metricSummaries).where(eq(metricSummaries.trackId, track!.id))
			for (const metric of ['step', 'loss', 'acc']) {
				const values = expected.map((p, i) => [p[metric], i] as const).filter(([v]) => typeof v === 'number') as [number, number][]
				const row = summaries.find((s) => s.key === metric)
				if (values.length === 0) {
					expect(row).toBeUndefined()
					continue
				}
				expect(row!.count).toBe(values.length)
				expect(row!.last).toBe(values.at(-1)![0])
				expect(row!.lastIndex).toBe(values.at(-1)![1])
				expect(row!.min).toBe(Math.min(...values.map(([v]) => v)))
				expect(row!.max).toBe(Math.max(...values.map(([v]) => v)))
				expect(expected[row!.minIndex!]![metric]).toBe(row!.min)
				expect(expected[row!.maxIndex!]![metric]).toBe(row!.max)
			}
		}
	}, 60_000)
})
