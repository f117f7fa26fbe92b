// The frame around every view: the header (the namespace switcher, where you are, who you are,
// sign in or out) and the main area. It keeps who is signed in and the namespaces they may see.
import { api, ApiError, request, type Me, type Namespace } from './api'
import { h, replace, type Child } from './dom'
import { href, navigate } from './router'

let me: Me | null | undefined
let namespaces: Promise<Namespace[]> | undefined
/** The namespace the view shows, marked in the switcher. */
let here: string | null = null
const switcher = h('details', { class: 'switcher', hidden: true })
const crumbs = h('nav', { class: 'crumbs', aria: { label: 'Breadcrumbs' } })
const account = h('div', { class: 'account' })
export const main = h('main', { id: 'main' })

export function mountShell(root: HTMLElement): void {
	replace(root, h('header', { class: 'top' }, h('a', { class: 'brand', href: '/ui/' }, 'DreamLake'), switcher, crumbs, account), main)
	// a choice made, or a click elsewhere, closes the menu
	document.addEventListener('click', (event) => {
		if (!switcher.open) return
		const target = event.target as Element
		if (!switcher.contains(target) || target.closest('a')) switcher.open = false
	})
}

/** The signed-in person (null: signed out). Asked once per page load, then after each sign-in. */
export async function currentUser(): Promise<Me | null> {
	if (me !== undefined) return me
	// one question at a time: the views and the switcher ask together
	asking ??= api<Me>('/auth/me').then(
		(answer) => answer,
		(error: unknown) => {
			if (error instanceof ApiError && error.status === 401) return null
			throw error
		},
	)
	try {
		const answer = await asking
		if (me === undefined) me = answer
	} finally {
		asking = undefined
	}
	renderAccount()
	return me ?? null
}
let asking: Promise<Me | null> | undefined

/** Whether the page holds a session it believes in: a 401 then means the session was lost. */
export const signedIn = () => !!me

export function forgetUser(): void {
	me = undefined
	namespaces = undefined
	renderAccount()
}

/** Signed in, or sent to sign-in with the way back. */
export async function requireUser(): Promise<Me> {
	const user = await currentUser()
	if (user) return user
	throw new SignInNeeded()
}

export class SignInNeeded extends Error {}

export function goSignIn(): void {
	const back = location.pathname + location.search
	me = null
	namespaces = undefined
	renderAccount()
	navigate(signInHref(back), { replace: true })
}

/** The sign-in page, coming back to `back` afterwards. */
export const signInHref = (back: string) => `/ui/signin${back.startsWith('/ui/signin') || back === '/ui/' ? '' : `?next=${encodeURIComponent(back)}`}`

/**
 * The namespaces the caller may see, for the switcher and for their role in each: their own
 * first, then those they are in (with their role), then those they may only browse.
 */
export function listNamespaces(): Promise<Namespace[]> {
	namespaces ??= (async () => {
		await currentUser().catch(() => null)
		try {
			const { namespaces: list } = await api<{ namespaces: Namespace[] }>('/auth/namespaces')
			const mine = me?.namespace.slug
			const rank = (n: Namespace) => (n.slug === mine ? 0 : n.role ? 1 : 2)
			return list.sort((a, b) => rank(a) - rank(b) || a.slug.localeCompare(b.slug))
		} catch {
			namespaces = undefined // asked again on the next view
			return []
		}
	})()
	void namespaces.then(renderSwitcher)
	return namespaces
}

/** Asks the server again: after a team is made, an invitation accepted, a role changed, or a 403 says the page's idea of a role is old. */
export function refreshNamespaces(): Promise<Namespace[]> {
	namespaces = undefined
	return listNamespaces()
}

/** The caller's entry for a namespace (their role there; null role: a guest), asked again once when it is not in the list. */
export async function namespaceEntry(slug: string): Promise<Namespace | undefined> {
	const find = (list: Namespace[]) => list.find((n) => n.slug === slug.toLowerCase())
	return find(await listNamespaces()) ?? find(await refreshNamespaces())
}

/** Marks the namespace the view is in (null: none), in the switcher. */
export function setNamespace(slug: string | null): void {
	here = slug
	if (namespaces) void namespaces.then(renderSwitcher)
}

function renderSwitcher(list: Namespace[]): void {
	const mine = me?.namespace.slug
	const group = (label: string, items: Namespace[]): Child =>
		items.length
			? [
					h('h3', null, label),
					h(
						'ul',
						null,
						items.map((n) =>
							h(
								'li',
								null,
								h(
									'a',
									{ href: href('n', n.slug), aria: n.slug === here ? { current: 'page' } : undefined, data: { testid: 'namespace-choice', slug: n.slug } },
									h('span', { class: 'slug' }, n.slug),
									n.name ? h('span', { class: 'muted' }, n.name) : null,
									n.role && n.slug !== mine ? h('span', { class: 'tag' }, n.role) : null,
								),
							),
						),
					),
				]
			: null
	switcher.hidden = !me && list.length === 0
	replace(
		switcher,
		h('summary', { aria: { label: 'Switch namespace' } }, here ?? 'Namespaces'),
		h(
			'div',
			{ class: 'menu' },
			group('You', list.filter((n) => n.slug === mine)),
			group('Your teams', list.filter((n) => n.slug !== mine && n.role)),
			group(me ? 'Others you may browse' : 'Public', list.filter((n) => n.slug !== mine && !n.role)),
			me ? h('a', { class: 'new-team', href: '/ui/teams/new' }, '+ New team') : null,
		),
	)
}

/** The top bar's right side: who is signed in and Sign out, or a Sign in that comes back here. */
export function renderAccount(): void {
	if (me === undefined) return replace(account)
	if (me === null) {
		if (location.pathname.startsWith('/ui/signin')) return replace(account)
		const link = h('a', { class: 'button', href: '/ui/signin', data: { testid: 'sign-in' } }, 'Sign in')
		// the way back is where the person is when they click, not where they were when it was drawn
		link.addEventListener('click', () => link.setAttribute('href', signInHref(location.pathname + location.search)))
		return replace(account, link)
	}
	replace(
		account,
		h('span', { class: 'who', title: me.email ?? '' }, me.name || me.username || me.email || 'signed in'),
		me.sub?.startsWith('builtin|') ? h('a', { class: 'link', href: '/ui/password', data: { testid: 'change-password' } }, 'Password') : null,
		h(
			'button',
			{
				class: 'link',
				type: 'button',
				onclick: async () => {
					try {
						await request('/auth/logout', { method: 'POST' })
					} catch {
						// already signed out: the page still goes to sign-in
					}
					me = null
					namespaces = undefined
					renderAccount()
					navigate('/ui/signin', { replace: true })
				},
			},
			'Sign out',
		),
	)
}

export interface Crumb {
	label: string
	to?: string
}

export function setCrumbs(...items: Crumb[]): void {
	const parts: Child[] = []
	items.forEach((item, i) => {
		if (i > 0) parts.push(h('span', { class: 'sep', aria: { hidden: 'true' } }, '/'))
		parts.push(item.to ? h('a', { href: item.to }, item.label) : h('span', { aria: { current: 'page' } }, item.label))
	})
	replace(crumbs, parts)
	document.title = items.length ? `${items[items.length - 1]!.label} · DreamLake` : 'DreamLake'
}

export const namespaceCrumb = (ns: string): Crumb => ({ label: ns, to: href('n', ns) })
export const projectCrumb = (ns: string, slug: string): Crumb => ({ label: slug, to: href('n', ns, 'projects', slug) })
