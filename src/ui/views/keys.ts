// A namespace's API keys, for CI and robots: owners and admins see every one, anyone else their own.
// A new key's secret is shown once, here, with a way to copy it; a key is revoked at once.
import { api, atLeast, path, type ApiKey, type Page, type Role } from '../api'
import { h, replace } from '../dom'
import { ago, exactTime } from '../format'
import type { Route } from '../router'
import { namespaceCrumb, namespaceEntry, requireUser, setCrumbs, setNamespace } from '../shell'
import { confirmButton, copyField, failure, namespaceHead, roleSelect, say } from './common'

const EXPIRIES: [string, string][] = [
	['30d', '30 days'],
	['90d', '90 days'],
	['365d', 'a year'],
	['', 'never'],
]

export async function keysView({ params, scope }: Route) {
	const ns = params[0]!.toLowerCase()
	const me = await requireUser()
	const entry = await namespaceEntry(ns)
	setNamespace(ns)
	setCrumbs(namespaceCrumb(ns), { label: 'API keys' })
	const role = entry?.role ?? null
	const head = namespaceHead(ns, entry, 'keys')
	if (!role) return h('section', null, head, h('p', { class: 'empty' }, 'Only the members of a namespace make API keys for it.'))
	const manage = atLeast(role, 'admin')
	const keysPath = path('namespaces', ns, 'api-keys')
	const table = h('table', { class: 'keys' })
	const outcome = h('p', { class: 'muted' })
	const fresh = h('div', { role: 'status' })

	const load = async () => {
		const { apiKeys } = await api<Page & { apiKeys: ApiKey[] }>(keysPath, { signal: scope.signal })
		const now = Date.now()
		replace(
			table,
			h('thead', null, h('tr', null, ['Name', 'Role', 'Hint', 'Created by', 'Created', 'Last used', 'Expires', 'State'].map((label) => h('th', null, label)), h('th', null, h('span', { class: 'visually-hidden' }, 'Actions')))),
			h(
				'tbody',
				null,
				apiKeys.length
					? apiKeys.map((key) => {
							const expired = key.expiresAt !== null && Date.parse(key.expiresAt) <= now
							const when = (iso: string | null, none: string) => (iso ? h('time', { title: exactTime(iso) }, ago(iso)) : h('span', { class: 'muted' }, none))
							const mayRevoke = !key.revokedAt && (manage || key.createdBy === me.username)
							return h(
								'tr',
								{ data: { testid: 'key-row', name: key.name }, class: key.revokedAt || expired ? 'gone' : undefined },
								h('td', null, key.name),
								h('td', null, h('span', { class: 'tag' }, key.role)),
								h('td', null, h('code', null, `${key.hint}…`)),
								h('td', null, key.createdBy ?? '—'),
								h('td', null, when(key.createdAt, '')),
								h('td', null, when(key.lastUsedAt, 'never')),
								h('td', null, when(key.expiresAt, 'never')),
								h('td', { data: { testid: 'key-state' } }, key.revokedAt ? h('span', { title: exactTime(key.revokedAt) }, `revoked ${ago(key.revokedAt)}`) : expired ? 'expired' : 'active'),
								h(
									'td',
									{ class: 'actions' },
									mayRevoke
										? confirmButton('Revoke', `Revoke “${key.name}”?`, async () => {
												try {
													await api(path('namespaces', ns, 'api-keys', key.id), { method: 'DELETE' })
													say(outcome, `“${key.name}” was revoked: the next request with it is refused.`)
													await load()
												} catch (error) {
													say(outcome, failure(error), true)
												}
											})
										: null,
								),
							)
						})
					: h('tr', null, h('td', { colspan: 9, class: 'empty' }, manage ? 'No API keys here yet.' : 'You have made no API key here yet.')),
			),
		)
	}

	const name = h('input', { type: 'text', placeholder: 'github actions', required: true, maxlength: 100, autocomplete: 'off', aria: { label: 'Key name' } })
	const chosen = roleSelect('Key role', role, atLeast(role, 'member') ? 'member' : role)
	const expires = h('select', { aria: { label: 'Key expires in' } }, EXPIRIES.map(([value, label]) => h('option', { value, selected: value === '90d' }, label)))
	const create = h(
		'form',
		{
			class: 'card',
			onsubmit: async (event) => {
				event.preventDefault()
				try {
					const made = await api<ApiKey & { secret: string }>(keysPath, { method: 'POST', body: { name: name.value.trim(), role: chosen.value as Role, expiresIn: expires.value || null } })
					name.value = ''
					replace(
						fresh,
						h(
							'div',
							{ class: 'card secret', data: { testid: 'new-key' } },
							h('h2', null, `“${made.name}” is ready`),
							h('p', null, h('strong', null, 'Copy its secret now: it will not be shown again.'), ' Only its fingerprint is kept; lose it and you make another key.'),
							copyField(made.secret, 'key-secret'),
							h('p', { class: 'muted' }, `Use it where the SDK takes a token (DREAMLAKE_API_KEY, or Authorization: Bearer). It acts in ${ns} only, as ${made.role}${made.expiresAt ? `, until ${exactTime(made.expiresAt)}` : ''}.`),
						),
					)
					await load()
				} catch (error) {
					replace(fresh, h('p', { class: 'error', role: 'alert' }, failure(error)))
				}
			},
		},
		h('h2', null, 'New key'),
		h('p', { class: 'muted' }, `For CI and robots: it acts in ${ns} only, with a role up to yours (${role}).`),
		h('div', { class: 'filters' }, name, chosen, h('label', { class: 'check-label' }, 'expires in ', expires), h('button', { type: 'submit', class: 'primary' }, 'Create key')),
	)

	await load()
	return h(
		'section',
		null,
		head,
		h('p', { class: 'muted' }, manage ? 'Every key of this namespace, whoever made it; the secrets are never shown again after they are made.' : 'The keys you made here (owners and admins see all of them); the secrets are never shown again after they are made.'),
		fresh,
		create,
		h('div', { class: 'table-wrap' }, table),
		outcome,
	)
}
