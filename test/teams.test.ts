import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { Harness, type Reply, type TestUser } from './support/harness'

const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/

let h: Harness
beforeAll(async () => {
	h = await Harness.start()
})
afterAll(() => h.close())

const unique = (prefix: string) => `${prefix}-${crypto.randomUUID().slice(0, 8)}`
const usernameOf = (user: TestUser) => user.claims.username as string
const createTeam = (user: TestUser, body: unknown) => h.call('POST', '/namespaces', { token: user.token, body })
const addMember = (team: string, by: TestUser, who: TestUser, role: string) => h.call('POST', `/namespaces/${team}/members`, { token: by.token, body: { username: usernameOf(who), role } })

/** A team with one person of each role, and one who is not in it. */
async function newTeam() {
	const [owner, admin, member, viewer, outsider] = await Promise.all([h.newUser(), h.newUser(), h.newUser(), h.newUser(), h.newUser()])
	const slug = unique('lab')
	expect((await createTeam(owner, { slug, name: 'The Lab' })).status).toBe(201)
	for (const [who, role] of [[admin, 'admin'], [member, 'member'], [viewer, 'viewer']] as const) expect((await addMember(slug, owner, who, role)).status).toBe(201)
	return { slug, owner, admin, member, viewer, outsider }
}

describe('POST /namespaces', () => {
	it('201 a team with the caller as its owner: {id, slug, kind: "team", name, metadata, role: "owner", createdAt, updatedAt, deletedAt: null}', async () => {
		const owner = await h.newUser()
		const slug = unique('robotics')
		const { status, body } = await createTeam(owner, { slug, name: 'Robotics', metadata: { site: 'lab 3' } })
		expect(status).toBe(201)
		expect(body).toEqual({ id: expect.any(String), slug, kind: 'team', name: 'Robotics', metadata: { site: 'lab 3' }, role: 'owner', createdAt: expect.stringMatching(ISO), updatedAt: expect.stringMatching(ISO), deletedAt: null })
		const members = await h.call('GET', `/namespaces/${slug}/members`, { token: owner.token })
		expect(members.body.members).toEqual([{ username: usernameOf(owner), name: owner.claims.name, role: 'owner', addedAt: expect.stringMatching(ISO), addedBy: usernameOf(owner) }])
		expect((await h.call('GET', `/namespaces/${slug}`, { token: owner.token })).body).toMatchObject({ id: body.id, slug, kind: 'team', role: 'owner', projects: 0 })
	})

	it('409 namespace_exists for a slug a person or another team holds, whatever the case', async () => {
		const owner = await h.newUser()
		const person = await h.newUser()
		const team = unique('taken')
		expect((await createTeam(owner, { slug: team })).status).toBe(201)
		for (const slug of [team, person.ns]) {
			const { status, body } = await createTeam(await h.newUser(), { slug })
			expect(status).toBe(409)
			expect(body).toMatchObject({ success: false, code: 'namespace_exists' })
		}
	})

	it('422 for a slug that breaks the rules or is reserved, naming the field; nothing created', async () => {
		const owner = await h.newUser()
		const before = h.count('namespaces')
		for (const slug of ['', 'Upper', '-dash', 'a b', 'x'.repeat(40), 'admin', 'auth', 'me', 'a/b']) {
			const { status, body } = await createTeam(owner, { slug })
			expect([slug, status]).toEqual([slug, 422])
			expect(body).toMatchObject({ code: 'validation_failed', field: 'slug' })
		}
		expect((await createTeam(owner, { slug: unique('ok'), owner: 'x' })).status).toBe(422)
		expect(h.count('namespaces')).toBe(before)
	})

	it('401 without a token; 400 without a body', async () => {
		expect((await h.call('POST', '/namespaces', { body: { slug: unique('anon') } })).status).toBe(401)
		expect((await h.call('POST', '/namespaces', { token: (await h.newUser()).token })).status).toBe(400)
	})
})

