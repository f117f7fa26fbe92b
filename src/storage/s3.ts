import { mkdirSync, renameSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describeFailure, S3RequestError, S3Requests, xmlBlocks, xmlEscape, xmlValue, type S3Location } from './s3-requests'
import { Committing, StorageUnavailableError, type FileStore, type FileWriter, type StoredBytes } from './store'

const SHA256 = /^[0-9a-f]{64}$/
const MiB = 2 ** 20
/**
 * A multipart upload's parts: S3's smallest (but for the last), 3 in flight. A part is sent as a
 * stream over its buffer (with its Content-Length): a Uint8Array body is copied by fetch and cost
 * 10-13 MB a part in flight, the stream costs the buffer, used again once the part is stored.
 * 512 MiB straight into the store as Uint8Array bodies: 4 in flight +82 MB at 160 MB/s, 3 +65 at 150, 2 +58 at 137.
 */
export const PART_SIZE = 5 * MiB
export const PARTS_IN_FLIGHT = 3
/** Downloads up to this size are read whole, so they go out with a Content-Length. */
const WHOLE_DOWNLOAD_BYTES = MiB
/**
 * Downloads up to this size are written to a spool file first and sent from it, so they too go out
 * with a Content-Length (Bun.serve sends one only for bytes in memory or a file). Larger ones are
 * streamed, chunked: a client waits for the whole spool before its first byte (the SDK gives up
 * after 30 s without one), and 64 MiB takes about a second from a store on the same network.
 */
export const SPOOL_DOWNLOAD_BYTES = 64 * MiB
/** A spool file is removed this long after it is handed to the server, which opens it when it answers (at once). */
const SPOOL_KEEP_MS = 30_000
/** A presigned download URL works for 5 minutes: long enough to start the download, too short to share. */
export const PRESIGN_SECONDS = 300

export interface S3StoreOptions extends S3Location {
	/** Every key starts with it: '' or a folder ending in '/' (FILE_STORAGE=s3://bucket/<prefix>). */
	prefix: string
	/** Bytes of each part of a multipart upload (S3 takes 5 MiB at least, but for the last part); PART_SIZE. */
	partSize?: number
	/** Parts sent at once; the upload is read no faster than they are taken. */
	partsInFlight?: number
	/** A request to the store that takes longer fails the upload or download with 503. */
	timeoutMs?: number
	/** S3_PRESIGNED_DOWNLOADS: downloadUrl hands out presigned GET URLs (the dashboard is redirected to them). */
	presignedDownloads?: boolean
	/** How long a presigned URL works; PRESIGN_SECONDS. */
	presignSeconds?: number
	/** Where downloads are spooled (see SPOOL_DOWNLOAD_BYTES): `spool/` in the data folder; default a folder of its own in the system's temporary one. */
	spoolFolder?: string
}

/**
 * File bytes in an S3-compatible bucket, each under its checksum (`<prefix>ab/ab12…`). Reads,
 * listing and deletes go through Bun's S3 client; uploads are multipart uploads of our own
 * (s3-requests.ts), since Bun's writer completes its upload at `end()` and an upload must stay
 * invisible until it is checked:
 * - a file that fits in one part is held in memory and PUT under its checksum at the commit;
 * - a larger one whose checksum was declared before its bytes goes as a multipart upload straight
 *   to its checksum's key, completed (made visible) only at the commit, aborted otherwise;
 * - a larger one without is completed under `<prefix>uploads/<random>` and copied in place at the
 *   commit, server-side.
 * An incomplete multipart upload is no object: nothing is listed or served before its commit.
 * One bucket prefix belongs to one database: at start every upload unfinished under it is dropped.
 */
export class S3FileStore implements FileStore {
	readonly client: Bun.S3Client
	readonly requests: S3Requests
	private readonly prefix: string
	private readonly uploads: string
	private readonly partSize: number
	private readonly partsInFlight: number
	private readonly timeoutMs: number
	private readonly presignedDownloads: boolean
	private readonly presignSeconds: number
	private readonly spoolFolder: string
	private readonly committing = new Committing()
	/** Removals in flight by checksum: a commit of the same checksum waits for them. */
	private readonly removing = new Map<string, Promise<unknown>>()

