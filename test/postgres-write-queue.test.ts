import { SQL } from 'bun'
import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { Elysia } from 'elysia'
import { DbMeter, meteredAsync } from '../src/db/meter'
import { classifyPostgresError, DatabaseUnavailableError } from '../src/db/postgres-errors'
import { PgReadGate } from '../src/db/postgres-read-gate'
import { PgWriteQueue, type PgTx } from '../src/db/postgres-write-queue'
import { errorHandler } from '../src/http/error-handler'
import { createLogger } from '../src/log'
import { startTestPostgres, type TestPostgres } from './support/postgres'
import { Random } from './support/random'

// The group commit on a real PostgreSQL: a cluster of the file's own (DATABASE_URL ignored), since
// the restart test stops and starts it.
let postgres: TestPostgres
let pool: SQL
let url: string
beforeAll(async () => {
	postgres = await startTestPostgres({ ...process.env, DATABASE_URL: undefined })
	url = await postgres.createDatabase('write_queue')
	pool = new SQL(url, { max: 4, connectionTimeout: 2 })
	await pool`CREATE TABLE writes (id integer PRIMARY KEY, job text NOT NULL)`
	await pool`CREATE TABLE groups (n serial PRIMARY KEY, size integer NOT NULL)`
}, 60_000)
afterAll(async () => {
	await pool?.close({ timeout: 0 })
	await postgres?.stop()
}, 60_000)

let nextId = 1
const SEED = Number(process.env.WRITE_QUEUE_SEED ?? Date.now() % 1_000_000)
const insert = (tx: PgTx, id: number, job = `job-${id}`) => tx.sql`INSERT INTO writes (id, job) VALUES (${id}, ${job})`
const stored = async (): Promise<number[]> => (await pool`SELECT id FROM writes ORDER BY id`).map((row: { id: number }) => row.id)
const clear = () => pool`TRUNCATE writes, groups`

