import { Elysia, t, type Static } from 'elysia'
import { jsonBody } from '../http/body'
import { badRequest, errorResponses, invalidQuery } from '../http/errors'
import type { CallerGuard } from '../auth/guard'
import { dirParam, ListQuery, listParam, paged, PagedResponse, pageOf } from '../http/paging'
import { EPISODE_STATUSES, type EpisodeStatus } from '../db/schema'
import { DeletedResponse } from '../http/fields'
import { jsonResponse } from '../http/server-timing'
import type { EpisodeRow } from '../db/schema'
import { episodeJson, EpisodeDetailResponse, EpisodeListItem, EpisodePatch, EpisodeResponse, EpisodeUpsert, NamespaceEpisodeItem, toEpisodeFlat, toEpisodeResponse } from './model'
import { ATTRIBUTES, COLUMNS_MAX, FilterError, parseFilter, parseKey, type Filter, type Key } from './filter'
import { KEYS_FROM_EPISODES, KEYS_MAX, type EpisodeDetail, type EpisodePage, type EpisodeSearch, type EpisodeService, type ListColumn } from './service'
import { formatParam, safeFilename, type TableExports } from '../export'

const tags = ['Episodes']
const ProjectPath = t.Object({ ns: t.String(), project: t.String() })
const NamedPath = t.Object({ ns: t.String(), project: t.String(), name: t.String() })
const IdPath = t.Object({ id: t.String() })
const NamespacePath = t.Object({ ns: t.String() })

const EpisodeListQuery = ListQuery({
	status: t.Optional(t.String({ description: `One of ${EPISODE_STATUSES.join(', ')}, or stale (running, but nothing written to it for STALE_AFTER)` })),
	tags: t.Optional(t.String({ description: 'Comma-separated; an episode with any of them matches' })),
	search: t.Optional(t.String({ description: 'Text in the name or description' })),
	filter: t.Optional(t.String({ description: 'The filter language (README, Finding runs): params.lr = 0.0003 and metrics.train.loss.min < 0.2' })),
	order: t.Optional(t.String({ description: `${ATTRIBUTES.join(', ')} (default createdAt), params.<key> or metrics.<track>.<key>[.last|.min|.max|.count]; episodes without it come last` })),
	dir: t.Optional(t.String({ description: 'desc (default) or asc' })),
	columns: t.Optional(t.String({ description: `Up to ${COLUMNS_MAX} comma-separated params.<key> and metrics.<track>.<key>[.<stat>]: their values in each row's \`values\`` })),
	deleted: t.Optional(t.String({ description: '`true` lists the deleted episodes instead (to restore one)' })),
})
type EpisodeListQuery = Static<typeof EpisodeListQuery>

