import { closeSync, copyFileSync, existsSync, fsync, fsyncSync, linkSync, mkdirSync, openSync, readdirSync, renameSync, rmSync, statSync, unlinkSync, writeSync } from 'node:fs'
import { join } from 'node:path'
import { Committing, type FileStore, type FileWriter, type StoredBytes } from './store'

const SHA256 = /^[0-9a-f]{64}$/
/** An upload being written is flushed to disk every so many bytes, in the background. */
const SYNC_EVERY_BYTES = 64 * 1024 * 1024

/**
 * File bytes in a folder (the data folder's `files/`), each under its checksum (`files/ab/ab12…`).
 * An upload is written to `files/tmp/` while it is hashed and moved in place only once it is
 * checked; `tmp/` is emptied at every start, so an upload cut off by a crash leaves nothing behind.
 * No path of a file's bytes leaves this class.
 */
export class LocalFileStore implements FileStore {
	readonly tmp: string
	private readonly committing = new Committing()

	constructor(readonly root: string) {
		this.tmp = join(root, 'tmp')
		mkdirSync(this.tmp, { recursive: true })
	}

	private pathOf(checksum: string): string {
		if (!SHA256.test(checksum)) throw new Error('not a sha256')
		return join(this.root, checksum.slice(0, 2), checksum)
	}

	/** A new temporary file, hashed as it is written with synchronous writes, so the upload is read no faster than the disk takes it. */
	writer(): FileWriter {
		const path = join(this.tmp, `${crypto.randomUUID()}.part`)
		const fd = openSync(path, 'wx', 0o600)
		const hasher = new Bun.CryptoHasher('sha256')
		let size = 0
		let open = true
		let unsynced = 0
		let syncing: Promise<void> | undefined
		let checksum: string | undefined
		const sync = () =>
			new Promise<void>((resolve, reject) => fsync(fd, (error) => (error ? reject(error) : resolve())))
		const close = () => {
			if (open) closeSync(fd)
			open = false
		}
		return {
			write(chunk: Uint8Array) {
				hasher.update(chunk)
				let written = 0
				while (written < chunk.length) written += writeSync(fd, chunk, written, chunk.length - written)
				size += chunk.length
				unsynced += chunk.length
				// flush as the upload goes, off the request thread, so the last flush has little left:
				// a gigabyte flushed at the end took 0.6 s here, a sixth of the whole upload
				if (unsynced >= SYNC_EVERY_BYTES && !syncing) {
					unsynced = 0
					syncing = sync()
						.catch(() => {}) // the final flush reports what went wrong
						.finally(() => (syncing = undefined))
				}
			},
			async finish() {
				await syncing
				await sync()
				close()
				checksum = hasher.digest('hex')
				return { checksum, size }
			},
			commit: async () => {
				if (checksum === undefined) throw new Error('commit before finish')
				const release = this.committing.mark(checksum)
				const dir = join(this.root, checksum.slice(0, 2))
				try {
					mkdirSync(dir, { recursive: true })
					renameSync(path, this.pathOf(checksum))
				} catch (error) {
					release() // nothing moved (a full disk can refuse the folder): the temporary file is the writer's to discard
					throw error
				}
				syncDirectory(dir)
				return release
			},
			async discard() {
				await syncing // the flush in flight holds the descriptor
				close()
				rmSync(path, { force: true }) // gone already once committed (moved into place)
			},
		}
	}

	async open(checksum: string): Promise<StoredBytes | undefined> {
		const file = Bun.file(this.pathOf(checksum))
		if (!(await file.exists())) return undefined
		// the file itself as the body: Bun sends it from disk (sendfile), a slice of it as a range
		return { body: (range) => (range ? file.slice(range.start, range.end + 1) : file) }
	}

	isCommitting(checksum: string): boolean {
		return this.committing.has(checksum)
	}

	async remove(checksum: string): Promise<boolean> {
		// synchronous, so no commit of the same checksum can come between the caller's checks and the unlink
		try {
			unlinkSync(this.pathOf(checksum))
			return true
		} catch {
			return false
		}
	}

	/** Empties `tmp/`: uploads a crash cut off. */
	async discardUnfinished(): Promise<number> {
		let removed = 0
		for (const name of readdirSync(this.tmp)) {
			rmSync(join(this.tmp, name), { force: true, recursive: true })
			removed++
		}
		return removed
	}

	async *list(): AsyncGenerator<{ checksum: string; size: number }> {
		for (const dir of readdirSync(this.root)) {
			if (!/^[0-9a-f]{2}$/.test(dir)) continue
			for (const name of readdirSync(join(this.root, dir))) {
				if (!SHA256.test(name)) continue
				let size: number
				try {
					size = statSync(join(this.root, dir, name)).size
				} catch (error) {
					if ((error as { code?: unknown }).code === 'ENOENT') continue // removed since the folder was read (an upload's bytes dropped meanwhile)
					throw error
				}
				yield { checksum: name, size }
			}
		}
	}

	/** A hard link when the folder is on the same file system (bytes never change once stored, so a link is a copy), else a copy. */
	async copyTo(checksum: string, folder: string): Promise<void> {
		const to = join(folder, checksum.slice(0, 2), checksum)
		if (existsSync(to)) return
		mkdirSync(join(folder, checksum.slice(0, 2)), { recursive: true })
		try {
			linkSync(this.pathOf(checksum), to)
		} catch {
			copyFileSync(this.pathOf(checksum), to)
		}
	}
}

/** fsync of a directory, so a rename into it survives a power cut. */
function syncDirectory(path: string): void {
	let fd: number | undefined
	try {
		fd = openSync(path, 'r')
		fsyncSync(fd)
	} catch {
		// not every file system lets a directory be opened for this; the rename itself is still atomic
	} finally {
		if (fd !== undefined) closeSync(fd)
	}
}
