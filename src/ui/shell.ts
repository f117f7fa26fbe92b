// The frame around every view: the header (where you are, who you are, sign out) and the main area.
import { api, ApiError, request, type Me } from './api'
import { h, replace, type Child } from './dom'
import { href, navigate } from './router'

let me: Me | null | undefined
const crumbs = h('nav', { class: 'crumbs', aria: { label: 'Breadcrumbs' } })
const account = h('div', { class: 'account' })
export const main = h('main', { id: 'main' })

export function mountShell(root: HTMLElement): void {
	replace(root, h('header', { class: 'top' }, h('a', { class: 'brand', href: '/ui/' }, 'DreamLake'), crumbs, account), main)
}

/** The signed-in person (null: signed out). Asked once per page load, then after each sign-in. */
export async function currentUser(): Promise<Me | null> {
	if (me !== undefined) return me
	try {
		me = await api<Me>('/auth/me')
	} catch (error) {
		if (error instanceof ApiError && error.status === 401) me = null
		else throw error
	}
	renderAccount()
	return me
}

export function forgetUser(): void {
	me = undefined
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
	renderAccount()
	navigate(`/ui/signin${back.startsWith('/ui/signin') ? '' : `?next=${encodeURIComponent(back)}`}`, { replace: true })
}

function renderAccount(): void {
	if (!me) return replace(account)
	replace(
		account,
		h('span', { class: 'who', title: me.email ?? '' }, me.name || me.username || me.email || 'signed in'),
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

export const projectCrumb = (slug: string): Crumb => ({ label: slug, to: href('projects', slug) })
