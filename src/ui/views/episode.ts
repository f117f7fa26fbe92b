// One episode: overview, parameters, logs (live), tracks (charts), files. Each tab is a path
// (/ui/episodes/<id>/logs), so a link or a reload lands on it.
import { api, atLeast, path, type Episode } from '../api'
import { h, type Child } from '../dom'
import { plural } from '../format'
import { href, type Route, type Scope } from '../router'
import { listNamespaces, namespaceCrumb, namespaceEntry, projectCrumb, setCrumbs, setNamespace } from '../shell'
import { statusBadge, tagList } from './common'
import { filesTab } from './episode-files'
import { logsTab } from './episode-logs'
import { overviewTab, parametersTab } from './episode-overview'
import { tracksTab } from './episode-tracks'

const TABS = ['overview', 'parameters', 'logs', 'tracks', 'files'] as const
export type Tab = (typeof TABS)[number]

export async function episodeView({ params, query, scope }: Route) {
	const id = params[0]!
	const tab: Tab = (TABS as readonly string[]).includes(params[1] ?? '') ? (params[1] as Tab) : 'overview'
	void listNamespaces() // the caller's roles, asked alongside the episode
	const episode = await api<Episode>(path('episodes', id), { signal: scope.signal })
	const ns = episode.namespace.slug
	// only the overview waits for the role (it offers the changes a member may make)
	const canWrite = namespaceEntry(ns).then((entry) => atLeast(entry?.role, 'member'))
	setNamespace(ns)
	setCrumbs(namespaceCrumb(ns), projectCrumb(ns, episode.project.slug), { label: episode.name })
	const counts: Partial<Record<Tab, number | undefined>> = { logs: episode.logCount, tracks: episode.trackCount, files: episode.fileCount }
	const nav = h(
		'nav',
		{ class: 'tabs', aria: { label: 'Episode' } },
		TABS.map((t) =>
			h(
				'a',
				{ href: t === 'overview' ? href('episodes', id) : href('episodes', id, t), class: t === tab ? 'active' : undefined, aria: t === tab ? { current: 'page' } : undefined },
				t[0]!.toUpperCase() + t.slice(1),
				counts[t] !== undefined ? h('span', { class: 'count' }, String(counts[t])) : null,
			),
		),
	)
	const body = await tabBody(tab, episode, query, scope, canWrite)
	return h(
		'section',
		{ class: 'episode' },
		h('div', { class: 'toolbar' }, h('h1', null, episode.name), statusBadge(episode.status), tagList(episode.tags), episode.writeProtected ? h('span', { class: 'tag', title: 'Write-protected: no change is accepted' }, '🔒 protected') : null),
		h('p', { class: 'muted' }, plural(episode.logCount ?? 0, 'log line'), ' · ', plural(episode.trackCount ?? 0, 'track'), ' · ', plural(episode.fileCount ?? 0, 'file'), ' · ', h('a', { href: `/ui/compare?ids=${encodeURIComponent(id)}` }, 'Compare with…')),
		nav,
		h('div', { class: 'tab-body' }, body),
	)
}

function tabBody(tab: Tab, episode: Episode, query: URLSearchParams, scope: Scope, canWrite: Promise<boolean>): Promise<Child> | Child {
	switch (tab) {
		case 'parameters':
			return parametersTab(episode, query, scope)
		case 'logs':
			return logsTab(episode, query, scope)
		case 'tracks':
			return tracksTab(episode, query, scope)
		case 'files':
			return filesTab(episode, query, scope)
		default:
			return overviewTab(episode, scope, canWrite)
	}
}
