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

/** A team with an owner, an admin, a member and a viewer, and a project with an episode. */
async function newTeam() {
	const [owner, admin, member, viewer] = await Promise.all([h.newUser(), h.newUser(), h.newUser(), h.newUser()])
	const slug = unique('ci')
	expect((await h.call('POST', '/namespaces', { token: owner.token, body: { slug } })).status).toBe(201)
	for (const [who, role] of [[admin, 'admin'], [member, 'member'], [viewer, 'viewer']] as const) {
		expect((await h.call('POST', `/namespaces/${slug}/members`, { token: owner.token, body: { username: usernameOf(who), role } })).status).toBe(201)
	}
	const episode = (await h.call('POST', `/namespaces/${slug}/projects/arm/episodes`, { token: owner.token, body: { name: 'base' } })).body.id as string
	return { slug, owner, admin, member, viewer, episode }
}

const createKey = (slug: string, by: TestUser, body: Record<string, unknown>) => h.call('POST', `/namespaces/${slug}/api-keys`, { token: by.token, body })
const upsert = (slug: string, key: string, name = unique('run')) => h.call('POST', `/namespaces/${slug}/projects/arm/episodes`, { token: key, body: { name } })

describe('POST /namespaces/{ns}/api-keys', () => {
	it('201 with the secret, shown this once: {id, name, role, hint, createdBy, createdAt, lastUsedAt, expiresAt, revokedAt, secret}', async () => {
		const team = await newTeam()
		const { status, body } = await createKey(team.slug, team.member, { name: 'github actions', role: 'member' })
		expect(status).toBe(201)
		expect(body).toEqual({
			id: expect.any(String),
			name: 'github actions',
			role: 'member',
			hint: body.secret.slice(0, 10),
			createdBy: usernameOf(team.member),
			createdAt: expect.stringMatching(ISO),
			lastUsedAt: null,
			expiresAt: null,
			revokedAt: null,
			secret: expect.stringMatching(/^dlk_[A-Za-z0-9_-]{43}$/),
		})
		// only its hash is stored
		expect(JSON.stringify(h.db.$client.query('SELECT * FROM api_keys').all())).not.toContain(body.secret)
	})

	it('acts with its role in its namespace: a member key writes, reads and is named by GET /auth/me as that namespace (the SDK\'s default)', async () => {
		const team = await newTeam()
		const { secret } = (await createKey(team.slug, team.member, { name: 'robot', role: 'member' })).body
		expect((await upsert(team.slug, secret)).status).toBe(201)
		expect((await h.call('POST', `/episodes/${team.episode}/logs`, { token: secret, body: { logs: [{ timestamp: '2026-12-03T10:00:00Z', level: 'info', message: 'from ci' }] } })).status).toBe(201)
		expect((await h.call('GET', `/episodes/${team.episode}/logs`, { token: secret })).body.logs.map((l: { message: string }) => l.message)).toContain('from ci')
		const me = await h.call('GET', '/auth/me', { token: secret })
		expect(me.status).toBe(200)
		expect(me.body.namespace.slug).toBe(team.slug)
	})

	it('a key never exceeds its creator’s role: 403 for a viewer asking a member key; a viewer key reads but 403 on writes', async () => {
		const team = await newTeam()
		expect((await createKey(team.slug, team.viewer, { name: 'too much', role: 'member' })).status).toBe(403)
		const { secret } = (await createKey(team.slug, team.viewer, { name: 'reader', role: 'viewer' })).body
		expect((await h.call('GET', `/episodes/${team.episode}`, { token: secret })).status).toBe(200)
		const write = await upsert(team.slug, secret)
		expect(write.status).toBe(403)
		expect(write.body.code).toBe('insufficient_role')
	})

	it('acts in its namespace only: its creator’s own namespace and other teams are 404', async () => {
		const team = await newTeam()
		const other = await newTeam()
		expect((await h.call('POST', `/namespaces/${other.slug}/members`, { token: other.owner.token, body: { username: usernameOf(team.member), role: 'member' } })).status).toBe(201)
		const { secret } = (await createKey(team.slug, team.member, { name: 'scoped', role: 'member' })).body
		const mine = (await h.call('POST', `/namespaces/${team.member.ns}/projects/own/episodes`, { token: team.member.token, body: { name: 'run' } })).body.id
		expect((await h.call('GET', `/episodes/${mine}`, { token: secret })).status).toBe(404)
		expect((await upsert(team.member.ns, secret)).status).toBe(404)
		expect((await upsert(other.slug, secret)).status).toBe(404)
		expect((await h.call('GET', `/episodes/${other.episode}`, { token: secret })).status).toBe(404)
	})

	it('its creator demoted caps it, removed ends it, on the very next request', async () => {
		const team = await newTeam()
		const { secret } = (await createKey(team.slug, team.member, { name: 'capped', role: 'member' })).body
		expect((await upsert(team.slug, secret)).status).toBe(201)
		await h.call('PATCH', `/namespaces/${team.slug}/members/${usernameOf(team.member)}`, { token: team.owner.token, body: { role: 'viewer' } })
		expect((await upsert(team.slug, secret)).status).toBe(403)
		expect((await h.call('GET', `/episodes/${team.episode}`, { token: secret })).status).toBe(200)
		await h.call('DELETE', `/namespaces/${team.slug}/members/${usernameOf(team.member)}`, { token: team.owner.token })
		expect((await h.call('GET', `/episodes/${team.episode}`, { token: secret })).status).toBe(404)
	})

	it('expires: 401 invalid_api_key once past expiresIn; 422 for an expiresIn that is no duration', async () => {
		const team = await newTeam()
		const { status, body } = await createKey(team.slug, team.owner, { name: 'brief', role: 'viewer', expiresIn: '1s' })
		expect(status).toBe(201)
		expect(Date.parse(body.expiresAt) - Date.parse(body.createdAt)).toBeGreaterThanOrEqual(999)
		expect((await h.call('GET', `/episodes/${team.episode}`, { token: body.secret })).status).toBe(200)
		await Bun.sleep(1100)
		const late = await h.call('GET', `/episodes/${team.episode}`, { token: body.secret })
		expect(late.status).toBe(401)
		expect(late.body.code).toBe('invalid_api_key')
		for (const expiresIn of ['soon', '-5', '0']) expect((await createKey(team.slug, team.owner, { name: 'x', role: 'viewer', expiresIn })).body).toMatchObject({ code: 'validation_failed', field: 'expiresIn' })
	})

	it('401 invalid_api_key for a key that does not exist; keys cannot make keys (403 person_required); 404 for an outsider', async () => {
		const team = await newTeam()
		const unknown = await h.call('GET', `/episodes/${team.episode}`, { token: `dlk_${'x'.repeat(43)}` })
		expect(unknown.status).toBe(401)
		expect(unknown.body).toMatchObject({ success: false, code: 'invalid_api_key' })
		const { secret } = (await createKey(team.slug, team.owner, { name: 'admin key', role: 'admin' })).body
		const minted = await h.call('POST', `/namespaces/${team.slug}/api-keys`, { token: secret, body: { name: 'child', role: 'viewer' } })
		expect(minted.status).toBe(403)
		expect(minted.body.code).toBe('person_required')
		expect((await createKey(team.slug, await h.newUser(), { name: 'x', role: 'viewer' })).status).toBe(404)
	})
})

