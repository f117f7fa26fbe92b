// An invitation link (/ui/invitations/<token>): what it invites to, read with no sign-in (the link
// is the secret); signed out, a sign-in that comes back here; signed in, Accept, then the namespace.
import { api, ApiError, path, type Role } from '../api'
import { h, replace } from '../dom'
import { ago, exactTime } from '../format'
import { href, navigate, type Route } from '../router'
import { currentUser, forgetUser, refreshNamespaces, setCrumbs, signInHref } from '../shell'
import { failure } from './common'

interface Preview {
	namespace: { slug: string; name: string | null; kind: 'personal' | 'team' }
	role: Role
	expiresAt: string
}

const CAN: Record<Role, string> = {
	owner: 'read, write and manage everything there, members and owners included',
	admin: 'read and write everything there, and manage its members',
	member: 'read and write its projects and episodes',
	viewer: 'read its projects and episodes',
}

export async function invitationView({ params, scope }: Route) {
	const token = params[0]!
	setCrumbs({ label: 'Invitation' })
	const [answer, me] = await Promise.all([api<Preview>(path('invitations', token), { signal: scope.signal }).catch((error: unknown) => error), currentUser()])
	if (answer instanceof ApiError && (answer.status === 404 || answer.status === 410)) {
		const says = answer.status === 404 ? 'This invitation link does not work: it was revoked, or it is not whole (check that you copied all of it).' : answer.message
		return h('section', { class: 'card narrow', role: 'alert' }, h('h1', null, 'Invitation not valid'), h('p', null, says), h('p', { class: 'muted' }, 'Ask whoever sent it for a new link.'))
	}
	if (answer instanceof Error) throw answer
	const invite = answer as Preview
	const { namespace } = invite
	const title = namespace.name || namespace.slug
	const panel = h('div')
	if (!me) {
		replace(
			panel,
			h('p', null, 'Sign in first; you come back to this page to accept.'),
			h('p', null, h('a', { class: 'button primary', href: signInHref(location.pathname) }, 'Sign in to accept')),
		)
		// accounts of the server's own: the link also lets a new person make one
		const method = await api<{ identity: string }>('/auth/identity', { signal: scope.signal }).catch(() => ({ identity: 'vuer-auth' }))
		if (method.identity === 'builtin') panel.append(signUpForm(token, scope.signal))
	} else {
		const accept = h('button', { type: 'button', class: 'primary', autofocus: true }, 'Accept')
		const outcome = h('p', { class: 'muted' }, `You are signed in as ${me.username ?? me.name ?? me.email ?? 'yourself'}.`)
		accept.addEventListener('click', async () => {
			accept.disabled = true
			try {
				const joined = await api<{ namespace: { slug: string }; role: Role; joined: boolean }>(`${path('invitations', token)}/accept`, { method: 'POST' })
				await refreshNamespaces()
				// replace: the way back is not the link, which may be used up
				navigate(href('n', joined.namespace.slug), { replace: true })
			} catch (error) {
				accept.disabled = false
				outcome.className = 'error'
				outcome.setAttribute('role', 'alert')
				outcome.textContent = failure(error)
			}
		})
		replace(panel, h('p', null, accept), outcome)
	}
	return h(
		'section',
		{ class: 'card narrow', data: { testid: 'invitation' } },
		h('h1', null, `Join ${title}`),
		h(
			'p',
			null,
			'You are invited to ',
			namespace.kind === 'team' ? 'the team ' : 'the personal namespace ',
			h('strong', null, namespace.slug),
			namespace.name ? ` (${namespace.name})` : '',
			' as ',
			h('strong', { data: { testid: 'invited-role' } }, invite.role),
			`: you will ${CAN[invite.role]}.`,
		),
		h('p', { class: 'muted' }, 'The link expires ', h('time', { title: exactTime(invite.expiresAt) }, ago(invite.expiresAt)), '.'),
		panel,
	)
}

/** IDENTITY=builtin, signed out: a new person chooses a username and password, and joins with the invitation. */
function signUpForm(token: string, signal: AbortSignal) {
	const username = h('input', { id: 'signup-username', name: 'username', type: 'text', autocomplete: 'username', required: true })
	const password = h('input', { id: 'signup-password', name: 'password', type: 'password', autocomplete: 'new-password', required: true })
	const again = h('input', { id: 'signup-confirm', name: 'confirm', type: 'password', autocomplete: 'new-password', required: true })
	const status = h('div', { role: 'status' })
	return h(
		'form',
		{
			class: 'signin-form',
			data: { testid: 'sign-up' },
			onsubmit: async (event: Event) => {
				event.preventDefault()
				if (password.value !== again.value) return replace(status, h('p', { class: 'error', role: 'alert' }, 'The two passwords differ.'))
				try {
					const joined = await api<{ namespace: { slug: string } }>(`${path('invitations', token)}/sign-up`, { method: 'POST', body: { username: username.value.trim(), password: password.value }, signal })
					forgetUser()
					await currentUser()
					await refreshNamespaces()
					navigate(href('n', joined.namespace.slug), { replace: true })
				} catch (error) {
					if (signal.aborted) return
					replace(status, h('p', { class: 'error', role: 'alert' }, failure(error)))
				}
			},
		},
		h('h2', null, 'New here? Make an account'),
		h('label', { for: 'signup-username' }, 'Username'),
		username,
		h('label', { for: 'signup-password' }, 'Password (at least 8 characters)'),
		password,
		h('label', { for: 'signup-confirm' }, 'The password again'),
		again,
		status,
		h('p', null, h('button', { type: 'submit', class: 'primary' }, 'Make the account and join')),
	)
}
