// Track charts with uPlot. The server folds a track into at most ~1,000 buckets (`series`), each
// with min, max, mean and last per key: the chart draws the mean as a line and min–max as a band,
// so a spike is never averaged away. Dragging across a chart re-reads that window from the server
// at full resolution (a window of 1,000 points or fewer comes back point by point); double-click
// or "Reset" reads the whole track again. One read per track feeds the charts of all its keys.
// Points appended while the page is open (the episode's `track` events) join the charts as they
// come, without a read of the whole track; a zoomed chart keeps its window. Every chart takes a
// look: a smoothing weight (an exponential moving average drawn over the raw line, kept faint) and
// a log y axis (values ≤ 0 left out, and said so).
import uPlot from 'uplot'
import { api, path, query as qs, type Series, type Track } from './api'
import { h, replace } from './dom'
import { number, plural } from './format'
import { aggregate, ema, logSafe, nonPositive, type Values } from './series-math'

export type XMode = 'index' | '_ts' | string

/** How a chart draws its values: smoothed (0: raw), on a log y axis. */
export interface ChartLook {
	smoothing: number
	log: boolean
}
export const RAW: ChartLook = { smoothing: 0, log: false }

/** A faint copy of a colour, for the raw line beside a smoothed one. */
const faint = (color: string) => `${color}55`

/** What the tests (and anyone in the console) read of a chart: the uPlot instance on its element. */
const expose = (box: HTMLElement, u: uPlot) => ((box as HTMLElement & { uplot?: uPlot }).uplot = u)

/** A y scale for the look: logarithmic (base 10) or linear. */
const yScale = (look: ChartLook): uPlot.Scale => (look.log ? { distr: 3, log: 10, range: logRange } : {})

/** Decades a log axis spans at most: uPlot's ticks stop at 1e-16, and a loss of 1e-87 would split forever. */
const LOG_DECADES = 12
/** A log axis's range: whole decades around the values, at most LOG_DECADES (lower values sit at its foot); one decade when nothing is above 0. */
function logRange(_u: uPlot, min: number, max: number): uPlot.Range.MinMax {
	if (!(min > 0 && max > 0)) return [0.1, 1]
	return uPlot.rangeLog(Math.max(min, max / 10 ** LOG_DECADES, 1e-15), max, 10, true) as uPlot.Range.MinMax
}

/** Says how many values the log scale left out, when any. */
export const logNote = (look: ChartLook, values: Values[]) => {
	if (!look.log) return ''
	const left = values.reduce((n, v) => n + nonPositive(v), 0)
	return left ? ` ${plural(left, 'value')} ≤ 0 ${left === 1 ? 'is' : 'are'} not drawn on the log scale.` : ''
}

export const PALETTE = ['#2563eb', '#dc2626', '#16a34a', '#9333ea', '#ea580c', '#0891b2', '#ca8a04', '#db2777', '#4b5563', '#65a30d']

interface Window {
	startIndex?: number
	endIndex?: number
	startTime?: number
	endTime?: number
}

/** x and y axes in the page's text colour, faint grid lines, y values as the rest of the page shows numbers. */
const GRID = { stroke: 'rgba(128,128,128,0.15)' }
const AXES: uPlot.Axis[] = [
	{ stroke: 'currentColor', grid: GRID },
	{ stroke: 'currentColor', grid: GRID, values: (_u, ticks) => ticks.map((t) => number(t)) },
]

/** Buckets to ask for: about one per pixel, at most 1,000. */
export const bucketsFor = (width: number) => Math.max(100, Math.min(1000, Math.round(width)))

export function readSeries(episodeId: string, track: string, keys: string[], x: XMode, maxPoints: number, window: Window, signal?: AbortSignal): Promise<Series> {
	return api<Series>(`${path('episodes', episodeId, 'tracks', track)}/series${qs({ keys: keys.join(','), x, maxPoints, ...window })}`, { signal })
}

/** uPlot's columns for one key: x, mean, min, max. */
function columns(series: Series, key: string): Columns {
	const values = series.series.values[key]
	const empty = series.series.x.map(() => null)
	return [series.series.x, values?.mean ?? empty, values?.min ?? empty, values?.max ?? empty]
}

type Columns = [number[], Values, Values, Values]

/** What a track chart draws of its columns: x, the mean (raw), min, max, and the smoothed mean when smoothing. */
function shown([x, mean, min, max]: Columns, look: ChartLook): uPlot.AlignedData {
	const y = look.log ? logSafe : (v: Values) => v
	const out: Values[] = [y(mean), y(min), y(max)]
	if (look.smoothing > 0) out.push(y(ema(mean, look.smoothing)))
	return [x, ...out] as uPlot.AlignedData
}

const hasNumbers = (series: Series, key: string) => (series.series.values[key]?.mean ?? []).some((v) => v !== null)

