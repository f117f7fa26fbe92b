import { afterEach, beforeEach, describe, expect, it } from 'bun:test'
import { Database } from 'bun:sqlite'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { DbMeter } from '../src/db/meter'
import { WriteQueue, type Tx } from '../src/db/write-queue'

let dir: string
let sqlite: Database
let commits: number
beforeEach(() => {
	dir = mkdtempSync(join(tmpdir(), 'dreamlake-queue-'))
	sqlite = new Database(join(dir, 'q.db'))
	sqlite.run('PRAGMA journal_mode = WAL')
	sqlite.run('CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT UNIQUE)')
	commits = 0
	// a counting wrapper around the real connection: how many transactions really committed
	const prepare = sqlite.prepare.bind(sqlite)
	sqlite.prepare = ((sql: string, ...args: never[]) => {
		const statement = prepare(sql, ...args)
		if (sql === 'COMMIT') {
			const run = statement.run.bind(statement) as (...params: never[]) => ReturnType<typeof statement.run>
			statement.run = ((...params: never[]) => {
				const result = run(...params)
				commits++
				return result
			}) as typeof statement.run
		}
		return statement
	}) as typeof sqlite.prepare
})
afterEach(() => {
	sqlite.close()
	rmSync(dir, { recursive: true, force: true })
})

const insert = (v: string) => () => sqlite.query('INSERT INTO t (v) VALUES (?) RETURNING id').get(v) as { id: number }
const values = () => (sqlite.query('SELECT v FROM t ORDER BY id').all() as { v: string }[]).map((r) => r.v)