describe('PATCH /namespaces/{ns}', () => {
	it('owners and admins change the name, the metadata and a team’s slug; the old slug is gone at once', async () => {
		const team = await newTeam()
		expect((await h.call('PATCH', `/namespaces/${team.slug}`, { token: team.admin.token, body: { name: 'Renamed', metadata: { a: 1 } } })).body).toMatchObject({ name: 'Renamed', metadata: { a: 1 }, role: 'admin' })
		const slug = unique('moved')
		const { status, body } = await h.call('PATCH', `/namespaces/${team.slug}`, { token: team.owner.token, body: { slug } })
		expect(status).toBe(200)
		expect(body).toMatchObject({ slug, name: 'Renamed' })
		expect((await h.call('GET', `/namespaces/${team.slug}`, { token: team.owner.token })).status).toBe(404)
		expect((await h.call('GET', `/namespaces/${slug}`, { token: team.member.token })).status).toBe(200)
	})

	it('403 insufficient_role for a member and a viewer, 404 for an outsider, nothing changed', async () => {
		const team = await newTeam()
		for (const who of [team.member, team.viewer]) {
			const { status, body } = await h.call('PATCH', `/namespaces/${team.slug}`, { token: who.token, body: { name: 'nope' } })
			expect(status).toBe(403)
			expect(body).toMatchObject({ success: false, code: 'insufficient_role' })
		}
		expect((await h.call('PATCH', `/namespaces/${team.slug}`, { token: team.outsider.token, body: { name: 'nope' } })).status).toBe(404)
		expect((await h.call('GET', `/namespaces/${team.slug}`, { token: team.owner.token })).body.name).toBe('The Lab')
	})

	it('409 for a slug another holds; 422 for a personal namespace’s slug', async () => {
		const team = await newTeam()
		expect((await h.call('PATCH', `/namespaces/${team.slug}`, { token: team.owner.token, body: { slug: team.outsider.ns } })).status).toBe(409)
		const own = await h.call('PATCH', `/namespaces/${team.owner.ns}`, { token: team.owner.token, body: { slug: unique('mine') } })
		expect(own.status).toBe(422)
		expect((await h.call('PATCH', `/namespaces/${team.owner.ns}`, { token: team.owner.token, body: { name: 'Me' } })).body).toMatchObject({ name: 'Me', kind: 'personal', role: 'owner' })
	})
})

describe('DELETE /namespaces/{ns} and POST …/restore', () => {
	it('owners delete a team softly: everything in it is 404 to everyone until an owner restores it', async () => {
		const team = await newTeam()
		const episode = (await h.call('POST', `/namespaces/${team.slug}/projects/arm/episodes`, { token: team.member.token, body: { name: 'run-1' } })).body.id
		expect((await h.call('DELETE', `/namespaces/${team.slug}`, { token: team.admin.token })).status).toBe(403)
		const { status, body } = await h.call('DELETE', `/namespaces/${team.slug}`, { token: team.owner.token })
		expect(status).toBe(200)
		expect(body).toEqual({ id: expect.any(String), deletedAt: expect.stringMatching(ISO) })
		for (const who of [team.owner, team.member]) {
			expect((await h.call('GET', `/namespaces/${team.slug}`, { token: who.token })).status).toBe(404)
			expect((await h.call('GET', `/namespaces/${team.slug}/projects/arm`, { token: who.token })).status).toBe(404)
			expect((await h.call('GET', `/episodes/${episode}`, { token: who.token })).status).toBe(404)
		}
		expect((await h.call('POST', `/namespaces/${team.slug}/restore`, { token: team.member.token })).status).toBe(403)
		expect((await h.call('POST', `/namespaces/${team.slug}/restore`, { token: team.owner.token })).body).toMatchObject({ slug: team.slug, deletedAt: null })
		expect((await h.call('GET', `/episodes/${episode}`, { token: team.viewer.token })).status).toBe(200)
	})

	it('409 personal_namespace for a personal namespace; 404 restoring what is not deleted', async () => {
		const user = await h.newUser()
		expect((await h.call('DELETE', `/namespaces/${user.ns}`, { token: user.token })).body).toMatchObject({ code: 'personal_namespace' })
		expect((await h.call('POST', `/namespaces/${user.ns}/restore`, { token: user.token })).status).toBe(404)
	})
})

