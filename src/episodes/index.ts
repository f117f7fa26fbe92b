import { Elysia, t } from 'elysia'
import { jsonBody } from '../http/body'
import { errorResponses, invalidQuery } from '../http/errors'
import type { CallerGuard } from '../auth/guard'
import { dirParam, ListQuery, listParam, paged, PagedResponse, pageOf } from '../http/paging'
import { EPISODE_STATUSES, type EpisodeStatus } from '../db/schema'
import { DeletedResponse } from '../http/fields'
import { jsonResponse } from '../http/server-timing'
import { episodeJson, EpisodeDetailResponse, EpisodeFlat, EpisodePatch, EpisodeResponse, EpisodeUpsert, EPISODE_ORDERS, toEpisodeFlat, toEpisodeResponse, type EpisodeOrder } from './model'
import type { EpisodeDetail, EpisodeService } from './service'
import { formatParam, safeFilename, type TableExports } from '../export'

const tags = ['Episodes']
const ProjectPath = t.Object({ ns: t.String(), project: t.String() })
const NamedPath = t.Object({ ns: t.String(), project: t.String(), name: t.String() })
const IdPath = t.Object({ id: t.String() })

const EpisodeListQuery = ListQuery({
	status: t.Optional(t.String({ description: `One of ${EPISODE_STATUSES.join(', ')}, or stale (running, but nothing written to it for STALE_AFTER)` })),
	tags: t.Optional(t.String({ description: 'Comma-separated; an episode with any of them matches' })),
	search: t.Optional(t.String({ description: 'Text in the name or description' })),
	order: t.Optional(t.String({ description: 'createdAt (default), updatedAt or name' })),
	dir: t.Optional(t.String({ description: 'desc (default) or asc' })),
	deleted: t.Optional(t.String({ description: '`true` lists the deleted episodes instead (to restore one)' })),
})

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
				const { rows, total } = episodes.list(meter, caller, params.ns, params.project, page, listFilters(query))
				const staleBefore = episodes.staleBefore()
				return paged('episodes', rows.map((row) => toEpisodeFlat(row, staleBefore)), total, page)
			},
			{
				reader: true,
				params: ProjectPath,
				query: EpisodeListQuery,
				response: {
					200: PagedResponse('episodes', EpisodeFlat),
					...errorResponses(401, 404, 422),
				},
				detail: { summary: 'List the episodes of a project (paged, filtered, sorted)', tags },
			},
		)
		.get(
			'/namespaces/:ns/projects/:project/episodes/export',
			({ caller, meter, params, query }) => {
				const format = formatParam(query.format, ['csv', 'parquet'])
				const source = episodes.exportTable(meter, caller, params.ns, params.project, listFilters(query))
				return exports.respond(meter, { format, source, filename: safeFilename([params.ns, params.project, 'episodes'], format), what: 'episodes' })
			},
			{
				reader: true,
				params: ProjectPath,
				query: t.Object({ ...EpisodeListQuery.properties, format: t.Optional(t.String({ description: '`csv` (default) or `parquet`' })) }, { additionalProperties: true }),
				detail: {
					summary: 'Download the episodes table (the list’s filters and order, every page) as CSV or Parquet, streamed',
					description: 'Columns: the episode’s own fields (status says stale), then its current parameters as `params.<key>` (dot keys, as stored), sorted. An episode named `export` is read by id, not by this path.',
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

/** The list's filters, order and direction (GET …/episodes and its export). */
function listFilters(query: { status?: string; tags?: string; search?: string; deleted?: string; order?: string; dir?: string }) {
	return {
		status: statusParam(query.status),
		tags: listParam(query.tags),
		search: query.search || undefined,
		deleted: query.deleted === 'true',
		order: orderParam(query.order),
		dir: dirParam(query.dir),
	}
}

/** A status filter: a stored one, or `stale` (running but silent for STALE_AFTER; `running` then means the others). */
function statusParam(raw: string | undefined): EpisodeStatus | 'stale' | undefined {
	if (raw === undefined || raw === '') return undefined
	if (raw !== 'stale' && !(EPISODE_STATUSES as readonly string[]).includes(raw)) throw invalidQuery('status', `must be one of ${EPISODE_STATUSES.join(', ')} or stale`)
	return raw as EpisodeStatus | 'stale'
}

function orderParam(raw: string | undefined): EpisodeOrder {
	if (raw === undefined || raw === '') return 'createdAt'
	if (!(raw in EPISODE_ORDERS)) throw invalidQuery('order', `must be one of ${Object.keys(EPISODE_ORDERS).join(', ')}`)
	return raw as EpisodeOrder
}