	constructor(options: S3StoreOptions) {
		this.prefix = options.prefix
		this.uploads = `${options.prefix}uploads/`
		this.partSize = options.partSize ?? PART_SIZE
		this.partsInFlight = options.partsInFlight ?? PARTS_IN_FLIGHT
		this.timeoutMs = options.timeoutMs ?? 30_000
		this.presignedDownloads = options.presignedDownloads ?? false
		this.presignSeconds = options.presignSeconds ?? PRESIGN_SECONDS
		this.spoolFolder = options.spoolFolder ?? join(tmpdir(), `dreamlake-spool-${crypto.randomUUID()}`)
		this.requests = new S3Requests(options, this.timeoutMs)
		this.client = new Bun.S3Client({
			endpoint: this.requests.endpoint,
			bucket: options.bucket,
			region: options.region,
			accessKeyId: options.accessKeyId,
			secretAccessKey: options.secretAccessKey,
			virtualHostedStyle: options.virtualHostedStyle,
		})
	}

	private keyOf(checksum: string): string {
		if (!SHA256.test(checksum)) throw new Error('not a sha256')
		return `${this.prefix}${checksum.slice(0, 2)}/${checksum}`
	}

	/** Bun's client, bounded in time, its failures but a missing key as StorageUnavailableError. */
	private bounded<T>(work: Promise<T>): Promise<T> {
		let timer: Timer | undefined
		const timeout = new Promise<never>((_, reject) => {
			timer = setTimeout(() => reject(new StorageUnavailableError('the object store did not answer in time')), this.timeoutMs)
		})
		return Promise.race([work.catch((error: unknown) => Promise.reject(unavailable(error))), timeout]).finally(() => clearTimeout(timer))
	}

	writer(declared?: string): FileWriter {
		const direct = declared !== undefined && SHA256.test(declared)
		const key = direct ? this.keyOf(declared) : `${this.uploads}${crypto.randomUUID()}`
		const { partSize, partsInFlight } = this
		const hasher = new Bun.CryptoHasher('sha256')
		let size = 0
		// the part being filled: grown as bytes come, so a small file costs what it is
		let part = new Uint8Array(Math.min(partSize, 64 * 1024))
		let filled = 0
		let uploadId: Promise<string> | undefined
		const etags: string[] = []
		const inFlight = new Set<Promise<void>>()
		// full parts' buffers are used again once stored: a gigabyte through fresh 8 MiB part buffers grew the RSS by 290 MB before the GC caught up
		const spare: Uint8Array<ArrayBuffer>[] = []
		let failure: unknown
		let checksum: string | undefined
		/** The whole file, when it fits in one part: PUT at the commit. */
		let whole: Uint8Array | undefined
		/** The temporary object is complete (a large upload without a declared checksum). */
		let temporary = false
		let committed = false
		const settled = async () => {
			while (inFlight.size > 0) await Promise.all(inFlight)
		}
		const send = (bytes: Uint8Array<ArrayBuffer>) => {
			uploadId ??= this.startMultipart(key)
			const number = etags.push('') // part numbers from 1, in the order sent
			const sending = uploadId
				.then((id) => this.requests.send('PUT', this.requests.url(key, { partNumber: String(number), uploadId: id }), { body: streamOf(bytes), headers: { 'content-length': String(bytes.length) } }))
				.then((response) => {
					etags[number - 1] = response.headers.get('etag') ?? ''
					if (bytes.length === partSize && spare.length < partsInFlight) spare.push(bytes)
					// a young-generation collection a part: the request body's chunks (a part's worth) are garbage by now, and without it the RSS grew 15-25 MB more
					Bun.gc(false)
				})
				.catch((error: unknown) => {
					failure ??= error
				})
				.finally(() => inFlight.delete(sending))
			inFlight.add(sending)
		}
		const failed = () => {
			if (failure !== undefined) throw failure
		}
		return {
			write: (chunk: Uint8Array) => {
				failed()
				hasher.update(chunk)
				size += chunk.length
				let at = 0
				let started = false
				while (at < chunk.length) {
					if (filled === part.length) {
						if (part.length < partSize) {
							const grown = new Uint8Array(Math.min(partSize, part.length * 4))
							grown.set(part)
							part = grown
						} else {
							// a full part goes once a byte past it comes: the last part is then never empty
							started ||= uploadId === undefined
							send(part)
							part = spare.pop() ?? new Uint8Array(partSize)
							filled = 0
						}
					}
					const n = Math.min(chunk.length - at, part.length - filled)
					part.set(chunk.subarray(at, at + n), filled)
					filled += n
					at += n
				}
				// wait for the upload to exist (it is then found by discardUnfinished), and for room among the parts in flight
				if (started) return uploadId!.then(() => {}, failed)
				if (inFlight.size >= partsInFlight) return Promise.race(inFlight).then(failed)
			},
			finish: async () => {
				await settled()
				failed()
				checksum = hasher.digest('hex')
				if (uploadId === undefined) {
					whole = part.subarray(0, filled)
					return { checksum, size }
				}
				send(part.subarray(0, filled))
				part = new Uint8Array(0)
				await settled()
				failed()
				if (!direct) {
					await this.completeMultipart(key, await uploadId, etags)
					temporary = true
				}
				return { checksum, size }
			},
			commit: async () => {
				if (checksum === undefined) throw new Error('commit before finish')
				if (direct && checksum !== declared) throw new Error('the bytes are not those declared; they cannot be committed')
				const release = this.committing.mark(checksum)
				try {
					await this.removing.get(checksum)?.catch(() => {})
					const target = this.keyOf(checksum)
					if (whole) await this.requests.send('PUT', this.requests.url(target), { body: whole })
					else if (direct) await this.completeMultipart(key, await uploadId!, etags)
					else {
						await this.copy(key, target)
						await this.requests.send('DELETE', this.requests.url(key)).catch(() => {}) // else dropped at the next start
						temporary = false
					}
				} catch (error) {
					release()
					throw error
				}
				committed = true
				whole = undefined
				return release
			},
			discard: async () => {
				if (committed) return
				failure ??= new Error('discarded')
				await settled()
				whole = undefined
				part = new Uint8Array(0)
				// the store unreachable: what is left is found by discardUnfinished at the next start
				if (temporary) await this.requests.send('DELETE', this.requests.url(key)).catch(() => {})
				else if (uploadId) {
					const id = await uploadId.catch(() => undefined)
					if (id !== undefined) await this.requests.send('DELETE', this.requests.url(key, { uploadId: id })).catch(() => {})
				}
				temporary = false
				uploadId = undefined
			},
		}
	}

