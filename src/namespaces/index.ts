import { Elysia, t } from 'elysia'
import type { EpisodeService } from '../episodes/service'
import type { FileService } from '../files/service'
import { errorResponses } from '../http/errors'
import type { callerGuard } from '../http/guard'
import type { ProjectService } from '../projects/service'
import { ownNamespace } from './service'

const NamespaceOverview = t.Object({
	id: t.String(),
	slug: t.String(),
	metadata: t.Null(),
	projects: t.Number({ description: 'Live projects' }),
	episodes: t.Number({ description: 'Live episodes in live projects' }),
	files: t.Number({ description: 'Live files of live episodes' }),
})

/** GET /namespaces/{ns}: the caller's namespace and what it holds. */
export const namespaceRoutes = (projects: ProjectService, episodes: EpisodeService, files: FileService, guard: ReturnType<typeof callerGuard>) =>
	new Elysia().use(guard).get(
		'/namespaces/:ns',
		({ caller, meter, params }) => {
			const namespace = ownNamespace(caller, params.ns)
			const projectIds = projects.liveIds(meter, namespace.id)
			const episodeIds = episodes.liveIdsIn(meter, projectIds)
			return { id: namespace.id, slug: namespace.slug, metadata: null, projects: projectIds.length, episodes: episodeIds.length, files: files.countLive(meter, episodeIds) }
		},
		{
			caller: true,
			params: t.Object({ ns: t.String() }),
			response: { 200: NamespaceOverview, ...errorResponses(401, 404) },
			detail: { summary: 'A namespace and how much it holds (your own only)', tags: ['Namespaces'] },
		},
	)
