import { Elysia, t } from 'elysia'
import type { CallerGuard } from '../auth/guard'
import type { EpisodeService } from '../episodes/service'
import type { FileService } from '../files/service'
import { errorResponses } from '../http/errors'
import type { ProjectService } from '../projects/service'
import type { NamespaceAccess } from './access'
import { NamespaceOverview } from './model'

/** GET /namespaces/{ns}: a namespace the caller may read, and what it holds. */
export const namespaceRoutes = (access: NamespaceAccess, projects: ProjectService, episodes: EpisodeService, files: FileService, guard: CallerGuard) =>
	new Elysia().use(guard).get(
		'/namespaces/:ns',
		({ caller, meter, params }) => {
			const namespace = access.bySlug(meter, caller, params.ns, 'read')
			const projectIds = projects.liveIds(meter, namespace)
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