describe('members: /namespaces/{ns}/members[/{username}]', () => {
	it('lists everyone with their role, owners first', async () => {
		const team = await newTeam()
		const { status, body } = await h.call('GET', `/namespaces/${team.slug}/members`, { token: team.viewer.token })
		expect(status).toBe(200)
		expect(body.members.map((m: { username: string; role: string }) => [m.username, m.role])).toEqual([
			[usernameOf(team.owner), 'owner'],
			[usernameOf(team.admin), 'admin'],
			[usernameOf(team.member), 'member'],
			[usernameOf(team.viewer), 'viewer'],
		])
		expect(body).toMatchObject({ page: 1, total: 4, totalPages: 1 })
		expect((await h.call('GET', `/namespaces/${team.slug}/members`, { token: team.outsider.token })).status).toBe(404)
	})

	it('admins add people by username; only owners add an owner; 404 for a username nobody has, 409 for a member', async () => {
		const team = await newTeam()
		const newcomer = await h.newUser()
		expect((await addMember(team.slug, team.member, newcomer, 'viewer')).status).toBe(403)
		expect((await addMember(team.slug, team.admin, newcomer, 'owner')).status).toBe(403)
		const added = await addMember(team.slug, team.admin, newcomer, 'member')
		expect(added.status).toBe(201)
		expect(added.body).toEqual({ username: usernameOf(newcomer), name: newcomer.claims.name, role: 'member', addedAt: expect.stringMatching(ISO), addedBy: usernameOf(team.admin) })
		expect((await addMember(team.slug, team.owner, newcomer, 'admin')).body).toMatchObject({ code: 'member_exists' })
		const nobody = await h.call('POST', `/namespaces/${team.slug}/members`, { token: team.owner.token, body: { username: 'nobody-here-at-all', role: 'viewer' } })
		expect(nobody.status).toBe(404)
		expect(nobody.body.code).toBe('user_not_found')
		expect((await h.call('POST', `/namespaces/${team.slug}/members`, { token: team.owner.token, body: { username: usernameOf(newcomer), role: 'god' } })).status).toBe(422)
	})

	it('changing a role and removing a member take effect on the very next request', async () => {
		const team = await newTeam()
		const write = () => h.call('POST', `/namespaces/${team.slug}/projects/arm/episodes`, { token: team.member.token, body: { name: unique('run') } })
		expect((await write()).status).toBe(201)
		expect((await h.call('PATCH', `/namespaces/${team.slug}/members/${usernameOf(team.member)}`, { token: team.admin.token, body: { role: 'viewer' } })).body.role).toBe('viewer')
		expect((await write()).status).toBe(403)
		expect((await h.call('GET', `/namespaces/${team.slug}/projects/arm`, { token: team.member.token })).status).toBe(200)
		expect((await h.call('DELETE', `/namespaces/${team.slug}/members/${usernameOf(team.member)}`, { token: team.admin.token })).status).toBe(200)
		expect((await h.call('GET', `/namespaces/${team.slug}/projects/arm`, { token: team.member.token })).status).toBe(404)
		expect((await write()).status).toBe(404)
	})

	it('a team never loses its last owner: 409 last_owner; with a second owner, the first may step down or leave', async () => {
		const team = await newTeam()
		const owner = usernameOf(team.owner)
		expect((await h.call('PATCH', `/namespaces/${team.slug}/members/${owner}`, { token: team.owner.token, body: { role: 'admin' } })).body).toMatchObject({ code: 'last_owner' })
		expect((await h.call('DELETE', `/namespaces/${team.slug}/members/${owner}`, { token: team.owner.token })).body).toMatchObject({ code: 'last_owner' })
		// admins cannot touch owners
		expect((await h.call('DELETE', `/namespaces/${team.slug}/members/${owner}`, { token: team.admin.token })).status).toBe(403)
		expect((await h.call('PATCH', `/namespaces/${team.slug}/members/${usernameOf(team.admin)}`, { token: team.admin.token, body: { role: 'owner' } })).status).toBe(403)
		expect((await h.call('PATCH', `/namespaces/${team.slug}/members/${usernameOf(team.admin)}`, { token: team.owner.token, body: { role: 'owner' } })).body.role).toBe('owner')
		expect((await h.call('DELETE', `/namespaces/${team.slug}/members/${owner}`, { token: team.owner.token })).status).toBe(200)
		expect((await h.call('GET', `/namespaces/${team.slug}`, { token: team.owner.token })).status).toBe(404)
	})

	it('anyone may leave; a viewer may not remove another', async () => {
		const team = await newTeam()
		expect((await h.call('DELETE', `/namespaces/${team.slug}/members/${usernameOf(team.member)}`, { token: team.viewer.token })).status).toBe(403)
		expect((await h.call('DELETE', `/namespaces/${team.slug}/members/${usernameOf(team.viewer)}`, { token: team.viewer.token })).status).toBe(200)
		expect((await h.call('GET', `/namespaces/${team.slug}`, { token: team.viewer.token })).status).toBe(404)
	})

	it('a personal namespace stays its person’s: they add members (not owners), who then see and write its projects', async () => {
		const [alice, bob] = await Promise.all([h.newUser(), h.newUser()])
		const episode = (await h.call('POST', `/namespaces/${alice.ns}/projects/shared/episodes`, { token: alice.token, body: { name: 'run' } })).body.id
		expect((await h.call('GET', `/episodes/${episode}`, { token: bob.token })).status).toBe(404)
		expect((await addMember(alice.ns, alice, bob, 'owner')).status).toBe(422)
		expect((await addMember(alice.ns, alice, alice, 'admin')).status).toBe(409)
		expect((await addMember(alice.ns, alice, bob, 'member')).status).toBe(201)
		const seen = await h.call('GET', `/episodes/${episode}`, { token: bob.token })
		expect(seen.status).toBe(200)
		// the answer names the episode's namespace, not the caller's
		expect(seen.body.namespace).toEqual({ id: alice.nsId, slug: alice.ns })
		expect((await h.call('POST', `/episodes/${episode}/logs`, { token: bob.token, body: { logs: [{ timestamp: '2026-12-03T10:00:00Z', level: 'info', message: 'from bob' }] } })).status).toBe(201)
		expect((await h.call('GET', `/namespaces/${alice.ns}`, { token: bob.token })).body).toMatchObject({ kind: 'personal', role: 'member' })
	})
})

