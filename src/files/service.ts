import { madeByCaller, type Account } from '../auth/model'
import type { Reader } from '../namespaces/access'
import { parseRowId } from '../db/ids'
import type { DbMeter } from '../db/meter'
import type { FileRow } from '../db/schema'
import type { EpisodeService } from '../episodes/service'
import { contentDisposition } from '../http/download'
import { ApiError, badRequest, conflict, invalidField, notFound } from '../http/errors'
import { checkMetadata, cleanTags, DESCRIPTION_MAX_LENGTH, TAGS_MAX, TAG_MAX_LENGTH, describedFields } from '../http/fields'
import type { Page } from '../http/paging'
import type { FileStore, StoredBytes } from '../storage/store'
import { checkPrefix, contentTypeOf, safeFilename } from './model'
import { PathTakenError, type FileChanges, type FileRepository } from './repository'
import { readUpload, type Upload } from './upload'

/** Files of an episode: streamed uploads checked against their checksum and size, reads, downloads. */
export class FileService {
	constructor(
		private readonly repository: FileRepository,
		private readonly store: FileStore,
		private readonly episodes: EpisodeService,
		/** MAX_FILE_SIZE, in bytes. */
		readonly maxFileSize: number,
	) {
		episodes.addCounter('fileCount', (meter, episodeId) => repository.countLive(meter, [episodeId]))
	}

	/**
	 * POST /episodes/{id}/files: the `file` part is streamed into the file store while it is hashed,
	 * checked against `checksum` and `sizeBytes`, committed under its checksum, and only then given
	 * a row. Any failure leaves no row and none of its bytes (bytes another row shares stay).
	 */
	async upload(meter: DbMeter, caller: Account, episodeSegment: string, request: Request): Promise<FileRow> {
		const episode = this.episodes.writable(meter, caller, episodeSegment)
		const upload = await readUpload(request, this.store, this.maxFileSize)
		try {
			const fields = uploadFields(upload)
			if (fields.sizeBytes !== upload.file.size) {
				throw new ApiError(422, 'size_mismatch', `The file is ${upload.file.size} bytes, not the ${fields.sizeBytes} that sizeBytes says.`, { field: 'sizeBytes' })
			}
			if (fields.checksum !== upload.file.checksum) {
				throw new ApiError(422, 'checksum_mismatch', 'The sha256 of the bytes received is not the checksum sent; nothing was kept.', { field: 'checksum' })
			}
			// the bytes stay marked as being committed until their row is (a sweep of unreferenced bytes leaves them)
			const release = await upload.file.writer.commit()
			const filename = safeFilename(upload.file.filename)
			try {
				return await this.repository.insert(meter, {
					episodeId: episode.id,
					prefix: fields.prefix,
					filename,
					description: fields.description,
					tags: fields.tags,
					contentType: contentTypeOf(filename, upload.file.contentType),
					sizeBytes: upload.file.size,
					checksum: upload.file.checksum,
					metadata: fields.metadata,
					...madeByCaller(caller),
				})
			} catch (error) {
				release()
				await this.dropUnreferenced(meter, upload.file.checksum)
				throw error
			} finally {
				release()
			}
		} finally {
			await upload.file.writer.discard() // a no-op once committed
		}
	}

	list(meter: DbMeter, caller: Reader, episodeSegment: string, page: Page, filters: { prefix: string; tags: string[] }) {
		const episode = this.episodes.readable(meter, caller, episodeSegment)
		return this.repository.list(meter, episode.id, { ...filters, prefix: checkPrefix(filters.prefix), offset: page.offset, limit: page.pageSize })
	}

	/** A live file of the caller's episode, or 404. */
	get(meter: DbMeter, caller: Reader, episodeSegment: string, fileSegment: string): FileRow {
		const episode = this.episodes.readable(meter, caller, episodeSegment)
		const id = parseRowId(fileSegment)
		const row = id === undefined ? undefined : this.repository.byId(meter, episode.id, id)
		if (!row || row.deletedAt !== null) throw fileNotFound()
		return row
	}

	/** A live file's bytes, for a download; undefined when the store has none under its checksum. */
	bytesOf(row: FileRow): Promise<StoredBytes | undefined> {
		return this.store.open(row.checksum)
	}

	/** A short-lived URL of the row's bytes at the store (a bucket with S3_PRESIGNED_DOWNLOADS), with its name and type; undefined otherwise. */
	downloadUrl(row: FileRow): string | undefined {
		return this.store.downloadUrl?.(row.checksum, { contentDisposition: contentDisposition(row.filename), contentType: row.contentType })
	}

