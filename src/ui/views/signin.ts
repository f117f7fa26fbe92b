// Sign-in, as the server's IDENTITY says: vuer-auth's device flow, which the server runs on the
// page's behalf (the page shows the code and the link, polls, and once the person approves it holds a
// session cookie); the OpenID provider's own sign-in page (oidc); or a username and password (builtin).
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
	const method = await api<{ identity: 'vuer-auth' | 'oidc' | 'builtin'; provider: string | null }>('/auth/identity', { signal: scope.signal }).catch(() => ({ identity: 'vuer-auth' as const, provider: null }))
	const card = (...body: Parameters<typeof h>[2][]) => h('section', { class: 'signin card' }, h('h1', null, 'Sign in to DreamLake'), ...body)
	if (method.identity === 'oidc') {
		// the provider's page, and back through /idp/callback, which sets the session cookie and returns here
		return card(h('p', null, `DreamLake signs you in with ${method.provider}.`), h('a', { class: 'button primary', href: `/auth/oidc/start?next=${encodeURIComponent(next)}`, data: { testid: 'oidc-sign-in' } }, `Sign in with ${method.provider}`))
	}
	if (method.identity === 'builtin') return card(passwordForm(next, scope.signal))
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
	return card(panel)
}

/** IDENTITY=builtin: the account's username and password, checked by the server (same answer for an unknown username). */
function passwordForm(next: string, signal: AbortSignal) {
	const username = h('input', { id: 'signin-username', name: 'username', type: 'text', autocomplete: 'username', required: true, autofocus: true })
	const password = h('input', { id: 'signin-password', name: 'password', type: 'password', autocomplete: 'current-password', required: true })
	const status = h('div', { role: 'status' })
	const submit = h('button', { type: 'submit', class: 'primary' }, 'Sign in')
	return h(
		'form',
		{
			class: 'signin-form',
			onsubmit: async (event: Event) => {
				event.preventDefault()
				submit.disabled = true
				replace(status)
				try {
					await api('/auth/password/sign-in', { method: 'POST', body: { username: username.value.trim(), password: password.value }, signal })
					forgetUser()
					await currentUser()
					navigate(next, { replace: true })
				} catch (error) {
					if (signal.aborted) return
					password.value = ''
					replace(status, h('p', { class: 'error', role: 'alert' }, error instanceof ApiError ? error.message : 'Signing in failed.'))
				} finally {
					submit.disabled = false
				}
			},
		},
		h('label', { for: 'signin-username' }, 'Username'),
		username,
		h('label', { for: 'signin-password' }, 'Password'),
		password,
		status,
		h('p', null, submit),
		h('p', { class: 'muted' }, 'No account yet? The server\'s administrator makes one (dreamlake-server user add) and sends you a link to set your password.'),
	)
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
