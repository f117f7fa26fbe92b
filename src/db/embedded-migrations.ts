// Runs at bundle time as a Bun macro (`with { type: 'macro' }`), so the SQL that drizzle-kit
// wrote into drizzle/ is inlined into the code and a compiled binary needs no folder on disk.
import { join } from 'node:path'
import { readMigrationFiles, type MigrationMeta } from 'drizzle-orm/migrator'

export function readDrizzleFolder(): MigrationMeta[] {
	return readMigrationFiles({ migrationsFolder: join(import.meta.dir, '..', '..', 'drizzle') })
}

/** The same for PostgreSQL's migrations, drizzle/postgres/ (drizzle.postgres.config.ts). */
export function readPostgresFolder(): MigrationMeta[] {
	return readMigrationFiles({ migrationsFolder: join(import.meta.dir, '..', '..', 'drizzle', 'postgres') })
}
