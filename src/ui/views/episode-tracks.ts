// Tracks: a chart per numeric key of each track, x as index, time (`_ts`) or any numeric field,
// smoothed and on a log axis if asked (all of it in the URL). Appended points join their charts as
// the episode's `track` events arrive; a new track gets its charts.
import type { Episode, Track } from '../api'
import type { ChartLook, TrackAppended, TrackCharts, XMode } from '../chart'
import { h } from '../dom'
import type { Live } from '../live'
import { navigate, type Scope } from '../router'
import { lookControls, lookOf, setLook, tracksOf } from './common'

export async function tracksTab(episode: Episode, query: URLSearchParams, scope: Scope, live: Live) {
	// the chart code (uPlot) loads while the tracks are read
	const [{ trackCharts }, tracks] = await Promise.all([import('../chart'), tracksOf(episode.id, scope.signal)])
	const empty = h('p', { class: 'empty' }, 'This episode has no tracks yet. Points appended with episode.track("name").append(…) show here as charts.')
	const fields = new Set<string>()
	for (const track of tracks) for (const key of track.keys) if (key !== '_ts') fields.add(key)
	const hasTime = tracks.some((t) => t.keys.includes('_ts'))
	const wanted = query.get('x') ?? (fields.has('step') ? 'step' : 'index')
	const x: XMode = wanted === 'index' || (wanted === '_ts' && hasTime) || fields.has(wanted) ? wanted : 'index'
	let look: ChartLook = lookOf(query)
	/** The tab again with what is chosen: x, smoothing, log scale. */
	const rechart = () => {
		const p = new URLSearchParams({ x: picker.value })
		setLook(p, look)
		navigate(`${location.pathname}?${p}`, { replace: true })
	}
	const picker = h(
		'select',
		{
			aria: { label: 'X axis' },
			onchange: rechart,
		},
		h('option', { value: 'index', selected: x === 'index' }, 'x: index'),
		hasTime ? h('option', { value: '_ts', selected: x === '_ts' }, 'x: time (_ts)') : null,
		[...fields].sort().map((f) => h('option', { value: f, selected: x === f }, `x: ${f}`)),
	)
	const byName = new Map<string, TrackCharts>()
	const chartsOf = (track: Track) => {
		const charts = trackCharts(episode.id, track, track.keys.includes(x) || x === 'index' ? x : 'index', scope.signal, look)
		byName.set(track.name, charts)
		return charts
	}
	const charts = tracks.map(chartsOf)
	scope.onCleanup(() => byName.forEach((c) => c.destroy()))
	const box = h('div', { class: 'tracks', data: { testid: 'tracks' } }, charts.map((c) => c.element), tracks.length === 0 ? empty : null)
	// a track the page has no charts for yet (new since it was read): the list again, charts for the new ones
	let listing: Promise<void> | undefined
	const addNew = () =>
		(listing ??= tracksOf(episode.id, scope.signal)
			.then((all) => {
				for (const track of all) if (!byName.has(track.name)) (empty.remove(), box.append(chartsOf(track).element))
			})
			.catch(() => {})
			.finally(() => (listing = undefined)))
	live.on('track', (e: TrackAppended) => {
		const charts = byName.get(e.track)
		if (charts) charts.grow(e)
		else void addNew()
	})
	void Promise.all(charts.map((c) => c.drawn)).then(() => {
		box.dataset.drawn = 'all'
		performance.mark('dreamlake:charts-drawn')
	})
	return h('div', null, h('div', { class: 'filters' }, picker, lookControls(look, (changed) => ((look = changed), rechart())), h('span', { class: 'muted' }, 'Drag across a chart to zoom (the window is read again at full detail); double-click to reset.')), box)
}
