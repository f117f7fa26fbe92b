// Logs: the latest lines, filtered by level and text on the server, earlier ones on demand, and new
// lines as they are written (the episode's `logs` events carry them; filtered, or when an event
// skips ahead of what is shown, the lines after the last one shown are read: `afterSequence`).
import { api, path, query as qs, type Episode, type LogLine } from '../api'
import { debounce, h, replace } from '../dom'
import { exactTime } from '../format'
import type { Live } from '../live'
import type { Scope } from '../router'

const LEVELS = ['debug', 'info', 'warn', 'error', 'fatal']
const PAGE = 500
interface LogPage {
	logs: LogLine[]
	hasMore: boolean
	nextSequence: number | null
}

export async function logsTab(episode: Episode, query: URLSearchParams, scope: Scope, live: Live) {
	const chosen = new Set((query.get('level') ?? '').split(',').filter((l) => LEVELS.includes(l)))
	const search = h('input', { type: 'search', placeholder: 'Search messages', value: query.get('q') ?? '', aria: { label: 'Search logs' } })
	const levelBoxes = LEVELS.map((level) => {
		const box = h('input', { type: 'checkbox', checked: chosen.has(level), value: level })
		return { level, box, label: h('label', { class: `level-toggle level-${level}` }, box, level) }
	})
	const list = h('ol', { class: 'logs', data: { testid: 'logs' }, aria: { live: 'polite', label: 'Log lines' } })
	const earlier = h('button', { type: 'button', class: 'link', hidden: true }, 'Load earlier lines')
	// downloads of every line the filters match, not only those shown
	const downloads = (['ndjson', 'text'] as const).map((format) => h('a', { class: 'download', download: '', data: { testid: `export-${format}` } }, format === 'ndjson' ? 'NDJSON' : 'Text'))
	const linkDownloads = (f: { level: string; search: string }) =>
		downloads.forEach((link, i) => (link.href = `${path('episodes', episode.id)}/logs/export${qs({ format: i === 0 ? 'ndjson' : 'text', ...f })}`))
	const viewport = h('div', { class: 'log-viewport' }, earlier, list)
	let first: number | null = null
	let last = -1
	let generation = 0

	const filters = () => {
		const levels = levelBoxes.filter((l) => l.box.checked).map((l) => l.level)
		return { level: levels.join(','), search: search.value.trim() }
	}
	const line = (log: LogLine) =>
		h(
			'li',
			{ class: `log level-${log.level}`, data: { seq: String(log.sequenceNumber) } },
			h('time', { title: exactTime(log.timestamp) }, log.timestamp.slice(11, 23)),
			h('span', { class: 'level' }, log.level),
			h('span', { class: 'message' }, log.message),
			log.metadata && Object.keys(log.metadata).length ? h('code', { class: 'meta' }, JSON.stringify(log.metadata)) : null,
		)
	const atBottom = () => viewport.scrollHeight - viewport.scrollTop - viewport.clientHeight < 40

	const reload = async () => {
		const mine = ++generation
		const f = filters()
		linkDownloads(f)
		scope.setQuery(new URLSearchParams({ ...(f.level && { level: f.level }), ...(f.search && { q: f.search }) }))
		const page = await api<LogPage>(`${path('episodes', episode.id)}/logs${qs({ dir: 'desc', limit: PAGE, ...f })}`, { signal: scope.signal })
		if (mine !== generation) return
		const lines = page.logs.reverse()
		first = lines[0]?.sequenceNumber ?? null
		last = lines[lines.length - 1]?.sequenceNumber ?? Math.max(last, -1)
		earlier.hidden = !page.hasMore
		replace(list, lines.length ? lines.map(line) : h('li', { class: 'empty' }, f.level || f.search ? 'No line matches these filters.' : 'No log lines yet.'))
		viewport.scrollTop = viewport.scrollHeight
	}
	earlier.addEventListener('click', async () => {
		if (first === null) return
		const page = await api<LogPage>(`${path('episodes', episode.id)}/logs${qs({ dir: 'desc', limit: PAGE, afterSequence: first, ...filters() })}`, { signal: scope.signal })
		const lines = page.logs.reverse()
		if (lines.length) first = lines[0]!.sequenceNumber
		earlier.hidden = !page.hasMore
		const height = viewport.scrollHeight
		list.prepend(...lines.map(line))
		viewport.scrollTop += viewport.scrollHeight - height
	})

	const tail = async () => {
		const mine = generation
		for (;;) {
			const page = await api<LogPage>(`${path('episodes', episode.id)}/logs${qs({ afterSequence: last, limit: 1000, ...filters() })}`, { signal: scope.signal })
			if (mine !== generation) return
			if (page.logs.length) {
				const stick = atBottom()
				list.querySelector(':scope > li.empty')?.remove()
				list.append(...page.logs.map(line))
				last = page.logs[page.logs.length - 1]!.sequenceNumber
				if (stick) viewport.scrollTop = viewport.scrollHeight
			}
			if (!page.hasMore) return
		}
	}
	// one read at a time: events that arrive while one runs ask for one more after it
	let tailing: Promise<void> | undefined
	let again = false
	const catchUp = () => {
		if (tailing) return void (again = true)
		tailing = tail()
			.catch(() => {})
			.finally(() => {
				tailing = undefined
				if (again && !scope.signal.aborted) ((again = false), catchUp())
			})
	}
	live.on('logs', (e: { startSequence: number; endSequence: number; lines: LogLine[] | null }) => {
		if (e.endSequence <= last) return
		const f = filters()
		if (tailing || f.level || f.search || e.lines === null || e.startSequence > last + 1) return catchUp()
		const fresh = e.lines.filter((l) => l.sequenceNumber > last)
		const stick = atBottom()
		list.querySelector(':scope > li.empty')?.remove()
		list.append(...fresh.map(line))
		last = e.endSequence
		if (stick) viewport.scrollTop = viewport.scrollHeight
	})
	live.onReset(catchUp)

	const refilter = () => void reload().catch(() => {})
	search.addEventListener('input', debounce(refilter, 250))
	for (const { box } of levelBoxes) box.addEventListener('change', refilter)
	await reload()
	// lines written while the first page was read
	catchUp()
	return h('div', null, h('div', { class: 'filters' }, levelBoxes.map((l) => l.label), search, h('span', { class: 'downloads' }, 'Download ', downloads[0], ' · ', downloads[1])), viewport)
}
