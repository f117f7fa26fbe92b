// A namespace's projects, newest first, with a search; an empty namespace explains how to log a
// first episode. Your own at /ui/ (signed in), any at /ui/n/<slug>: a guest, signed in or not, sees
// the projects open to them, read-only.
import { api, atLeast, path, query as qs, serverInDevMode, type Page, type Project } from '../api'
import { debounce, h, replace } from '../dom'
import { ago, exactTime, plural } from '../format'
import { href, type Route } from '../router'
import { currentUser, namespaceEntry, requireUser, setCrumbs, setNamespace } from '../shell'
import { namespaceHead, roleSays, visibilityBadge } from './common'

export async function ownProjectsView(route: Route) {
	const me = await requireUser()
	return projectsOf(me.namespace.slug, route)
}

export const namespaceView = (route: Route) => projectsOf(route.params[0]!, route)

async function projectsOf(ns: string, { query, scope }: Route) {
	const [entry, me] = await Promise.all([namespaceEntry(ns), currentUser()])
	setNamespace(ns)
	setCrumbs({ label: ns })
	const role = entry?.role ?? null
	const list = h('div', { class: 'project-list' })
	const search = h('input', { type: 'search', placeholder: 'Search projects', value: query.get('search') ?? '', aria: { label: 'Search projects' } })
	const load = async () => {
		const term = search.value.trim()
		const params = new URLSearchParams(term ? { search: term } : {})
		scope.setQuery(params)
		const page = await api<Page & { projects: Project[] }>(`${path('namespaces', ns, 'projects')}${qs({ pageSize: 200, search: term })}`, { signal: scope.signal })
		if (page.total === 0) {
			replace(list, term ? h('p', { class: 'empty' }, `No project matches “${term}”.`) : atLeast(role, 'member') ? firstSteps(location.origin, me && ns === me.namespace.slug ? null : ns) : h('p', { class: 'empty' }, 'No projects here yet.'))
			return
		}
		replace(
			list,
			page.projects.map((project) =>
				h(
					'a',
					{ class: 'card project', href: href('n', ns, 'projects', project.slug), data: { testid: 'project' } },
					h('div', { class: 'card-head' }, h('h2', null, project.name), visibilityBadge(project.visibility)),
					project.description ? h('p', { class: 'description' }, project.description) : null,
					h('p', { class: 'muted' }, plural(project.episodeCount, 'episode'), ' · updated ', h('time', { title: exactTime(lastChange(project)) }, ago(lastChange(project)))),
					project.tags.length ? h('p', { class: 'tags' }, project.tags.map((tag) => h('span', { class: 'tag' }, tag))) : null,
				),
			),
			page.total > page.projects.length ? h('p', { class: 'muted' }, `Showing ${page.projects.length} of ${page.total}; search to find the others.`) : null,
		)
	}
	search.addEventListener('input', debounce(() => void load().catch(() => {}), 250))
	await load()
	return h('section', null, namespaceHead(ns, entry, 'projects'), atLeast(role, 'member') ? null : h('p', { class: 'muted', data: { testid: 'role-says' } }, roleSays(role, !!me)), h('div', { class: 'toolbar' }, h('h2', null, 'Projects'), search), list)
}

/** A project changes when it is edited and when its episodes do: the card shows the later. */
const lastChange = (project: Project) => (project.lastEpisodeAt !== null && project.lastEpisodeAt > project.updatedAt ? project.lastEpisodeAt : project.updatedAt)

/** What an empty namespace shows: from nothing to a chart, as the README's quick start; another's (a team's) takes one of its API keys, with which the SDK writes there. */
function firstSteps(origin: string, team: string | null) {
	const code = `import os
from dreamlake import Episode
${team ? `os.environ["DREAMLAKE_API_KEY"] = "dlk_…"  # a key of ${team}, from its API keys page` : `from dreamlake.auth.token_storage import get_token_storage
os.environ["DREAMLAKE_API_KEY"] = get_token_storage().load("dreamlake-token")`}

with Episode(prefix="my-project/run-001", url="${origin}", root=None) as episode:
    episode.params.set(lr=0.001, batch_size=32)
    for step in range(100):
        episode.track("train").append(step=step, loss=1 / (step + 1))
    episode.log("done", level="info")`
	return h(
		'div',
		{ class: 'empty card' },
		h('h2', null, 'No projects yet'),
		h('p', null, 'Log your first episode with the DreamLake SDK and it shows up here:'),
		// under --dev the CLI must be pointed at the stand-in identity provider, or it asks the real vuer-auth
		// the SDK's CLI is `python3 -m dreamlake.cli` (pip installs no `dreamlake` command)
		h(
			'ol',
			null,
			h('li', null, h('code', null, 'pip install dreamlake==0.8.0')),
			team
				? h('li', null, 'make an API key on the ', h('a', { href: href('n', team, 'keys') }, 'API keys'), ' page, role member')
				: h('li', null, h('code', { data: { testid: 'login-command' } }, `${serverInDevMode ? `VUER_AUTH_URL=${origin}/dev/vuer-auth ` : ''}python3 -m dreamlake.cli login --url ${origin}`)),
			h('li', null, 'run this in Python:'),
		),
		h('pre', { class: 'code-block' }, code),
	)
}
