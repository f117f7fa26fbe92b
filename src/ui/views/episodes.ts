// A project's episodes as a table: sort, filter by status and tag, search, the filter language, page;
// pick parameters and metrics to show as columns (one request for the page), sort by any of them;
// the filter box suggests the project's keys as you type; tick episodes to compare them, or
// compare every one the filters match (the first COMPARE_MAX). Owners and admins set the project's visibility here.
// The table follows the project's events: a row's status and activity change in place, and an
// episode made or deleted reads the page again (its filters and order decide where it goes).
import { api, atLeast, path, query as qs, SHOWN_STATUSES, VISIBILITIES, type Episode, type Page, type Project, type Role, type Visibility } from '../api'
import { debounce, h, replace } from '../dom'
import { keySuggestions, type ProjectKeys } from '../key-suggest'
import { liveEvents } from '../live'
import { ago, exactTime, number, plural } from '../format'
import { href, navigate, type Route } from '../router'
import { namespaceCrumb, namespaceEntry, requireUser, setCrumbs, setNamespace } from '../shell'
import { failure, madeBy, metricId, metricLabel, parseMetric, say, statusBadge, tagList, visibilityBadge, VISIBILITY_SAYS, type Metric } from './common'
import { COMPARE_MAX } from './compare'

const PAGE_SIZE = 50
/** An attribute, or a column's key in the filter language (params."lr", metrics."train"."loss".last). */
type Order = string

/** A name quoted for the filter language: always, so any track or key reads back as itself. */
const quoted = (name: string) => JSON.stringify(name)
/** A metric column's key: its last value. */
const metricKey = (m: Metric) => `metrics.${quoted(m.track)}.${quoted(m.key)}.last`
const paramKey = (key: string) => `params.${quoted(key)}`

/** /ui/projects/<slug>: a project of your own namespace. */
export async function ownEpisodesView(route: Route) {
	const me = await requireUser()
	return episodesOf(me.namespace.slug, route.params[0]!, route)
}

export const episodesView = (route: Route) => episodesOf(route.params[0]!, route.params[1]!, route)