describe('who did it', () => {
	it('what a key makes names the key and the person it acts for: episodes, parameter versions, files', async () => {
		const team = await newTeam()
		const key = (await createKey(team.slug, team.member, { name: 'nightly', role: 'member' })).body
		const madeBy = { id: team.member.id, username: usernameOf(team.member), key: { id: key.id, name: 'nightly' } }
		const episode = (await upsert(team.slug, key.secret, 'by-key')).body
		expect(episode.createdBy).toEqual(madeBy)
		expect((await h.call('GET', `/episodes/${episode.id}`, { token: team.owner.token })).body.createdBy).toEqual(madeBy)
		await h.call('POST', `/episodes/${episode.id}/parameters`, { token: key.secret, body: { data: { lr: 0.3 } } })
		await h.call('POST', `/episodes/${episode.id}/parameters`, { token: team.owner.token, body: { data: { lr: 0.4 } } })
		const history = (await h.call('GET', `/episodes/${episode.id}/parameters/history`, { token: team.owner.token })).body.entries
		expect(history.map((e: { createdBy: unknown }) => e.createdBy)).toEqual([madeBy, { id: team.owner.id, username: usernameOf(team.owner), key: null }])
		const bytes = new TextEncoder().encode('weights')
		const form = new FormData()
		form.set('checksum', new Bun.CryptoHasher('sha256').update(bytes).digest('hex'))
		form.set('sizeBytes', String(bytes.length))
		form.set('file', new File([bytes], 'w.bin'))
		expect((await h.call('POST', `/episodes/${episode.id}/files`, { token: key.secret, body: form })).body.createdBy).toEqual(madeBy)
		// listed too, from the row itself: no lookup of who it was
		const listed = await h.call('GET', `/namespaces/${team.slug}/projects/arm/episodes`, { token: team.viewer.token })
		expect(listed.body.episodes.find((e: { name: string }) => e.name === 'by-key').createdBy).toEqual(madeBy)
	})
})

