import type { MigrationMeta } from 'drizzle-orm/migrator'
import { readPostgresFolder } from './embedded-migrations' with { type: 'macro' }
import type { MigrationReport } from './migrate'
import type { PgDb } from './postgres-client'

/** drizzle/postgres/ as it was when this code was bundled (or transpiled, when run from source). */
export const POSTGRES_MIGRATIONS: MigrationMeta[] = readPostgresFolder()

/** Where drizzle's own PostgreSQL migrator keeps what ran (schema `drizzle`), in its format, so drizzle-kit and this server agree. */
const MIGRATIONS_TABLE = 'drizzle.__drizzle_migrations'
/** The advisory lock every dreamlake-server takes to migrate: "dreamlak" in ASCII, a key no other program is likely to pick. */
export const MIGRATION_LOCK = 0x647265616d6c616bn

/**
 * Applies every embedded migration the database has not seen, in one transaction (PostgreSQL's DDL
 * is transactional: a failed migration leaves nothing behind).
 * - It takes a transaction-scoped advisory lock before reading what has run, so servers starting
 *   together migrate once: the others wait, then find nothing to do. The lock goes with the
 *   transaction (commit, rollback, or a connection that dies), so none is ever left held.
 */
export async function migratePostgres(db: PgDb, migrations: MigrationMeta[] = POSTGRES_MIGRATIONS): Promise<MigrationReport> {
	return db.$client.begin(async (tx) => {
		await tx.unsafe(`SELECT pg_advisory_xact_lock(${MIGRATION_LOCK})`)
		await tx.unsafe('CREATE SCHEMA IF NOT EXISTS drizzle')
		await tx.unsafe(`CREATE TABLE IF NOT EXISTS ${MIGRATIONS_TABLE} (id SERIAL PRIMARY KEY, hash text NOT NULL, created_at bigint)`)
		const [last] = (await tx.unsafe(`SELECT created_at AS at FROM ${MIGRATIONS_TABLE} ORDER BY created_at DESC LIMIT 1`)) as { at: string | number }[]
		const pending = migrations.filter((m) => !last || Number(last.at) < m.folderMillis)
		for (const migration of pending) {
			for (const statement of migration.sql) if (statement.trim() !== '') await tx.unsafe(statement)
			await tx.unsafe(`INSERT INTO ${MIGRATIONS_TABLE} (hash, created_at) VALUES ($1, $2)`, [migration.hash, migration.folderMillis])
		}
		return { applied: pending.length, total: migrations.length }
	})
}