async function episodesOf(ns: string, slug: string, { query, scope }: Route) {
	const projectPath = path('namespaces', ns, 'projects', slug)
	// the project, the first page of its episodes and the caller's role, asked together
	const project = api<Project>(projectPath, { signal: scope.signal })
	const role = namespaceEntry(ns).then((entry) => entry?.role ?? null)

	const state = {
		search: query.get('search') ?? '',
		status: query.get('status') ?? '',
		tags: query.get('tags') ?? '',
		order: query.get('order') || 'createdAt',
		filter: query.get('filter') ?? '',
		dir: query.get('dir') === 'asc' ? 'asc' : 'desc',
		page: Math.max(1, Number.parseInt(query.get('page') ?? '1', 10) || 1),
		metrics: query.getAll('m').map(parseMetric).filter((m): m is Metric => m !== null),
		params: query.getAll('p').filter((p) => p !== ''),
	}
	const selected = new Set<string>()

	const search = h('input', { type: 'search', placeholder: 'Search names', value: state.search, aria: { label: 'Search episodes' } })
	const status = h('select', { aria: { label: 'Status' } }, h('option', { value: '' }, 'Any status'), SHOWN_STATUSES.map((s) => h('option', { value: s, selected: s === state.status }, s)))
	const tags = h('input', { type: 'search', placeholder: 'Tags (a, b)', value: state.tags, aria: { label: 'Tags' } })
	const metricPicker = h('select', { aria: { label: 'Add a metric column' } }, h('option', { value: '' }, 'Add metric column…'))
	const paramPicker = h('select', { aria: { label: 'Add a parameter column' } }, h('option', { value: '' }, 'Add parameter column…'))
	const filter = h('input', {
		type: 'search',
		class: 'filter',
		placeholder: 'Filter: params.lr = 0.0003 and metrics.train.loss.min < 0.2',
		value: state.filter,
		spellcheck: 'false',
		aria: { label: 'Filter (params., metrics., name, status, tags…)' },
	})
	/** The project's keys, asked once, for the filter box's suggestions and the column pickers. */
	let projectKeys: Promise<ProjectKeys> | undefined
	const keysOfProject = () => (projectKeys ??= api<ProjectKeys>(`${projectPath}/keys`, { signal: scope.signal }))
	const suggestions = keySuggestions(filter, keysOfProject)
	const filterSays = h('p', { class: 'muted', role: 'status', data: { testid: 'filter-says' } })
	const compare = h('button', { type: 'button', class: 'primary', disabled: true, onclick: () => navigate(`/ui/compare?ids=${[...selected].join(',')}`) }, 'Compare')
	const compareMatching = h(
		'button',
		{
			type: 'button',
			title: `Chart the first ${COMPARE_MAX} episodes the filters match`,
			onclick: () => {
				const p = new URLSearchParams({ ns, project: slug })
				for (const [name, text] of Object.entries({ filter: state.filter, search: state.search, status: state.status, tags: state.tags, order: state.order, dir: state.dir })) if (text) p.set(name, text)
				for (const m of state.metrics) p.append('metric', metricId(m))
				navigate(`/ui/compare?${p}`)
			},
		},
		'Compare all matching',
	)
	const table = h('table', { class: 'episodes' })
	const pager = h('div', { class: 'pager' })
	const summary = h('p', { class: 'muted' })
	const live = liveEvents(`${projectPath}/events`, scope)
	/** The cells of each row shown that a change of its episode updates in place. */
	const shown = new Map<string, { status: HTMLElement; updated: HTMLElement; updatedAt: string }>()
	// every episode the filters match, in the table's order, not only this page
	const download = h('a', { class: 'button', download: '', data: { testid: 'export-csv' } }, 'Download CSV')

	const syncUrl = () => {
		const p = new URLSearchParams()
		if (state.search) p.set('search', state.search)
		if (state.status) p.set('status', state.status)
		if (state.tags) p.set('tags', state.tags)
		if (state.filter) p.set('filter', state.filter)
		if (state.order !== 'createdAt') p.set('order', state.order)
		if (state.dir !== 'desc') p.set('dir', state.dir)
		if (state.page > 1) p.set('page', String(state.page))
		for (const m of state.metrics) p.append('m', metricId(m))
		for (const key of state.params) p.append('p', key)
		scope.setQuery(p)
		download.href = `${projectPath}/episodes/export${qs({ format: 'csv', search: state.search, status: state.status, tags: state.tags.split(',').map((t) => t.trim()).filter(Boolean).join(','), filter: state.filter, order: state.order, dir: state.dir, columns: [...state.params.map(paramKey), ...state.metrics.map(metricKey)].join(',') })}`
	}
	const updateCompare = () => {
		compare.disabled = selected.size < 2
		compare.textContent = selected.size ? `Compare ${selected.size}` : 'Compare'
	}

	let loads = 0
	const read = () =>
		api<Page & { episodes: Episode[] }>(
			`${projectPath}/episodes${qs({
				page: state.page,
				pageSize: PAGE_SIZE,
				search: state.search,
				status: state.status,
				tags: state.tags.split(',').map((t) => t.trim()).filter(Boolean).join(','),
				filter: state.filter,
				order: state.order,
				dir: state.dir,
				columns: [...state.params.map(paramKey), ...state.metrics.map(metricKey)].join(','),
			})}`,
			{ signal: scope.signal },
		)
	const show = (page: Page & { episodes: Episode[] }) => {
		render(page)
		void offerMetrics(page.episodes)
	}
	const load = async () => {
		const mine = ++loads
		syncUrl()
		try {
			const page = await read()
			if (mine !== loads) return
			filterSays.textContent = ''
			show(page)
		} catch (error) {
			// the server's sentence: where the filter went wrong and what it expected
			if (mine === loads) say(filterSays, failure(error), true)
			throw error
		}
	}
	const reload = () => void load().catch(() => {})
	/** A header's button sorting by `order`: descending first, then ascending on a second click. */
	const sortButton = (label: string, order: Order) =>
		h(
			'button',
			{
				type: 'button',
				class: 'sort',
				onclick: () => {
					state.dir = state.order === order && state.dir === 'desc' ? 'asc' : 'desc'
					state.order = order
					state.page = 1
					reload()
				},
			},
			label,
			state.order === order ? (state.dir === 'asc' ? ' ▲' : ' ▼') : '',
		)
	const ariaSort = (order: Order) => (state.order === order ? (state.dir === 'asc' ? 'ascending' : 'descending') : 'none')
	const sortHeader = (label: string, order: Order) => h('th', { aria: { sort: ariaSort(order) } }, sortButton(label, order))

	const render = (page: Page & { episodes: Episode[] }) => {
		const filtered = state.search || state.status || state.tags || state.filter
		summary.textContent = filtered ? `${plural(page.total, 'episode')} match` : plural(page.total, 'episode')
		compareMatching.disabled = page.total === 0
		compareMatching.textContent = page.total > COMPARE_MAX ? `Compare first ${COMPARE_MAX} matching` : `Compare all ${page.total} matching`
		const head = h(
			'thead',
			null,
			h(
				'tr',
				null,
				h('th', { class: 'check' }, h('span', { class: 'visually-hidden' }, 'Select')),
				sortHeader('Name', 'name'),
				h('th', null, 'Status'),
				h('th', null, 'Tags'),
				sortHeader('Created', 'createdAt'),
				sortHeader('Updated', 'updatedAt'),
				h('th', null, 'Created by'),
				state.params.map((key) =>
					columnHeader(key, paramKey(key), () => {
						state.params = state.params.filter((x) => x !== key)
						if (state.order === paramKey(key)) state.order = 'createdAt'
						reload()
					}),
				),
				state.metrics.map((m) =>
					columnHeader(metricLabel(m), metricKey(m), () => {
						state.metrics = state.metrics.filter((x) => metricId(x) !== metricId(m))
						if (state.order === metricKey(m)) state.order = 'createdAt'
						reload()
					}),
				),
			),
		)
		shown.clear()
		const rows = page.episodes.map((episode) => {
			const box = h('input', {
				type: 'checkbox',
				checked: selected.has(episode.id),
				aria: { label: `Select ${episode.name}` },
				onchange: () => {
					if (box.checked) selected.add(episode.id)
					else selected.delete(episode.id)
					updateCompare()
				},
			})
			const values = episode.values ?? {}
			const paramCells = state.params.map((key) => h('td', { class: 'param' }, cellText(values[paramKey(key)])))
			const metricCells = state.metrics.map((metric) => h('td', { class: 'metric num' }, number(values[metricKey(metric)] ?? null)))
			const statusCell = h('td', { data: { testid: 'episode-status' } }, statusBadge(episode.status))
			const updatedCell = h('td', null, updatedTime(episode.updatedAt, episode.lastActivityAt))
			shown.set(episode.id, { status: statusCell, updated: updatedCell, updatedAt: episode.updatedAt })
			return h(
				'tr',
				{ data: { testid: 'episode-row', id: episode.id } },
				h('td', { class: 'check' }, box),
				h('td', null, h('a', { href: href('episodes', episode.id) }, episode.name)),
				statusCell,
				h('td', null, tagList(episode.tags)),
				h('td', null, h('time', { title: exactTime(episode.createdAt) }, ago(episode.createdAt))),
				updatedCell,
				h('td', { data: { testid: 'created-by' } }, madeBy(episode.createdBy)),
				paramCells,
				metricCells,
			)
		})
		replace(
			table,
			head,
			h('tbody', null, rows.length ? rows : h('tr', null, h('td', { colspan: 7 + state.params.length + state.metrics.length, class: 'empty' }, filtered ? 'No episode matches these filters.' : 'No episodes in this project yet.'))),
		)
		replace(
			pager,
			h('button', { type: 'button', disabled: page.page <= 1, onclick: () => ((state.page = page.page - 1), reload()) }, '← Newer'),
			h('span', null, `Page ${page.page} of ${Math.max(1, page.totalPages)}`),
			h('button', { type: 'button', disabled: page.page >= page.totalPages, onclick: () => ((state.page = page.page + 1), reload()) }, 'Older →'),
		)
	}
	/** A parameter's or metric's column: its header sorts by it (episodes without it last), × removes it. */
	const columnHeader = (label: string, key: string, remove: () => void) =>
		h(
			'th',
			{ class: 'metric', aria: { sort: ariaSort(key) } },
			sortButton(label, key),
			h('button', { type: 'button', class: 'remove', title: 'Remove this column', aria: { label: `Remove ${label}` }, onclick: remove }, '×'),
		)

	let offered = false
	const offerMetrics = async (episodes: Episode[]) => {
		if (offered || episodes.length === 0) return
		offered = true
		const keys = await keysOfProject().catch((): ProjectKeys => ({ params: [], metrics: [] }))
		const metrics = keys.metrics.filter((m) => m.key !== '_ts')
		for (const metric of metrics.slice(0, 200)) metricPicker.append(h('option', { value: metricId(metric) }, metricLabel(metric)))
		metricPicker.disabled = metrics.length === 0
		for (const key of keys.params.slice(0, 200)) paramPicker.append(h('option', { value: key }, key))
		paramPicker.disabled = keys.params.length === 0
	}
	paramPicker.addEventListener('change', () => {
		const key = paramPicker.value
		paramPicker.value = ''
		if (key && !state.params.includes(key)) {
			state.params.push(key)
			reload()
		}
	})
	metricPicker.addEventListener('change', () => {
		const metric = parseMetric(metricPicker.value)
		metricPicker.value = ''
		if (metric && !state.metrics.some((m) => metricId(m) === metricId(metric))) {
			state.metrics.push(metric)
			reload()
		}
	})
	const refilter = () => {
		state.search = search.value.trim()
		state.status = status.value
		state.tags = tags.value.trim()
		state.page = 1
		reload()
	}
	const reread = debounce(reload, 300)
	live.on('episode.created', reread)
	live.on('episode.deleted', reread)
	live.onReset(reread)
	live.on('episode.changed', (e: { id: string; status?: Episode['status']; updatedAt?: string; lastActivityAt?: string }) => {
		const row = shown.get(e.id)
		if (!row) return
		if (e.status) replace(row.status, statusBadge(e.status))
		if (e.updatedAt) row.updatedAt = e.updatedAt
		if (e.updatedAt || e.lastActivityAt) replace(row.updated, updatedTime(row.updatedAt, e.lastActivityAt))
	})
	search.addEventListener('input', debounce(refilter, 250))
	// the filter language runs on Enter (or when cleared), not on each keystroke: half an expression is a 400
	filter.addEventListener('keydown', (event) => {
		// an Enter that took a suggestion only put it in the box
		if (event.key !== 'Enter' || event.defaultPrevented) return
		state.filter = filter.value.trim()
		state.page = 1
		reload()
	})
	filter.addEventListener('search', () => {
		if (filter.value !== '') return
		state.filter = ''
		state.page = 1
		reload()
	})
	tags.addEventListener('input', debounce(refilter, 250))
	status.addEventListener('change', refilter)

	syncUrl()
	loads++
	const [about, first] = await Promise.all([project, read().catch((error) => (say(filterSays, failure(error), true), null))])
	setNamespace(ns)
	setCrumbs(namespaceCrumb(ns), { label: about.name })
	// the rows need no role: the setting follows when it is known
	const setting = h('div')
	void role.then((r) => replace(setting, visibilitySetting(projectPath, about, r)), () => {})
	const section = h(
		'section',
		null,
		h('div', { class: 'toolbar' }, h('h1', null, about.name), summary, live.marker),
		about.description ? h('p', { class: 'description' }, about.description) : null,
		setting,
		h('div', { class: 'filters' }, search, status, tags, paramPicker, metricPicker, compare, compareMatching, download),
		h('div', { class: 'filters filter-box' }, filter, suggestions),
		filterSays,
		h('div', { class: 'table-wrap' }, table),
		pager,
	)
	if (first) show(first)
	return section
}