export interface TrackCharts {
	element: HTMLElement
	/** Resolves once every chart of the track has drawn (or there was nothing to draw). */
	drawn: Promise<void>
	/** Points appended to the track (a `track` event): they join the charts. */
	grow(appended: TrackAppended): void
	destroy(): void
}

/** What a `track` event says of an append: the range of indexes, the track's new total, and the points when few. */
export interface TrackAppended {
	track: string
	startIndex: number
	endIndex: number
	total: number
	points: Record<string, unknown>[] | null
}

/** Points drawn point by point past which the charts are read again, folded into buckets. */
const GROWN_MAX = 4000

/** The charts of one track: one per numeric key, zoomed together. */
export function trackCharts(episodeId: string, track: Track, x: XMode, signal: AbortSignal, look: ChartLook = RAW): TrackCharts {
	const keys = track.keys.filter((key) => key !== '_ts' && key !== x).slice(0, 64)
	const grid = h('div', { class: 'charts' })
	const status = h('p', { class: 'muted chart-status' })
	const reset = h('button', { type: 'button', class: 'link', hidden: true }, 'Reset zoom')
	const total = h('span', { class: 'muted', data: { testid: 'track-total' } }, `${number(track.totalDataPoints)} points`)
	const downloads = exportLinks(episodeId, track.name)
	const element = h('div', { class: 'track', data: { testid: 'track', track: track.name } }, h('div', { class: 'track-head' }, h('h3', null, track.name), total, reset, downloads.element), status, grid)
	const plots: { key: string; u: uPlot; data: Columns }[] = []
	/** Each chart's first draw on its canvas. */
	const firstDraws: Promise<void>[] = []
	let resizeObserver: ResizeObserver | undefined
	let xToIndex: { x: (number | null)[]; xmax: (number | null)[]; start: number[] } | undefined
	const width = () => Math.max(280, Math.floor((grid.clientWidth || element.clientWidth || 800) / (keys.length > 1 && (grid.clientWidth || 800) > 900 ? 2 : 1)) - 16)

	const windowFor = async (min: number, max: number): Promise<Window> => {
		if (x === 'index') return { startIndex: Math.max(0, Math.floor(min)), endIndex: Math.max(0, Math.ceil(max)) }
		if (x === '_ts') return { startTime: min, endTime: max }
		// another field: find the indexes where it runs from min to max (one read, kept)
		if (!xToIndex) {
			const map = await readSeries(episodeId, track.name, [x], 'index', 1000, {}, signal)
			xToIndex = { x: map.series.values[x]?.min ?? [], xmax: map.series.values[x]?.max ?? [], start: map.series.x }
		}
		const { x: lows, xmax: highs, start } = xToIndex
		let first = 0
		while (first < start.length - 1 && (highs[first] ?? -Infinity) < min) first++
		let last = start.length - 1
		while (last > first && (lows[last] ?? Infinity) > max) last--
		return { startIndex: start[first] ?? 0, endIndex: last + 1 < start.length ? start[last + 1]! - 1 : track.totalDataPoints - 1 }
	}

	let reads = 0
	let zoomed = false
	let grown = 0
	let covered = 0
	const show = async (window: Window, zoom?: { min: number; max: number }) => {
		const mine = ++reads
		const series = await readSeries(episodeId, track.name, keys, x, bucketsFor(width()), window, signal)
		if (mine !== reads || signal.aborted) return
		reset.hidden = zoom === undefined
		zoomed = zoom !== undefined
		grown = 0
		// the points the whole track's read holds: an event for points before it is nothing new
		if (!zoomed && Object.keys(window).length === 0) covered = series.points
		downloads.show(window)
		const drawable = keys.filter((key) => hasNumbers(series, key))
		status.textContent =
			(series.points === 0 ? 'No points in this window.' : drawable.length === 0 ? 'No numeric values to chart.' : series.points > series.buckets ? `${number(series.points)} points in ${number(series.buckets)} buckets: line = mean, band = min to max` : '') +
			logNote(look, drawable.map((key) => columns(series, key)[2]))
		if (plots.length === 0) {
			for (const key of drawable) plots.push({ key, u: plot(key, series, mine), data: columns(series, key) })
		} else {
			for (const one of plots) {
				one.data = columns(series, one.key)
				one.u.setData(shown(one.data, look), zoom === undefined)
				if (zoom) one.u.setScale('x', zoom)
			}
		}
	}

	const zoomTo = (min: number, max: number) => {
		if (!(max > min)) return
		void windowFor(min, max)
			.then((window) => show(window, { min, max }))
			.catch(() => {})
	}

	const plot = (key: string, series: Series, read: number) => {
		const color = PALETTE[plots.length % PALETTE.length]!
		const box = h('div', { class: 'chart track-chart', data: { testid: 'chart', key } })
		let drew: () => void = () => {}
		firstDraws.push(new Promise<void>((resolve) => (drew = resolve)))
		grid.append(box)
		const opts: uPlot.Options = {
			title: key,
			width: width(),
			height: 220,
			scales: { x: { time: x === '_ts' }, y: yScale(look) },
			cursor: { drag: { x: true, y: false, setScale: false } },
			legend: { show: true, live: true },
			series: [
				{ label: x === 'index' ? 'index' : x === '_ts' ? 'time' : x },
				{ label: look.smoothing > 0 ? `${key} (raw)` : key, stroke: look.smoothing > 0 ? faint(color) : color, width: look.smoothing > 0 ? 1 : 1.5, points: { show: series.series.x.length <= 2 ? true : undefined }, value: (_u, v) => number(v) },
				{ label: 'min', stroke: 'transparent', points: { show: false }, show: true, value: (_u, v) => number(v) },
				{ label: 'max', stroke: 'transparent', points: { show: false }, show: true, value: (_u, v) => number(v) },
				...(look.smoothing > 0 ? [{ label: `${key} (smoothed ${look.smoothing})`, stroke: color, width: 1.75, value: (_u: uPlot, v: number | null) => number(v) }] : []),
			],
			bands: [{ series: [3, 2], fill: `${color}33` }],
			axes: AXES,
			hooks: {
				setSelect: [
					(u) => {
						if (u.select.width < 4) return
						const min = u.posToVal(u.select.left, 'x')
						const max = u.posToVal(u.select.left + u.select.width, 'x')
						u.setSelect({ left: 0, top: 0, width: 0, height: 0 }, false)
						zoomTo(min, max)
					},
				],
				draw: [
					(u) => {
						box.dataset.drawn = String(read)
						// what the chart holds and shows, for a look from outside (the tests)
						box.dataset.points = String(u.data[0].length)
						box.dataset.window = `${u.scales.x?.min}..${u.scales.x?.max}`
						drew()
					},
				],
			},
		}
		const u = new uPlot(opts, shown(columns(series, key), look), box)
		expose(box, u)
		u.over.addEventListener('dblclick', () => void show({}).catch(() => {}))
		return u
	}

	/** New points' columns for a key: x, and the value as mean, min and max of a bucket of one. */
	const pointColumns = (points: Record<string, unknown>[], startIndex: number) => {
		const xs: number[] = []
		const rows: Record<string, unknown>[] = []
		points.forEach((p, i) => {
			const at = x === 'index' ? startIndex + i : p[x]
			if (typeof at === 'number') (xs.push(at), rows.push(p))
		})
		return { xs, value: (key: string) => rows.map((p) => (typeof p[key] === 'number' ? (p[key] as number) : null)) }
	}
	let growing: Promise<void> = Promise.resolve()
	const grow = (appended: TrackAppended) => {
		track.totalDataPoints = appended.total
		total.textContent = `${number(appended.total)} points`
		growing = growing.then(async () => {
			if (signal.aborted) return
			// no chart yet (its first numbers), or many points drawn one by one: one read folds them all
			if (plots.length === 0 || grown > GROWN_MAX) {
				if (!zoomed) await show({})
				return
			}
			if (appended.endIndex < covered) return
			const from = Math.max(appended.startIndex, covered)
			covered = appended.endIndex + 1
			let add: { xs: number[]; value: (key: string) => (number | null)[]; min?: (key: string) => (number | null)[]; max?: (key: string) => (number | null)[] }
			if (appended.points) add = pointColumns(appended.points.slice(from - appended.startIndex), from)
			else {
				// many points: only their range, folded
				const series = await readSeries(episodeId, track.name, keys, x, Math.min(200, appended.endIndex - from + 1), { startIndex: from, endIndex: appended.endIndex }, signal)
				add = { xs: series.series.x, value: (key) => columns(series, key)[1], min: (key) => columns(series, key)[2], max: (key) => columns(series, key)[3] }
			}
			if (signal.aborted || add.xs.length === 0) return
			grown += add.xs.length
			for (const one of plots) {
				const { key, u } = one
				const [xs, mean, min, max] = one.data
				const values = add.value(key)
				// a zoomed chart keeps its window: the data grows, the x scale stays (set again, to draw)
				const window = { min: u.scales.x?.min ?? 0, max: u.scales.x?.max ?? 0 }
				one.data = [xs.concat(add.xs), mean.concat(values), min.concat(add.min?.(key) ?? values), max.concat(add.max?.(key) ?? values)]
				u.setData(shown(one.data, look), !zoomed)
				if (zoomed) u.setScale('x', window)
			}
		}).catch(() => {})
	}

	reset.addEventListener('click', () => void show({}).catch(() => {}))
	const drawn = show({}).then(async () => {
		await Promise.all(firstDraws)
		let last = width()
		resizeObserver = new ResizeObserver(() => {
			const w = width()
			if (Math.abs(w - last) < 8) return
			last = w
			for (const { u } of plots) u.setSize({ width: w, height: 220 })
		})
		resizeObserver.observe(grid)
	})
	drawn.catch((error) => {
		if (!signal.aborted) replace(status, error instanceof Error ? error.message : 'Could not read this track.')
	})
	return {
		element,
		drawn: drawn.catch(() => {}),
		grow,
		destroy() {
			resizeObserver?.disconnect()
			for (const { u } of plots) u.destroy()
		},
	}
}

