import { Database, SQLiteError } from 'bun:sqlite'
import { mkdirSync } from 'node:fs'
import { dirname } from 'node:path'
import { IN_MEMORY } from './client'

export class ServerLockError extends Error {}

export interface ServerLock {
	release(): void
}

/**
 * Makes this process the only server of the database at `path`, for as long as it runs: the
 * account cache (auth/repository.ts) is only coherent if every write passes through one process.
 * The lock is an exclusive SQLite lock on `<path>.lock`; the operating system drops it when the
 * process ends however it ends, so a crash never leaves it behind. Readers such as `backup` are
 * not affected.
 */
export function acquireServerLock(path: string): ServerLock {
	if (path === IN_MEMORY) return { release() {} }
	const lockPath = `${path}.lock`
	mkdirSync(dirname(path), { recursive: true })
	const lock = new Database(lockPath, { create: true })
	try {
		lock.run('PRAGMA locking_mode = EXCLUSIVE')
		lock.run('BEGIN EXCLUSIVE')
	} catch (error) {
		lock.close()
		if (error instanceof SQLiteError && error.code?.startsWith('SQLITE_BUSY')) {
			throw new ServerLockError(`another dreamlake-server is already serving ${path} (it holds ${lockPath}); stop it first, or give this one another DATABASE_URL.`)
		}
		throw error
	}
	return {
		release() {
			lock.run('ROLLBACK')
			lock.close()
		},
	}
}
