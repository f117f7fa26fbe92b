import { closeSync, copyFileSync, existsSync, fsync, fsyncSync, linkSync, mkdirSync, openSync, readdirSync, renameSync, rmSync, statSync, unlinkSync, writeSync } from 'node:fs'
import { join } from 'node:path'

const SHA256 = /^[0-9a-f]{64}$/
/** An upload being written is flushed to disk every so many bytes, in the background. */
const SYNC_EVERY_BYTES = 64 * 1024 * 1024

/** A temporary file being written and hashed. */
export interface BlobWriter {
	readonly path: string
	write(chunk: Uint8Array): void
	/** Flushes the bytes to disk (fsync, off the request thread) and returns the sha256 and the size. */
	finish(): Promise<{ checksum: string; size: number }>
	/** Removes what was written (a failed, refused or aborted upload). */
	discard(): Promise<void>
	readonly size: number
}

/**
 * File bytes on disk, named by their sha256 (`files/ab/ab12…`), so identical uploads share them and
 * a name never reaches the file system. An upload is written to `files/tmp/` while it is hashed,
 * and moved in place only once it is checked; `tmp/` is emptied at every start, so an upload cut
 * off by a crash leaves nothing behind. Bytes are never changed once in place.
 */
export class BlobStore {
	readonly tmp: string
	/** Checksums an upload has moved into place and whose row is not committed yet. */
	private readonly committing = new Map<string, number>()

	constructor(readonly root: string) {
		this.tmp = join(root, 'tmp')
		mkdirSync(this.tmp, { recursive: true })
	}

	pathOf(checksum: string): string {
		if (!SHA256.test(checksum)) throw new Error('not a sha256')
		return join(this.root, checksum.slice(0, 2), checksum)
	}

	has(checksum: string): boolean {
		return existsSync(this.pathOf(checksum))
	}

	/** A new temporary file, hashed as it is written. */
	writer(): BlobWriter {
		const path = join(this.tmp, `${crypto.randomUUID()}.part`)
		const fd = openSync(path, 'wx', 0o600)
		const hasher = new Bun.CryptoHasher('sha256')
		let size = 0
		let open = true
		let unsynced = 0
		let syncing: Promise<void> | undefined
		const sync = () =>
			new Promise<void>((resolve, reject) => fsync(fd, (error) => (error ? reject(error) : resolve())))
		const close = () => {
			if (open) closeSync(fd)
			open = false
		}
		return {
			path,
			get size() {
				return size
			},
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
				return { checksum: hasher.digest('hex'), size }
			},
			async discard() {
				await syncing // the flush in flight holds the descriptor
				close()
				rmSync(path, { force: true })
			},
		}
	}

	/**
	 * Moves a finished temporary file into place under its checksum (over identical bytes already
	 * there, which it then shares). The checksum stays marked as committing, so a sweep of
	 * unreferenced bytes leaves it, until the returned function is called once its row is stored.
	 */
	commit(writer: BlobWriter, checksum: string): () => void {
		this.committing.set(checksum, (this.committing.get(checksum) ?? 0) + 1)
		let released = false
		const release = () => {
			if (released) return
			released = true
			const left = this.committing.get(checksum)! - 1
			if (left === 0) this.committing.delete(checksum)
			else this.committing.set(checksum, left)
		}
		const dir = join(this.root, checksum.slice(0, 2))
		try {
			mkdirSync(dir, { recursive: true })
			renameSync(writer.path, this.pathOf(checksum))
		} catch (error) {
			release() // nothing moved (a full disk can refuse the folder): the temporary file is the writer's to discard
			throw error
		}
		syncDirectory(dir)
		return release
	}

	isCommitting(checksum: string): boolean {
		return this.committing.has(checksum)
	}

	remove(checksum: string): boolean {
		try {
			unlinkSync(this.pathOf(checksum))
			return true
		} catch {
			return false
		}
	}

	/** Empties `tmp/`: uploads a crash cut off. Returns how many it removed. */
	clearTemporary(): number {
		let removed = 0
		for (const name of readdirSync(this.tmp)) {
			rmSync(join(this.tmp, name), { force: true, recursive: true })
			removed++
		}
		return removed
	}

	/** Every checksum stored, with its size on disk. */
	*stored(): Generator<{ checksum: string; bytes: number }> {
		for (const dir of readdirSync(this.root)) {
			if (!/^[0-9a-f]{2}$/.test(dir)) continue
			for (const name of readdirSync(join(this.root, dir))) {
				if (SHA256.test(name)) yield { checksum: name, bytes: statSync(join(this.root, dir, name)).size }
			}
		}
	}

	/** Puts `checksum`'s bytes into another store's folder: a hard link when both are on one file system, else a copy. */
	copyTo(checksum: string, root: string): void {
		const to = join(root, checksum.slice(0, 2), checksum)
		if (existsSync(to)) return
		mkdirSync(join(root, checksum.slice(0, 2)), { recursive: true })
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

/** Writes `bytes` to a new file under `root`'s tmp and commits it (for tests and small files). */
export async function storeBytes(store: BlobStore, bytes: Uint8Array): Promise<string> {
	const writer = store.writer()
	writer.write(bytes)
	const { checksum } = await writer.finish()
	store.commit(writer, checksum)()
	return checksum
}
