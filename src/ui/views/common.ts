// Pieces several views share.
import { api, path, query as qs, type Series, type Status, type Track } from '../api'
import { h } from '../dom'

export const statusBadge = (status: Status) => h('span', { class: `status status-${status}` }, status)

export const tagList = (tags: string[]) => (tags.length ? h('span', { class: 'tags' }, tags.map((tag) => h('span', { class: 'tag' }, tag))) : null)

/** A metric is one key of one track: `train/loss` · `value`. */
export interface Metric {
	track: string
	key: string
}
export const metricId = (m: Metric) => `${m.track}::${m.key}`
export function parseMetric(id: string): Metric | null {
	const at = id.lastIndexOf('::')
	return at > 0 && at < id.length - 2 ? { track: id.slice(0, at), key: id.slice(at + 2) } : null
}
export const metricLabel = (m: Metric) => (m.key === m.track || m.key === 'value' ? m.track : `${m.track} · ${m.key}`)

/** Keys worth charting: not the time, not an index-like x. */
export const chartKeys = (track: Track) => track.keys.filter((key) => key !== '_ts')

export const tracksOf = (id: string, signal?: AbortSignal) => api<{ tracks: Track[] }>(`${path('episodes', id)}/tracks`, { signal }).then((r) => r.tracks)

/** The last value of a metric: one bucket over the whole track, its `last`. */
export async function lastValue(episodeId: string, metric: Metric, signal?: AbortSignal): Promise<number | null> {
	const series = await api<Series>(`${path('episodes', episodeId, 'tracks', metric.track)}/series${qs({ keys: metric.key, maxPoints: 1 })}`, { signal })
	const last = series.series.values[metric.key]?.last
	return last && last.length ? (last[last.length - 1] ?? null) : null
}

/** Runs `tasks` at most `limit` at a time. */
export async function pool<T>(tasks: (() => Promise<T>)[], limit: number): Promise<void> {
	let next = 0
	const worker = async () => {
		while (next < tasks.length) {
			const task = tasks[next++]!
			try {
				await task()
			} catch {
				// each task shows its own failure
			}
		}
	}
	await Promise.all(Array.from({ length: Math.min(limit, tasks.length) }, worker))
}
