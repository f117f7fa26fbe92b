import { describeBytes } from '../http/body'
import busboy from 'busboy'
import { isDiskFull } from '../db/client'
import { ApiError, badRequest } from '../http/errors'
import { StorageUnavailableError, type FileStore, type FileWriter } from '../storage/store'
import { FIELD_MAX_BYTES } from './model'

/** An upload read off the wire: its form fields, and its one file, written to the file store (not committed yet) and hashed. */
export interface Upload {
	fields: Map<string, string>
	file: {
		writer: FileWriter
		/** As the client named it; storing it safely is the caller's business (model.ts, safeFilename). */
		filename: string | undefined
		contentType: string
		size: number
		checksum: string
	}
}

const MAX_FIELDS = 32
/** Room an upload's form fields and part headers get beside MAX_FILE_SIZE (the largest body is the sum). */
export const UPLOAD_OVERHEAD_BYTES = 2 * 1024 * 1024

export const fileTooLarge = (limit: number) =>
	new ApiError(413, 'payload_too_large', `The file is larger than ${describeBytes(limit)} (MAX_FILE_SIZE).`, undefined, { connection: 'close' })


/**
 * Reads a `multipart/form-data` upload as it arrives, with busboy (a streaming parser: a part is
 * never held whole in memory; `request.formData()` held a 1 GiB upload in about 1.2 GB here). The
 * `file` part goes straight into the store's writer through a sha256 hasher, chunk by chunk, and
 * the parser reads no faster than the store takes the bytes (synchronous writes to disk, or a
 * write's promise waited for). On any failure (malformed body, a second file, a file over
 * `maxFileSize`, a client gone, a full disk) what was written is discarded and nothing else is left.
 */
export async function readUpload(request: Request, store: FileStore, maxFileSize: number): Promise<Upload> {
	const type = request.headers.get('content-type') ?? ''
	if (!/^multipart\/form-data\s*;/i.test(type)) {
		throw new ApiError(415, 'unsupported_media_type', 'An upload is multipart/form-data, with the bytes in a part named "file".')
	}
	if (!request.body) throw badRequest('missing_file', 'An upload needs a part named "file" with the bytes.')
	const declared = request.headers.get('content-length')
	if (declared !== null && Number(declared) > maxFileSize + UPLOAD_OVERHEAD_BYTES) throw fileTooLarge(maxFileSize)
	let parser: busboy.Busboy
	try {
		parser = busboy({
			headers: { 'content-type': type },
			// names are UTF-8 (busboy reads them as latin1 unless told: résumé came back as rÃ©sumÃ©)
			defParamCharset: 'utf8',
			// busboy says "limit" once a file reaches fileSize: one more byte, so a file of exactly MAX_FILE_SIZE goes through
			limits: { fileSize: maxFileSize + 1, files: 1, fields: MAX_FIELDS, fieldSize: FIELD_MAX_BYTES, parts: MAX_FIELDS + 1, headerPairs: 64 },
		})
	} catch {
		throw badRequest('invalid_multipart', 'The body is not multipart/form-data with a boundary.')
	}
	const fields = new Map<string, string>()
	let writer: FileWriter | undefined
	let filename: string | undefined
	let contentType = 'application/octet-stream'
	/** A chunk the store has not taken yet (a store that writes asynchronously). */
	let storing: Promise<void> | undefined
	const body = request.body.getReader()
	try {
		await new Promise<void>((resolve, reject) => {
			let failed = false
			const fail = (error: Error) => {
				if (failed) return
				failed = true
				body.cancel().catch(() => {})
				reject(error)
			}
			parser.on('field', (name, value, info) => {
				if (info.valueTruncated || info.nameTruncated) return fail(new ApiError(413, 'payload_too_large', `The form field "${name.slice(0, 64)}" is over ${FIELD_MAX_BYTES / 1024} KiB.`, { field: name }))
				fields.set(name, value)
			})
			parser.on('file', (name, stream, info) => {
				if (name !== 'file') {
					stream.resume()
					return fail(badRequest('unexpected_file', `Only one file is taken, in a part named "file" (not "${name.slice(0, 64)}").`))
				}
				try {
					// the checksum field, when it came before the file: a store may write the bytes straight to their place
					writer = store.writer(fields.get('checksum')?.trim().toLowerCase())
				} catch (error) {
					stream.resume()
					return fail(writeFailure(error)) // no room for even an empty file (its inode)
				}
				filename = info.filename
				if (info.mimeType) contentType = info.mimeType
				stream.on('data', (chunk: Buffer) => {
					if (failed) return
					let stored: void | Promise<void>
					try {
						stored = writer!.write(chunk)
					} catch (error) {
						return fail(writeFailure(error))
					}
					if (!stored) return
					// a store that writes asynchronously: no more chunks until this one is taken (the parser then waits for its drain)
					stream.pause()
					storing = stored.then(
						() => {
							storing = undefined
							stream.resume()
						},
						(error: unknown) => {
							fail(writeFailure(error))
							stream.resume() // what is left is read and ignored, so the parser ends
						},
					)
				})
				stream.on('limit', () => fail(fileTooLarge(maxFileSize)))
				// a body that ends inside the file: busboy destroys the file stream with an error, which
				// nothing else would catch (it took the process down)
				stream.on('error', () => fail(badRequest('invalid_multipart', 'The multipart body ended inside the file part.')))
			})
			parser.on('filesLimit', () => fail(badRequest('too_many_files', 'An upload carries one file, in a part named "file"; this one has more.')))
			parser.on('fieldsLimit', () => fail(badRequest('too_many_fields', `An upload has at most ${MAX_FIELDS} form fields.`)))
			parser.on('partsLimit', () => fail(badRequest('too_many_fields', `An upload has at most ${MAX_FIELDS + 1} parts.`)))
			parser.on('error', () => fail(badRequest('invalid_multipart', 'The multipart body is malformed (its boundaries or part headers).')))
			parser.on('close', () => {
				// the file part ends once its last chunk is handed over, which the store may still be taking
				if (storing) void storing.then(() => failed || resolve())
				else if (!failed) resolve()
			})
			// the body is pumped into the parser by hand: through Readable.fromWeb and pipe, uploads ran 12% slower
			void (async () => {
				try {
					for (;;) {
						const { done, value } = await body.read()
						if (failed) return
						if (done) break
						if (!parser.write(value)) await new Promise((drained) => parser.once('drain', drained))
					}
					parser.end()
				} catch {
					fail(badRequest('upload_aborted', 'The upload stopped before its end.'))
				}
			})()
		})
		if (!writer) throw badRequest('missing_file', 'An upload needs a part named "file" with the bytes.')
		const { checksum, size } = await writer.finish().catch((error: unknown) => {
			throw writeFailure(error)
		})
		return { fields, file: { writer, filename, contentType, size, checksum } }
	} catch (error) {
		await storing // a chunk still on its way into the store is settled before what was written is dropped
		await writer?.discard()
		throw error
	}
}

/** A write to the file store failed: a full disk or a store out of reach goes on as it is (the error handler's 507, 503), anything else is the server's fault. */
function writeFailure(error: unknown): Error {
	if (isDiskFull(error) || error instanceof StorageUnavailableError) return error as Error
	return new ApiError(500, 'upload_failed', 'The server could not store the upload; nothing was kept.')
}