	private async startMultipart(key: string): Promise<string> {
		const response = await this.requests.send('POST', this.requests.url(key, { uploads: '' }))
		const id = xmlValue(await response.text(), 'UploadId')
		if (!id) throw new StorageUnavailableError('the object store did not start a multipart upload')
		return id
	}

	private async completeMultipart(key: string, uploadId: string, etags: string[]): Promise<void> {
		const body = `<CompleteMultipartUpload>${etags.map((etag, i) => `<Part><PartNumber>${i + 1}</PartNumber><ETag>${xmlEscape(etag)}</ETag></Part>`).join('')}</CompleteMultipartUpload>`
		// a 200 whose body is an error: S3 answers so when it fails after it started answering
		const response = await this.requests.send('POST', this.requests.url(key, { uploadId }), { body, headers: { 'content-type': 'application/xml' }, timeoutMs: this.timeoutMs * 4 })
		const text = await response.text()
		if (text.includes('<Error>')) throw new StorageUnavailableError(`the object store did not complete the upload (${xmlValue(text, 'Code') ?? 'an error'})`)
	}

	/** A server-side copy (CopyObject: up to 5 GiB). */
	private async copy(from: string, to: string): Promise<void> {
		const response = await this.requests.send('PUT', this.requests.url(to), {
			headers: { 'x-amz-copy-source': this.requests.copySource(from) },
			timeoutMs: this.timeoutMs * 4,
		})
		const text = await response.text()
		if (text.includes('<Error>')) throw new StorageUnavailableError(`the object store did not copy the upload (${xmlValue(text, 'Code') ?? 'an error'})`)
	}

	async open(checksum: string): Promise<StoredBytes | undefined> {
		const key = this.keyOf(checksum)
		const size = await this.sizeOf(checksum)
		if (size === undefined) return undefined
		// the body of a GET of our own, not the S3File (Bun answers that with a redirect to the bucket).
		// Bun.serve drops the Content-Length of a streamed body and sends it chunked (oven-sh/bun#10507):
		// up to 1 MiB is read whole, up to SPOOL_DOWNLOAD_BYTES spooled to a file, both sent with their length; more is streamed
		return {
			body: async (range) => {
				const response = await this.requests.send('GET', this.requests.url(key), range ? { headers: { range: `bytes=${range.start}-${range.end}` } } : {})
				const length = range ? range.end - range.start + 1 : size
				if (length <= WHOLE_DOWNLOAD_BYTES || !response.body) return new Blob([await response.arrayBuffer()])
				if (length <= SPOOL_DOWNLOAD_BYTES) return this.spool(response.body, length)
				return response.body
			},
		}
	}

