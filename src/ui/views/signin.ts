// Sign-in: vuer-auth's device flow, which the server runs on the page's behalf. The page shows the
// code and the link, polls, and once the person approves it holds a session cookie.
import { api, ApiError, type Me } from '../api'
import { h, replace } from '../dom'
import { navigate, type Route } from '../router'
import { currentUser, forgetUser, setCrumbs } from '../shell'

interface Started {
	userCode: string
	verificationUri: string
	verificationUriComplete: string
	expiresIn: number
	interval: number
}

export async function signInView({ query, scope }: Route) {
	setCrumbs({ label: 'Sign in' })
	const next = safeNext(query.get('next'))
	if (await currentUser()) {
		navigate(next, { replace: true })
		return null
	}
	const panel = h('div', { class: 'signin-body' })
	const begin = () => {
		replace(panel, h('p', null, 'DreamLake signs you in with vuer-auth. You will get a code to confirm on its page.'), h('button', { type: 'button', class: 'primary', autofocus: true, onclick: () => void run() }, 'Sign in with vuer-auth'))
	}
	const failed = (message: string) => {
		replace(panel, h('p', { class: 'error', role: 'alert' }, message), h('button', { type: 'button', class: 'primary', onclick: () => void run() }, 'Start again'))
	}
	const run = async () => {
		replace(panel, h('p', { class: 'loading' }, 'Asking vuer-auth for a code…'))
		let flow: Started
		try {
			flow = await api<Started>('/auth/device/start', { method: 'POST', signal: scope.signal })
		} catch (error) {
			if (scope.signal.aborted) return
			failed(error instanceof ApiError ? error.message : 'Could not start signing in.')
			if (error instanceof ApiError && error.code === 'identity_provider_unavailable') {
				panel.append(h('p', { class: 'muted' }, 'Offline, or trying DreamLake on a laptop? Start the server with --dev: it runs a local stand-in for vuer-auth (never in production).'))
			}
			return
		}
		const expires = Date.now() + flow.expiresIn * 1000
		replace(
			panel,
			h('p', null, 'Open the vuer-auth page and confirm this code:'),
			h('p', { class: 'code', data: { testid: 'user-code' } }, flow.userCode),
			h('p', null, h('a', { class: 'button primary', href: flow.verificationUriComplete, target: '_blank', rel: 'noopener noreferrer' }, 'Open vuer-auth ↗')),
			h('p', { class: 'muted' }, 'Or go to ', h('a', { href: flow.verificationUri, target: '_blank', rel: 'noopener noreferrer' }, flow.verificationUri), ' and type the code.'),
			h('p', { class: 'muted waiting', role: 'status' }, 'Waiting for you to confirm…'),
		)
		let interval = flow.interval
		while (!scope.signal.aborted) {
			await sleep(interval * 1000, scope.signal)
			if (scope.signal.aborted) return
			if (Date.now() > expires) return failed('The code expired before it was confirmed.')
			try {
				const answer = await api<{ status: 'pending' | 'signed_in'; interval?: number; user?: Me }>('/auth/device/poll', { method: 'POST', signal: scope.signal })
				if (answer.status === 'signed_in') {
					forgetUser()
					await currentUser()
					navigate(next, { replace: true })
					return
				}
				interval = answer.interval ?? interval
			} catch (error) {
				if (scope.signal.aborted) return
				if (error instanceof ApiError && error.status === 403) return failed('The sign-in was denied.')
				if (error instanceof ApiError && (error.status === 410 || error.status === 404)) return failed('The code expired or was used; start again for a new one.')
				if (error instanceof ApiError && error.status >= 500) {
					interval = Math.max(interval, 5) // the provider hiccuped: keep waiting
					continue
				}
				return failed(error instanceof ApiError ? error.message : 'Signing in failed.')
			}
		}
	}
	begin()
	return h('section', { class: 'signin card' }, h('h1', null, 'Sign in to DreamLake'), panel)
}

/** Only a path inside the dashboard: never another site. */
function safeNext(next: string | null): string {
	return next && next.startsWith('/ui/') && !next.startsWith('//') && !next.startsWith('/ui/signin') ? next : '/ui/'
}

const sleep = (ms: number, signal: AbortSignal) =>
	new Promise<void>((resolve) => {
		const timer = setTimeout(resolve, ms)
		signal.addEventListener('abort', () => {
			clearTimeout(timer)
			resolve()
		})
	})
