import { afterAll, describe, expect, it, setDefaultTimeout } from 'bun:test'
import { cpSync, mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, relative } from 'node:path'
import { readMigrationFiles } from 'drizzle-orm/migrator'
import { closeDatabase, openDatabase } from '../src/db/client'
import { migrateDatabase, MIGRATIONS } from '../src/db/migrate'
import { startCheckpointer } from '../src/db/checkpointer'
import { createLogger } from '../src/log'

setDefaultTimeout(30_000)
const silent = createLogger({ format: 'json', write: () => {} })
const root = join(import.meta.dir, '..')
const dir = mkdtempSync(join(tmpdir(), 'dreamlake-db-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

describe('database', () => {
	it('embeds exactly the migrations drizzle-kit wrote into drizzle/', () => {
		expect(MIGRATIONS).toEqual(readMigrationFiles({ migrationsFolder: join(root, 'drizzle') }))
		expect(MIGRATIONS.length).toBe(readdirSync(join(root, 'drizzle')).filter((f) => f.endsWith('.sql')).length)
	})

	it('has migrations in step with src/db/schema (drizzle-kit finds nothing to generate)', async () => {
		const out = mkdtempSync(join(dir, 'kit-'))
		cpSync(join(root, 'drizzle'), out, { recursive: true })
		const kit = Bun.spawnSync([process.execPath, 'x', 'drizzle-kit', 'generate', '--dialect', 'sqlite', '--schema', 'src/db/schema/index.ts', '--out', relative(root, out)], { cwd: root })
		expect(kit.stdout.toString() + kit.stderr.toString()).toContain('No schema changes')
	})

	it('creates the file and its folder, and sets the pragmas', () => {
		const db = openDatabase(join(dir, 'nested', 'deeper', 'x.db'))
		const pragma = (name: string) => Object.values(db.$client.query(`PRAGMA ${name}`).get() as object)[0]
		expect(pragma('journal_mode')).toBe('wal')
		expect(pragma('synchronous')).toBe(1) // NORMAL
		expect(pragma('foreign_keys')).toBe(1)
		expect(pragma('busy_timeout')).toBe(5000)
		expect(pragma('temp_store')).toBe(2) // MEMORY: savepoint journals stay off disk
		closeDatabase(db)
	})

	it('migrates an empty database, then finds nothing to do, keeping the data', () => {
		const path = join(dir, 'migrate.db')
		let db = openDatabase(path)
		expect(migrateDatabase(db)).toEqual({ applied: MIGRATIONS.length, total: MIGRATIONS.length })
		db.$client.run("INSERT INTO users (id, sub, created_at, updated_at) VALUES ('u1', 's1', 0, 0)")
		db.$client.run("INSERT INTO namespaces (id, slug, owner_id, created_at) VALUES ('n1', 'one', 'u1', 0)")
		closeDatabase(db)
		db = openDatabase(path)
		expect(migrateDatabase(db)).toEqual({ applied: 0, total: MIGRATIONS.length })
		expect(db.$client.query('SELECT count(*) AS n FROM namespaces').get()).toEqual({ n: 1 })
		expect(db.$client.query('PRAGMA foreign_keys').get()).toEqual({ foreign_keys: 1 })
		closeDatabase(db)
	})

	it('keeps child rows when a migration rebuilds a parent table (foreign keys off while migrating)', () => {
		const path = join(dir, 'rebuild.db')
		const db = openDatabase(path)
		migrateDatabase(db)
		db.$client.run("INSERT INTO users (id, sub, created_at, updated_at) VALUES ('u1', 's1', 0, 0)")
		db.$client.run("INSERT INTO namespaces (id, slug, owner_id, created_at) VALUES ('n1', 'one', 'u1', 0)")
		// the shape drizzle-kit emits to alter a SQLite table: create a copy, fill it, drop the old one, rename
		const { sql: create } = db.$client.query("SELECT sql FROM sqlite_master WHERE name = 'users'").get() as { sql: string }
		const rebuild = {
			sql: [
				create.replace('CREATE TABLE `users`', 'CREATE TABLE `__new_users`'),
				'INSERT INTO `__new_users` SELECT * FROM `users`',
				'DROP TABLE `users`',
				'ALTER TABLE `__new_users` RENAME TO `users`',
			],
			bps: true,
			folderMillis: Date.now() + 1000,
			hash: 'test-rebuild',
		}
		expect(migrateDatabase(db, [...MIGRATIONS, rebuild]).applied).toBe(1)
		expect(db.$client.query('SELECT count(*) AS n FROM namespaces').get()).toEqual({ n: 1 })
		closeDatabase(db)
	})

	it('migrates a database from before teams (0004) keeping every namespace, project and episode; a personal namespace keeps its person', () => {
		const db = openDatabase(join(dir, 'before-teams.db'))
		const before = MIGRATIONS.findIndex((m) => m.sql.some((statement) => statement.includes('namespace_members')))
		expect(before).toBeGreaterThan(0)
		migrateDatabase(db, MIGRATIONS.slice(0, before))
		db.$client.run("INSERT INTO users (id, sub, created_at, updated_at) VALUES ('u1', 's1', 0, 0)")
		db.$client.run("INSERT INTO namespaces (id, slug, owner_id, created_at) VALUES ('n1', 'one', 'u1', 0)")
		db.$client.run("INSERT INTO projects (id, namespace_id, name, slug, created_at, updated_at) VALUES (1, 'n1', 'P', 'p', 0, 0)")
		db.$client.run("INSERT INTO episodes (id, project_id, name, created_at, updated_at) VALUES (1, 1, 'e', 0, 0)")
		expect(migrateDatabase(db).applied).toBe(MIGRATIONS.length - before)
		expect(db.$client.query('SELECT id, slug, owner_id AS ownerId, kind, metadata, deleted_at AS deletedAt FROM namespaces').all()).toEqual([{ id: 'n1', slug: 'one', ownerId: 'u1', kind: 'personal', metadata: '{}', deletedAt: null }])
		expect(db.$client.query('SELECT (SELECT count(*) FROM projects) AS projects, (SELECT count(*) FROM episodes) AS episodes').get()).toEqual({ projects: 1, episodes: 1 })
		closeDatabase(db)
	})

	it('rolls a failing migration back entirely', () => {
		const db = openDatabase(join(dir, 'failing.db'))
		migrateDatabase(db)
		const broken = { sql: ['CREATE TABLE half_done (x)', 'THIS IS NOT SQL'], bps: true, folderMillis: Date.now() + 1000, hash: 'broken' }
		expect(() => migrateDatabase(db, [...MIGRATIONS, broken])).toThrow()
		expect(db.$client.query("SELECT count(*) AS n FROM sqlite_master WHERE name = 'half_done'").get()).toEqual({ n: 0 })
		expect(db.$client.query('PRAGMA foreign_keys').get()).toEqual({ foreign_keys: 1 })
		closeDatabase(db)
	})

	it('checkpoints the WAL on a worker thread, with the request thread\'s autocheckpoint off', async () => {
		const path = join(dir, 'checkpointed.db')
		const db = openDatabase(path)
		migrateDatabase(db)
		const checkpointer = startCheckpointer(db, path, silent, 50)
		try {
			// the worker starts one interval later; until then SQLite checkpoints on its own
			expect(db.$client.query('PRAGMA wal_autocheckpoint').get()).toEqual({ wal_autocheckpoint: 1000 })
			await Bun.sleep(200)
			expect(db.$client.query('PRAGMA wal_autocheckpoint').get()).toEqual({ wal_autocheckpoint: 0 })
			const insert = db.$client.prepare("INSERT INTO users (id, sub, created_at, updated_at) VALUES (?, ?, 0, 0)")
			for (let i = 0; i < 500; i++) insert.run(`u${i}`, `s${i}`)
			await Bun.sleep(1_000) // twenty intervals: room for a slow machine to start the worker
			insert.run('after', 'after') // a write after a complete checkpoint starts the WAL over
			const { log } = db.$client.query('PRAGMA wal_checkpoint(PASSIVE)').get() as { log: number }
			expect(log).toBeLessThan(50) // without the worker it would hold every frame written: over 500
		} finally {
			await checkpointer.stop()
			closeDatabase(db)
		}
	})

	it('never starts the checkpoint worker when stopped before its first interval', async () => {
		const path = join(dir, 'stopped-early.db')
		const db = openDatabase(path)
		migrateDatabase(db)
		const checkpointer = startCheckpointer(db, path, silent, 50)
		await checkpointer.stop()
		await Bun.sleep(150)
		expect(db.$client.query('PRAGMA wal_autocheckpoint').get()).toEqual({ wal_autocheckpoint: 1000 })
		closeDatabase(db)
	})
})
