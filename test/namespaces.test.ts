import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { firstFreeSlug, normalizeSlug, personalNamespaceSlug, RESERVED_SLUGS, suffixedSlug } from '../src/namespaces/slug'
import { whoMayCall, type Owned } from './support/access'
import { Harness, type TestUser as User } from './support/harness'
import { newIdentity } from './support/key-server'

let h: Harness
beforeAll(async () => {
	h = await Harness.start()
})
afterAll(() => h.close())

const unique = () => crypto.randomUUID().slice(0, 8)
const newUser = () => h.newUser()

const projectsPath = (ns: string) => `/namespaces/${encodeURIComponent(ns)}/projects`
const list = (u: User, query = '') => h.call('GET', `${projectsPath(u.ns)}${query}`, { token: u.token })
const remove = (u: User, project: string) => h.call('DELETE', `${projectsPath(u.ns)}/${encodeURIComponent(project)}`, { token: u.token })
const overview = (u: User) => h.call('GET', `/namespaces/${encodeURIComponent(u.ns)}`, { token: u.token })
const notFoundNamespace = (ns: string) => ({ success: false, error: `Namespace "${ns}" not found.`, code: 'namespace_not_found' })

/** Creates a project, expecting 201, and returns it. */
async function createProject(u: User, body: Record<string, unknown>) {
	const reply = await h.call('POST', projectsPath(u.ns), { token: u.token, body })
	expect(reply.status).toBe(201)
	return reply.body
}

/** Creates an episode by name (upsert) under the project, expecting 201, and returns its id. */
async function createEpisode(u: User, project: string, name: string): Promise<string> {
	const { status, body } = await h.call('POST', `${projectsPath(u.ns)}/${encodeURIComponent(project)}/episodes`, { token: u.token, body: { name } })
	expect(status).toBe(201)
	expect(body.id).toMatch(/^[1-9]\d*$/)
	return body.id
}

/** A fresh episode of `u`, by its id. */
const newEpisode = (u: User) => h.newEpisode(u, 'files-project')

/** Uploads 10 random bytes as `name` to the episode, expecting 201, and returns the file. */
async function uploaded(u: User, episode: string, name: string): Promise<{ id: string }> {
	const bytes = crypto.getRandomValues(new Uint8Array(10))
	const form = new FormData()
	form.set('prefix', '/')
	form.set('checksum', new Bun.CryptoHasher('sha256').update(bytes).digest('hex'))
	form.set('sizeBytes', String(bytes.length))
	form.set('file', new File([bytes], name, { type: 'application/octet-stream' }))
	const { status, body } = await h.call('POST', `/episodes/${episode}/files`, { token: u.token, body: form })
	expect(status).toBe(201)
	return body
}

const removeFile = (u: User, episode: string, fileId: string) => h.call('DELETE', `/episodes/${episode}/files/${fileId}`, { token: u.token })

/** Everything the user can see: live and deleted projects and the namespace overview. */
async function snapshot(u: User) {
	const [live, deleted, ns] = await Promise.all([list(u, '?pageSize=200'), list(u, '?deleted=true&pageSize=200'), overview(u)])
	expect([live.status, deleted.status, ns.status]).toEqual([200, 200, 200])
	return { live: live.body, deleted: deleted.body, ns: ns.body }
}

/** The first user's namespace, for the access rows. */
interface Owner extends Owned {
	ns: string
}