describe('group commit (WriteQueue)', () => {
	it('commits the writes of one turn of the event loop together, each getting its own result', async () => {
		const queue = new WriteQueue(sqlite)
		const results = await Promise.all(['a', 'b', 'c', 'd', 'e'].map((v) => queue.run(new DbMeter(), insert(v))))
		expect(results.map((r) => r.id)).toEqual([1, 2, 3, 4, 5])
		expect(commits).toBe(1)
		expect(values()).toEqual(['a', 'b', 'c', 'd', 'e'])
	})

	it('rolls a failing write back alone: the others commit, and it rejects with its own error', async () => {
		const queue = new WriteQueue(sqlite)
		const outcomes = await Promise.allSettled([
			queue.run(new DbMeter(), insert('a')),
			queue.run(new DbMeter(), () => {
				insert('half')()
				insert('a')() // violates UNIQUE after a successful insert of its own
			}),
			queue.run(new DbMeter(), insert('b')),
		])
		expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'rejected', 'fulfilled'])
		expect(String((outcomes[1] as PromiseRejectedResult).reason)).toContain('UNIQUE')
		expect(values()).toEqual(['a', 'b'])
		expect(commits).toBe(1)
	})

	it('commits separately across turns, and a write sees the earlier ones of its group', async () => {
		const queue = new WriteQueue(sqlite)
		await queue.run(new DbMeter(), insert('x'))
		const seen = await Promise.all([queue.run(new DbMeter(), insert('y')), queue.run(new DbMeter(), () => values())])
		expect(seen[1]).toEqual(['x', 'y'])
		expect(commits).toBe(2)
	})

	it('rejects every write of the group when the transaction cannot start, and leaves nothing behind', async () => {
		const queue = new WriteQueue(sqlite)
		const blocker = new Database(join(dir, 'q.db'))
		blocker.run('BEGIN IMMEDIATE') // another connection holds the write lock (busy_timeout is 0 here)
		try {
			const outcomes = await Promise.allSettled([queue.run(new DbMeter(), insert('a')), queue.run(new DbMeter(), insert('b'))])
			expect(outcomes.map((o) => o.status)).toEqual(['rejected', 'rejected'])
		} finally {
			blocker.run('ROLLBACK')
			blocker.close()
		}
		expect(sqlite.inTransaction).toBe(false)
		expect(values()).toEqual([])
		expect(await queue.run(new DbMeter(), insert('c'))).toEqual({ id: 1 })
	})

	it('a write that makes SQLite roll the whole transaction back (SQLITE_FULL): it and those before it fail, those after it commit next, nothing escapes', async () => {
		const queue = new WriteQueue(sqlite)
		const { page_count } = sqlite.query('PRAGMA page_count').get() as { page_count: number }
		sqlite.run(`PRAGMA max_page_count = ${page_count}`) // no page more: a long value's overflow pages answer SQLITE_FULL
		// a plain INSERT has no statement journal, so SQLITE_FULL takes the whole transaction (and the savepoint) with it
		const plain = (v: string) => () => sqlite.run('INSERT INTO t (v) VALUES (?)', [v])
		const outcomes = await Promise.allSettled([queue.run(new DbMeter(), plain('a')), queue.run(new DbMeter(), plain('x'.repeat(20_000))), queue.run(new DbMeter(), plain('b'))])
		expect(outcomes.map((o) => o.status)).toEqual(['rejected', 'rejected', 'fulfilled'])
		expect(outcomes.slice(0, 2).map((o) => (o as PromiseRejectedResult).reason.code)).toEqual(['SQLITE_FULL', 'SQLITE_FULL'])
		expect(values()).toEqual(['b'])
		expect(sqlite.inTransaction).toBe(false)
		expect(commits).toBe(1)
		sqlite.run('PRAGMA max_page_count = 1073741823')
		await queue.run(new DbMeter(), plain('y'.repeat(20_000)))
		expect(values()).toEqual(['b', 'y'.repeat(20_000)])
		expect(sqlite.query('PRAGMA integrity_check').get()).toEqual({ integrity_check: 'ok' })
	})

	it('SQLITE_FULL in a statement with a statement journal (RETURNING) rolls back that write alone', async () => {
		const queue = new WriteQueue(sqlite)
		const { page_count } = sqlite.query('PRAGMA page_count').get() as { page_count: number }
		sqlite.run(`PRAGMA max_page_count = ${page_count}`)
		const outcomes = await Promise.allSettled([queue.run(new DbMeter(), insert('a')), queue.run(new DbMeter(), insert('x'.repeat(20_000))), queue.run(new DbMeter(), insert('b'))])
		expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'rejected', 'fulfilled'])
		expect((outcomes[1] as PromiseRejectedResult).reason.code).toBe('SQLITE_FULL')
		expect(values()).toEqual(['a', 'b'])
		expect(commits).toBe(1)
	})

	it('charges each write its own statements and one transaction', async () => {
		const queue = new WriteQueue(sqlite)
		const [one, two] = [new DbMeter(), new DbMeter()]
		await Promise.all([queue.run(one, insert('a')), queue.run(two, () => (insert('b')(), insert('c')()))])
		expect([one.transactions, two.transactions]).toEqual([1, 1])
	})

	it('a write keeps memory in step only through its Tx: afterCommit runs once committed, before its promise settles; onRollback when its work is undone', async () => {
		const queue = new WriteQueue(sqlite)
		const seen: string[] = []
		const hooked = (v: string, fail = false) => (tx: Tx) => {
			tx.afterCommit(() => seen.push(`committed ${v}`))
			tx.onRollback(() => seen.push(`undone ${v}`))
			insert(v)()
			if (fail) throw new Error('refused')
		}
		const outcomes = await Promise.allSettled([
			queue.run(new DbMeter(), hooked('a')).then(() => seen.push('settled a')),
			queue.run(new DbMeter(), hooked('b', true)),
			queue.run(new DbMeter(), hooked('c')).then(() => seen.push('settled c')),
		])
		expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'rejected', 'fulfilled'])
		// b's savepoint rolled back as it failed; a and c learn of their commit before their callers do
		expect(seen).toEqual(['undone b', 'committed a', 'committed c', 'settled a', 'settled c'])

		// a COMMIT that fails undoes every write of the group, and none hears it committed
		seen.length = 0
		const { page_count } = sqlite.query('PRAGMA page_count').get() as { page_count: number }
		sqlite.run(`PRAGMA max_page_count = ${page_count}`)
		const plain = (v: string) => (tx: Tx) => {
			tx.afterCommit(() => seen.push(`committed ${v.slice(0, 1)}`))
			tx.onRollback(() => seen.push(`undone ${v.slice(0, 1)}`))
			sqlite.run('INSERT INTO t (v) VALUES (?)', [v])
		}
		const full = await Promise.allSettled([queue.run(new DbMeter(), plain('d')), queue.run(new DbMeter(), plain('x'.repeat(20_000)))])
		expect(full.map((o) => o.status)).toEqual(['rejected', 'rejected'])
		expect(seen.sort()).toEqual(['undone d', 'undone x'])
		sqlite.run('PRAGMA max_page_count = 1073741823')
	})
})