describe('PgWriteQueue: group commit on PostgreSQL', () => {
	it('writes that arrive together share one transaction, and each promise settles after its COMMIT', async () => {
		await clear()
		const queue = new PgWriteQueue(pool)
		const ids = Array.from({ length: 200 }, () => nextId++)
		let groups = 0
		const results = await Promise.all(
			ids.map((id) =>
				queue.run(new DbMeter(), async (tx) => {
					await insert(tx, id)
					tx.beforeCommit('count groups', async () => void groups++)
					return id
				}),
			),
		)
		expect(results).toEqual(ids)
		expect(await stored()).toEqual(ids)
		// 200 writes in far fewer transactions: one beforeCommit step per group, however many writes asked
		expect(groups).toBeGreaterThanOrEqual(1)
		expect(groups).toBeLessThan(20)
		await queue.close()
	})

	it(`a failing write fails alone: random groups of good, duplicate-key and throwing writes, checked against what they did (WRITE_QUEUE_SEED=${SEED})`, async () => {
		const random = new Random(SEED)
		for (let round = 0; round < 12; round++) {
			await clear()
			const queue = new PgWriteQueue(pool)
			const taken = new Set<number>()
			const size = 1 + random.int(60)
			const jobs = Array.from({ length: size }, (_, i) => {
				const kind = random.chance(0.7) ? 'good' : random.chance(0.5) ? 'duplicate' : 'throws'
				return { i, kind, id: 10_000 + i, runs: 0, rollbacks: 0, commits: 0 }
			})
			// a duplicate inserts an id a good write of the same round also inserts: whichever runs second fails
			const settled = await Promise.allSettled(
				jobs.map((job) =>
					queue.run(new DbMeter(), async (tx) => {
						job.runs++
						tx.onRollback(() => job.rollbacks++)
						tx.afterCommit(() => job.commits++)
						if (job.kind === 'duplicate') {
							await insert(tx, job.id)
							await insert(tx, job.id) // the same key twice in one write: always a 23505
						} else {
							await insert(tx, job.id)
							if (job.kind === 'throws') throw new Error('refused after a statement')
						}
						taken.add(job.id)
						return job.id
					}),
				),
			)
			const good = jobs.filter((job) => job.kind === 'good')
			expect(await stored()).toEqual(good.map((job) => job.id))
			for (const [i, job] of jobs.entries()) {
				const outcome = settled[i]!
				if (job.kind === 'good') {
					expect(outcome).toEqual({ status: 'fulfilled', value: job.id })
					expect(job.commits).toBe(1)
				} else {
					expect(outcome.status).toBe('rejected')
					const reason = (outcome as PromiseRejectedResult).reason
					if (job.kind === 'duplicate') expect(classifyPostgresError(reason)).toBe('unique')
					else expect((reason as Error).message).toBe('refused after a statement')
					expect(job.commits).toBe(0)
				}
				// every run that did not commit was undone: a write may run twice (its group replayed), never leave memory behind
				expect(job.runs).toBe(job.rollbacks + job.commits)
				expect(job.runs).toBeLessThanOrEqual(2)
			}
			await queue.close()
		}
	})

	it('afterCommit runs in commit order before the promise settles; a failing beforeCommit step fails the whole group and keeps nothing', async () => {
		await clear()
		const queue = new PgWriteQueue(pool)
		const seen: string[] = []
		const a = nextId++
		const b = nextId++
		await Promise.all([
			queue.run(new DbMeter(), async (tx) => void (await insert(tx, a), tx.afterCommit(() => seen.push('a committed')))).then(() => seen.push('a settled')),
			queue.run(new DbMeter(), async (tx) => void (await insert(tx, b), tx.afterCommit(() => seen.push('b committed')))).then(() => seen.push('b settled')),
		])
		// one group: both hooks run at its COMMIT, in the writes' order, before either promise settles
		expect(seen).toEqual(['a committed', 'b committed', 'a settled', 'b settled'])

		const c = nextId++
		let undone = 0
		const failed = await Promise.allSettled([
			queue.run(new DbMeter(), async (tx) => {
				await insert(tx, c)
				tx.onRollback(() => undone++)
				tx.beforeCommit('bad step', async () => {
					await tx.sql`INSERT INTO writes (id, job) VALUES (${a}, 'again')`
				})
			}),
			queue.run(new DbMeter(), async (tx) => void (await insert(tx, nextId++), tx.onRollback(() => undone++))),
		])
		expect(failed.map((f) => f.status)).toEqual(['rejected', 'rejected'])
		expect(classifyPostgresError((failed[0] as PromiseRejectedResult).reason)).toBe('unique')
		expect(undone).toBe(2)
		expect(await stored()).toEqual([a, b])
		await queue.close()
	})

	it("charges each write's statements to its own meter while other requests read beside it", async () => {
		await clear()
		const queue = new PgWriteQueue(pool)
		const meters = Array.from({ length: 5 }, () => new DbMeter())
		const reader = new DbMeter()
		const { drizzle } = await import('drizzle-orm/bun-sql')
		const { statementCounter } = await import('../src/db/meter')
		const db = drizzle({ client: pool, logger: statementCounter })
		const { sql } = await import('drizzle-orm')
		await Promise.all([
			...meters.map((meter, n) =>
				queue.run(meter, async (tx) => {
					for (let k = 0; k <= n; k++) await tx.db.execute(sql`INSERT INTO writes (id, job) VALUES (${nextId++}, 'metered')`)
				}),
			),
			meteredAsync(reader, async () => {
				for (let k = 0; k < 7; k++) await db.execute(sql`SELECT count(*) FROM writes`)
			}),
		])
		expect(meters.map((m) => m.statements)).toEqual([1, 2, 3, 4, 5])
		expect(meters.map((m) => m.transactions)).toEqual([1, 1, 1, 1, 1])
		expect(reader.statements).toBe(7)
		await queue.close()
	})

	it('a deadlock with another process is no write\'s fault: the losing group runs again whole and both writes succeed', async () => {
		await clear()
		await pool`INSERT INTO writes (id, job) VALUES (1, 'one'), (2, 'two')`
		const other = new SQL(url, { max: 2 })
		const [a, b] = [new PgWriteQueue(pool), new PgWriteQueue(other)]
		// each takes the two rows in the opposite order, with a pause between: PostgreSQL finds the cycle and fails one
		const crossing = (tx: PgTx, first: number, second: number) =>
			(async () => {
				await tx.sql`SELECT id FROM writes WHERE id = ${first} FOR UPDATE`
				await tx.sql`SELECT pg_sleep(0.2)`
				await tx.sql`UPDATE writes SET job = job || '+' WHERE id = ${second}`
				return first
			})()
		const results = await Promise.all([a.run(new DbMeter(), (tx) => crossing(tx, 1, 2)), b.run(new DbMeter(), (tx) => crossing(tx, 2, 1))])
		expect(results).toEqual([1, 2])
		expect(a.retries + b.retries).toBeGreaterThanOrEqual(1) // once, or again if the rerun met the other group still holding its row
		expect((await pool`SELECT job FROM writes ORDER BY id`).map((row: { job: string }) => row.job)).toEqual(['one+', 'two+'])
		await Promise.all([a.close(), b.close()])
		await other.close({ timeout: 0 })
	}, 20_000)

	it('queues with a bound: past it a write is refused at once as unavailable, and the queue keeps working', async () => {
		await clear()
		const queue = new PgWriteQueue(pool, { maxQueued: 3 })
		const writes = Array.from({ length: 5 }, () => nextId++).map((id) => queue.run(new DbMeter(), (tx) => insert(tx, id).then(() => id)))
		const settled = await Promise.allSettled(writes)
		expect(settled.map((s) => s.status)).toEqual(['fulfilled', 'fulfilled', 'fulfilled', 'rejected', 'rejected'])
		expect((settled[3] as PromiseRejectedResult).reason).toBeInstanceOf(DatabaseUnavailableError)
		expect(await queue.run(new DbMeter(), () => 'still working')).toBe('still working')
		await queue.close()
	})

	it('a group that does not commit in time fails as unavailable, its connection is dropped (nothing of it kept), and the next group works', async () => {
		await clear()
		const queue = new PgWriteQueue(pool, { groupTimeoutMs: 300 })
		const slow = nextId++
		const started = performance.now()
		const hung = await queue.run(new DbMeter(), async (tx) => {
			await insert(tx, slow)
			await tx.sql`SELECT pg_sleep(5)`
		}).catch((error) => error)
		expect(hung).toBeInstanceOf(DatabaseUnavailableError)
		expect(performance.now() - started).toBeLessThan(4_000) // well before the sleep ends: the deadline, not the statement, ended it
		const next = nextId++
		await queue.run(new DbMeter(), (tx) => insert(tx, next))
		expect(await stored()).toEqual([next])
		await queue.close()
	})
})

