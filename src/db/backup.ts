import { Database } from 'bun:sqlite'
import { existsSync, mkdirSync, statSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import type { FileStore } from '../storage/store'
import { IN_MEMORY } from './client'

export class BackupError extends Error {}

/**
 * Where `backup <target>` writes: into a folder (one that exists, or a path ending in `/`) under a
 * name with the time (UTC), `dreamlake-2026-12-03T06-13-34Z.db`, so a nightly job never collides; else
 * the file named.
 */
export function backupTarget(target: string, now = new Date()): string {
	const isFolder = target.endsWith('/') || (existsSync(target) && statSync(target).isDirectory())
	if (!isFolder) return target
	const stamp = `dreamlake-${now.toISOString().replace(/\.\d{3}Z$/, 'Z').replaceAll(':', '-')}`
	// two backups within one second: the second gets -2
	for (let n = 1; ; n++) {
		const path = join(target, `${stamp}${n === 1 ? '' : `-${n}`}.db`)
		if (!existsSync(path) && !existsSync(backupFilesFolder(path))) return path
	}
}

/** Where a backup's files go: beside the database copy, `<target>.files/` (the same layout as the data folder's `files/`). */
export const backupFilesFolder = (target: string) => `${target}.files`

/**
 * Writes a consistent copy of the database at `source` to `target` with `VACUUM INTO`: one read
 * transaction, so it is safe while the server runs and writes. Never overwrites a file.
 */
export function backupDatabase(source: string, target: string): { bytes: number } {
	if (source === IN_MEMORY) throw new BackupError('an in-memory database cannot be backed up.')
	if (!existsSync(source)) throw new BackupError(`there is no database at ${source}.`)
	if (existsSync(target)) throw new BackupError(`${target} already exists; refusing to overwrite it.`)
	if (existsSync(backupFilesFolder(target))) throw new BackupError(`${backupFilesFolder(target)} already exists; refusing to overwrite it.`)
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

/**
 * Puts the bytes of every file the database copy at `copy` knows (live or deleted, so a restore can
 * still restore them) into `<copy>.files/`, in the layout of the data folder's `files/` (the local
 * store links them where it can: LocalFileStore.copyTo). Consistent with the copy: it reads the
 * copy, not the live database.
 */
export async function backupFiles(copy: string, store: FileStore): Promise<{ files: number }> {
	const folder = backupFilesFolder(copy)
	mkdirSync(folder, { recursive: true })
	const db = new Database(copy, { readonly: true })
	let checksums: string[]
	try {
		checksums = (db.query('SELECT DISTINCT checksum FROM files').all() as { checksum: string }[]).map((r) => r.checksum)
	} finally {
		db.close()
	}
	let missing = 0
	for (const checksum of checksums) {
		try {
			await store.copyTo(checksum, folder)
		} catch {
			missing++
		}
	}
	if (missing > 0) throw new BackupError(`the bytes of ${missing} file(s) were missing (purged during the backup?); run it again.`)
	return { files: checksums.length }
}
