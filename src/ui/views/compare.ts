// Compare: several episodes' metrics, a chart per chosen metric with every episode's line (or, grouped
// by a parameter, a line per value of it: the mean with a min–max band), smoothed and on a log axis
// if asked; and their parameters side by side with the differences marked. The episodes are the
// ones ticked (`ids=`), or the first of a project's that a filter matches (`ns=`, `project=` and the
// table's filter, search, status, tags and order). Everything chosen lives in the URL.
import type uPlot from 'uplot'
import { api, parametersOf, path, query as qs, type Episode, type Page, type Parameters, type Series, type Track } from '../api'
import type { XMode } from '../chart'
import { h, replace } from '../dom'
import { number, plural, value } from '../format'
import { href, type Route } from '../router'
import { namespaceCrumb, setCrumbs, setNamespace } from '../shell'
import { lookControls, lookOf, metricId, metricLabel, parseMetric, pool, setLook, statusBadge, tracksOf, type Metric } from './common'

/** The most episodes one compare view reads and draws. */
export const COMPARE_MAX = 50
/** The table's query a "Compare all matching" carries over. */
const MATCHING = ['filter', 'search', 'status', 'tags', 'order', 'dir'] as const
const NO_GROUP = '(none)'

export async function compareView({ query, scope }: Route) {
	setCrumbs({ label: 'Compare' })
	const ns = query.get('ns')
	const project = query.get('project')
	const matching = ns !== null && project !== null
	const [{ overlayChart, readSeries, groupedLines, logNote }, found] = await Promise.all([import('../chart'), matching ? matchingEpisodes(ns, project, query, scope.signal) : tickedEpisodes(query, scope.signal)])
	const { episodes, total } = found
	if (episodes.length < (matching ? 1 : 2)) {
		return h(
			'section',
			{ class: 'empty card' },
			h('h1', null, 'Compare episodes'),
			h('p', null, matching ? 'No episode matches these filters.' : 'Tick two or more episodes in a project’s table, then press Compare, or press Compare all matching.'),
		)
	}
	const namespace = ns ?? episodes[0]!.namespace.slug
	setNamespace(namespace)
	setCrumbs(namespaceCrumb(namespace), { label: 'Compare' })
	const tracks: Track[][] = episodes.map(() => [])
	const parameters: (Parameters | null)[] = episodes.map(() => null)
	await pool(
		episodes.flatMap((e, i) => [async () => void (tracks[i] = await tracksOf(e.id, scope.signal)), async () => void (parameters[i] = await parametersOf(e.id, scope.signal))]),
		6,
	)

	// metrics any episode has, those all have first
	const counts = new Map<string, { metric: Metric; n: number }>()
	tracks.forEach((list) => {
		for (const track of list)
			for (const key of track.keys) {
				if (key === '_ts') continue
				const id = metricId({ track: track.name, key })
				const seen = counts.get(id) ?? { metric: { track: track.name, key }, n: 0 }
				seen.n++
				counts.set(id, seen)
			}
	})
	const metrics = [...counts.values()].sort((a, b) => b.n - a.n || metricId(a.metric).localeCompare(metricId(b.metric)))
	const keys = [...new Set(parameters.flatMap((p) => Object.keys(p?.data ?? {})))].sort()

	// what is chosen, from the URL: the metrics, x, the grouping parameter, smoothing, log scale
	const asked = query.getAll('metric').map(parseMetric).filter((m): m is Metric => m !== null && counts.has(metricId(m)))
	const fallback = metrics.find((m) => m.metric.key !== 'step')?.metric ?? metrics[0]?.metric
	const chosen = new Set((asked.length ? asked : fallback ? [fallback] : []).map(metricId))
	const state = {
		x: (['index', 'step', '_ts'].includes(query.get('x') ?? '') ? query.get('x')! : 'index') as XMode,
		group: keys.includes(query.get('group') ?? '') ? query.get('group')! : '',
		look: lookOf(query),
	}

	const metricChoices = h(
		'fieldset',
		{ class: 'metric-choices', data: { testid: 'compare-metrics' } },
		h('legend', null, 'Metrics'),
		metrics.map(({ metric, n }) =>
			h(
				'label',
				{ class: 'check-label' },
				h('input', {
					type: 'checkbox',
					value: metricId(metric),
					checked: chosen.has(metricId(metric)),
					onchange: (event: Event) => {
						const box = event.target as HTMLInputElement
						if (box.checked) chosen.add(box.value)
						else chosen.delete(box.value)
						redraw()
					},
				}),
				` ${metricLabel(metric)}${n < episodes.length ? ` (${n} of ${episodes.length})` : ''}`,
			),
		),
	)
	const xPicker = h('select', { aria: { label: 'X axis' }, onchange: () => ((state.x = xPicker.value as XMode), redraw()) }, h('option', { value: 'index' }, 'x: index'), h('option', { value: 'step' }, 'x: step'), h('option', { value: '_ts' }, 'x: time (_ts)'))
	xPicker.value = state.x
	const groupPicker = h(
		'select',
		{ aria: { label: 'Group by parameter' }, disabled: keys.length === 0, onchange: () => ((state.group = groupPicker.value), redraw()) },
		h('option', { value: '' }, 'No grouping: a line per episode'),
		keys.map((key) => h('option', { value: key, selected: key === state.group }, `Group by ${key}`)),
	)
	const charts = h('div', { class: 'compare-charts' })
	let plots: uPlot[] = []
	scope.onCleanup(() => plots.forEach((u) => u.destroy()))

	const syncUrl = () => {
		const p = new URLSearchParams()
		if (matching) {
			p.set('ns', ns)
			p.set('project', project)
			for (const name of MATCHING) if (query.get(name)) p.set(name, query.get(name)!)
		} else p.set('ids', episodes.map((e) => e.id).join(','))
		for (const id of chosen) p.append('metric', id)
		p.set('x', state.x)
		if (state.group) p.set('group', state.group)
		setLook(p, state.look)
		scope.setQuery(p)
	}

	/** Each episode's series of a metric on an x, read once for every redraw that needs it. */
	const reads = new Map<string, Promise<Series | null>>()
	const seriesOf = (i: number, metric: Metric, x: XMode) => {
		const track = tracks[i]!.find((t) => t.name === metric.track)
		if (!track || !track.keys.includes(metric.key)) return Promise.resolve(null)
		const mode = x === 'index' || track.keys.includes(x) ? x : 'index'
		const id = `${episodes[i]!.id}\n${metricId(metric)}\n${mode}`
		if (!reads.has(id)) reads.set(id, readSeries(episodes[i]!.id, track.name, [metric.key], mode, 1000, {}, scope.signal).catch(() => null))
		return reads.get(id)!
	}
	const groupOf = (i: number) => {
		const data = parameters[i]?.data ?? {}
		return state.group in data ? value(data[state.group]) : NO_GROUP
	}

	let draws = 0
	const draw = async () => {
		const mine = ++draws
		syncUrl()
		const shown = metrics.filter(({ metric }) => chosen.has(metricId(metric))).map(({ metric }) => metric)
		const read = await Promise.all(shown.map((metric) => Promise.all(episodes.map((_, i) => seriesOf(i, metric, state.x)))))
		if (mine !== draws || scope.signal.aborted) return
		plots.forEach((u) => u.destroy())
		plots = []
		const cards = shown.map((metric, m) => {
			const runs = read[m]!.flatMap((series, i) => (series && series.series.x.length ? [{ label: episodes[i]!.name, group: groupOf(i), x: series.series.x, y: series.series.values[metric.key]?.mean ?? [] }] : []))
			const box = h('div', { class: 'chart overlay', data: { testid: 'compare-chart', metric: metricId(metric) } })
			const missing = episodes.length - runs.length
			const groups = new Set(runs.map((r) => r.group)).size
			const status = h(
				'p',
				{ class: 'muted' },
				[
					missing ? `${missing} of the episodes have no ${metricLabel(metric)}.` : '',
					state.group ? `${plural(groups, 'group')} by ${state.group}: line = mean, band = min to max.` : '',
					logNote(state.look, runs.map((r) => r.y)).trim(),
					'Drag to zoom, double-click to reset.',
				]
					.filter(Boolean)
					.join(' '),
			)
			return { metric, runs, box, card: h('div', { class: 'compare-metric' }, status, box) }
		})
		replace(charts, cards.length ? cards.map((c) => c.card) : h('p', { class: 'muted' }, 'Choose a metric to chart.'))
		for (const { metric, runs, box } of cards) if (runs.length) plots.push(overlayChart(metricLabel(metric), groupedLines(runs, state.group !== ''), state.x, box, state.look))
		charts.dataset.drawn = String(mine)
	}
	const redraw = () => void draw().catch((error) => replace(charts, h('p', { class: 'error' }, error instanceof Error ? error.message : 'Could not read the metrics.')))

	// parameters side by side
	const onlyDiff = h('input', { type: 'checkbox', checked: query.get('diff') === '1' })
	const paramTable = h('table', { class: 'compare-params', data: { testid: 'compare-params' } })
	const renderParams = () => {
		const rows = keys.map((key) => {
			const values = parameters.map((p) => (p && key in p.data ? value(p.data[key]) : undefined))
			const differs = values.some((v) => v !== values[0])
			return { key, values, differs }
		})
		const shownRows = onlyDiff.checked ? rows.filter((r) => r.differs) : rows
		replace(
			paramTable,
			h('thead', null, h('tr', null, h('th', null, 'Parameter'), episodes.map((e) => h('th', null, e.name)))),
			h(
				'tbody',
				null,
				shownRows.length
					? shownRows.map((row) => h('tr', { class: row.differs ? 'differs' : undefined, data: row.differs ? { differs: '1' } : undefined }, h('th', null, row.key), row.values.map((v) => h('td', null, v === undefined ? h('span', { class: 'muted' }, '—') : h('code', null, v)))))
					: h('tr', null, h('td', { colspan: episodes.length + 1, class: 'empty' }, keys.length ? 'Every parameter is the same.' : 'None of these episodes has parameters.')),
			),
		)
	}
	onlyDiff.addEventListener('change', renderParams)
	renderParams()

	const bounded =
		total > episodes.length
			? h('p', { class: 'note', data: { testid: 'compare-bounded' } }, matching ? `The first ${number(episodes.length)} of ${plural(total, 'matching episode')}, in the table’s order: narrow the filter to compare others.` : `The first ${number(episodes.length)} of the ${number(total)} ticked episodes.`)
			: null
	const section = h(
		'section',
		{ class: 'compare' },
		h('h1', null, matching ? `Comparing ${plural(episodes.length, 'episode')} of ${project}` : `Comparing ${episodes.length} episodes`),
		bounded,
		h('ul', { class: 'legend-list' }, episodes.map((e) => h('li', null, h('a', { href: href('episodes', e.id) }, e.name), ' ', statusBadge(e.status), h('span', { class: 'muted' }, ` ${e.project?.slug ?? project}`)))),
		h(
			'div',
			{ class: 'card' },
			h('h2', null, 'Metrics'),
			metrics.length
				? [
						metricChoices,
						h('div', { class: 'filters' }, xPicker, groupPicker, lookControls(state.look, (look) => ((state.look = look), redraw()))),
						charts,
					]
				: h('p', { class: 'muted' }, 'None of these episodes has tracks.'),
		),
		h('div', { class: 'card' }, h('h2', null, 'Parameters'), h('label', { class: 'check-label' }, onlyDiff, ' Only differences'), h('div', { class: 'table-wrap' }, paramTable)),
	)
	if (metrics.length) requestAnimationFrame(redraw)
	return section
}

/** The ticked episodes, `ids=`, at most COMPARE_MAX. */
async function tickedEpisodes(query: URLSearchParams, signal: AbortSignal): Promise<{ episodes: Episode[]; total: number }> {
	const ids = [...new Set((query.get('ids') ?? '').split(',').filter(Boolean))]
	const episodes = ids.length < 2 ? [] : await Promise.all(ids.slice(0, COMPARE_MAX).map((id) => api<Episode>(path('episodes', id), { signal })))
	return { episodes, total: ids.length }
}

/** The first COMPARE_MAX episodes of the project the table's query matches, in its order. */
async function matchingEpisodes(ns: string, project: string, query: URLSearchParams, signal: AbortSignal): Promise<{ episodes: Episode[]; total: number }> {
	const params: Record<string, string | number> = { pageSize: COMPARE_MAX }
	for (const name of MATCHING) if (query.get(name)) params[name] = query.get(name)!
	const page = await api<Page & { episodes: Episode[] }>(`${path('namespaces', ns, 'projects', project)}/episodes${qs(params)}`, { signal })
	return { episodes: page.episodes, total: page.total }
}
