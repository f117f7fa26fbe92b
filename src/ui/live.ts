// Server-sent events for a view: one EventSource (it reconnects by itself, sending Last-Event-ID,
// and the server replays what was missed), a small "live" marker while connected, and the
// handlers of the view. `reset` (the server no longer has the events after our last one) asks the
// view to re-read; `end` (deleted, or access lost) closes it for good. Closed with the view.
import { h } from './dom'
import type { Scope } from './router'

export type LiveHandler = (data: any) => void

export interface Live {
	/** The marker: "● live" while connected, "reconnecting…" while not. */
	marker: HTMLElement
	on(type: string, handler: LiveHandler): void
	/** Runs after a `reset`: what the view shows may have missed events, read it again. */
	onReset(handler: () => void): void
}

export function liveEvents(url: string, scope: Scope): Live {
	const marker = h('span', { class: 'live-marker', role: 'status', data: { testid: 'live', state: 'connecting' } }, '○ connecting')
	const handlers = new Map<string, LiveHandler[]>()
	const resets: (() => void)[] = []
	const set = (state: 'live' | 'reconnecting' | 'ended', text: string, title: string) => {
		marker.dataset.state = state
		marker.textContent = text
		marker.title = title
	}
	if (typeof EventSource === 'undefined') {
		set('ended', '', 'This browser cannot follow the server as it writes')
		return { marker, on() {}, onReset() {} }
	}
	const source = new EventSource(url, { withCredentials: true })
	const listen = (type: string) =>
		source.addEventListener(type, (event) => {
			const data = JSON.parse((event as MessageEvent<string>).data) as unknown
			for (const handler of handlers.get(type) ?? []) handler(data)
		})
	source.addEventListener('open', () => set('live', '● live', 'Changes appear as they are written'))
	source.addEventListener('error', () => {
		if (source.readyState === EventSource.CLOSED) set('ended', '○ offline', 'Not following changes: reload the page to try again')
		else set('reconnecting', '○ reconnecting…', 'The connection dropped; reconnecting, and nothing written meanwhile is missed')
	})
	source.addEventListener('reset', () => {
		for (const handler of resets) handler()
	})
	source.addEventListener('end', (event) => {
		source.close()
		const reason = (JSON.parse((event as MessageEvent<string>).data) as { reason?: string }).reason
		set('ended', reason === 'episode_deleted' ? '○ deleted' : '○ ended', reason === 'episode_deleted' ? 'This episode was deleted' : 'You can no longer read this; sign in again')
	})
	scope.onCleanup(() => source.close())
	return {
		marker,
		on(type, handler) {
			if (!handlers.has(type)) {
				handlers.set(type, [])
				listen(type)
			}
			handlers.get(type)!.push(handler)
		},
		onReset(handler) {
			resets.push(handler)
		},
	}
}
