// The overview (description, status, tags, metadata, times) and the parameters, grouped by their
// dotted prefix and searchable.
import { parametersOf, type Episode } from '../api'
import { debounce, h, replace } from '../dom'
import { ago, exactTime, value } from '../format'
import type { Scope } from '../router'
import { statusBadge, tagList } from './common'

export async function overviewTab(episode: Episode, scope: Scope) {
	const parameters = await parametersOf(episode.id, scope.signal)
	const row = (label: string, ...content: (Node | string | null)[]) => h('tr', null, h('th', null, label), h('td', null, content))
	const time = (iso: string) => h('time', { title: exactTime(iso) }, `${ago(iso)} (${exactTime(iso)})`)
	return h(
		'div',
		{ class: 'overview' },
		h('div', { class: 'card' }, h('h2', null, 'Description'), episode.description ? h('p', { class: 'description' }, episode.description) : h('p', { class: 'muted' }, 'No description.')),
		h(
			'div',
			{ class: 'card' },
			h('h2', null, 'Details'),
			h(
				'table',
				{ class: 'details' },
				h(
					'tbody',
					null,
					row('Status', statusBadge(episode.status)),
					row('Tags', tagList(episode.tags) ?? h('span', { class: 'muted' }, 'none')),
					row('Write-protected', episode.writeProtected ? 'yes' : 'no'),
					row('Created', time(episode.createdAt)),
					row('Updated', time(episode.updatedAt)),
					row('Parameters', parameters ? `${Object.keys(parameters.data).length} (version ${parameters.version})` : 'none'),
					row('Id', h('code', null, episode.id)),
				),
			),
		),
		h('div', { class: 'card' }, h('h2', null, 'Metadata'), episode.metadata && Object.keys(episode.metadata).length ? h('pre', { class: 'code-block' }, JSON.stringify(episode.metadata, null, 2)) : h('p', { class: 'muted' }, 'No metadata.')),
	)
}

export async function parametersTab(episode: Episode, query: URLSearchParams, scope: Scope) {
	const parameters = await parametersOf(episode.id, scope.signal)
	if (!parameters || Object.keys(parameters.data).length === 0) return h('p', { class: 'empty' }, 'No parameters were set for this episode.')
	const search = h('input', { type: 'search', placeholder: 'Search parameters', value: query.get('q') ?? '', aria: { label: 'Search parameters' } })
	const groupsBox = h('div', { class: 'param-groups' })
	const entries = Object.entries(parameters.data).sort(([a], [b]) => a.localeCompare(b))
	const render = () => {
		const term = search.value.trim().toLowerCase()
		scope.setQuery(new URLSearchParams(term ? { q: term } : {}))
		const groups = new Map<string, [string, unknown][]>()
		for (const [key, v] of entries) {
			if (term && !key.toLowerCase().includes(term) && !value(v).toLowerCase().includes(term)) continue
			const dot = key.indexOf('.')
			const group = dot > 0 ? key.slice(0, dot) : ''
			groups.set(group, [...(groups.get(group) ?? []), [key, v]])
		}
		if (groups.size === 0) return replace(groupsBox, h('p', { class: 'empty' }, `No parameter matches “${term}”.`))
		replace(
			groupsBox,
			[...groups].sort(([a], [b]) => (a === '' ? -1 : b === '' ? 1 : a.localeCompare(b))).map(([group, items]) =>
				h(
					'details',
					{ class: 'card param-group', open: true },
					h('summary', null, group || '(top level)', h('span', { class: 'count' }, String(items.length))),
					h('table', { class: 'params' }, h('tbody', null, items.map(([key, v]) => h('tr', null, h('th', null, group ? key.slice(group.length + 1) : key), h('td', null, h('code', null, value(v))))))),
				),
			),
		)
	}
	search.addEventListener('input', debounce(render, 150))
	render()
	return h('div', null, h('div', { class: 'filters' }, search, h('span', { class: 'muted' }, `${entries.length} parameters · version ${parameters.version}`)), groupsBox)
}