	/** Writes a download's `length` bytes to a spool file, chunk by chunk, and gives the file (removed shortly after). */
	private async spool(body: ReadableStream<Uint8Array>, length: number): Promise<Blob> {
		mkdirSync(this.spoolFolder, { recursive: true })
		const path = join(this.spoolFolder, crypto.randomUUID())
		let written = 0
		try {
			const sink = Bun.file(path).writer({ highWaterMark: MiB })
			try {
				for await (const chunk of body) {
					written += chunk.length
					const flushed = sink.write(chunk)
					if (flushed instanceof Promise) await flushed
				}
			} finally {
				await sink.end()
			}
		} catch (error) {
			rmSync(path, { force: true })
			throw error instanceof StorageUnavailableError ? error : new StorageUnavailableError(describeFailure(error), { cause: error })
		}
		if (written !== length) {
			rmSync(path, { force: true })
			throw new StorageUnavailableError(`the object store sent ${written} bytes, not ${length}`)
		}
		setTimeout(() => rmSync(path, { force: true }), SPOOL_KEEP_MS).unref()
		return Bun.file(path)
	}

	isCommitting(checksum: string): boolean {
		return this.committing.has(checksum)
	}

	remove(checksum: string): Promise<boolean> {
		const key = this.keyOf(checksum)
		const removal = (async () => {
			try {
				await this.bounded(this.client.stat(key))
			} catch (error) {
				if (isMissing(error)) return false
				throw error
			}
			await this.bounded(this.client.delete(key))
			return true
		})()
		// registered in the caller's turn, so a commit that starts from now on waits for it
		const tracked = removal.finally(() => {
			if (this.removing.get(checksum) === tracked) this.removing.delete(checksum)
		})
		this.removing.set(checksum, tracked)
		return tracked
	}

	async *list(): AsyncGenerator<{ checksum: string; size: number }> {
		for await (const object of this.objects(this.prefix)) {
			const name = object.key.slice(this.prefix.length)
			if (/^[0-9a-f]{2}\/[0-9a-f]{64}$/.test(name) && name.startsWith(name.slice(3, 5))) yield { checksum: name.slice(3), size: object.size }
		}
	}

	private async *objects(prefix: string): AsyncGenerator<{ key: string; size: number }> {
		let continuationToken: string | undefined
		do {
			const page = await this.bounded(this.client.list({ prefix, maxKeys: 1000, ...(continuationToken && { continuationToken }) }))
			for (const object of page.contents ?? []) yield { key: object.key, size: object.size ?? 0 }
			continuationToken = page.isTruncated ? page.nextContinuationToken : undefined
		} while (continuationToken)
	}

	/** Deletes the temporary objects and aborts the multipart uploads under the prefix: a crash cut them off. */
	async discardUnfinished(): Promise<number> {
		rmSync(this.spoolFolder, { recursive: true, force: true }) // downloads a stop cut off
		let dropped = 0
		for await (const { key } of this.objects(this.uploads)) {
			await this.bounded(this.client.delete(key))
			dropped++
		}
		for await (const { key, uploadId } of this.multipartUploads()) {
			await this.requests.send('DELETE', this.requests.url(key, { uploadId })).catch((error: unknown) => {
				if (!(error instanceof S3RequestError && error.status === 404)) throw error // aborted meanwhile
			})
			dropped++
		}
		return dropped
	}

	/** What discardUnfinished would drop now: temporary objects and multipart uploads under the prefix, by key. */
	async unfinished(): Promise<string[]> {
		const keys: string[] = []
		for await (const { key } of this.objects(this.uploads)) keys.push(key)
		for await (const { key } of this.multipartUploads()) keys.push(`${key} (multipart upload)`)
		return keys.sort()
	}

