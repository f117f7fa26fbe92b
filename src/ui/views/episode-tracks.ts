// Tracks: a chart per numeric key of each track, x as index, time (`_ts`) or any numeric field.
import type { Episode } from '../api'
import type { XMode } from '../chart'
import { h } from '../dom'
import { navigate, type Scope } from '../router'
import { tracksOf } from './common'

export async function tracksTab(episode: Episode, query: URLSearchParams, scope: Scope) {
	// the chart code (uPlot) loads while the tracks are read
	const [{ trackCharts }, tracks] = await Promise.all([import('../chart'), tracksOf(episode.id, scope.signal)])
	if (tracks.length === 0) return h('p', { class: 'empty' }, 'This episode has no tracks yet. Points appended with episode.track("name").append(…) show here as charts.')
	const fields = new Set<string>()
	for (const track of tracks) for (const key of track.keys) if (key !== '_ts') fields.add(key)
	const hasTime = tracks.some((t) => t.keys.includes('_ts'))
	const wanted = query.get('x') ?? (fields.has('step') ? 'step' : 'index')
	const x: XMode = wanted === 'index' || (wanted === '_ts' && hasTime) || fields.has(wanted) ? wanted : 'index'
	const picker = h(
		'select',
		{
			aria: { label: 'X axis' },
			onchange: () => navigate(`${location.pathname}?x=${encodeURIComponent(picker.value)}`, { replace: true }),
		},
		h('option', { value: 'index', selected: x === 'index' }, 'x: index'),
		hasTime ? h('option', { value: '_ts', selected: x === '_ts' }, 'x: time (_ts)') : null,
		[...fields].sort().map((f) => h('option', { value: f, selected: x === f }, `x: ${f}`)),
	)
	const charts = tracks.map((track) => trackCharts(episode.id, track, track.keys.includes(x) || x === 'index' ? x : 'index', scope.signal))
	scope.onCleanup(() => charts.forEach((c) => c.destroy()))
	const box = h('div', { class: 'tracks', data: { testid: 'tracks' } }, charts.map((c) => c.element))
	void Promise.all(charts.map((c) => c.drawn)).then(() => {
		box.dataset.drawn = 'all'
		performance.mark('dreamlake:charts-drawn')
	})
	return h('div', null, h('div', { class: 'filters' }, picker, h('span', { class: 'muted' }, 'Drag across a chart to zoom (the window is read again at full detail); double-click to reset.')), box)
}
