import { Elysia, t } from 'elysia'
import type { ProjectRow } from '../db/schema'
import type { DbMeter } from '../db/meter'
import type { EpisodeService } from '../episodes/service'
import { jsonBody } from '../http/body'
import { errorResponses } from '../http/errors'
import type { CallerGuard } from '../auth/guard'
import { ListQuery, paged, PagedResponse, pageOf } from '../http/paging'
import { DeletedResponse } from '../http/fields'
import { ProjectCreate, ProjectPatch, ProjectResponse, toProjectResponse } from './model'
import type { ProjectService } from './service'

const tags = ['Projects']
const NamespacePath = t.Object({ ns: t.String() })
const ProjectPath = t.Object({ ns: t.String(), project: t.String() })

/** Projects of the caller's namespace: create, list, get, PATCH, soft delete and restore. */
export const projectRoutes = (projects: ProjectService, episodes: EpisodeService, guard: CallerGuard) => {
	const withCounts = (meter: DbMeter, rows: ProjectRow[]) => {
		const summaries = episodes.liveSummaries(meter, rows.map((row) => row.id))
		return rows.map((row) => toProjectResponse(row, summaries.get(row.id)))
	}
	const one = (meter: DbMeter, row: ProjectRow) => withCounts(meter, [row])[0]!
	return new Elysia()
		.use(guard)
		.use(jsonBody)
		.post(
			'/namespaces/:ns/projects',
			async ({ caller, meter, params, body, set }) => {
				const row = await projects.create(meter, caller, params.ns, body)
				set.status = 201
				return toProjectResponse(row, undefined)
			},
			{
				caller: true,
				params: NamespacePath,
				parse: ['json1MiB', 'json'],
				body: ProjectCreate,
				response: { 201: ProjectResponse, ...errorResponses(400, 401, 404, 409, 413, 415, 422) },
				detail: { summary: 'Create a project (409 project_exists when the slug is taken)', tags },
			},
		)
		.get(
			'/namespaces/:ns/projects',
			({ caller, meter, params, query }) => {
				const page = pageOf(query)
				const { rows, total } = projects.list(meter, caller, params.ns, page, { search: query.search || undefined, deleted: query.deleted === 'true' })
				return paged('projects', withCounts(meter, rows), total, page)
			},
			{
				reader: true,
				params: NamespacePath,
				query: ListQuery({
					search: t.Optional(t.String({ description: 'Text in the name or slug' })),
					deleted: t.Optional(t.String({ description: '`true` lists the deleted projects instead (to restore one)' })),
				}),
				response: {
					200: PagedResponse('projects', ProjectResponse),
					...errorResponses(401, 404, 422),
				},
				detail: { summary: 'List the projects of a namespace, newest first', tags },
			},
		)
		.get('/namespaces/:ns/projects/:project', ({ caller, meter, params }) => one(meter, projects.read(meter, caller, params.ns, params.project)), {
			reader: true,
			params: ProjectPath,
			response: { 200: ProjectResponse, ...errorResponses(401, 404) },
			detail: { summary: 'One project', tags },
		})
		.patch('/namespaces/:ns/projects/:project', async ({ caller, meter, params, body }) => one(meter, await projects.update(meter, caller, params.ns, params.project, body)), {
			caller: true,
			params: ProjectPath,
			parse: ['json1MiB', 'json'],
			body: ProjectPatch,
			response: { 200: ProjectResponse, ...errorResponses(400, 401, 404, 413, 415, 422) },
			detail: { summary: 'Update a project; only the fields sent change', tags },
		})
		.delete(
			'/namespaces/:ns/projects/:project',
			async ({ caller, meter, params }) => {
				const row = await projects.remove(meter, caller, params.ns, params.project)
				return { id: String(row.id), deletedAt: row.deletedAt!.toISOString() }
			},
			{
				caller: true,
				params: ProjectPath,
				response: { 200: DeletedResponse, ...errorResponses(401, 404) },
				detail: { summary: 'Delete a project and everything in it (soft: restore it until it is purged)', tags },
			},
		)
		.post('/namespaces/:ns/projects/:project/restore', async ({ caller, meter, params }) => one(meter, await projects.restore(meter, caller, params.ns, params.project)), {
			caller: true,
			params: ProjectPath,
			response: { 200: ProjectResponse, ...errorResponses(401, 404) },
			detail: { summary: 'Restore a deleted project, with what was deleted with it', tags },
		})
}
