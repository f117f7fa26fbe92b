// A built-in account's password, changed by its person (IDENTITY=builtin): the current one, checked
// by the server as a sign-in is, and the new one twice.
import { api, ApiError } from '../api'
import { h, replace } from '../dom'
import type { Route } from '../router'
import { currentUser, goSignIn, setCrumbs } from '../shell'

export async function passwordView({ scope }: Route) {
	setCrumbs({ label: 'Change password' })
	if (!(await currentUser())) {
		goSignIn()
		return null
	}
	const field = (id: string, label: string, autocomplete: string) => [h('label', { for: id }, label), h('input', { id, name: id, type: 'password', autocomplete, required: true })] as const
	const [currentLabel, current] = field('current-password', 'Current password', 'current-password')
	const [nextLabel, next] = field('new-password', 'New password (at least 8 characters)', 'new-password')
	const [againLabel, again] = field('confirm-password', 'The new password again', 'new-password')
	const status = h('div', { role: 'status' })
	const form = h(
		'form',
		{
			class: 'signin-form',
			onsubmit: async (event: Event) => {
				event.preventDefault()
				if (next.value !== again.value) return replace(status, h('p', { class: 'error', role: 'alert' }, 'The two new passwords differ.'))
				try {
					await api('/auth/password', { method: 'POST', body: { currentPassword: current.value, newPassword: next.value }, signal: scope.signal })
					form.reset()
					replace(status, h('p', { class: 'ok' }, 'Your password is changed.'))
				} catch (error) {
					if (scope.signal.aborted) return
					replace(status, h('p', { class: 'error', role: 'alert' }, error instanceof ApiError ? error.message : 'The password could not be changed.'))
				}
			},
		},
		currentLabel,
		current,
		nextLabel,
		next,
		againLabel,
		again,
		status,
		h('p', null, h('button', { type: 'submit', class: 'primary' }, 'Change password')),
	)
	return h('section', { class: 'signin card' }, h('h1', null, 'Change your password'), form)
}