describe('PgReadGate: slow readers cannot take the pool', () => {
	it('reads beyond the slots wait in a bounded line for a bounded time, then 503; writes commit meanwhile on the connection left to them', async () => {
		await clear()
		// a pool of 3: two for reads, one the write queue reserves
		const small = new SQL(url, { max: 3 })
		const gate = new PgReadGate({ slots: 2, maxWaiting: 2, waitMs: 400 })
		const queue = new PgWriteQueue(small)
		const slowRead = () => gate.run(() => small`SELECT pg_sleep(1.5)`)
		let slowDone = false
		const slow = [slowRead(), slowRead()] // both slots, for 1.5 s
		void Promise.all(slow).then(() => (slowDone = true))
		await Bun.sleep(50)
		const waiting = [gate.run(() => small`SELECT 1 AS waited`), gate.run(() => small`SELECT 1 AS waited`)]
		// the line is full: refused at once
		await expect(gate.run(() => small`SELECT 1`)).rejects.toBeInstanceOf(DatabaseUnavailableError)
		expect(gate.load).toEqual({ inFlight: 2, waiting: 2 })
		// writes are not behind the readers
		const ids = [nextId++, nextId++, nextId++]
		await Promise.all(ids.map((id) => queue.run(new DbMeter(), (tx) => insert(tx, id))))
		expect(slowDone).toBe(false) // committed while the slow reads still held their connections
		expect(await stored()).toEqual(ids)
		// the two in line gave up after 400 ms, well before a slot came free
		const waited = await Promise.allSettled(waiting)
		for (const outcome of waited) expect((outcome as PromiseRejectedResult).reason).toBeInstanceOf(DatabaseUnavailableError)
		await Promise.all(slow)
		// and once the slow reads are done, reads run again
		expect((await gate.run(() => small`SELECT 2 AS n`))[0].n).toBe(2)
		expect(gate.load).toEqual({ inFlight: 0, waiting: 0 })
		await queue.close()
		await small.close({ timeout: 0 })
	}, 20_000)

	it('a slot freed goes to the next in line, in order', async () => {
		const gate = new PgReadGate({ slots: 1, maxWaiting: 10, waitMs: 5_000 })
		const order: number[] = []
		let open!: () => void
		const first = gate.run(() => new Promise<void>((resolve) => (open = resolve)).then(() => void order.push(0)))
		const rest = [1, 2, 3].map((n) => gate.run(async () => void order.push(n)))
		expect(gate.load).toEqual({ inFlight: 1, waiting: 3 })
		await Bun.sleep(0) // the first read has started
		open()
		await Promise.all([first, ...rest])
		expect(order).toEqual([0, 1, 2, 3])
		expect(gate.load).toEqual({ inFlight: 0, waiting: 0 })
	})
})

