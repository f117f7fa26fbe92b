import { SQL } from 'bun'
import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { DbMeter } from '../src/db/meter'
import { PostgresInvalidations } from '../src/db/postgres-invalidations'
import { PgWriteQueue } from '../src/db/postgres-write-queue'
import { startTestPostgres, type TestPostgres } from './support/postgres'

// Two server processes' worth of queues and listeners on one real PostgreSQL, a cluster of the
// file's own (the last test restarts it).
let postgres: TestPostgres
let url: string
let pools: SQL[] = []
let buses: PostgresInvalidations[] = []
beforeAll(async () => {
	postgres = await startTestPostgres({ ...process.env, DATABASE_URL: undefined })
	url = await postgres.createDatabase('invalidations')
	pools = [new SQL(url, { max: 2 }), new SQL(url, { max: 2 })]
	await pools[0]!`CREATE TABLE accounts (id integer PRIMARY KEY, name text NOT NULL)`
	buses = [new PostgresInvalidations(url, { pingMs: 200 }), new PostgresInvalidations(url, { pingMs: 200 })]
	await Promise.all(buses.map((bus) => bus.start()))
}, 60_000)
afterAll(async () => {
	await Promise.all(buses.map((bus) => bus.close()))
	await Promise.all(pools.map((pool) => pool.close({ timeout: 0 })))
	await postgres?.stop()
}, 60_000)

/** Waits until `done()` or `ms` passed. */
async function until(done: () => boolean, ms = 3_000): Promise<void> {
	const deadline = performance.now() + ms
	while (!done() && performance.now() < deadline) await Bun.sleep(10)
}

describe('PostgresInvalidations: caches of several processes in step', () => {
	it("a committed change is heard by the other process, not by its own; a rolled-back one by no one; one notification per key per group", async () => {
		const [a, b] = buses as [PostgresInvalidations, PostgresInvalidations]
		const heardByA: (string | null)[] = []
		const heardByB: (string | null)[] = []
		a.on('account', (key) => heardByA.push(key))
		b.on('account', (key) => heardByB.push(key))
		const queue = new PgWriteQueue(pools[0]!)
		// two writes of one group say the same key: one notification
		await Promise.all(
			[1, 2].map((id) =>
				queue.run(new DbMeter(), async (tx) => {
					await tx.sql`INSERT INTO accounts (id, name) VALUES (${id}, 'x')`
					a.announce(tx, 'account', 'acct-1')
				}),
			),
		)
		await until(() => heardByB.length >= 1)
		await Bun.sleep(100) // a second copy would have come by now
		expect(heardByB).toEqual(['acct-1'])
		// a write that fails: its announcement never leaves
		await queue
			.run(new DbMeter(), async (tx) => {
				a.announce(tx, 'account', 'acct-rolled-back')
				await tx.sql`INSERT INTO accounts (id, name) VALUES (1, 'duplicate')`
			})
			.catch(() => {})
		await queue.run(new DbMeter(), (tx) => a.announce(tx, 'account', 'acct-2'))
		await until(() => heardByB.length >= 2)
		await Bun.sleep(100)
		expect(heardByB).toEqual(['acct-1', 'acct-2'])
		expect(heardByA).toEqual([]) // its own caches follow its writes by afterCommit
		// and the other way round
		const other = new PgWriteQueue(pools[1]!)
		await other.run(new DbMeter(), (tx) => b.announce(tx, 'account', 'acct-3 with spaces'))
		await until(() => heardByA.length >= 1)
		expect(heardByA).toEqual(['acct-3 with spaces'])
		await Promise.all([queue.close(), other.close()])
	})

	it('a listener that lost its connection (PostgreSQL restarted) drops every cache within a few pings, then hears again', async () => {
		const [a, b] = buses as [PostgresInvalidations, PostgresInvalidations]
		const heard: (string | null)[] = []
		b.on('token', (key) => heard.push(key))
		const resetsBefore = b.resetCount
		postgres.pause()
		await Bun.sleep(300)
		postgres.resume()
		await until(() => heard.includes(null), 5_000)
		expect(heard).toContain(null) // told: everything cached may be stale
		expect(b.resetCount).toBeGreaterThan(resetsBefore)
		// hearing again: a change on the other process arrives
		const queue = new PgWriteQueue(pools[0]!)
		let sent = false
		for (let i = 0; i < 40 && !heard.includes('tok-after'); i++) {
			if (!sent) sent = await queue.run(new DbMeter(), (tx) => a.announce(tx, 'token', 'tok-after')).then(() => true, () => false)
			await Bun.sleep(100)
			if (!heard.includes('tok-after')) sent = false
		}
		expect(heard).toContain('tok-after')
		await queue.close()
	}, 20_000)
})
