import type { MigrationMeta } from 'drizzle-orm/migrator'
import type { Db } from './client'
import { readDrizzleFolder } from './embedded-migrations' with { type: 'macro' }

/** drizzle/ as it was when this code was bundled (or transpiled, when run from source). */
export const MIGRATIONS: MigrationMeta[] = readDrizzleFolder()

/** The table drizzle's own migrator keeps, in its format, so drizzle-kit and this server agree on what ran. */
const MIGRATIONS_TABLE = '__drizzle_migrations'

export interface MigrationReport {
	applied: number
	total: number
}

/**
 * Applies every embedded migration the database has not seen, in one transaction.
 * - It takes the write lock (BEGIN IMMEDIATE) before reading what has run, so two processes
 *   starting at once apply each migration once: the second waits, then finds nothing to do.
 * - Foreign keys are off while it runs: drizzle-kit rebuilds tables to alter them, and with
 *   `ON DELETE CASCADE` dropping the old table would silently delete child rows.
 */
export function migrateDatabase(db: Db, migrations: MigrationMeta[] = MIGRATIONS): MigrationReport {
	const sqlite = db.$client
	sqlite.run('PRAGMA foreign_keys = OFF') // a no-op inside a transaction, so before it
	try {
		sqlite.run('BEGIN IMMEDIATE')
		try {
			sqlite.run(`CREATE TABLE IF NOT EXISTS ${MIGRATIONS_TABLE} (id SERIAL PRIMARY KEY, hash text NOT NULL, created_at numeric)`)
			const last = sqlite.query(`SELECT created_at AS at FROM ${MIGRATIONS_TABLE} ORDER BY created_at DESC LIMIT 1`).get() as { at: number } | null
			const pending = migrations.filter((m) => !last || Number(last.at) < m.folderMillis)
			for (const migration of pending) {
				for (const statement of migration.sql) if (statement.trim() !== '') sqlite.run(statement)
				sqlite.query(`INSERT INTO ${MIGRATIONS_TABLE} (hash, created_at) VALUES (?, ?)`).run(migration.hash, migration.folderMillis)
			}
			const broken = sqlite.query('PRAGMA foreign_key_check').all()
			if (broken.length > 0) throw new Error(`migrations would leave ${broken.length} rows violating foreign keys`)
			sqlite.run('COMMIT')
			return { applied: pending.length, total: migrations.length }
		} catch (error) {
			sqlite.run('ROLLBACK')
			throw error
		}
	} finally {
		sqlite.run('PRAGMA foreign_keys = ON')
	}
}
