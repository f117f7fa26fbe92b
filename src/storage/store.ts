/**
 * Where file bytes live, named by their sha256, so identical uploads share them and a client's name
 * never reaches the storage. An upload is written aside while it is hashed and made visible under
 * its checksum only once it is checked; bytes are never changed once visible. One implementation is
 * chosen in the composition root (server.ts, openFileStore): the data folder's `files/` (local.ts).
 */
export interface FileStore {
	/**
	 * A new upload, hashed as it is written, visible to nobody until committed. May throw at once
	 * (a full disk: no room for even an empty file), or leave the opening to the first write.
	 * `declared`: the checksum the caller will accept and no other (the upload's `checksum` field,
	 * when it came before the bytes); a store may then write straight to its place, and refuse to
	 * commit bytes with any other checksum.
	 */
	writer(declared?: string): FileWriter
	/** The bytes stored under `checksum`, to be served; undefined when there are none. */
	open(checksum: string): Promise<StoredBytes | undefined>
	/**
	 * Removes the bytes stored under `checksum`; false when there were none. A commit of the same
	 * checksum that starts while they are being removed must land after the removal, never before.
	 */
	remove(checksum: string): Promise<boolean>
	/** Every checksum stored, with its size in bytes, in no particular order. */
	list(): AsyncIterable<{ checksum: string; size: number }>
	/**
	 * Whether an upload in this process has committed bytes under `checksum` whose row is not
	 * stored yet: the sweep of unreferenced bytes must leave them (see Committing).
	 */
	isCommitting(checksum: string): boolean
	/** Drops the uploads a crash cut off before their commit, at start; returns how many. */
	discardUnfinished(): Promise<number>
	/**
	 * Puts the bytes of `checksum` into `folder`, in the layout of the data folder's `files/`
	 * (`ab/ab12…`), so a backup can be put back in its place; rejects when there are none.
	 */
	copyTo(checksum: string, folder: string): Promise<void>
	/**
	 * A short-lived URL the bytes of `checksum` can be fetched from without credentials, served with
	 * this name and type; undefined when downloads go through the server (the data folder, or a
	 * bucket without S3_PRESIGNED_DOWNLOADS). Only the dashboard is sent there: the SDK follows no redirect.
	 */
	downloadUrl?(checksum: string, download: { contentDisposition: string; contentType: string }): string | undefined
}

/** An upload on its way into a FileStore: written and hashed, then committed or discarded. */
export interface FileWriter {
	/**
	 * Hashes and stores a chunk. A promise when the store needs it to settle before the next chunk
	 * (the caller reads no further meanwhile); a throw or a rejection fails the upload.
	 */
	write(chunk: Uint8Array): void | Promise<void>
	/** Makes what was written durable (still invisible) and returns its sha256 and size. */
	finish(): Promise<{ checksum: string; size: number }>
	/**
	 * After finish: makes the bytes visible under their checksum (over identical bytes already
	 * there, which it then shares). The checksum stays marked as committing, so a sweep of
	 * unreferenced bytes leaves it, until the returned function is called once its row is stored.
	 * When it throws, nothing was made visible and nothing stays marked.
	 */
	commit(): Promise<() => void>
	/** Drops what was written (a failed, refused or aborted upload); does nothing once committed. */
	discard(): Promise<void>
}

/**
 * Stored bytes, served without the caller knowing where they are. Not a Blob itself: Bun answers
 * `new Response(s3File)` with a redirect to the bucket, so a store says what body it serves.
 */
export interface StoredBytes {
	/**
	 * A response body of every byte, or of those from `start` to `end` (inclusive, as in
	 * `Content-Range`); a promise when the store must ask for them first (and may fail to reach it).
	 */
	body(range?: { start: number; end: number }): Blob | ReadableStream<Uint8Array> | Promise<Blob | ReadableStream<Uint8Array>>
}

/**
 * The store cannot be reached or does not answer in time (an object store down or overloaded):
 * the request answers 503 `storage_unavailable`, and the next one tries again.
 */
export class StorageUnavailableError extends Error {
	constructor(message: string, options?: ErrorOptions) {
		super(message, options)
		this.name = 'StorageUnavailableError'
	}
}

/**
 * Checksums whose bytes an upload has committed and whose row is not stored yet, counted (two
 * uploads of the same bytes may commit at once). In-process state: every store keeps its own.
 */
export class Committing {
	private readonly uploads = new Map<string, number>()

	/** Marks `checksum` until the returned function is called (once; calling it again does nothing). */
	mark(checksum: string): () => void {
		this.uploads.set(checksum, (this.uploads.get(checksum) ?? 0) + 1)
		let released = false
		return () => {
			if (released) return
			released = true
			const left = this.uploads.get(checksum)! - 1
			if (left === 0) this.uploads.delete(checksum)
			else this.uploads.set(checksum, left)
		}
	}

	has(checksum: string): boolean {
		return this.uploads.has(checksum)
	}
}