/** Episodes: the upsert by name the SDK opens every run with, reads, PATCH, soft delete and restore. */
export const episodeRoutes = (episodes: EpisodeService, guard: CallerGuard, exports: TableExports) => {
	// the namespace an answer names is the episode's, from the data: never the caller's own
	const detail = (result: EpisodeDetail) => ({ ...toEpisodeResponse(result.episode, result.project, result.namespace, episodes.staleBefore()), ...result.counts })
	return new Elysia()
		.use(guard)
		.use(jsonBody)
		.post(
			'/namespaces/:ns/projects/:project/episodes',
			async ({ caller, meter, params, body }) => {
				const { episode, project, namespace, created } = await episodes.upsert(meter, caller, params.ns, params.project, body)
				return jsonResponse(episodeJson(episode, project, namespace, episodes.staleBefore()), meter, created ? 201 : 200)
			},
			{
				caller: true,
				params: ProjectPath,
				parse: ['json1MiB', 'json'],
				body: EpisodeUpsert,
				response: { 200: EpisodeResponse, 201: EpisodeResponse, ...errorResponses(400, 401, 403, 404, 410, 413, 415, 422) },
				detail: {
					summary: 'Create or update an episode by name (upsert)',
					description:
						'Creates the project too when it does not exist. 201 when the episode was created, 200 when it existed; fields left out keep their values. A write-protected episode answers 403 to an upsert that would change it; the name of a deleted episode answers 410.',
					tags,
				},
			},
		)
		.get(
			'/namespaces/:ns/projects/:project/episodes',
			({ caller, meter, params, query }) => {
				const page = pageOf(query)
				const search = searchOf(query)
				const found = episodes.list(meter, caller, params.ns, params.project, page, search)
				const staleBefore = episodes.staleBefore()
				return paged('episodes', found.rows.map((row) => ({ ...toEpisodeFlat(row, staleBefore), ...withValues(found, row, search) })), found.total, page)
			},
			{
				reader: true,
				params: ProjectPath,
				query: EpisodeListQuery,
				response: {
					200: PagedResponse('episodes', EpisodeListItem),
					...errorResponses(400, 401, 404, 422),
				},
				detail: { summary: 'List the episodes of a project (paged, filtered, sorted, with parameter and metric columns)', tags },
			},
		)
		.get('/namespaces/:ns/projects/:project/keys', ({ caller, meter, params }) => episodes.keys(meter, caller, params.ns, params.project), {
			reader: true,
			params: ProjectPath,
			response: {
				200: t.Object({ params: t.Array(t.String()), metrics: t.Array(t.Object({ track: t.String(), key: t.String() })) }),
				...errorResponses(401, 404),
			},
			detail: {
				summary: 'The parameter keys and metrics (track, key) of a project’s newest episodes, for a filter to name',
				description: `Distinct, sorted, from the ${KEYS_FROM_EPISODES} most recently created live episodes, at most ${KEYS_MAX} of each.`,
				tags,
			},
		})
		.get(
			'/namespaces/:ns/episodes',
			({ caller, meter, params, query }) => {
				const page = pageOf(query)
				const search = searchOf(query)
				const found = episodes.listInNamespace(meter, caller, params.ns, page, search)
				const staleBefore = episodes.staleBefore()
				const items = found.rows.map((row) => ({ ...toEpisodeFlat(row, staleBefore), project: { id: String(row.projectId), slug: found.projects.get(row.projectId)! }, ...withValues(found, row, search) }))
				return paged('episodes', items, found.total, page)
			},
			{
				reader: true,
				params: NamespacePath,
				query: EpisodeListQuery,
				response: {
					200: PagedResponse('episodes', NamespaceEpisodeItem),
					...errorResponses(400, 401, 404, 422),
				},
				detail: { summary: 'Search the episodes of every project of a namespace you may read (the same query as a project’s list)', tags },
			},
		)
		.get(
			'/namespaces/:ns/projects/:project/episodes/export',
			({ caller, meter, params, query }) => {
				const format = formatParam(query.format, ['csv', 'parquet'])
				const source = episodes.exportTable(meter, caller, params.ns, params.project, searchOf(query))
				return exports.respond(meter, { format, source, filename: safeFilename([params.ns, params.project, 'episodes'], format), what: 'episodes' })
			},
			{
				reader: true,
				params: ProjectPath,
				query: t.Object({ ...EpisodeListQuery.properties, format: t.Optional(t.String({ description: '`csv` (default) or `parquet`' })) }, { additionalProperties: true }),
				detail: {
					summary: 'Download the episodes table (the list’s filter, order and columns, every page) as CSV or Parquet, streamed',
					description: 'Columns: the episode’s own fields (status says stale), then the `columns=` asked for, then its current parameters as `params.<key>` (dot keys, as stored), sorted. An episode named `export` is read by id, not by this path.',
					responses: {
						200: { description: 'The table, streamed, with Content-Disposition: attachment' },
						401: { description: 'No or a bad token, for a project that is not public' },
						404: { description: 'Not found, or not yours' },
						422: { description: 'A bad format or filter' },
					},
					tags,
				},
			},
		)
		.get('/namespaces/:ns/projects/:project/episodes/:name', ({ caller, meter, params }) => detail(episodes.getByName(meter, caller, params.ns, params.project, params.name)), {
			reader: true,
			params: NamedPath,
			response: { 200: EpisodeDetailResponse, ...errorResponses(401, 404) },
			detail: { summary: 'One episode, by name', tags },
		})
		.patch(
			'/namespaces/:ns/projects/:project/episodes/:name',
			async ({ caller, meter, params, body }) => detail(await episodes.updateByName(meter, caller, params.ns, params.project, params.name, body)),
			{
				caller: true,
				params: NamedPath,
				parse: ['json1MiB', 'json'],
				body: EpisodePatch,
				response: { 200: EpisodeDetailResponse, ...errorResponses(400, 401, 403, 404, 413, 415, 422) },
				detail: { summary: 'Update an episode, by name; only the fields sent change', tags },
			},
		)
		.get('/episodes/:id', ({ caller, meter, params }) => detail(episodes.get(meter, caller, params.id)), {
			reader: true,
			params: IdPath,
			response: { 200: EpisodeDetailResponse, ...errorResponses(401, 404) },
			detail: { summary: 'One episode, by id', tags },
		})
		.patch('/episodes/:id', async ({ caller, meter, params, body }) => detail(await episodes.update(meter, caller, params.id, body)), {
			caller: true,
			params: IdPath,
			parse: ['json1MiB', 'json'],
			body: EpisodePatch,
			response: { 200: EpisodeDetailResponse, ...errorResponses(400, 401, 403, 404, 413, 415, 422) },
			detail: { summary: 'Update an episode, by id; only the fields sent change', tags },
		})
		.delete(
			'/episodes/:id',
			async ({ caller, meter, params }) => {
				const episode = await episodes.remove(meter, caller, params.id)
				return { id: String(episode.id), deletedAt: episode.deletedAt!.toISOString() }
			},
			{
				caller: true,
				params: IdPath,
				response: { 200: DeletedResponse, ...errorResponses(401, 403, 404) },
				detail: { summary: 'Delete an episode (soft: restore it until it is purged)', tags },
			},
		)
		.post('/episodes/:id/restore', async ({ caller, meter, params }) => detail(await episodes.restore(meter, caller, params.id)), {
			caller: true,
			params: IdPath,
			response: { 200: EpisodeDetailResponse, ...errorResponses(401, 404) },
			detail: { summary: 'Restore a deleted episode', tags },
		})
}

