// History routing under /ui/: each view is a function of the path and query, rendered into the
// main element. A view gets a scope whose signal aborts, and whose cleanups run, when the person
// leaves it, so polling stops and charts are freed.
import type { Child } from './dom'

export interface Scope {
	signal: AbortSignal
	onCleanup(fn: () => void): void
	/** Changes the URL's query without a new render (filters, tabs within a view). */
	setQuery(params: URLSearchParams): void
}

export interface Route {
	params: string[]
	query: URLSearchParams
	scope: Scope
}

export type View = (route: Route) => Promise<Child> | Child

const BASE = '/ui'
const routes: { pattern: RegExp; view: View }[] = []

export function route(pattern: string, view: View): void {
	const source = pattern.replace(/:[a-z]+/g, '([^/]+)')
	routes.push({ pattern: new RegExp(`^${source}/?$`), view })
}

/** A link target inside the dashboard. */
export const href = (...segments: string[]) => `${BASE}/${segments.map(encodeURIComponent).join('/')}`

let current: { controller: AbortController; cleanups: (() => void)[] } | undefined
let render: (view: View, route: Omit<Route, 'scope'>) => void = () => {}

export function start(onRender: typeof render): void {
	render = onRender
	document.addEventListener('click', (event) => {
		if (event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return
		const anchor = (event.target as Element).closest?.('a')
		if (!anchor || anchor.hasAttribute('download') || anchor.target === '_blank') return
		const url = new URL(anchor.href, location.href)
		if (url.origin !== location.origin || !url.pathname.startsWith(`${BASE}/`)) return
		event.preventDefault()
		navigate(url.pathname + url.search)
	})
	addEventListener('popstate', () => dispatch())
	dispatch()
}

export function navigate(to: string, { replace = false } = {}): void {
	if (replace) history.replaceState(null, '', to)
	else history.pushState(null, '', to)
	dispatch()
	if (!replace) scrollTo(0, 0)
}

/** Tears the current view down (its polls, charts) and renders the one the URL names. */
export function dispatch(): void {
	if (current) {
		current.controller.abort()
		for (const fn of current.cleanups) fn()
	}
	const controller = new AbortController()
	const cleanups: (() => void)[] = []
	current = { controller, cleanups }
	const rest = location.pathname.startsWith(BASE) ? location.pathname.slice(BASE.length) || '/' : '/'
	const query = new URLSearchParams(location.search)
	for (const { pattern, view } of routes) {
		const match = pattern.exec(rest)
		if (!match) continue
		let params: string[]
		try {
			params = match.slice(1).map((p) => decodeURIComponent(p))
		} catch {
			break // a malformed %-escape names nothing: not found, never a blank page
		}
		render(view, { params, query })
		return
	}
	render(notFound, { params: [], query })
}

export const scopeOf = (): Scope => ({
	signal: current!.controller.signal,
	onCleanup: (fn) => current!.cleanups.push(fn),
	setQuery: (params) => {
		const search = params.toString()
		history.replaceState(null, '', location.pathname + (search ? `?${search}` : ''))
	},
})

let notFound: View = () => 'Not found'
export const setNotFound = (view: View) => (notFound = view)