describe('personal namespace slugs', () => {
	it.each([
		['Alice', 'alice'],
		['Alice Smith', 'alice-smith'],
		['a..b__c--d', 'a-b__c--d'],
		['  --Édouard!!  ', 'douard'],
		['ROBOT_42', 'robot_42'],
		['日本語', ''],
		['x'.repeat(60), 'x'.repeat(39)],
		['-lead-and-trail-', 'lead-and-trail'],
	])('normalises %p to %p', (source, slug) => {
		expect(normalizeSlug(source)).toBe(slug)
	})

	it('comes from the username, else the email local part, else the user id', () => {
		expect(personalNamespaceSlug({ username: 'Bob', email: 'robert@example.com', userId: 'ID-1' })).toBe('bob')
		expect(personalNamespaceSlug({ username: null, email: 'Robert.Jones@example.com', userId: 'ID-1' })).toBe('robert-jones')
		expect(personalNamespaceSlug({ username: '日本', email: null, userId: '0192-ABC' })).toBe('0192-abc')
	})

	it('keeps a suffixed slug within 39 characters', () => {
		expect(suffixedSlug('x'.repeat(39), 2)).toBe(`${'x'.repeat(37)}-2`)
		expect(suffixedSlug('x'.repeat(39), 12)).toHaveLength(39)
	})

	it('skips reserved and taken slugs', () => {
		expect(firstFreeSlug('admin', new Set())).toBe('admin-2')
		expect(firstFreeSlug('alice', new Set(['alice', 'alice-2']))).toBe('alice-3')
		expect(firstFreeSlug('alice', new Set())).toBe('alice')
	})

	it.each(['auth', 'api', 'admin', 'health', 'openapi', 'namespaces', 'me'])('reserves "%s"', (slug) => {
		expect(RESERVED_SLUGS.has(slug)).toBe(true)
	})
})

describe('namespaces created at first login', () => {
	it('normalises the username into the slug', async () => {
		const name = `Dr.Who.${unique()}`
		const { body } = await h.login(newIdentity({ username: name }))
		expect(body.namespace.slug).toBe(normalizeSlug(name))
	})

	it('uses the email local part when there is no username', async () => {
		const local = `mail.${unique()}`
		const { body } = await h.login(newIdentity({ username: undefined, email: `${local}@example.com` }))
		expect(body.namespace.slug).toBe(normalizeSlug(local))
	})

	it('uses the user id when there is neither', async () => {
		const { body } = await h.login({ sub: crypto.randomUUID() })
		expect(body.namespace.slug).toBe(body.user.id.toLowerCase())
	})

	it.each(['admin', 'auth', 'me', 'Health'])('never gives the reserved slug "%s"', async (username) => {
		const { body } = await h.login(newIdentity({ username }))
		expect(body.namespace.slug).toMatch(new RegExp(`^${username.toLowerCase()}-\\d+$`))
	})

	it('takes slug-2, slug-3… when another user owns the slug, never attaching to theirs', async () => {
		const base = `clash${unique()}`
		const first = await h.login(newIdentity({ username: base }))
		const second = await h.login(newIdentity({ username: undefined, email: `${base}@example.com` }))
		const third = await h.login(newIdentity({ username: undefined, email: `${base}@example.org` }))
		expect([first.body.namespace.slug, second.body.namespace.slug, third.body.namespace.slug]).toEqual([base, `${base}-2`, `${base}-3`])
		expect(new Set([first.body.namespace.id, second.body.namespace.id, third.body.namespace.id]).size).toBe(3)
		const owners = h.db.$client.query('SELECT owner_id AS owner FROM namespaces WHERE id IN (?, ?, ?)').all(first.body.namespace.id, second.body.namespace.id, third.body.namespace.id)
		expect(new Set(owners.map((o: any) => o.owner))).toEqual(new Set([first.body.user.id, second.body.user.id, third.body.user.id]))
	})

	it('gives a second user claiming a taken username no username, and their own namespace', async () => {
		const name = `dup${unique()}`
		const first = await h.login(newIdentity({ username: name }))
		const second = await h.login(newIdentity({ username: name.toUpperCase() }))
		expect(second.status).toBe(200)
		expect(first.body.user.username).toBe(name)
		expect(second.body.user.username).toBeNull()
		expect(second.body.namespace.slug).toBe(`${name}-2`)
	})
})

