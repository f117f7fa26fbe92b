// A namespace's members and their roles, which everyone in it sees; owners and admins change roles,
// remove people, add them by username and make invitation links. Also the form that makes a team.
import { api, atLeast, path, type Invitation, type Member, type Namespace, type Page, type Role } from '../api'
import { h, replace } from '../dom'
import { ago, exactTime, plural } from '../format'
import { href, navigate, type Route } from '../router'
import { namespaceCrumb, namespaceEntry, refreshNamespaces, requireUser, setCrumbs, setNamespace } from '../shell'
import { confirmButton, copyField, failure, namespaceHead, roleSays, roleSelect, say } from './common'

const EXPIRIES: [string, string][] = [
	['1d', 'a day'],
	['7d', 'a week'],
	['30d', '30 days'],
	['90d', '90 days'],
]

export async function membersView({ params, scope }: Route) {
	const ns = params[0]!.toLowerCase()
	const me = await requireUser()
	const entry = await namespaceEntry(ns)
	setNamespace(ns)
	setCrumbs(namespaceCrumb(ns), { label: 'Members' })
	const role = entry?.role ?? null
	const head = namespaceHead(ns, entry, 'members')
	if (!role) return h('section', null, head, h('p', { class: 'empty' }, 'Only the members of a namespace see who is in it.'))
	const manage = atLeast(role, 'admin')
	const personal = entry!.kind === 'personal'
	const outcome = h('p', { class: 'muted' })
	const table = h('table', { class: 'members' })
	const invitations = h('div')

	const act = async (write: () => Promise<unknown>, done: string, { mine = false } = {}) => {
		try {
			await write()
			say(outcome, done)
			if (mine) await refreshNamespaces()
			await load()
			return true
		} catch (error) {
			say(outcome, failure(error), true)
			return false
		}
	}
	const leave = async (username: string) => {
		try {
			await api(memberPath(username), { method: 'DELETE' })
			await refreshNamespaces()
			navigate('/ui/')
		} catch (error) {
			say(outcome, failure(error), true)
		}
	}
	const memberPath = (username: string) => path('namespaces', ns, 'members', username)

	const row = (member: Member) => {
		const username = member.username ?? ''
		const self = username === me.username
		// an admin neither gives nor takes owner: only owners do
		const mayChange = manage && (role === 'owner' || member.role !== 'owner')
		let roleCell: Node = h('span', { class: 'tag' }, member.role)
		if (mayChange && username) {
			const select = roleSelect(`Role of ${username}`, role === 'owner' && !personal ? 'owner' : 'admin', member.role)
			select.addEventListener('change', () => void act(() => api(memberPath(username), { method: 'PATCH', body: { role: select.value as Role } }), `${username} is now ${select.value}.`, { mine: self }))
			roleCell = select
		}
		const actions = h('td', { class: 'actions' })
		if (username && self) actions.append(confirmButton('Leave', `Leave ${ns}?`, () => leave(username)))
		else if (username && mayChange) actions.append(confirmButton('Remove', `Remove ${username}?`, () => act(() => api(memberPath(username), { method: 'DELETE' }), `${username} was removed.`)))
		return h(
			'tr',
			{ data: { testid: 'member-row', username } },
			h('td', null, h('strong', null, username || '(no username)'), member.name && member.name !== username ? h('span', { class: 'muted' }, ` ${member.name}`) : null, self ? h('span', { class: 'muted' }, ' (you)') : null),
			h('td', null, roleCell),
			h('td', null, h('time', { title: exactTime(member.addedAt) }, ago(member.addedAt)), member.addedBy ? h('span', { class: 'muted' }, ` by ${member.addedBy}`) : null),
			actions,
		)
	}

	const load = async () => {
		const [{ members, total }, invited] = await Promise.all([
			api<Page & { members: Member[] }>(path('namespaces', ns, 'members'), { signal: scope.signal }),
			manage ? api<Page & { invitations: Invitation[] }>(path('namespaces', ns, 'invitations'), { signal: scope.signal }).then((r) => r.invitations) : Promise.resolve([]),
		])
		replace(
			table,
			h('thead', null, h('tr', null, h('th', null, 'Person'), h('th', null, 'Role'), h('th', null, 'Added'), h('th', null, h('span', { class: 'visually-hidden' }, 'Actions')))),
			h(
				'tbody',
				null,
				// a personal namespace's person owns it and is no member row
				personal ? h('tr', { data: { testid: 'member-row', username: ns } }, h('td', null, h('strong', null, ns), h('span', { class: 'muted' }, ns === me.username ? ' (you; your personal namespace)' : ' (their personal namespace)')), h('td', null, h('span', { class: 'tag' }, 'owner')), h('td', null), h('td', null)) : null,
				members.map(row),
				!personal && total === 0 ? h('tr', null, h('td', { colspan: 4, class: 'empty' }, 'No members.')) : null,
			),
		)
		replace(invitations, manage && invited.length ? invitationList(ns, invited, act) : null)
	}
	await load()

	return h(
		'section',
		null,
		head,
		h('p', { class: 'muted', data: { testid: 'role-says' } }, roleSays(role, true)),
		h('div', { class: 'toolbar' }, h('h2', null, personal ? 'Shared with' : 'Members')),
		h('div', { class: 'table-wrap' }, table),
		outcome,
		manage ? h('div', { class: 'forms' }, addForm(ns, role, personal, act), inviteForm(ns, role, personal, load)) : null,
		invitations,
	)
}

type Act = (write: () => Promise<unknown>, done: string) => Promise<boolean>

