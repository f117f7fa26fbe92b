import { Elysia, t } from 'elysia'
import { jsonBody } from '../http/body'
import { ApiError, errorResponses } from '../http/errors'
import type { CallerGuard } from '../auth/guard'
import { contentDisposition } from '../http/download'
import { oneOf } from '../http/fields'
import { listParam, ListQuery, paged, pageOf } from '../http/paging'
import { FileDeleted, FileList, FilePatch, FileResponse, PAGE_DEFAULT, PAGE_MAX, toFileResponse } from './model'
import type { FileService } from './service'

const tags = ['Files']
const EpisodePath = t.Object({ id: t.String() })
const FilePath = t.Object({ id: t.String(), fileId: t.String() })

/** Files of an episode: streamed upload, list, get, PATCH, soft delete, restore, and the download. */
export const fileRoutes = (files: FileService, guard: CallerGuard) =>
	new Elysia()
		.use(guard)
		.use(jsonBody)
		.post(
			'/episodes/:id/files',
			async ({ caller, meter, params, request, set }) => {
				const row = await files.upload(meter, caller, params.id, request)
				set.status = 201
				return toFileResponse(row)
			},
			{
				caller: true,
				params: EpisodePath,
				// the body is read by the handler, as a stream (files/upload.ts), never parsed whole
				parse: 'none',
				response: { 201: FileResponse, ...errorResponses(400, 401, 403, 404, 413, 415, 422, 503, 507) },
				detail: {
					summary: 'Upload a file (multipart/form-data, streamed to disk)',
					description:
						'Parts: `file` (its filename is the file’s name), `prefix` (default `/`), `checksum` (sha256 hex) and `sizeBytes`, required, `description`, `tags` (comma-joined) and `metadata` (a JSON object). The bytes are checked against checksum and size (422 otherwise) before anything is kept; the same prefix and name again replaces the earlier file.',
					tags,
				},
			},
		)
		.get(
			'/episodes/:id/files',
			({ caller, meter, params, query }) => {
				const page = pageOf(query, { defaultSize: PAGE_DEFAULT, maxSize: PAGE_MAX })
				const { rows, total } = files.list(meter, caller, params.id, page, { prefix: query.prefix || '/', tags: listParam(query.tags) })
				return paged('files', rows.map(toFileResponse), total, page)
			},
			{
				reader: true,
				params: EpisodePath,
				query: ListQuery({
					prefix: t.Optional(t.String({ description: 'Live files under this prefix (itself and below); default `/`' })),
					tags: t.Optional(t.String({ description: 'Comma-separated: files with any of them' })),
				}),
				response: { 200: FileList, ...errorResponses(400, 401, 404, 422) },
				detail: { summary: 'List the live files of an episode, newest first (1,000 a page by default)', tags },
			},
		)
		.get('/episodes/:id/files/:fileId', ({ caller, meter, params }) => toFileResponse(files.get(meter, caller, params.id, params.fileId)), {
			reader: true,
			params: FilePath,
			response: { 200: FileResponse, ...errorResponses(401, 404) },
			detail: { summary: 'One file', tags },
		})
		.get(
			'/episodes/:id/files/:fileId/download',
			async ({ caller, meter, params, query, request }) => {
				const row = files.get(meter, caller, params.id, params.fileId)
				// the dashboard's opt-in, after the access check: the SDK never asks, and follows no redirect
				const url = query.redirect === '1' ? files.downloadUrl(row) : undefined
				if (url) return new Response(null, { status: 302, headers: { location: url, 'cache-control': 'private, no-store', 'server-timing': meter.serverTiming() } })
				const bytes = await files.bytesOf(row)
				if (!bytes) throw new ApiError(500, 'file_bytes_missing', 'The bytes of this file are missing on the server; it has been logged.')
				const headers: Record<string, string> = {
					'content-type': row.contentType,
					'content-disposition': contentDisposition(row.filename),
					etag: `"${row.checksum}"`,
					'accept-ranges': 'bytes',
					'cache-control': 'private, max-age=0, must-revalidate',
					'server-timing': meter.serverTiming(),
				}
				if (matchesEtag(request.headers.get('if-none-match'), row.checksum)) return new Response(null, { status: 304, headers })
				const range = byteRange(request.headers.get('range'), row.sizeBytes)
				if (range === 'unsatisfiable') {
					return new Response(null, { status: 416, headers: { ...headers, 'content-range': `bytes */${row.sizeBytes}` } })
				}
				if (range) {
					return new Response(await bytes.body(range), {
						status: 206,
						headers: { ...headers, 'content-range': `bytes ${range.start}-${range.end}/${row.sizeBytes}`, 'content-length': String(range.end - range.start + 1) },
					})
				}
				return new Response(await bytes.body(), { headers: { ...headers, 'content-length': String(row.sizeBytes) } })
			},
			{
				reader: true,
				params: FilePath,
				query: t.Object({
					redirect: t.Optional(oneOf(['0', '1'], { description: '1: a 302 to a presigned URL of the bytes at the store instead, when the store is a bucket and S3_PRESIGNED_DOWNLOADS=true (the dashboard asks for it); else ignored' })),
				}),
				detail: {
					summary: 'Download a file’s bytes (streamed from disk; ETag, If-None-Match, Range)',
					responses: {
						200: { description: 'The bytes, with Content-Type, Content-Length, Content-Disposition and ETag (the checksum)' },
						206: { description: 'A byte range (one Range of bytes=start-end)' },
						302: { description: '`redirect=1` with S3_PRESIGNED_DOWNLOADS=true: Location is a presigned URL of the bytes at the store, valid for 5 minutes' },
						304: { description: 'If-None-Match named the checksum' },
						401: { description: 'No or a bad token' },
						404: { description: 'Not found, not yours, or deleted' },
						416: { description: 'The range is outside the file' },
						503: { description: 'The file storage (an object store) cannot be reached: storage_unavailable' },
					},
					tags,
				},
			},
		)
		.patch('/episodes/:id/files/:fileId', async ({ caller, meter, params, body }) => toFileResponse(await files.update(meter, caller, params.id, params.fileId, body)), {
			caller: true,
			params: FilePath,
			parse: ['json1MiB', 'json'],
			body: FilePatch,
			response: { 200: FileResponse, ...errorResponses(400, 401, 403, 404, 413, 415, 422) },
			detail: { summary: 'Update a file’s description, tags or metadata (`tags: []` clears them)', tags },
		})
		.delete(
			'/episodes/:id/files/:fileId',
			async ({ caller, meter, params }) => {
				const row = await files.remove(meter, caller, params.id, params.fileId)
				return { id: String(row.id), deletedAt: row.deletedAt!.toISOString() }
			},
			{
				caller: true,
				params: FilePath,
				response: { 200: FileDeleted, ...errorResponses(401, 403, 404) },
				detail: { summary: 'Delete a file (soft: restore it until it is purged, which frees bytes no live file shares)', tags },
			},
		)
		.post('/episodes/:id/files/:fileId/restore', async ({ caller, meter, params }) => toFileResponse(await files.restore(meter, caller, params.id, params.fileId)), {
			caller: true,
			params: FilePath,
			response: { 200: FileResponse, ...errorResponses(401, 403, 404, 409) },
			detail: { summary: 'Restore a deleted file (409 file_exists when another file has its path now)', tags },
		})

function matchesEtag(header: string | null, checksum: string): boolean {
	if (header === null) return false
	return header.split(',').some((tag) => {
		const value = tag.trim().replace(/^W\//, '')
		return value === '*' || value === `"${checksum}"`
	})
}

/** One `bytes=a-b`, `bytes=a-` or `bytes=-n` range within `size`; null for none (or several: the whole file), 'unsatisfiable' past the end. */
export function byteRange(header: string | null, size: number): { start: number; end: number } | 'unsatisfiable' | null {
	if (header === null) return null
	const match = /^bytes=(\d*)-(\d*)$/.exec(header.trim())
	if (!match || (match[1] === '' && match[2] === '')) return null
	if (match[1] === '') {
		const suffix = Number(match[2])
		if (suffix === 0) return 'unsatisfiable'
		return { start: Math.max(0, size - suffix), end: size - 1 }
	}
	const start = Number(match[1])
	const end = match[2] === '' ? size - 1 : Math.min(Number(match[2]), size - 1)
	if (start >= size || start > end) return 'unsatisfiable'
	return { start, end }
}