describe('concurrent first logins', () => {
	it('20 concurrent first logins of one new user: all 200, one user row, one namespace row', async () => {
		const claims = newIdentity()
		const tokens = await Promise.all(Array.from({ length: 20 }, () => h.keys.mint(claims)))
		const replies = await Promise.all(tokens.map((token) => h.call('POST', '/auth/exchange', { token })))
		expect(replies.map((r) => r.status)).toEqual(Array(20).fill(200))
		expect(replies.filter((r) => r.body.user.isNewUser)).toHaveLength(1)
		expect(new Set(replies.map((r) => r.body.user.id)).size).toBe(1)
		expect(new Set(replies.map((r) => r.body.namespace.id)).size).toBe(1)
		const rows = h.db.$client.query('SELECT (SELECT count(*) FROM users WHERE sub = ?1) AS users, (SELECT count(*) FROM namespaces n JOIN users u ON u.id = n.owner_id WHERE u.sub = ?1) AS namespaces').get(claims.sub as string)
		expect(rows).toEqual({ users: 1, namespaces: 1 })
	})
})

describe('GET /namespaces/{ns}', () => {
	it('200 {id, slug, kind, name, metadata, role, projects, episodes, files: 0, createdAt} for a new namespace', async () => {
		const u = await newUser()
		const { status, body } = await overview(u)
		expect(status).toBe(200)
		expect(body).toEqual({ id: u.nsId, slug: u.ns, kind: 'personal', name: null, metadata: {}, role: 'owner', projects: 0, episodes: 0, files: 0, createdAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/) })
	})

	it('counts live projects and live episodes in live projects', async () => {
		const u = await newUser()
		await createProject(u, { name: 'Alpha' })
		await createProject(u, { name: 'Beta' })
		await createProject(u, { name: 'Gamma' })
		await createEpisode(u, 'alpha', 'a1')
		const gone = await createEpisode(u, 'alpha', 'a2')
		await createEpisode(u, 'alpha', 'a3')
		await createEpisode(u, 'beta', 'b1')
		await createEpisode(u, 'beta', 'b2')
		expect((await overview(u)).body).toMatchObject({ projects: 3, episodes: 5, files: 0 })

		expect((await h.call('DELETE', `/episodes/${gone}`, { token: u.token })).status).toBe(200)
		expect((await overview(u)).body).toMatchObject({ projects: 3, episodes: 4 })

		expect((await remove(u, 'beta')).status).toBe(200)
		expect((await overview(u)).body).toMatchObject({ id: u.nsId, slug: u.ns, projects: 2, episodes: 2, files: 0 })
	})

	it('counts live files (of live episodes)', async () => {
		const user = await newUser()
		const count = async () => {
			const { status, body } = await h.call('GET', `/namespaces/${user.ns}`, { token: user.token })
			expect(status).toBe(200)
			return body.files
		}
		expect(await count()).toBe(0)
		const one = await newEpisode(user)
		const two = await newEpisode(user)
		const a = await uploaded(user, one, 'a.bin')
		await uploaded(user, one, 'b.bin')
		await uploaded(user, two, 'c.bin')
		expect(await count()).toBe(3)
		// a replaced file is not counted twice
		await uploaded(user, one, 'b.bin')
		expect(await count()).toBe(3)
		expect((await removeFile(user, one, a.id)).status).toBe(200)
		expect(await count()).toBe(2)
		expect((await h.call('DELETE', `/episodes/${two}`, { token: user.token })).status).toBe(200)
		expect(await count()).toBe(1)
		// another user's files are not counted
		const other = await newUser()
		await uploaded(other, await newEpisode(other), 'theirs.bin')
		expect(await count()).toBe(1)
	})

	it('counts a project an episode upsert created', async () => {
		const u = await newUser()
		await createEpisode(u, 'made-by-upsert', 'run')
		expect((await overview(u)).body).toMatchObject({ projects: 1, episodes: 1 })
	})

	it('finds the namespace by its slug in any case', async () => {
		const u = await newUser()
		await createProject(u, { name: 'Alpha' })
		const { status, body } = await h.call('GET', `/namespaces/${u.ns.toUpperCase()}`, { token: u.token })
		expect(status).toBe(200)
		expect(body).toMatchObject({ id: u.nsId, slug: u.ns, projects: 1, episodes: 0, files: 0 })
	})

	it('404 for a namespace that does not exist', async () => {
		const u = await newUser()
		const { status, body } = await h.call('GET', '/namespaces/no-such-namespace-here', { token: u.token })
		expect(status).toBe(404)
		expect(body).toEqual(notFoundNamespace('no-such-namespace-here'))
	})

	whoMayCall<Owner>(() => h, {
		ok: 200,
		write: false,
		outsiderRow: "404 for another user's namespace",
		unchanged: "the owner's namespace",
		async arrange(owner) {
			await createProject(owner, { name: 'Robotics Lab', description: 'mine', tags: ['t'], metadata: { secret: 1 } })
			await createEpisode(owner, 'robotics-lab', 'run-1')
			return { owner, ns: owner.ns }
		},
		call: (f, token) => h.call('GET', `/namespaces/${encodeURIComponent(f.ns)}`, { token }),
		snapshot: (f) => snapshot(f.owner),
		hidden: (f) => notFoundNamespace(f.ns),
		aliases: (f) => [{ ...f, ns: f.ns.toUpperCase() }],
	})
})