	async update(meter: DbMeter, caller: Account, episodeSegment: string, fileSegment: string, patch: FileChanges): Promise<FileRow> {
		this.episodes.writable(meter, caller, episodeSegment)
		const row = this.get(meter, caller, episodeSegment, fileSegment)
		const changes: FileChanges = describedFields(patch)
		if (Object.keys(changes).length === 0) return row
		return (await this.repository.update(meter, row.id, changes)) ?? fileNotFoundAfterAll()
	}

	async remove(meter: DbMeter, caller: Account, episodeSegment: string, fileSegment: string): Promise<FileRow> {
		this.episodes.writable(meter, caller, episodeSegment)
		const row = this.get(meter, caller, episodeSegment, fileSegment)
		return (await this.repository.softDelete(meter, row.id)) ?? fileNotFoundAfterAll()
	}

	async restore(meter: DbMeter, caller: Account, episodeSegment: string, fileSegment: string): Promise<FileRow> {
		const episode = this.episodes.writable(meter, caller, episodeSegment)
		const id = parseRowId(fileSegment)
		const row = id === undefined ? undefined : this.repository.byId(meter, episode.id, id)
		if (!row || row.deletedAt === null) throw notFound('file_not_deleted', 'No deleted file with this id to restore.')
		try {
			return (await this.repository.restore(meter, row.id)) ?? fileNotFoundAfterAll()
		} catch (error) {
			if (error instanceof PathTakenError) throw conflict('file_exists', 'Another file has this path now: delete it first, or upload this one again.')
			throw error
		}
	}

	/**
	 * The bytes of an upload whose row failed (a full disk, mostly) go before the answer does, unless
	 * a row (live or deleted) or another upload still committing shares them: committing identical
	 * bytes kept the same content, so what is shared stays as it was.
	 */
	private async dropUnreferenced(meter: DbMeter, checksum: string): Promise<void> {
		try {
			if (!this.store.isCommitting(checksum) && !this.repository.references.has(meter, checksum)) await this.store.remove(checksum)
		} catch {
			// a failed read leaves them to the sweep of unreferenced bytes, as a crash here would
		}
	}

	/** Live files of these episodes (the namespace overview). */
	countLive(meter: DbMeter, episodeIds: number[]): number {
		return this.repository.countLive(meter, episodeIds)
	}
}

export const fileNotFound = () => notFound('file_not_found', 'File not found.')

function fileNotFoundAfterAll(): never {
	throw fileNotFound()
}


/** The form fields of an upload, checked: `prefix`, `checksum` and `sizeBytes` required, the rest optional. */
function uploadFields(upload: Upload) {
	const field = (name: string) => upload.fields.get(name)
	const required = (name: string) => {
		const value = field(name)
		if (value === undefined) throw new ApiError(400, 'missing_field', `Invalid request body: "${name}" is required (a form field of the upload).`, { field: name })
		return value
	}
	const prefix = checkPrefix(field('prefix') ?? '/')
	const checksum = required('checksum').trim().toLowerCase()
	if (!/^[0-9a-f]{64}$/.test(checksum)) throw invalidField('checksum', 'must be the sha256 of the file, 64 hexadecimal digits')
	const sizeText = required('sizeBytes').trim()
	const sizeBytes = Number(sizeText)
	if (!/^\d+$/.test(sizeText) || !Number.isSafeInteger(sizeBytes)) throw invalidField('sizeBytes', 'must be the size of the file in bytes, a whole number')
	const description = field('description') ?? null
	if (description !== null && description.length > DESCRIPTION_MAX_LENGTH) throw invalidField('description', `must be at most ${DESCRIPTION_MAX_LENGTH.toLocaleString('en-US')} characters`)
	const tagsText = field('tags')
	const tags = tagsText === undefined || tagsText.trim() === '' ? [] : tagsText.split(',').map((tag) => tag.trim()).filter((tag) => tag !== '')
	if (tags.length > TAGS_MAX || tags.some((tag) => tag.length > TAG_MAX_LENGTH)) throw invalidField('tags', `must be at most ${TAGS_MAX} comma-separated tags of at most ${TAG_MAX_LENGTH} characters`)
	let metadata: Record<string, unknown> = {}
	const metadataText = field('metadata')
	if (metadataText !== undefined && metadataText.trim() !== '') {
		let parsed: unknown
		try {
			parsed = JSON.parse(metadataText)
		} catch {
			throw badRequest('invalid_json', 'The "metadata" field is not valid JSON.')
		}
		if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw invalidField('metadata', 'must be a JSON object')
		checkMetadata(parsed as Record<string, unknown>)
		metadata = parsed as Record<string, unknown>
	}
	return { prefix, checksum, sizeBytes, description, tags: cleanTags(tags), metadata }
}
