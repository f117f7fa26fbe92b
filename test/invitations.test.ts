import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { Harness, type TestUser } from './support/harness'

const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/

let h: Harness
beforeAll(async () => {
	h = await Harness.start()
})
afterAll(() => h.close())

const unique = (prefix: string) => `${prefix}-${crypto.randomUUID().slice(0, 8)}`
const usernameOf = (user: TestUser) => user.claims.username as string

async function newTeam() {
	const [owner, admin, member] = await Promise.all([h.newUser(), h.newUser(), h.newUser()])
	const slug = unique('inv')
	expect((await h.call('POST', '/namespaces', { token: owner.token, body: { slug, name: 'Invited Lab' } })).status).toBe(201)
	for (const [who, role] of [[admin, 'admin'], [member, 'member']] as const) {
		expect((await h.call('POST', `/namespaces/${slug}/members`, { token: owner.token, body: { username: usernameOf(who), role } })).status).toBe(201)
	}
	return { slug, owner, admin, member }
}

const invite = (slug: string, by: TestUser, body: Record<string, unknown>) => h.call('POST', `/namespaces/${slug}/invitations`, { token: by.token, body })
const accept = (token: string, who: TestUser) => h.call('POST', `/invitations/${token}/accept`, { token: who.token })

describe('POST /namespaces/{ns}/invitations', () => {
	it('201 {id, role, expiresAt, maxUses, uses, createdAt, revokedAt, token, url}: a link for a role, one use and 7 days by default', async () => {
		const team = await newTeam()
		const { status, body } = await invite(team.slug, team.admin, { role: 'viewer' })
		expect(status).toBe(201)
		expect(body).toEqual({
			id: expect.any(String),
			role: 'viewer',
			expiresAt: expect.stringMatching(ISO),
			maxUses: 1,
			uses: 0,
			createdAt: expect.stringMatching(ISO),
			revokedAt: null,
			token: expect.stringMatching(/^dli_[A-Za-z0-9_-]{32}$/),
			url: expect.stringMatching(/\/ui\/invitations\/dli_/),
		})
		expect(Date.parse(body.expiresAt) - Date.parse(body.createdAt)).toBe(7 * 86_400_000)
		expect(JSON.stringify(h.db.$client.query('SELECT * FROM invitations').all())).not.toContain(body.token)
	})

	it('403 for a member, and for an admin inviting an owner; an owner may; 422 for a bad role, expiresIn or maxUses', async () => {
		const team = await newTeam()
		expect((await invite(team.slug, team.member, { role: 'viewer' })).status).toBe(403)
		expect((await invite(team.slug, team.admin, { role: 'owner' })).status).toBe(403)
		expect((await invite(team.slug, team.owner, { role: 'owner' })).status).toBe(201)
		for (const body of [{ role: 'boss' }, { role: 'viewer', expiresIn: 'later' }, { role: 'viewer', expiresIn: '100d' }, { role: 'viewer', maxUses: 0 }]) {
			expect((await invite(team.slug, team.owner, body)).status).toBe(422)
		}
		expect((await invite(team.slug, await h.newUser(), { role: 'viewer' })).status).toBe(404)
	})
})

