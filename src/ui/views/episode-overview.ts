// The overview (description, status, tags, metadata, times, who made it) and the parameters,
// grouped by their dotted prefix and searchable. Those who may write set the status and the
// write protection here.
import { api, parametersOf, path, STATUSES, type Episode, type Status } from '../api'
import { debounce, h, replace } from '../dom'
import { ago, exactTime, value } from '../format'
import { dispatch, type Scope } from '../router'
import { failure, madeBy, say, statusBadge, tagList } from './common'

export async function overviewTab(episode: Episode, scope: Scope, mayWrite: Promise<boolean>) {
	const [parameters, canWrite] = await Promise.all([parametersOf(episode.id, scope.signal), mayWrite])
	const row = (label: string, ...content: (Node | string | null)[]) => h('tr', null, h('th', null, label), h('td', null, content))
	const time = (iso: string) => h('time', { title: exactTime(iso) }, `${ago(iso)} (${exactTime(iso)})`)
	const outcome = h('p', { class: 'muted' })
	// a change shows by the page drawn again from the server; a refusal in the server's words
	const change = async (patch: { status?: Status; writeProtected?: boolean }, undo: () => void) => {
		try {
			await api(path('episodes', episode.id), { method: 'PATCH', body: patch })
			dispatch()
		} catch (error) {
			undo()
			say(outcome, failure(error), true)
		}
	}
	let status: Node = statusBadge(episode.status)
	let protection: Node | string = episode.writeProtected ? 'yes' : 'no'
	if (canWrite) {
		// a stale episode is stored as running: that is what it may be set from
		const stored = episode.status === 'stale' ? 'running' : episode.status
		const select = h('select', { aria: { label: 'Set status' } }, STATUSES.map((s) => h('option', { value: s, selected: s === stored }, s)))
		select.addEventListener('change', () => void change({ status: select.value as Status }, () => (select.value = stored)))
		const box = h('input', { type: 'checkbox', checked: episode.writeProtected, aria: { label: 'Write-protected' } })
		box.addEventListener('change', () => void change({ writeProtected: box.checked }, () => (box.checked = episode.writeProtected)))
		status = select
		protection = h('label', { class: 'check-label' }, box, episode.writeProtected ? ' yes: no change is accepted' : ' no')
	}
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
					row('Status', status),
					row('Tags', tagList(episode.tags) ?? h('span', { class: 'muted' }, 'none')),
					row('Write-protected', protection),
					row('Created', time(episode.createdAt)),
					row('Created by', madeBy(episode.createdBy)),
					row('Updated', time(episode.updatedAt)),
					row('Parameters', parameters ? `${Object.keys(parameters.data).length} (version ${parameters.version})` : 'none'),
					row('Id', h('code', null, episode.id)),
				),
			),
			outcome,
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
