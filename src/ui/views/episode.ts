// One episode: overview, parameters, logs, tracks (charts), files. Each tab is a path
// (/ui/episodes/<id>/logs), so a link or a reload lands on it. The page follows the episode's
// events (GET /episodes/{id}/events): counts, status, new log lines and points show as written.
import { api, atLeast, path, type Episode } from '../api'
import { h, replace, type Child } from '../dom'
import { liveEvents, type Live } from '../live'
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
	// opened before the tab reads anything: what is written meanwhile arrives as events
	const live = liveEvents(`${path('episodes', id)}/events`, scope)
	const tabCounts = new Map<Tab, HTMLElement>()
	const nav = h(
		'nav',
		{ class: 'tabs', aria: { label: 'Episode' } },
		TABS.map((t) =>
			h(
				'a',
				{ href: t === 'overview' ? href('episodes', id) : href('episodes', id, t), class: t === tab ? 'active' : undefined, aria: t === tab ? { current: 'page' } : undefined },
				t[0]!.toUpperCase() + t.slice(1),
				counts[t] !== undefined ? tabCount(tabCounts, t, counts[t]!) : null,
			),
		),
	)
	const status = h('span', { data: { testid: 'episode-status' } }, statusBadge(episode.status))
	const summary = h('span', { data: { testid: 'episode-counts' } })
	const showCounts = () => {
		summary.textContent = `${plural(counts.logs ?? 0, 'log line')} · ${plural(counts.tracks ?? 0, 'track')} · ${plural(counts.files ?? 0, 'file')}`
		for (const [t, el] of tabCounts) el.textContent = String(counts[t] ?? 0)
	}
	showCounts()
	live.on('logs', (e: { logCount: number }) => ((counts.logs = e.logCount), showCounts()))
	live.on('counts', (e: { trackCount?: number; fileCount?: number }) => {
		if (e.trackCount !== undefined) counts.tracks = e.trackCount
		if (e.fileCount !== undefined) counts.files = e.fileCount
		showCounts()
	})
	const showEpisode = (e: { status?: Episode['status']; logCount?: number; trackCount?: number; fileCount?: number }) => {
		if (e.status) replace(status, statusBadge(e.status))
		if (e.logCount !== undefined) [counts.logs, counts.tracks, counts.files] = [e.logCount, e.trackCount, e.fileCount]
		showCounts()
	}
	live.on('episode', showEpisode)
	live.on('reset', (e: { episode: Parameters<typeof showEpisode>[0] }) => showEpisode(e.episode))
	const body = await tabBody(tab, episode, query, scope, canWrite, live)
	return h(
		'section',
		{ class: 'episode' },
		h('div', { class: 'toolbar' }, h('h1', null, episode.name), status, tagList(episode.tags), episode.writeProtected ? h('span', { class: 'tag', title: 'Write-protected: no change is accepted' }, '🔒 protected') : null, live.marker),
		h('p', { class: 'muted' }, summary, ' · ', h('a', { href: `/ui/compare?ids=${encodeURIComponent(id)}` }, 'Compare with…')),
		nav,
		h('div', { class: 'tab-body' }, body),
	)
}

const tabCount = (counts: Map<Tab, HTMLElement>, tab: Tab, n: number) => {
	const el = h('span', { class: 'count', data: { testid: `count-${tab}` } }, String(n))
	counts.set(tab, el)
	return el
}

function tabBody(tab: Tab, episode: Episode, query: URLSearchParams, scope: Scope, canWrite: Promise<boolean>, live: Live): Promise<Child> | Child {
	switch (tab) {
		case 'parameters':
			return parametersTab(episode, query, scope)
		case 'logs':
			return logsTab(episode, query, scope, live)
		case 'tracks':
			return tracksTab(episode, query, scope, live)
		case 'files':
			return filesTab(episode, query, scope)
		default:
			return overviewTab(episode, scope, canWrite)
	}
}
