// Pieces several views share.
import { api, ApiError, atLeast, path, query as qs, ROLES, type MadeBy, type Namespace, type Role, type Series, type Status, type Track, type Visibility } from '../api'
import { h, type Child } from '../dom'
import { href } from '../router'
import type { ChartLook } from '../chart'
import { SMOOTHING_MAX, smoothingOf } from '../series-math'
import { refreshNamespaces } from '../shell'

export const statusBadge = (status: Status | 'stale') => h('span', { class: `status status-${status}`, ...(status === 'stale' && { title: 'Running, but nothing was written to it for a while: crashed, or waiting' }) }, status)

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

/** A failed write in the server's words (its sentence names the role when one is lacking); a 403 also means the page's idea of the caller's role may be old. */
export function failure(error: unknown): string {
	if (error instanceof ApiError && error.status === 403) void refreshNamespaces()
	return error instanceof ApiError ? error.message : 'Something went wrong.'
}

/** Puts a result (or, `error`, the failure) into a line the person reads, and a screen reader announces. */
export function say(el: HTMLElement, text: string, error = false): void {
	el.className = error ? 'error' : 'muted'
	el.setAttribute('role', error ? 'alert' : 'status')
	el.textContent = text
}

export const VISIBILITY_SAYS: Record<Visibility, string> = {
	private: 'Only the members of its namespace can see it.',
	internal: 'Anyone signed in to this server can read it.',
	public: 'Anyone can read it, signed in or not.',
}

export const visibilityBadge = (visibility: Visibility) => h('span', { class: `visibility visibility-${visibility}`, title: VISIBILITY_SAYS[visibility], data: { testid: 'visibility' } }, visibility)

/** Who made it: the person, and the key that acted for them. */
export const madeBy = (by: MadeBy | undefined): HTMLElement =>
	by ? h('span', { class: 'made-by' }, by.username ?? 'someone', by.key ? h('span', { class: 'muted' }, ` via key “${by.key.name ?? by.key.id}”`) : null) : h('span', { class: 'muted' }, '—')

const ROLE_SAYS: Record<Role, string> = {
	owner: 'You are an owner here: you read and write everything, set who is a member with which role (owners too), invite people, set projects\' visibility and make API keys.',
	admin: 'You are an admin here: you read and write everything, add and remove members and change their roles (not an owner\'s), invite people, set projects\' visibility and make API keys.',
	member: 'You are a member here: you read and write its projects and episodes and make API keys up to your role; owners and admins manage its members.',
	viewer: 'You are a viewer here: you read its projects and see its members; you cannot write, and owners and admins manage its members.',
}

/** What the caller's role lets them do, in a sentence; for a guest, what they see. */
export const roleSays = (role: Role | null, signedIn: boolean) =>
	role ? ROLE_SAYS[role] : signedIn ? 'You are not a member here: you read its internal and public projects, and cannot write.' : 'You are not signed in: you read its public projects, and cannot write. Sign in to see more.'

/** A namespace page's head: its name, what it is, the caller's role, and its pages (members and keys are for those in it). */
export function namespaceHead(ns: string, entry: Namespace | undefined, active: 'projects' | 'members' | 'keys'): Child {
	const role = entry?.role ?? null
	const tab = (key: typeof active, label: string, to: string) => h('a', { href: to, class: key === active ? 'active' : undefined, aria: key === active ? { current: 'page' } : undefined }, label)
	return [
		h(
			'div',
			{ class: 'toolbar' },
			h('h1', null, entry?.name || ns),
			entry?.name ? h('span', { class: 'muted' }, ns) : null,
			entry ? h('span', { class: 'tag' }, entry.kind === 'team' ? 'team' : 'personal') : null,
			h('span', { class: 'tag', data: { testid: 'my-role' } }, role ?? 'guest'),
		),
		role ? h('nav', { class: 'tabs', aria: { label: 'Namespace' } }, tab('projects', 'Projects', href('n', ns)), tab('members', 'Members', href('n', ns, 'members')), tab('keys', 'API keys', href('n', ns, 'keys'))) : null,
	]
}

/** A button that copies `text()` to the clipboard, and says whether it did. */
export function copyButton(text: () => string, label = 'Copy'): HTMLButtonElement {
	const button = h('button', { type: 'button' }, label)
	button.addEventListener('click', async () => {
		try {
			await navigator.clipboard.writeText(text())
			button.textContent = 'Copied'
		} catch {
			button.textContent = 'Select it and copy by hand'
		}
		setTimeout(() => (button.textContent = label), 2500)
	})
	return button
}

/** A field that shows a value to copy (a link, a secret): read-only, selected whole on focus. */
export function copyField(value: string, testid: string): Child {
	const field = h('input', { type: 'text', value, readonly: true, spellcheck: 'false', class: 'copy-field', aria: { label: 'Copy this' }, data: { testid } })
	field.addEventListener('focus', () => field.select())
	return h('div', { class: 'copy' }, field, copyButton(() => value))
}

/** A button that asks once more ("Remove bob?") before it acts. */
export function confirmButton(label: string, again: string, act: () => Promise<unknown>): HTMLButtonElement {
	const button = h('button', { type: 'button', class: 'danger' }, label)
	let armed = false
	button.addEventListener('click', async () => {
		if (!armed) {
			armed = true
			button.textContent = again
			return
		}
		button.disabled = true
		try {
			await act()
		} finally {
			armed = false
			button.disabled = false
			button.textContent = label
		}
	})
	return button
}

/** The select of roles up to `up` (an admin gives any role but owner). */
export const roleSelect = (label: string, up: Role, selected: Role) =>
	h('select', { aria: { label } }, ROLES.filter((r) => atLeast(up, r)).map((r) => h('option', { value: r, selected: r === selected }, r)))

/** A chart look as a URL keeps it: `smooth=<weight>` (0 left out), `log=1`. */
export const lookOf = (query: URLSearchParams): ChartLook => ({ smoothing: smoothingOf(query.get('smooth')), log: query.get('log') === '1' })
export function setLook(params: URLSearchParams, look: ChartLook): void {
	if (look.smoothing > 0) params.set('smooth', String(look.smoothing))
	if (look.log) params.set('log', '1')
}

/** Every chart's controls: a smoothing slider (its weight said beside it as it moves; `changed` once let go) and a log-scale box. */
export function lookControls(look: ChartLook, changed: (look: ChartLook) => void): HTMLElement[] {
	const says = (weight: number) => (weight > 0 ? `smoothing ${weight.toFixed(2)}` : 'no smoothing')
	const weight = () => smoothingOf(slider.value)
	const slider = h('input', { type: 'range', min: 0, max: SMOOTHING_MAX, step: 0.01, value: String(look.smoothing), aria: { label: 'Smoothing' }, data: { testid: 'smoothing' } })
	const output = h('output', { class: 'muted' }, says(look.smoothing))
	const log = h('input', { type: 'checkbox', checked: look.log, data: { testid: 'log-scale' } })
	slider.addEventListener('input', () => (output.textContent = says(weight())))
	slider.addEventListener('change', () => changed({ smoothing: weight(), log: log.checked }))
	log.addEventListener('change', () => changed({ smoothing: weight(), log: log.checked }))
	return [h('label', { class: 'check-label' }, 'Smoothing ', slider, ' ', output), h('label', { class: 'check-label' }, log, ' Log scale')]
}