/** A line of a compare chart: one run's values, or a group's mean with the band of its min and max. */
export interface Line {
	label: string
	x: number[]
	y: Values
	band?: { min: Values; max: Values }
}

/** The lines of some runs: one per run, or, `grouped`, one per value of `group` (the mean of its runs) with its min–max band. */
export function groupedLines(runs: { label: string; group: string; x: number[]; y: Values }[], grouped: boolean): Line[] {
	if (!grouped) return runs.map(({ label, x, y }) => ({ label, x, y }))
	const groups = new Map<string, typeof runs>()
	for (const run of runs) groups.set(run.group, [...(groups.get(run.group) ?? []), run])
	return [...groups].map(([group, members]) => {
		const band = aggregate(members)
		return { label: `${group} (${members.length} run${members.length === 1 ? '' : 's'})`, x: band.x, y: band.mean, band: { min: band.min, max: band.max } }
	})
}

/**
 * Several lines of one metric on one chart, x aligned: each line its colour, a group's band in a
 * faint fill of it; smoothed, each line's raw values stay beside it, faint. Series per line, in
 * order: the line (smoothed when smoothing), its raw values (when smoothing), its min and max (with a band).
 */
export function overlayChart(title: string, lines: Line[], xMode: XMode, box: HTMLElement, look: ChartLook = RAW): uPlot {
	const y = look.log ? logSafe : (v: Values) => v
	const joined = uPlot.join(lines.map((line) => [line.x, line.y, ...(line.band ? [line.band.min, line.band.max] : [])] as uPlot.AlignedData))
	const data: uPlot.AlignedData[number][] = [joined[0]]
	const series: uPlot.Series[] = [{ label: xMode === 'index' ? 'index' : xMode === '_ts' ? 'time' : xMode }]
	const bands: uPlot.Band[] = []
	const value = (_u: uPlot, v: number | null) => number(v)
	let column = 1
	lines.forEach((line, i) => {
		const color = PALETTE[i % PALETTE.length]!
		const raw = joined[column++] as Values
		const smooth = look.smoothing > 0
		data.push(y(smooth ? ema(raw, look.smoothing) : raw))
		series.push({ label: line.label, stroke: color, width: smooth ? 1.75 : 1.5, spanGaps: true, value })
		if (smooth) {
			data.push(y(raw))
			series.push({ label: `${line.label} (raw)`, stroke: faint(color), width: 1, spanGaps: true, value })
		}
		if (line.band) {
			data.push(y(joined[column++] as Values), y(joined[column++] as Values))
			series.push({ label: `${line.label} min`, stroke: 'transparent', points: { show: false }, spanGaps: true, value }, { label: `${line.label} max`, stroke: 'transparent', points: { show: false }, spanGaps: true, value })
			bands.push({ series: [data.length - 1, data.length - 2], fill: `${color}26` })
		}
	})
	const u = new uPlot(
		{
			title,
			width: Math.max(320, box.clientWidth - 16 || 900),
			height: 320,
			scales: { x: { time: xMode === '_ts' }, y: yScale(look) },
			cursor: { drag: { x: true, y: false } },
			series,
			bands,
			axes: AXES,
			hooks: { draw: [() => (box.dataset.drawn = '1')] },
		},
		data as uPlot.AlignedData,
		box,
	)
	expose(box, u)
	return u
}

/** Download links of a track as CSV and Parquet: of the window the chart shows (the whole track until it is zoomed). */
function exportLinks(episodeId: string, trackName: string) {
	const links = (['csv', 'parquet'] as const).map((format) => h('a', { class: 'download', download: '', data: { testid: `export-${format}` }, title: `Download as ${format === 'csv' ? 'CSV' : 'Parquet'}` }, format === 'csv' ? 'CSV' : 'Parquet'))
	const show = (window: Window) => {
		links.forEach((link, i) => (link.href = `${path('episodes', episodeId, 'tracks', trackName)}/export${qs({ format: i === 0 ? 'csv' : 'parquet', ...window })}`))
	}
	show({})
	return { element: h('span', { class: 'downloads' }, 'Download ', links[0], ' · ', links[1]), show }
}
