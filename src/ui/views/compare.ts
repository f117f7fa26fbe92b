// Compare: several episodes' metric overlaid on one chart, and their parameters side by side with
// the differences marked.
import type uPlot from 'uplot'
import { api, parametersOf, path, type Episode } from '../api'
import type { XMode } from '../chart'
import { h, replace } from '../dom'
import { value } from '../format'
import { href, type Route } from '../router'
import { namespaceCrumb, setCrumbs, setNamespace } from '../shell'
import { metricId, metricLabel, parseMetric, statusBadge, tracksOf, type Metric } from './common'

export async function compareView({ query, scope }: Route) {
	const ids = [...new Set((query.get('ids') ?? '').split(',').filter(Boolean))].slice(0, 10)
	setCrumbs({ label: 'Compare' })
	if (ids.length < 2) {
		return h('section', { class: 'empty card' }, h('h1', null, 'Compare episodes'), h('p', null, 'Tick two or more episodes in a project’s table, then press Compare.'))
	}
	const [{ overlayChart, readSeries }, episodes] = await Promise.all([import('../chart'), Promise.all(ids.map((id) => api<Episode>(path('episodes', id), { signal: scope.signal })))])
	setNamespace(episodes[0]!.namespace.slug)
	setCrumbs(namespaceCrumb(episodes[0]!.namespace.slug), { label: 'Compare' })
	const [tracks, parameters] = await Promise.all([Promise.all(ids.map((id) => tracksOf(id, scope.signal))), Promise.all(ids.map((id) => parametersOf(id, scope.signal)))])

	// metrics any episode has, those all have first
	const counts = new Map<string, { metric: Metric; n: number; time: boolean }>()
	tracks.forEach((list) => {
		for (const track of list)
			for (const key of track.keys) {
				if (key === '_ts') continue
				const id = metricId({ track: track.name, key })
				const seen = counts.get(id) ?? { metric: { track: track.name, key }, n: 0, time: track.keys.includes('_ts') }
				seen.n++
				counts.set(id, seen)
			}
	})
	const metrics = [...counts.values()].sort((a, b) => b.n - a.n || metricId(a.metric).localeCompare(metricId(b.metric)))
	const chartBox = h('div', { class: 'chart overlay', data: { testid: 'compare-chart' } })
	const chartStatus = h('p', { class: 'muted' })
	let plot: uPlot | undefined
	scope.onCleanup(() => plot?.destroy())

	const initial = parseMetric(query.get('metric') ?? '') ?? metrics.find((m) => m.metric.key !== 'step')?.metric ?? metrics[0]?.metric
	const metricPicker = h('select', { aria: { label: 'Metric' } }, metrics.map(({ metric, n }) => h('option', { value: metricId(metric), selected: initial !== undefined && metricId(metric) === metricId(initial) }, `${metricLabel(metric)}${n < ids.length ? ` (${n} of ${ids.length})` : ''}`)))
	const xPicker = h('select', { aria: { label: 'X axis' } }, h('option', { value: 'index' }, 'x: index'), h('option', { value: 'step' }, 'x: step'), h('option', { value: '_ts' }, 'x: time (_ts)'))
	xPicker.value = ['index', 'step', '_ts'].includes(query.get('x') ?? '') ? query.get('x')! : 'index'

	const draw = async () => {
		const metric = parseMetric(metricPicker.value)
		if (!metric) return
		const x = xPicker.value as XMode
		scope.setQuery(new URLSearchParams({ ids: ids.join(','), metric: metricId(metric), x }))
		const lines = await Promise.all(
			episodes.map(async (episode, i) => {
				const track = tracks[i]!.find((t) => t.name === metric.track)
				if (!track || !track.keys.includes(metric.key)) return null
				const mode = x === 'index' || track.keys.includes(x) ? x : 'index'
				const series = await readSeries(episode.id, track.name, [metric.key], mode, 1000, {}, scope.signal)
				return { label: episode.name, x: series.series.x, y: series.series.values[metric.key]?.mean ?? [] }
			}),
		)
		const present = lines.filter((l): l is NonNullable<typeof l> => l !== null && l.x.length > 0)
		plot?.destroy()
		plot = undefined
		replace(chartBox)
		chartStatus.textContent = present.length < episodes.length ? `${episodes.length - present.length} of the episodes have no ${metricLabel(metric)}.` : 'Drag to zoom, double-click to reset.'
		if (present.length) plot = overlayChart(metricLabel(metric), present, x, chartBox)
	}
	metricPicker.addEventListener('change', () => void draw().catch(() => {}))
	xPicker.addEventListener('change', () => void draw().catch(() => {}))

	// parameters side by side
	const keys = [...new Set(parameters.flatMap((p) => Object.keys(p?.data ?? {})))].sort()
	const onlyDiff = h('input', { type: 'checkbox', checked: query.get('diff') === '1' })
	const paramTable = h('table', { class: 'compare-params', data: { testid: 'compare-params' } })
	const renderParams = () => {
		const rows = keys.map((key) => {
			const values = parameters.map((p) => (p && key in p.data ? value(p.data[key]) : undefined))
			const differs = values.some((v) => v !== values[0])
			return { key, values, differs }
		})
		const shown = onlyDiff.checked ? rows.filter((r) => r.differs) : rows
		replace(
			paramTable,
			h('thead', null, h('tr', null, h('th', null, 'Parameter'), episodes.map((e) => h('th', null, e.name)))),
			h(
				'tbody',
				null,
				shown.length
					? shown.map((row) => h('tr', { class: row.differs ? 'differs' : undefined, data: row.differs ? { differs: '1' } : undefined }, h('th', null, row.key), row.values.map((v) => h('td', null, v === undefined ? h('span', { class: 'muted' }, '—') : h('code', null, v)))))
					: h('tr', null, h('td', { colspan: episodes.length + 1, class: 'empty' }, keys.length ? 'Every parameter is the same.' : 'None of these episodes has parameters.')),
			),
		)
	}
	onlyDiff.addEventListener('change', renderParams)
	renderParams()

	const section = h(
		'section',
		{ class: 'compare' },
		h('h1', null, `Comparing ${episodes.length} episodes`),
		h('ul', { class: 'legend-list' }, episodes.map((e) => h('li', null, h('a', { href: href('episodes', e.id) }, e.name), ' ', statusBadge(e.status), h('span', { class: 'muted' }, ` ${e.project.slug}`)))),
		h('div', { class: 'card' }, h('h2', null, 'Metric'), metrics.length ? h('div', { class: 'filters' }, metricPicker, xPicker) : h('p', { class: 'muted' }, 'None of these episodes has tracks.'), chartStatus, chartBox),
		h('div', { class: 'card' }, h('h2', null, 'Parameters'), h('label', { class: 'check-label' }, onlyDiff, ' Only differences'), h('div', { class: 'table-wrap' }, paramTable)),
	)
	if (metrics.length) requestAnimationFrame(() => void draw().catch((error) => (chartStatus.textContent = error instanceof Error ? error.message : 'Could not read the metric.')))
	return section
}
