import { Elysia, t } from 'elysia'
import { jsonBody } from '../http/body'
import { errorResponses, invalidQuery } from '../http/errors'
import type { CallerGuard } from '../auth/guard'
import { jsonResponse } from '../http/server-timing'
import { dirParam, listParam, wholeNumber } from '../http/paging'
import { levelCode, LEVELS, LogPage, LogsAppend, LogsAppended, LogStats, MAX_ENTRIES, parseMicros } from './model'
import type { LogQuery } from './repository'
import type { LogService } from './service'
import { formatParam, safeFilename, type TableExports } from '../export'
import { logTextLine } from './export'

const tags = ['Logs']
const IdPath = t.Object({ id: t.String() })

/** The filters a read of the lines takes, the same for a page of them and for their export. */
const LogFilterQuery = {
	afterSequence: t.Optional(t.String({ description: 'Lines after this sequence number (before it, with dir=desc): a live tail without offsets' })),
	dir: t.Optional(t.String({ description: 'asc (default) or desc' })),
	level: t.Optional(t.String({ description: `Comma-separated levels (${LEVELS.join(', ')})` })),
	search: t.Optional(t.String({ description: 'Text in the message (case-insensitive for ASCII)' })),
	startTime: t.Optional(t.String({ description: 'ISO 8601, inclusive' })),
	endTime: t.Optional(t.String({ description: 'ISO 8601, inclusive' })),
}

/** Those filters read from the query string (a bad one is a 422 naming it). */
function logFilters(query: { afterSequence?: string; dir?: string; level?: string; search?: string; startTime?: string; endTime?: string }): Omit<LogQuery, 'limit'> {
	return {
		afterSequence: wholeNumber('afterSequence', query.afterSequence, undefined, -1, Number.MAX_SAFE_INTEGER),
		dir: dirParam(query.dir, 'asc'),
		levels: levelsParam(query.level),
		search: query.search || undefined,
		startTime: timeParam('startTime', query.startTime),
		endTime: timeParam('endTime', query.endTime),
	}
}

/** Log lines of an episode: POST a batch, GET pages by sequence, GET stats. */
export const logRoutes = (logs: LogService, guard: CallerGuard, exports: TableExports) =>
	new Elysia()
		.use(guard)
		.use(jsonBody)
		.post(
			'/episodes/:id/logs',
			async ({ caller, meter, params, body }) => {
				const { created, startSequence, endSequence, episodeId } = await logs.append(meter, caller, params.id, body)
				// written out, not through Elysia's response check and serializer: the hottest write there is
				return jsonResponse(`{"created":${created},"startSequence":${startSequence},"endSequence":${endSequence},"episodeId":"${episodeId}"}`, meter, 201)
			},
			{
				caller: true,
				params: IdPath,
				parse: ['json16MiB', 'json'],
				body: LogsAppend,
				response: { 201: LogsAppended, ...errorResponses(400, 401, 403, 404, 413, 415, 422) },
				detail: {
					summary: `Append 1 to ${MAX_ENTRIES.toLocaleString('en-US')} log lines`,
					description: 'The lines get the next sequence numbers of the episode (from 0, gapless, in order); concurrent posts get disjoint ranges. All or nothing.',
					tags,
				},
			},
		)
		.get(
			'/episodes/:id/logs',
			({ caller, meter, params, query }) =>
				logs.read(meter, caller, params.id, { ...logFilters(query), limit: wholeNumber('limit', query.limit, 100, 1, MAX_ENTRIES) }),
			{
				reader: true,
				params: IdPath,
				query: t.Object(
					{ ...LogFilterQuery, limit: t.Optional(t.String({ description: `Lines per page (default 100, at most ${MAX_ENTRIES})` })) },
					{ additionalProperties: true },
				),
				response: { 200: LogPage, ...errorResponses(401, 404, 422) },
				detail: { summary: 'Read log lines in sequence order, filtered by level, text and time', tags },
			},
		)
		.get(
			'/episodes/:id/logs/export',
			({ caller, meter, params, query }) => {
				const format = formatParam(query.format, ['ndjson', 'text'])
				const source = logs.exportTable(meter, caller, params.id, logFilters(query))
				return exports.respond(meter, { format, source, filename: safeFilename([params.id, 'logs'], format), what: 'logs', line: logTextLine })
			},
			{
				reader: true,
				params: IdPath,
				query: t.Object(
					{ format: t.Optional(t.String({ description: '`ndjson` (default: one line of the logs page a line) or `text` (time, level, message, metadata)' })), ...LogFilterQuery },
					{ additionalProperties: true },
				),
				detail: {
					summary: 'Download the log lines (the filters of GET …/logs) as NDJSON or text, streamed',
					responses: {
						200: { description: 'The lines, streamed, with Content-Disposition: attachment' },
						401: { description: 'No or a bad token, for logs that are not public' },
						404: { description: 'Not found, or not yours' },
						422: { description: 'A bad format or filter' },
					},
					tags,
				},
			},
		)
		.get('/episodes/:id/logs/stats', ({ caller, meter, params }) => logs.stats(meter, caller, params.id), {
			reader: true,
			params: IdPath,
			response: { 200: LogStats, ...errorResponses(401, 404) },
			detail: { summary: 'How many lines of each level, and when the first and last were logged', tags },
		})

function levelsParam(raw: string | undefined): number[] {
	return [
		...new Set(
			listParam(raw).map((name) => {
				const code = levelCode(name)
				if (code === undefined) throw invalidQuery('level', `must list levels among ${LEVELS.join(', ')}`)
				return code
			}),
		),
	]
}

function timeParam(name: string, raw: string | undefined): number | undefined {
	if (raw === undefined || raw === '') return undefined
	const micros = parseMicros(raw)
	if (micros === undefined) throw invalidQuery(name, 'must be an ISO 8601 time with Z or an offset, such as 2026-08-12T10:30:00Z')
	return micros
}