describe('PostgreSQL restarted under load', () => {
	it('writes during the outage answer 503 database_unavailable in bounded time, the queue reconnects by itself, and no acknowledged write is lost', async () => {
		await clear()
		const queue = new PgWriteQueue(pool, { groupTimeoutMs: 3_000 })
		const acknowledged: number[] = []
		const refused: unknown[] = []
		let writing = true
		const writers = Array.from({ length: 8 }, async () => {
			while (writing) {
				const id = nextId++
				const sent = performance.now()
				try {
					await queue.run(new DbMeter(), (tx) => insert(tx, id))
					acknowledged.push(id)
				} catch (error) {
					refused.push(error)
					expect(performance.now() - sent).toBeLessThan(5_000)
					await Bun.sleep(20)
				}
			}
		})
		await Bun.sleep(300)
		const before = acknowledged.length
		postgres.pause()
		await Bun.sleep(500)
		const duringOutage = acknowledged.length
		await Bun.sleep(500)
		expect(acknowledged.length).toBe(duringOutage) // nothing acknowledged while the database was down
		postgres.resume()
		// back by itself: acknowledged writes resume within a few seconds
		const deadline = performance.now() + 10_000
		while (acknowledged.length < duringOutage + 50 && performance.now() < deadline) await Bun.sleep(50)
		writing = false
		await Promise.all(writers)
		expect(before).toBeGreaterThan(0)
		expect(acknowledged.length).toBeGreaterThanOrEqual(duringOutage + 50)
		expect(refused.length).toBeGreaterThan(0)
		for (const error of refused) expect(error).toBeInstanceOf(DatabaseUnavailableError)
		// every acknowledged write is there
		const rows = new Set(await stored())
		expect(acknowledged.filter((id) => !rows.has(id))).toEqual([])
		await queue.close()
	}, 30_000)

	it('the error handler answers a lost database with 503 database_unavailable, Retry-After, and logs its code, never the statement', async () => {
		const lines: string[] = []
		const log = createLogger({ format: 'json', level: 'debug', write: (line: string) => void lines.push(line) })
		const { drizzle } = await import('drizzle-orm/bun-sql')
		const { sql } = await import('drizzle-orm')
		const db = drizzle({ client: pool })
		const app = new Elysia().use(errorHandler(log)).get('/read', () => db.execute(sql`SELECT 'secret-value' AS x, count(*) FROM writes`))
		expect((await app.handle(new Request('http://local/read'))).status).toBe(200)
		postgres.pause()
		try {
			const answer = await app.handle(new Request('http://local/read'))
			expect(answer.status).toBe(503)
			expect(answer.headers.get('retry-after')).toBe('5')
			expect(await answer.json()).toEqual({ success: false, code: 'database_unavailable', error: expect.stringContaining('database cannot be reached') })
		} finally {
			postgres.resume()
		}
		const logged = lines.join('\n')
		expect(logged).toContain('the database is unavailable')
		expect(logged).not.toContain('secret-value')
		expect(logged).not.toContain('SELECT')
		// and it serves again
		let status = 0
		for (let i = 0; i < 50 && status !== 200; i++) {
			status = (await app.handle(new Request('http://local/read'))).status
			if (status !== 200) await Bun.sleep(100)
		}
		expect(status).toBe(200)
	}, 30_000)
})