	/** The multipart uploads started and neither completed nor aborted under the prefix (ListMultipartUploads). */
	private async *multipartUploads(): AsyncGenerator<{ key: string; uploadId: string }> {
		let markers: Record<string, string> = {}
		for (;;) {
			const response = await this.requests.send('GET', this.requests.url('', { uploads: '', prefix: this.prefix, ...markers }))
			const xml = await response.text()
			for (const upload of xmlBlocks(xml, 'Upload')) {
				const key = xmlValue(upload, 'Key')
				const uploadId = xmlValue(upload, 'UploadId')
				if (key !== undefined && uploadId !== undefined && key.startsWith(this.prefix)) yield { key, uploadId }
			}
			if (xmlValue(xml, 'IsTruncated') !== 'true') return
			markers = { 'key-marker': xmlValue(xml, 'NextKeyMarker') ?? '', 'upload-id-marker': xmlValue(xml, 'NextUploadIdMarker') ?? '' }
		}
	}

	/** Streams the object into `<folder>/ab/ab12…` (through a temporary name), checking its sha256 on the way. */
	async copyTo(checksum: string, folder: string): Promise<void> {
		const to = join(folder, checksum.slice(0, 2), checksum)
		if (await Bun.file(to).exists()) return
		const stored = await this.open(checksum)
		if (!stored) throw new Error(`no bytes stored under ${checksum}`)
		mkdirSync(join(folder, checksum.slice(0, 2)), { recursive: true })
		const partial = `${to}.${crypto.randomUUID()}.part`
		try {
			const hasher = new Bun.CryptoHasher('sha256')
			const sink = Bun.file(partial).writer()
			try {
				const body = await stored.body()
				for await (const chunk of body instanceof Blob ? body.stream() : body) {
					hasher.update(chunk)
					await sink.write(chunk)
				}
			} finally {
				await sink.end()
			}
			if (hasher.digest('hex') !== checksum) throw new Error(`the bytes stored under ${checksum} do not have that sha256`)
			renameSync(partial, to)
		} catch (error) {
			rmSync(partial, { force: true })
			throw unavailable(error)
		}
	}

	/** Writes, reads back and deletes a small object: whether the bucket and the credentials work. */
	async probe(): Promise<void> {
		const key = `${this.prefix}probe-${crypto.randomUUID()}`
		const text = `dreamlake probe ${new Date().toISOString()}`
		await this.requests.send('PUT', this.requests.url(key), { body: text })
		const read = await this.bounded(this.client.file(key).text())
		await this.bounded(this.client.delete(key))
		if (read !== text) throw new StorageUnavailableError('an object written could not be read back as it was')
	}

	/** The size of what is stored under `checksum`; undefined when nothing is. */
	async sizeOf(checksum: string): Promise<number | undefined> {
		try {
			return (await this.bounded(this.client.stat(this.keyOf(checksum)))).size
		} catch (error) {
			if (isMissing(error)) return undefined
			throw error
		}
	}

	downloadUrl(checksum: string, download: { contentDisposition: string; contentType: string }): string | undefined {
		if (!this.presignedDownloads) return undefined
		const url = this.requests.url(this.keyOf(checksum), { 'response-content-disposition': download.contentDisposition, 'response-content-type': download.contentType })
		return this.requests.presign(url, this.presignSeconds).href
	}
}

/** A part's bytes as a request body, in pieces of 256 KiB: read by fetch as it sends them, never copied whole. */
function streamOf(bytes: Uint8Array): ReadableStream<Uint8Array> {
	let at = 0
	return new ReadableStream<Uint8Array>(
		{
			pull(controller) {
				if (at >= bytes.length) return controller.close()
				controller.enqueue(bytes.subarray(at, at + 256 * 1024))
				at += 256 * 1024
			},
		},
		{ highWaterMark: 0 },
	)
}

function isMissing(error: unknown): boolean {
	const code = (error as { code?: unknown }).code
	if (code === 'NoSuchKey' || code === 'NotFound') return true
	const cause = (error as { cause?: { code?: unknown } }).cause
	return cause?.code === 'NoSuchKey' || cause?.code === 'NotFound'
}

/** A failure of Bun's client as StorageUnavailableError, but a missing key (which callers look for). */
function unavailable(error: unknown): unknown {
	if (error instanceof StorageUnavailableError || isMissing(error)) return error
	const code = (error as { code?: unknown }).code
	const name = (error as { name?: unknown }).name
	if (name === 'S3Error' && typeof code === 'string') return new StorageUnavailableError(`the object store failed the request (${code})`, { cause: error })
	return new StorageUnavailableError(describeFailure(error), { cause: error })
}