describe('GET /invitations/{token} and POST …/accept', () => {
	it('anyone with the link sees what it invites to; a signed-in person accepts and is a member from the next request', async () => {
		const team = await newTeam()
		const { token } = (await invite(team.slug, team.owner, { role: 'member', maxUses: 2 })).body
		const preview = await h.call('GET', `/invitations/${token}`)
		expect(preview.status).toBe(200)
		expect(preview.body).toEqual({ namespace: { slug: team.slug, name: 'Invited Lab', kind: 'team' }, role: 'member', expiresAt: expect.stringMatching(ISO) })
		const newcomer = await h.newUser()
		expect((await h.call('GET', `/namespaces/${team.slug}`, { token: newcomer.token })).status).toBe(404)
		const accepted = await accept(token, newcomer)
		expect(accepted.status).toBe(200)
		expect(accepted.body).toEqual({ namespace: { id: expect.any(String), slug: team.slug }, role: 'member', joined: true })
		expect((await h.call('GET', `/namespaces/${team.slug}`, { token: newcomer.token })).body.role).toBe('member')
		expect((await h.call('POST', `/namespaces/${team.slug}/projects/arm/episodes`, { token: newcomer.token, body: { name: 'mine' } })).status).toBe(201)
		const members = (await h.call('GET', `/namespaces/${team.slug}/members`, { token: team.owner.token })).body.members
		expect(members.find((m: { username: string }) => m.username === usernameOf(newcomer))).toMatchObject({ role: 'member', addedBy: usernameOf(team.owner) })
	})

	it('spends one use per new member: 410 invitation_used_up after its last; a member already as high keeps their role and spends none', async () => {
		const team = await newTeam()
		const { token } = (await invite(team.slug, team.owner, { role: 'viewer' })).body
		expect((await accept(token, team.admin)).body).toMatchObject({ role: 'admin', joined: false })
		expect((await accept(token, await h.newUser())).status).toBe(200)
		const late = await accept(token, await h.newUser())
		expect(late.status).toBe(410)
		expect(late.body.code).toBe('invitation_used_up')
		expect((await h.call('GET', `/invitations/${token}`)).status).toBe(410)
	})

	it('raises a member with a lower role to the invitation’s', async () => {
		const team = await newTeam()
		const { token } = (await invite(team.slug, team.owner, { role: 'admin' })).body
		expect((await accept(token, team.member)).body).toMatchObject({ role: 'admin', joined: true })
		expect((await h.call('GET', `/namespaces/${team.slug}`, { token: team.member.token })).body.role).toBe('admin')
	})

	it('an expired invitation is 410 invitation_expired, and changes nothing', async () => {
		const team = await newTeam()
		const { token } = (await invite(team.slug, team.owner, { role: 'member', expiresIn: '1s' })).body
		await Bun.sleep(1100)
		const newcomer = await h.newUser()
		const late = await accept(token, newcomer)
		expect(late.status).toBe(410)
		expect(late.body).toMatchObject({ success: false, code: 'invitation_expired' })
		expect((await h.call('GET', `/namespaces/${team.slug}`, { token: newcomer.token })).status).toBe(404)
	})

	it('a revoked invitation is 404 at once; so is a token that never was; 401 without signing in; 403 for an API key', async () => {
		const team = await newTeam()
		const invitation = (await invite(team.slug, team.owner, { role: 'member', maxUses: 5 })).body
		const listed = await h.call('GET', `/namespaces/${team.slug}/invitations`, { token: team.admin.token })
		expect(listed.body.invitations.map((i: { id: string }) => i.id)).toContain(invitation.id)
		expect(JSON.stringify(listed.body)).not.toContain(invitation.token)
		expect((await h.call('GET', `/namespaces/${team.slug}/invitations`, { token: team.member.token })).status).toBe(403)
		expect((await h.call('POST', `/invitations/${invitation.token}/accept`)).status).toBe(401)
		const key = (await h.call('POST', `/namespaces/${team.slug}/api-keys`, { token: team.owner.token, body: { name: 'k', role: 'viewer' } })).body.secret
		expect((await h.call('POST', `/invitations/${invitation.token}/accept`, { token: key })).body.code).toBe('person_required')
		expect((await h.call('DELETE', `/namespaces/${team.slug}/invitations/${invitation.id}`, { token: team.admin.token })).body).toMatchObject({ id: invitation.id, revokedAt: expect.stringMatching(ISO) })
		const revoked = await accept(invitation.token, await h.newUser())
		expect(revoked.status).toBe(404)
		expect(revoked.body.code).toBe('invitation_not_found')
		expect((await h.call('GET', `/invitations/dli_${'x'.repeat(32)}`)).status).toBe(404)
		expect((await h.call('GET', '/invitations/anything')).status).toBe(404)
	})
})