describe('database roundtrips (Server-Timing)', () => {
	it('exchange of a new user: one write transaction, and no read outside it', async () => {
		const { db } = await h.login(newIdentity())
		expect(db.transactions).toBe(1)
		// inside the transaction: the lookup (another request may have created it in the same group
		// commit), INSERT user and INSERT namespace
		expect(db.statements).toBe(3)
	})

	it('exchange of a returning user: 1 after a restart (the lookup, in the group transaction), then 0 (the account is cached)', async () => {
		const claims = newIdentity()
		await h.login(claims)
		h.restart()
		expect((await h.login(claims)).db).toEqual({ statements: 1, transactions: 1 })
		expect((await h.login(claims)).db).toEqual({ statements: 0, transactions: 0 })
	})

	it('GET /auth/me: 1 after a restart, then 0; PATCH /auth/me: 1', async () => {
		const { body } = await h.login(newIdentity())
		h.restart()
		const token = body.dreamlake_token
		expect((await h.call('GET', '/auth/me', { token })).db).toEqual({ statements: 1, transactions: 0 })
		expect((await h.call('GET', '/auth/me', { token })).db).toEqual({ statements: 0, transactions: 0 })
		expect((await h.call('PATCH', '/auth/me', { token, body: { name: 'N' } })).db).toEqual({ statements: 1, transactions: 1 })
		expect((await h.call('GET', '/auth/me', { token })).body.name).toBe('N') // the cache follows the write
	})

	it('keeps CACHE_SIZE accounts in memory: the oldest-inserted is read again, the newest costs nothing', async () => {
		const small = await Harness.start({ keyServer: h.keys, cacheSize: 2 })
		try {
			const logins = [await small.login(newIdentity()), await small.login(newIdentity()), await small.login(newIdentity())]
			const me = (i: number) => small.call('GET', '/auth/me', { token: logins[i]!.body.dreamlake_token })
			expect((await me(2)).db).toEqual({ statements: 0, transactions: 0 })
			expect((await me(0)).db).toEqual({ statements: 1, transactions: 0 }) // pushed out by the third login
		} finally {
			small.close()
		}
	})

	it('is on every response, including errors and unknown routes', async () => {
		for (const [method, path] of [['GET', '/health'], ['GET', '/nope'], ['POST', '/auth/exchange'], ['GET', '/auth/me']] as const) {
			const { headers } = await h.call(method, path)
			expect(headers.get('server-timing')).toMatch(/^db;dur=\d+\.\d{3};desc="\d+"/)
		}
	})
})
