import { t } from 'elysia'
import { formatRowId } from '../db/ids'
import type { FileRow } from '../db/schema'
import { ApiError } from '../http/errors'
import { Description, iso, isoOrNull, MadeBy, Metadata, Tags, Timestamp, toMadeBy, withoutControlCharacters } from '../http/fields'
import { PagedResponse } from '../http/paging'

export const PREFIX_PATTERN = /^\/$|^(\/[A-Za-z0-9_-]+)+$/
export const PREFIX_MAX_LENGTH = 1024
export const FILENAME_MAX_LENGTH = 255
export const FIELD_MAX_BYTES = 64 * 1024
export const PAGE_DEFAULT = 1000
export const PAGE_MAX = 1000

export const invalidPrefix = (prefix: string) =>
	new ApiError(
		400,
		'invalid_prefix',
		`The prefix ${JSON.stringify(prefix.slice(0, 100))} is not one: it starts with "/", has no trailing "/" (but the root "/"), no empty segment, and only letters, digits, "_", "-" and "/".`,
		{ field: 'prefix' },
	)

/** A prefix as sent, checked: `/`, or `/a/b` of `[A-Za-z0-9_-]` segments; else 400 invalid_prefix. */
export function checkPrefix(prefix: string): string {
	if (prefix.length > PREFIX_MAX_LENGTH || !PREFIX_PATTERN.test(prefix)) throw invalidPrefix(prefix)
	return prefix
}

/**
 * The name a file is stored under, from the name its client gave: the last segment of any path
 * (`../../etc/passwd` is `passwd`, `a\\b` is `b`), without control characters, at most 255
 * characters; `file` when nothing is left. Bytes are stored by checksum, never by this name, so no
 * name can reach the file system; this keeps the listing readable and the download header sane.
 */
export function safeFilename(given: string | undefined): string {
	const base = (given ?? '').split(/[/\\]/).pop() ?? ''
	const clean = withoutControlCharacters(base).trim()
	const name = clean === '.' || clean === '..' ? '' : clean
	return (name.length > FILENAME_MAX_LENGTH ? name.slice(0, FILENAME_MAX_LENGTH) : name) || 'file'
}

/**
 * Types of the files ML and robotics users upload, which clients guess wrongly from the system's
 * MIME table (Python's mimetypes on Debian calls a `.pt` checkpoint `application/vnd.snesdev-page-table`):
 * the registered type where there is one, else plain bytes.
 */
const ML_CONTENT_TYPES: Record<string, string> = {
	pt: 'application/octet-stream',
	pth: 'application/octet-stream',
	ckpt: 'application/octet-stream',
	safetensors: 'application/octet-stream',
	npy: 'application/octet-stream',
	npz: 'application/zip', // a .npz is a zip archive of .npy files
	h5: 'application/x-hdf5',
	hdf5: 'application/x-hdf5',
	parquet: 'application/vnd.apache.parquet',
	onnx: 'application/octet-stream',
	pkl: 'application/octet-stream',
	pickle: 'application/octet-stream',
	mcap: 'application/octet-stream',
	bag: 'application/octet-stream',
	tfrecord: 'application/octet-stream',
}

/** A file's type: ours for the formats above (whatever the client said), else the client's, else plain bytes. */
export function contentTypeOf(filename: string, declared: string | undefined): string {
	const extension = /\.([A-Za-z0-9]+)$/.exec(filename)?.[1]?.toLowerCase()
	return (extension !== undefined ? ML_CONTENT_TYPES[extension] : undefined) ?? (declared || 'application/octet-stream')
}

export const pathOf = (prefix: string, filename: string) => (prefix === '/' ? `/${filename}` : `${prefix}/${filename}`)

export const FileResponse = t.Object({
	id: t.String(),
	episodeId: t.String(),
	prefix: t.String(),
	path: t.String({ description: 'prefix + "/" + filename' }),
	filename: t.String(),
	description: t.Union([t.String(), t.Null()]),
	tags: t.Array(t.String()),
	contentType: t.String(),
	sizeBytes: t.Number(),
	checksum: t.String({ description: 'sha256, lower-case hex' }),
	metadata: Metadata,
	createdBy: MadeBy,
	uploadedAt: Timestamp,
	updatedAt: Timestamp,
	deletedAt: t.Union([Timestamp, t.Null()]),
})

export const FileList = PagedResponse('files', FileResponse)

export const FilePatch = t.Object({ description: t.Optional(Description), tags: t.Optional(Tags), metadata: t.Optional(Metadata) }, { additionalProperties: false })

export const FileDeleted = t.Object({ id: t.String(), deletedAt: Timestamp })

export const toFileResponse = (row: FileRow) => ({
	id: formatRowId(row.id),
	episodeId: formatRowId(row.episodeId),
	prefix: row.prefix,
	path: pathOf(row.prefix, row.filename),
	filename: row.filename,
	description: row.description,
	tags: row.tags,
	contentType: row.contentType,
	sizeBytes: row.sizeBytes,
	checksum: row.checksum,
	metadata: row.metadata,
	createdBy: toMadeBy(row),
	uploadedAt: iso(row.uploadedAt),
	updatedAt: iso(row.updatedAt),
	deletedAt: isoOrNull(row.deletedAt),
})