function addForm(ns: string, role: Role, personal: boolean, act: Act) {
	const username = h('input', { type: 'text', placeholder: 'username', required: true, autocomplete: 'off', aria: { label: 'Username' } })
	const chosen = roleSelect('Role', role === 'owner' && !personal ? 'owner' : 'admin', 'member')
	return h(
		'form',
		{
			class: 'card',
			onsubmit: (event) => {
				event.preventDefault()
				const name = username.value.trim()
				void act(() => api(path('namespaces', ns, 'members'), { method: 'POST', body: { username: name, role: chosen.value } }), `${name} was added as ${chosen.value}.`).then((ok) => ok && (username.value = ''))
			},
		},
		h('h2', null, 'Add a person'),
		h('p', { class: 'muted' }, 'By their username; they must have signed in to this server once.'),
		h('div', { class: 'filters' }, username, chosen, h('button', { type: 'submit', class: 'primary' }, 'Add')),
	)
}

function inviteForm(ns: string, role: Role, personal: boolean, reload: () => Promise<void>) {
	const chosen = roleSelect('Invitation role', role === 'owner' && !personal ? 'owner' : 'admin', 'member')
	const uses = h('input', { type: 'number', min: 1, max: 1000, value: '1', aria: { label: 'Uses' } })
	const expires = h('select', { aria: { label: 'Expires in' } }, EXPIRIES.map(([value, label]) => h('option', { value, selected: value === '7d' }, label)))
	const result = h('div', { role: 'status' })
	return h(
		'form',
		{
			class: 'card',
			onsubmit: async (event) => {
				event.preventDefault()
				try {
					const made = await api<Invitation & { url: string }>(path('namespaces', ns, 'invitations'), { method: 'POST', body: { role: chosen.value, maxUses: Number(uses.value), expiresIn: expires.value } })
					replace(
						result,
						h('p', null, `A link for ${plural(made.maxUses, 'person', 'people')} to join as ${made.role}, until ${exactTime(made.expiresAt)}. Send it to them; it is shown only now.`),
						copyField(made.url, 'invitation-url'),
					)
					await reload()
				} catch (error) {
					replace(result, h('p', { class: 'error', role: 'alert' }, failure(error)))
				}
			},
		},
		h('h2', null, 'Invite with a link'),
		h('p', { class: 'muted' }, 'Whoever opens the link, signed in, joins with its role.'),
		h('div', { class: 'filters' }, h('label', { class: 'check-label' }, 'as ', chosen), h('label', { class: 'check-label' }, 'for ', uses, ' uses'), h('label', { class: 'check-label' }, 'expires in ', expires), h('button', { type: 'submit', class: 'primary' }, 'Create invitation link')),
		result,
	)
}

function invitationList(ns: string, invitations: Invitation[], act: Act) {
	const now = Date.now()
	const state = (i: Invitation) => (i.revokedAt ? 'revoked' : Date.parse(i.expiresAt) <= now ? 'expired' : i.uses >= i.maxUses ? 'used up' : 'open')
	return h(
		'div',
		{ class: 'card' },
		h('h2', null, 'Invitation links'),
		h(
			'div',
			{ class: 'table-wrap' },
			h(
				'table',
				null,
				h('thead', null, h('tr', null, h('th', null, 'Role'), h('th', null, 'Used'), h('th', null, 'Expires'), h('th', null, 'State'), h('th', null, h('span', { class: 'visually-hidden' }, 'Actions')))),
				h(
					'tbody',
					null,
					invitations.map((i) =>
						h(
							'tr',
							{ data: { testid: 'invitation-row' } },
							h('td', null, i.role),
							h('td', { class: 'num' }, `${i.uses} of ${i.maxUses}`),
							h('td', null, h('time', { title: exactTime(i.expiresAt) }, ago(i.expiresAt))),
							h('td', null, state(i)),
							h('td', { class: 'actions' }, state(i) === 'open' ? confirmButton('Revoke', 'Revoke this link?', () => act(() => api(path('namespaces', ns, 'invitations', i.id), { method: 'DELETE' }), 'The link was revoked: it no longer works.')) : null),
						),
					),
				),
			),
		),
	)
}

/** /ui/teams/new: a team, with you as its owner. */
export async function newTeamView(_: Route) {
	await requireUser()
	setCrumbs({ label: 'New team' })
	const slug = h('input', { type: 'text', placeholder: 'lab', required: true, maxlength: 39, autocomplete: 'off', spellcheck: 'false', aria: { label: 'Team slug' } })
	const name = h('input', { type: 'text', placeholder: 'The Lab', maxlength: 100, aria: { label: 'Team name' } })
	const outcome = h('p', { class: 'muted' }, 'The slug is its address (/namespaces/<slug>): a-z, 0-9, "_" and "-", up to 39, unique among people and teams.')
	return h(
		'section',
		{ class: 'card narrow' },
		h('h1', null, 'New team'),
		h(
			'form',
			{
				onsubmit: async (event) => {
					event.preventDefault()
					try {
						const team = await api<Namespace>('/namespaces', { method: 'POST', body: { slug: slug.value.trim(), ...(name.value.trim() && { name: name.value.trim() }) } })
						await refreshNamespaces()
						navigate(href('n', team.slug))
					} catch (error) {
						say(outcome, failure(error), true)
					}
				},
			},
			h('p', null, h('label', { class: 'field' }, 'Slug', slug)),
			h('p', null, h('label', { class: 'field' }, 'Name (optional)', name)),
			outcome,
			h('button', { type: 'submit', class: 'primary' }, 'Create team'),
		),
	)
}
