import { Database } from 'bun:sqlite'
import { existsSync, mkdirSync, statSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import { IN_MEMORY } from './client'

export class BackupError extends Error {}

/**
 * Writes a consistent copy of the database at `source` to `target` with `VACUUM INTO`: one read
 * transaction, so it is safe while the server runs and writes. Never overwrites a file.
 */
export function backupDatabase(source: string, target: string): { bytes: number } {
	if (source === IN_MEMORY) throw new BackupError('an in-memory database cannot be backed up.')
	if (!existsSync(source)) throw new BackupError(`there is no database at ${source}.`)
	if (existsSync(target)) throw new BackupError(`${target} already exists; refusing to overwrite it.`)
	if (resolve(source) === resolve(target)) throw new BackupError('the backup cannot be the database itself.')
	mkdirSync(dirname(target), { recursive: true })
	const db = new Database(source, { readonly: true })
	try {
		db.run('PRAGMA busy_timeout = 5000')
		db.prepare('VACUUM INTO ?').run(target)
	} finally {
		db.close()
	}
	return { bytes: statSync(target).size }
}