describe('GET /namespaces/{ns}/api-keys', () => {
	it('never shows a secret; owners and admins see every key, others their own; lastUsedAt once used', async () => {
		const team = await newTeam()
		const mine = (await createKey(team.slug, team.member, { name: 'member key', role: 'member' })).body
		await createKey(team.slug, team.owner, { name: 'owner key', role: 'owner' })
		await upsert(team.slug, mine.secret)
		await Bun.sleep(20) // its last use is written after the request, off its meter
		const all = await h.call('GET', `/namespaces/${team.slug}/api-keys`, { token: team.admin.token })
		expect(all.status).toBe(200)
		expect(all.body.apiKeys.map((k: { name: string }) => k.name).sort()).toEqual(['member key', 'owner key'])
		expect(JSON.stringify(all.body)).not.toContain(mine.secret)
		expect(all.body.apiKeys.find((k: { name: string }) => k.name === 'member key')).toMatchObject({ createdBy: usernameOf(team.member), lastUsedAt: expect.stringMatching(ISO) })
		const own = await h.call('GET', `/namespaces/${team.slug}/api-keys`, { token: team.member.token })
		expect(own.body.apiKeys.map((k: { name: string }) => k.name)).toEqual(['member key'])
		expect((await h.call('GET', `/namespaces/${team.slug}/api-keys`, { token: team.viewer.token })).body.apiKeys).toEqual([])
	})
})

describe('DELETE /namespaces/{ns}/api-keys/{id}', () => {
	it('revokes at once: the next request with it is 401; only its creator or an owner or admin may', async () => {
		const team = await newTeam()
		const key = (await createKey(team.slug, team.member, { name: 'to revoke', role: 'member' })).body
		expect((await upsert(team.slug, key.secret)).status).toBe(201)
		expect((await h.call('DELETE', `/namespaces/${team.slug}/api-keys/${key.id}`, { token: team.viewer.token })).status).toBe(404)
		const revoked = await h.call('DELETE', `/namespaces/${team.slug}/api-keys/${key.id}`, { token: team.admin.token })
		expect(revoked.status).toBe(200)
		expect(revoked.body).toMatchObject({ id: key.id, revokedAt: expect.stringMatching(ISO), createdBy: usernameOf(team.member) })
		const after = await upsert(team.slug, key.secret)
		expect(after.status).toBe(401)
		expect(after.body.code).toBe('invalid_api_key')
		expect((await h.call('DELETE', `/namespaces/${team.slug}/api-keys/${key.id}`, { token: team.admin.token })).status).toBe(404)
	})
})

describe('cost', () => {
	it('a known key on a known namespace costs no statement: its unchanged upsert sends none', async () => {
		const team = await newTeam()
		const { secret } = (await createKey(team.slug, team.member, { name: 'hot', role: 'member' })).body
		await upsert(team.slug, secret, 'steady')
		const again = await upsert(team.slug, secret, 'steady')
		expect(again.status).toBe(200)
		expect(again.db).toEqual({ statements: 0, transactions: 0 })
	})
})