describe('who may do what in a team (owner, admin, member, viewer, outsider, anonymous)', () => {
	let team: Awaited<ReturnType<typeof newTeam>>
	let episode: string
	beforeAll(async () => {
		team = await newTeam()
		episode = (await h.call('POST', `/namespaces/${team.slug}/projects/arm/episodes`, { token: team.owner.token, body: { name: 'base' } })).body.id
		await h.call('POST', `/episodes/${episode}/tracks/loss/append`, { token: team.owner.token, body: { data: { step: 0, loss: 1 } } })
	})
	type Who = 'owner' | 'admin' | 'member' | 'viewer' | 'outsider' | 'anonymous'
	const everyone: Who[] = ['owner', 'admin', 'member', 'viewer', 'outsider', 'anonymous']
	const tokenOf = (who: Who) => (who === 'anonymous' ? undefined : team[who].token)
	/** The status each caller gets: readers 200 (or the route's success), writers by the least role, outsiders 404, anonymous 401. */
	const expected = (least: 'viewer' | 'member' | 'admin', success: number) => (who: Who) => {
		if (who === 'anonymous') return 401
		if (who === 'outsider') return 404
		const rank = { viewer: 1, member: 2, admin: 3, owner: 4 }
		return rank[who] >= rank[least] ? success : 403
	}
	const routes: { name: string; least: 'viewer' | 'member' | 'admin'; success: number; call: (token: string | undefined, who: Who) => Promise<Reply> }[] = [
		{ name: 'GET /namespaces/{ns}', least: 'viewer', success: 200, call: (token) => h.call('GET', `/namespaces/${team.slug}`, { token }) },
		{ name: 'GET …/projects', least: 'viewer', success: 200, call: (token) => h.call('GET', `/namespaces/${team.slug}/projects`, { token }) },
		{ name: 'GET …/projects/{p}', least: 'viewer', success: 200, call: (token) => h.call('GET', `/namespaces/${team.slug}/projects/arm`, { token }) },
		{ name: 'GET …/episodes', least: 'viewer', success: 200, call: (token) => h.call('GET', `/namespaces/${team.slug}/projects/arm/episodes`, { token }) },
		{ name: 'GET /episodes/{id}', least: 'viewer', success: 200, call: (token) => h.call('GET', `/episodes/${episode}`, { token }) },
		{ name: 'GET /episodes/{id}/logs', least: 'viewer', success: 200, call: (token) => h.call('GET', `/episodes/${episode}/logs`, { token }) },
		{ name: 'GET …/tracks/{name}/series', least: 'viewer', success: 200, call: (token) => h.call('GET', `/episodes/${episode}/tracks/loss/series`, { token }) },
		{ name: 'POST …/projects', least: 'member', success: 201, call: (token) => h.call('POST', `/namespaces/${team.slug}/projects`, { token, body: { name: unique('made') } }) },
		{ name: 'POST …/episodes (upsert)', least: 'member', success: 201, call: (token) => h.call('POST', `/namespaces/${team.slug}/projects/arm/episodes`, { token, body: { name: unique('run') } }) },
		{ name: 'POST /episodes/{id}/logs', least: 'member', success: 201, call: (token) => h.call('POST', `/episodes/${episode}/logs`, { token, body: { logs: [{ timestamp: '2026-12-03T10:00:00Z', level: 'info', message: 'hi' }] } }) },
		{ name: 'POST /episodes/{id}/parameters', least: 'member', success: 200, call: (token) => h.call('POST', `/episodes/${episode}/parameters`, { token, body: { data: { lr: Math.random() } } }) },
		{ name: 'POST …/tracks/{name}/append', least: 'member', success: 201, call: (token) => h.call('POST', `/episodes/${episode}/tracks/loss/append`, { token, body: { data: { step: 1, loss: 0.5 } } }) },
		{ name: 'PATCH /episodes/{id}', least: 'member', success: 200, call: (token) => h.call('PATCH', `/episodes/${episode}`, { token, body: { description: unique('d') } }) },
		{ name: 'PATCH …/projects/{p}', least: 'member', success: 200, call: (token) => h.call('PATCH', `/namespaces/${team.slug}/projects/arm`, { token, body: { description: unique('d') } }) },
		{ name: 'DELETE …/projects/{p}', least: 'admin', success: 200, call: async (token, who) => {
			// a project of its own per caller, so a delete that succeeds does not change the next row
			const slug = unique('doomed')
			await h.call('POST', `/namespaces/${team.slug}/projects`, { token: team.owner.token, body: { name: slug } })
			return h.call('DELETE', `/namespaces/${team.slug}/projects/${slug}`, { token: tokenOf(who) })
		} },
		{ name: 'PATCH /namespaces/{ns}', least: 'admin', success: 200, call: (token) => h.call('PATCH', `/namespaces/${team.slug}`, { token, body: { metadata: { at: Date.now() } } }) },
	]
	for (const route of routes) {
		describe(route.name, () => {
			for (const who of everyone) {
				const status = expected(route.least, route.success)(who)
				it(`${status} for the ${who}`, async () => {
					const { status: got, body } = await route.call(tokenOf(who), who)
					expect(got).toBe(status)
					if (status === 403) expect(body).toMatchObject({ success: false, code: 'insufficient_role' })
					if (status === 404) expect(body.success).toBe(false)
				})
			}
		})
	}
})

describe('cost', () => {
	it('a known member on a known namespace costs no statement more than its owner: an unchanged upsert sends none', async () => {
		const team = await newTeam()
		const upsert = (who: TestUser) => h.call('POST', `/namespaces/${team.slug}/projects/arm/episodes`, { token: who.token, body: { name: 'steady' } })
		expect((await upsert(team.owner)).status).toBe(201)
		await upsert(team.member) // the member's role is read once
		const again = await upsert(team.member)
		expect(again.status).toBe(200)
		expect(again.db).toEqual({ statements: 0, transactions: 0 })
	})
})
