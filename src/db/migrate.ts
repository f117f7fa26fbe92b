import type { MigrationMeta } from 'drizzle-orm/migrator'
import type { SQLiteSyncDialect } from 'drizzle-orm/sqlite-core'
import type { Db } from './client'
import { readDrizzleFolder } from './embedded-migrations' with { type: 'macro' }

/** drizzle/ as it was when this code was bundled (or transpiled, when run from source). */
export const MIGRATIONS: MigrationMeta[] = readDrizzleFolder()

const MIGRATIONS_TABLE = '__drizzle_migrations'

export interface MigrationReport {
	applied: number
	total: number
}

/**
 * Applies every embedded migration the database has not seen, in one transaction.
 * Foreign keys are off while it runs: drizzle-kit rebuilds tables to alter them, and with
 * `ON DELETE CASCADE` dropping the old table would silently delete child rows.
 */
export function migrateDatabase(db: Db, migrations: MigrationMeta[] = MIGRATIONS): MigrationReport {
	const sqlite = db.$client
	const before = appliedCount(db)
	sqlite.run('PRAGMA foreign_keys = OFF')
	try {
		// The dialect's migrate is the one drizzle's folder-reading migrator calls; we feed it the embedded files.
		const { dialect, session } = db as unknown as { dialect: SQLiteSyncDialect; session: Parameters<SQLiteSyncDialect['migrate']>[1] }
		dialect.migrate(migrations, session, { migrationsFolder: '', migrationsTable: MIGRATIONS_TABLE })
		const broken = sqlite.query('PRAGMA foreign_key_check').all()
		if (broken.length > 0) throw new Error(`migration left ${broken.length} rows violating foreign keys`)
	} finally {
		sqlite.run('PRAGMA foreign_keys = ON')
	}
	return { applied: appliedCount(db) - before, total: migrations.length }
}

function appliedCount(db: Db): number {
	const exists = db.$client
		.query("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?")
		.get(MIGRATIONS_TABLE)
	if (!exists) return 0
	const row = db.$client.query(`SELECT count(*) AS n FROM ${MIGRATIONS_TABLE}`).get() as { n: number }
	return row.n
}