/** A parameter's value in a cell: text as itself, anything else as JSON. */
const cellText = (value: unknown) => (value === null || value === undefined ? '—' : typeof value === 'string' ? value : typeof value === 'number' ? number(value) : JSON.stringify(value))

/** When the episode last changed: its own fields (updatedAt), with its last activity in the tooltip. */
function updatedTime(updatedAt: string, lastActivityAt: string | undefined) {
	return h('time', { title: `${exactTime(updatedAt)}${lastActivityAt ? ` · last written to ${exactTime(lastActivityAt)}` : ''}` }, ago(updatedAt))
}

/** Owners and admins choose who may read the project; anyone else sees what it is. */
function visibilitySetting(projectPath: string, project: Project, role: Role | null) {
	if (!atLeast(role, 'admin')) return h('p', { class: 'muted' }, visibilityBadge(project.visibility), ' ', VISIBILITY_SAYS[project.visibility])
	const says = h('span', { class: 'muted', role: 'status' }, VISIBILITY_SAYS[project.visibility])
	const select = h('select', { aria: { label: 'Visibility' } }, VISIBILITIES.map((v) => h('option', { value: v, selected: v === project.visibility }, v)))
	select.addEventListener('change', async () => {
		select.disabled = true
		try {
			const changed = await api<Project>(projectPath, { method: 'PATCH', body: { visibility: select.value as Visibility } })
			project.visibility = changed.visibility
			say(says, `Now ${changed.visibility}: ${VISIBILITY_SAYS[changed.visibility]}`)
		} catch (error) {
			select.value = project.visibility
			say(says, failure(error), true)
		} finally {
			select.disabled = false
		}
	})
	return h('div', { class: 'filters' }, h('label', { class: 'check-label' }, 'Visibility ', select), says)
}
