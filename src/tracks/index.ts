import { Elysia, t } from 'elysia'
import { jsonBody } from '../http/body'
import { errorResponses, invalidQuery } from '../http/errors'
import type { CallerGuard } from '../auth/guard'
import { ListQuery, listParam, paged, PagedResponse, pageOf, wholeNumber } from '../http/paging'
import { jsonResponse } from '../http/server-timing'
import { Appended, checkPoint, checkPoints, MAX_PAGE, TrackSeries, toTrackStats, toTrackSummary, TrackAppend, TrackAppendBatch, TrackDeleted, TrackPage, TrackStats, TrackSummary, LIST_PAGE_MAX } from './model'
import type { TrackService } from './service'
import { formatParam, safeFilename, type TableExports } from '../export'

const tags = ['Tracks']
const EpisodePath = t.Object({ id: t.String() })
const TrackPath = t.Object({ id: t.String(), name: t.String() })

/** Tracks of an episode: append one point or a batch, read pages, stats, the list, delete and restore. */
export const trackRoutes = (tracks: TrackService, guard: CallerGuard, exports: TableExports) =>
	new Elysia()
		.use(guard)
		.use(jsonBody)
		.post(
			'/episodes/:id/tracks/:name/append',
			async ({ caller, meter, params, body }) => {
				const { data, ...fields } = body
				const appended = await tracks.append(meter, caller, params.id, params.name, [checkPoint(data, 'data')], fields)
				return jsonResponse(JSON.stringify({ ...appended, index: appended.startIndex }), meter, 201)
			},
			{
				caller: true,
				params: TrackPath,
				parse: ['json1MiB', 'json'],
				body: TrackAppend,
				response: { 201: Appended, ...errorResponses(400, 401, 403, 404, 410, 413, 415, 422) },
				detail: { summary: 'Append one point (creates the track on its first point)', tags },
			},
		)
		.post(
			'/episodes/:id/tracks/:name/append-batch',
			async ({ caller, meter, params, body }) => {
				const { dataPoints, ...fields } = body
				const appended = await tracks.append(meter, caller, params.id, params.name, checkPoints(dataPoints, 'dataPoints'), fields)
				return jsonResponse(JSON.stringify(appended), meter, 201)
			},
			{
				caller: true,
				params: TrackPath,
				parse: ['json16MiB', 'json'],
				body: TrackAppendBatch,
				response: { 201: Appended, ...errorResponses(400, 401, 403, 404, 410, 413, 415, 422) },
				detail: {
					summary: 'Append 1 to 10,000 points',
					description: 'The points get the track’s next indexes (from 0, gapless, in order); concurrent batches get disjoint ranges. All or nothing.',
					tags,
				},
			},
		)
		.get(
			'/episodes/:id/tracks/:name/data',
			({ caller, meter, params, query }) => {
				const startTime = timeParam('startTime', query.startTime)
				const endTime = timeParam('endTime', query.endTime)
				const keys = listParam(query.keys)
				const page = tracks.page(meter, caller, params.id, params.name, {
					startIndex: wholeNumber('startIndex', query.startIndex, 0, 0, Number.MAX_SAFE_INTEGER),
					endIndex: wholeNumber('endIndex', query.endIndex, undefined, 0, Number.MAX_SAFE_INTEGER),
					limit: wholeNumber('limit', query.limit, 1000, 1, MAX_PAGE),
					...(startTime !== undefined && { startTime }),
					...(endTime !== undefined && { endTime }),
					...(keys.length > 0 && { keys: new Set(keys) }),
				})
				// serialized here, not checked point by point against the schema: a page holds up to 10,000
				return jsonResponse(JSON.stringify(page), meter)
			},
			{
				reader: true,
				params: TrackPath,
				query: t.Object(
					{
						startIndex: t.Optional(t.String({ description: 'First index (default 0)' })),
						endIndex: t.Optional(t.String({ description: 'Last index, inclusive' })),
						limit: t.Optional(t.String({ description: `Points per page (default 1,000, at most ${MAX_PAGE.toLocaleString('en-US')})` })),
						startTime: t.Optional(t.String({ description: 'Only points whose `_ts` (epoch seconds) is at least this' })),
						endTime: t.Optional(t.String({ description: 'Only points whose `_ts` is at most this' })),
						keys: t.Optional(t.String({ description: 'Comma-separated: only these fields of each point' })),
					},
					{ additionalProperties: true },
				),
				response: { 200: TrackPage, ...errorResponses(401, 404, 422) },
				detail: { summary: 'Read points by index (and `_ts`), a page at a time', tags },
			},
		)
		.get(
			'/episodes/:id/tracks/:name/export',
			({ caller, meter, params, query }) => {
				const format = formatParam(query.format, ['csv', 'ndjson', 'parquet'])
				const startTime = timeParam('startTime', query.startTime)
				const endTime = timeParam('endTime', query.endTime)
				const keys = listParam(query.keys)
				const source = tracks.exportTable(meter, caller, params.id, params.name, {
					startIndex: wholeNumber('startIndex', query.startIndex, 0, 0, Number.MAX_SAFE_INTEGER),
					endIndex: wholeNumber('endIndex', query.endIndex, undefined, 0, Number.MAX_SAFE_INTEGER),
					...(startTime !== undefined && { startTime }),
					...(endTime !== undefined && { endTime }),
					...(keys.length > 0 && { keys }),
				})
				return exports.respond(meter, { format, source, filename: safeFilename([params.id, params.name], format), what: 'track' })
			},
			{
				reader: true,
				params: TrackPath,
				query: t.Object(
					{
						format: t.Optional(t.String({ description: '`csv` (default), `ndjson` or `parquet`' })),
						startIndex: t.Optional(t.String({ description: 'First index (default 0)' })),
						endIndex: t.Optional(t.String({ description: 'Last index, inclusive' })),
						startTime: t.Optional(t.String({ description: 'Only points whose `_ts` (epoch seconds) is at least this' })),
						endTime: t.Optional(t.String({ description: 'Only points whose `_ts` is at most this' })),
						keys: t.Optional(t.String({ description: 'Comma-separated: only these keys, as columns in this order' })),
					},
					{ additionalProperties: true },
				),
				detail: {
					summary: 'Download the track (or a window of it) as CSV, NDJSON or Parquet, streamed',
					description: 'Columns: `index` (int64), `_ts` when the track has it, then one per key. In Parquet a key holding only numbers is a DOUBLE column, any other a UTF-8 string column (strings as they are, other values as JSON text).',
					responses: {
						200: { description: 'The table, streamed, with Content-Disposition: attachment' },
						401: { description: 'No or a bad token, for a track that is not public' },
						404: { description: 'Not found, not yours, or deleted' },
						422: { description: 'A bad format or window' },
					},
					tags,
				},
			},
		)
		.get(
			'/episodes/:id/tracks/:name/series',
			({ caller, meter, params, query }) => {
				const keys = listParam(query.keys)
				const startTime = timeParam('startTime', query.startTime)
				const endTime = timeParam('endTime', query.endTime)
				const series = tracks.series(meter, caller, params.id, params.name, {
					x: query.x || 'index',
					maxPoints: wholeNumber('maxPoints', query.maxPoints, 1000, 1, MAX_PAGE),
					...(keys.length > 0 && { keys }),
					startIndex: wholeNumber('startIndex', query.startIndex, undefined, 0, Number.MAX_SAFE_INTEGER),
					endIndex: wholeNumber('endIndex', query.endIndex, undefined, 0, Number.MAX_SAFE_INTEGER),
					...(startTime !== undefined && { startTime }),
					...(endTime !== undefined && { endTime }),
				})
				return jsonResponse(JSON.stringify(series), meter)
			},
			{
				reader: true,
				params: TrackPath,
				query: t.Object(
					{
						keys: t.Optional(t.String({ description: 'Comma-separated keys to fold (default: every key but x and _ts, at most 64)' })),
						maxPoints: t.Optional(t.String({ description: 'Buckets at most (default 1,000, at most 10,000)' })),
						x: t.Optional(t.String({ description: '`index` (default), `_ts`, or a numeric field such as `step`' })),
						startIndex: t.Optional(t.String({ description: 'Window: first index' })),
						endIndex: t.Optional(t.String({ description: 'Window: last index, inclusive' })),
						startTime: t.Optional(t.String({ description: 'Window: smallest `_ts` (epoch seconds)' })),
						endTime: t.Optional(t.String({ description: 'Window: largest `_ts`' })),
					},
					{ additionalProperties: true },
				),
				response: { 200: TrackSeries, ...errorResponses(401, 404, 422) },
				detail: {
					summary: 'For charts: the track (or a window) in at most maxPoints buckets, min/max/mean/last per key',
					description: 'A spike is never averaged away: each bucket carries its min and max. Empty buckets are left out.',
					tags,
				},
			},
		)
		.get('/episodes/:id/tracks/:name/stats', ({ caller, meter, params }) => toTrackStats(tracks.stats(meter, caller, params.id, params.name)), {
			reader: true,
			params: TrackPath,
			response: { 200: TrackStats, ...errorResponses(401, 404) },
			detail: { summary: 'A track’s counts, keys and times', tags },
		})
		.get(
			'/episodes/:id/tracks',
			({ caller, meter, params, query }) => {
				// a page holds a run's every track unless it has over a thousand: the SDK reads one page, without asking for more
				const page = pageOf(query, { defaultSize: LIST_PAGE_MAX, maxSize: LIST_PAGE_MAX })
				const { rows, total } = tracks.list(meter, caller, params.id, page, query.deleted === 'true')
				return paged('tracks', rows.map(toTrackSummary), total, page)
			},
			{
				reader: true,
				params: EpisodePath,
				query: ListQuery({ deleted: t.Optional(t.String({ description: '`true` lists the deleted tracks instead' })) }),
				response: { 200: PagedResponse('tracks', TrackSummary), ...errorResponses(401, 404, 422) },
				detail: { summary: 'The episode’s tracks, with their keys, by name (paged: 1,000 a page by default)', tags },
			},
		)
		.delete(
			'/episodes/:id/tracks/:name',
			async ({ caller, meter, params }) => {
				const track = await tracks.remove(meter, caller, params.id, params.name)
				return { id: String(track.id), name: track.name, deletedAt: track.deletedAt!.toISOString() }
			},
			{
				caller: true,
				params: TrackPath,
				response: { 200: TrackDeleted, ...errorResponses(401, 403, 404) },
				detail: { summary: 'Delete a track (soft: restore it until it is purged)', tags },
			},
		)
		.post('/episodes/:id/tracks/:name/restore', async ({ caller, meter, params }) => toTrackStats(await tracks.restore(meter, caller, params.id, params.name)), {
			caller: true,
			params: TrackPath,
			response: { 200: TrackStats, ...errorResponses(401, 403, 404) },
			detail: { summary: 'Restore a deleted track', tags },
		})

function timeParam(name: string, raw: string | undefined): number | undefined {
	if (raw === undefined || raw === '') return undefined
	const value = Number(raw)
	if (!Number.isFinite(value)) throw invalidQuery(name, 'must be a number of seconds since the epoch (as `_ts`)')
	return value
}