/** A status filter: a stored one, or `stale` (running but silent for STALE_AFTER; `running` then means the others). */
function statusParam(raw: string | undefined): EpisodeStatus | 'stale' | undefined {
	if (raw === undefined || raw === '') return undefined
	if (raw !== 'stale' && !(EPISODE_STATUSES as readonly string[]).includes(raw)) throw invalidQuery('status', `must be one of ${EPISODE_STATUSES.join(', ')} or stale`)
	return raw as EpisodeStatus | 'stale'
}

/** The list's query parameters, checked: a 422 names the parameter, a filter that does not parse is a 400 saying where and why. */
function searchOf(query: EpisodeListQuery): EpisodeSearch {
	return {
		status: statusParam(query.status),
		tags: listParam(query.tags),
		search: query.search || undefined,
		deleted: query.deleted === 'true',
		filter: filterParam(query.filter),
		order: orderParam(query.order),
		dir: dirParam(query.dir),
		columns: columnsParam(query.columns),
	}
}

function filterParam(raw: string | undefined): Filter | undefined {
	if (raw === undefined || raw.trim() === '') return undefined
	try {
		return parseFilter(raw)
	} catch (error) {
		if (error instanceof FilterError) throw badRequest('invalid_filter', `Invalid filter: ${error.message}.`)
		throw error
	}
}

const CREATED_AT: Key = { kind: 'attribute', name: 'createdAt' }

function orderParam(raw: string | undefined): Key {
	if (raw === undefined || raw === '') return CREATED_AT
	try {
		return parseKey(raw)
	} catch (error) {
		if (error instanceof FilterError) throw invalidQuery('order', `must be an attribute (${ATTRIBUTES.join(', ')}), params.<key> or metrics.<track>.<key>[.<stat>]: ${error.message}`)
		throw error
	}
}

function columnsParam(raw: string | undefined): ListColumn[] {
	if (raw === undefined || raw.trim() === '') return []
	const labels = splitOutsideQuotes(raw)
	if (labels.length > COLUMNS_MAX) throw invalidQuery('columns', `must name at most ${COLUMNS_MAX} columns (it names ${labels.length})`)
	return labels.map((label) => {
		let key: Key
		try {
			key = parseKey(label)
		} catch (error) {
			if (error instanceof FilterError) throw invalidQuery('columns', `holds ${JSON.stringify(label.slice(0, 100))}, which is not params.<key> or metrics.<track>.<key>[.<stat>]: ${error.message}`)
			throw error
		}
		if (key.kind === 'attribute') throw invalidQuery('columns', `names ${key.name}, which every row holds already; columns take params.<key> and metrics.<track>.<key>`)
		return { label, key }
	})
}

/** `a,"b,c".d` → ["a", "\"b,c\".d"]: commas inside double quotes belong to a name; blanks dropped. */
function splitOutsideQuotes(raw: string): string[] {
	const parts: string[] = []
	let current = ''
	let quoted = false
	for (let i = 0; i < raw.length; i++) {
		const c = raw[i]!
		if (c === '\\' && quoted) {
			current += c + (raw[++i] ?? '')
			continue
		}
		if (c === '"') quoted = !quoted
		if (c === ',' && !quoted) {
			parts.push(current.trim())
			current = ''
			continue
		}
		current += c
	}
	parts.push(current.trim())
	return parts.filter((p) => p !== '')
}

/** The row's column values, only when columns were asked for. */
const withValues = (found: EpisodePage, row: EpisodeRow, search: EpisodeSearch) => (search.columns.length > 0 ? { values: found.values.get(row.id) ?? {} } : {})
