import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { whoMayCall, type Owned } from './support/access'
import { Harness, type TestUser as User } from './support/harness'

let h: Harness
beforeAll(async () => {
	h = await Harness.start()
})
afterAll(() => h.close())

const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/
const ID = /^[1-9]\d*$/

const newUser = () => h.newUser()

const projectsPath = (ns: string) => `/namespaces/${encodeURIComponent(ns)}/projects`
const projectPath = (ns: string, project: string) => `${projectsPath(ns)}/${encodeURIComponent(project)}`

const create = (u: User, body: unknown, headers: Record<string, string> = {}) => h.call('POST', projectsPath(u.ns), { token: u.token, body, headers })
const list = (u: User, query = '') => h.call('GET', `${projectsPath(u.ns)}${query}`, { token: u.token })
const getOne = (u: User, project: string) => h.call('GET', projectPath(u.ns, project), { token: u.token })
const patch = (u: User, project: string, body: unknown, headers: Record<string, string> = {}) => h.call('PATCH', projectPath(u.ns, project), { token: u.token, body, headers })
const remove = (u: User, project: string) => h.call('DELETE', projectPath(u.ns, project), { token: u.token })
const restore = (u: User, project: string) => h.call('POST', `${projectPath(u.ns, project)}/restore`, { token: u.token })
const overview = (u: User) => h.call('GET', `/namespaces/${encodeURIComponent(u.ns)}`, { token: u.token })

/** Creates a project, expecting 201, and returns it. */
async function createProject(u: User, body: Record<string, unknown>) {
	const reply = await create(u, body)
	expect(reply.status).toBe(201)
	return reply.body
}

/** Creates an episode by name (upsert) under the project, expecting 201, and returns its id. */
async function createEpisode(u: User, project: string, name: string): Promise<string> {
	const { status, body } = await h.call('POST', `${projectPath(u.ns, project)}/episodes`, { token: u.token, body: { name } })
	expect(status).toBe(201)
	expect(body.id).toMatch(ID)
	return body.id
}

/** Everything the user can see: live and deleted projects and the namespace overview. */
async function snapshot(u: User) {
	const [live, deleted, ns] = await Promise.all([list(u, '?pageSize=200'), list(u, '?deleted=true&pageSize=200'), overview(u)])
	expect([live.status, deleted.status, ns.status]).toEqual([200, 200, 200])
	return { live: live.body, deleted: deleted.body, ns: ns.body }
}

/** Sends a create body, expects a 422 naming `field`, and that nothing was created. */
async function refusedCreate(body: unknown, field: string) {
	const u = await newUser()
	const { status, body: error } = await create(u, body)
	expect(status).toBe(422)
	expect(error).toEqual({ success: false, error: expect.stringContaining(`"${field}"`), code: 'validation_failed', field })
	expect((await list(u)).body.total).toBe(0)
	expect((await list(u, '?deleted=true')).body.total).toBe(0)
}

/** Sends a PATCH body, expects a 422 naming `field`, and that the project did not change. */
async function refusedPatch(body: unknown, field: string) {
	const u = await newUser()
	await createProject(u, { name: 'Robotics Lab', description: 'd', tags: ['a'], metadata: { k: 1 } })
	const before = (await getOne(u, 'robotics-lab')).body
	const { status, body: error } = await patch(u, 'robotics-lab', body)
	expect(status).toBe(422)
	expect(error).toEqual({ success: false, error: expect.stringContaining(`"${field}"`), code: 'validation_failed', field })
	expect((await getOne(u, 'robotics-lab')).body).toEqual(before)
}

const notFoundNamespace = (ns: string) => ({ success: false, error: `Namespace "${ns}" not found.`, code: 'namespace_not_found' })
const notFoundProject = (project: string) => ({ success: false, error: `Project "${project}" not found.`, code: 'project_not_found' })

/** The first user's things the access rows call a route on: their namespace and project `robotics-lab`. */
interface Owner extends Owned {
	ns: string
	project: string
}

/** Gives `u` project `robotics-lab` holding one episode (deleted when the route acts on a deleted project). */
async function ownProject(u: User, deleted = false) {
	await createProject(u, { name: 'Robotics Lab', description: 'mine', tags: ['t'], metadata: { secret: 1 } })
	await createEpisode(u, 'robotics-lab', 'run-1')
	if (deleted) expect((await remove(u, 'robotics-lab')).status).toBe(200)
}

/**
 * One route of this file, for the access rows every route shares (test/support/access.ts): `path`
 * is called with a namespace slug and a project slug.
 */
function accessRows(route: {
	method: string
	path: (ns: string, project: string) => string
	body?: unknown
	ok: number
	/** The project the route acts on is a deleted one (restore). */
	deleted?: boolean
	/** The route names a project, so the second user can ask for the first's in their own namespace. */
	namesProject: boolean
}) {
	whoMayCall<Owner>(() => h, {
		ok: route.ok,
		write: route.method !== 'GET',
		outsiderRow: "404 for another user's namespace",
		unchanged: "the owner's namespace",
		async arrange(owner) {
			await ownProject(owner, route.deleted)
			return { owner, ns: owner.ns, project: 'robotics-lab' }
		},
		call: (f, token) => h.call(route.method, route.path(f.ns, f.project), { token, body: route.body }),
		snapshot: (f) => snapshot(f.owner),
		hidden: (f) => notFoundNamespace(f.ns),
		aliases: (f) => [{ ...f, ns: f.ns.toUpperCase() }],
		atHome: route.namesProject
			? {
					name: "404 for another user's project, asked for in one's own namespace",
					at: async (f, other) => ({ ...f, owner: other, ns: other.ns }),
					hidden: () => ({ success: false, error: expect.any(String), code: route.deleted ? 'project_not_deleted' : 'project_not_found' }),
				}
			: undefined,
		also: {
			async atHome({ at }) {
				expect((await snapshot(at!.owner)).ns).toMatchObject({ projects: 0, episodes: 0 })
			},
		},
	})
}

describe('POST /namespaces/{ns}/projects', () => {
	it('201 with the project shape', async () => {
		const u = await newUser()
		const { status, body } = await create(u, { name: 'Robotics Lab', description: 'Arms and grippers', tags: ['robots', 'lab'], metadata: { team: { size: 3 } } })
		expect(status).toBe(201)
		expect(body).toEqual({
			id: expect.stringMatching(ID),
			namespaceId: u.nsId,
			name: 'Robotics Lab',
			slug: 'robotics-lab',
			description: 'Arms and grippers',
			tags: ['robots', 'lab'],
			metadata: { team: { size: 3 } },
			visibility: 'private',
			episodeCount: 0,
			createdAt: expect.stringMatching(ISO),
			updatedAt: expect.stringMatching(ISO),
			lastEpisodeAt: null,
			deletedAt: null,
		})
		expect(body.updatedAt).toBe(body.createdAt)
		expect(Math.abs(Date.parse(body.createdAt) - Date.now())).toBeLessThan(60_000)
		expect((await getOne(u, 'robotics-lab')).body).toEqual(body)
	})

	it('201 with defaults for the fields left out: description null, tags [], metadata {}', async () => {
		const u = await newUser()
		const body = await createProject(u, { name: 'Bare' })
		expect(body).toMatchObject({ name: 'Bare', slug: 'bare', description: null, tags: [], metadata: {}, episodeCount: 0, deletedAt: null })
	})

	it('derives the slug from the name when absent ("Robotics Lab" -> "robotics-lab")', async () => {
		const u = await newUser()
		expect((await createProject(u, { name: 'Robotics Lab' })).slug).toBe('robotics-lab')
		expect((await createProject(u, { name: '  Vision & Touch!! 2 ' })).slug).toBe('vision-touch-2')
		expect((await createProject(u, { name: 'RL_Agents' })).slug).toBe('rl_agents')
	})

	it('keeps an explicit slug', async () => {
		const u = await newUser()
		const body = await createProject(u, { name: 'Robotics Lab', slug: 'arm_2-x' })
		expect(body).toMatchObject({ name: 'Robotics Lab', slug: 'arm_2-x' })
		expect((await getOne(u, 'arm_2-x')).status).toBe(200)
		expect((await getOne(u, 'robotics-lab')).status).toBe(404)
	})

	it('accepts a name of 100 characters', async () => {
		const u = await newUser()
		const name = 'n'.repeat(100)
		expect(await createProject(u, { name })).toMatchObject({ name, slug: name })
	})

	it('keeps the same slug apart in two namespaces', async () => {
		const [a, b] = [await newUser(), await newUser()]
		const first = await createProject(a, { name: 'Robotics Lab' })
		const second = await createProject(b, { name: 'Robotics Lab' })
		expect(first.id).not.toBe(second.id)
		expect([first.namespaceId, second.namespaceId]).toEqual([a.nsId, b.nsId])
	})

	it('creates in the namespace named in any case', async () => {
		const u = await newUser()
		const { status, body } = await h.call('POST', projectsPath(u.ns.toUpperCase()), { token: u.token, body: { name: 'Alpha' } })
		expect(status).toBe(201)
		expect(body.namespaceId).toBe(u.nsId)
	})

	it('409 project_exists when the slug is taken', async () => {
		const u = await newUser()
		const first = await createProject(u, { name: 'Robotics Lab', description: 'first' })
		for (const body of [{ name: 'Robotics Lab' }, { name: 'robotics lab!', description: 'second' }, { name: 'Other', slug: 'robotics-lab' }]) {
			const { status, body: error } = await create(u, body)
			expect(status).toBe(409)
			expect(error).toEqual({ success: false, error: 'A project with the slug "robotics-lab" already exists.', code: 'project_exists' })
		}
		const { body } = await list(u)
		expect(body.total).toBe(1)
		expect(body.projects[0]).toEqual(first)
	})

	it('409 project_deleted when a deleted project holds the slug', async () => {
		const u = await newUser()
		await createProject(u, { name: 'Robotics Lab' })
		expect((await remove(u, 'robotics-lab')).status).toBe(200)
		const { status, body } = await create(u, { name: 'Robotics Lab' })
		expect(status).toBe(409)
		expect(body).toEqual({ success: false, error: expect.stringContaining('"robotics-lab"'), code: 'project_deleted' })
		expect((await list(u)).body.total).toBe(0)
		expect((await list(u, '?deleted=true')).body.total).toBe(1)
	})

	it('422 for a slug with upper case', () => refusedCreate({ name: 'x', slug: 'Robotics-Lab' }, 'slug'))
	it('422 for a slug with spaces', () => refusedCreate({ name: 'x', slug: 'robotics lab' }, 'slug'))
	it('422 for a slug starting with "-"', () => refusedCreate({ name: 'x', slug: '-lab' }, 'slug'))
	it('422 for an empty slug', () => refusedCreate({ name: 'x', slug: '' }, 'slug'))
	it('422 for a slug of 101 characters', () => refusedCreate({ name: 'x', slug: 's'.repeat(101) }, 'slug'))
	it('422 for an empty name', () => refusedCreate({ name: '' }, 'name'))
	it('422 for a name of 101 characters', () => refusedCreate({ name: 'n'.repeat(101) }, 'name'))
	it('422 for a name with control characters', () => refusedCreate({ name: 'robot\u0000lab' }, 'name'))
	it('422 for a name of only spaces', () => refusedCreate({ name: '   ', slug: 'spaces' }, 'name'))
	it('422 for a name with no letter or digit and no slug', () => refusedCreate({ name: '!!!' }, 'name'))
	it('400 missing_field for a missing name, nothing created', async () => {
		const u = await newUser()
		const { status, body } = await create(u, { slug: 'no-name' })
		expect(status).toBe(400)
		expect(body).toEqual({ success: false, error: 'Invalid request body: "name" is required.', code: 'missing_field', field: 'name' })
		expect((await list(u)).body.total).toBe(0)
	})
	it('422 for a name that is not a string', () => refusedCreate({ name: 42 }, 'name'))
	it('422 for tags that are not an array', () => refusedCreate({ name: 'x', tags: 'robots' }, 'tags'))
	it('422 for tags that are not strings', async () => {
		const u = await newUser()
		const { status, body } = await create(u, { name: 'x', tags: ['ok', 7] })
		expect(status).toBe(422)
		expect(body.code).toBe('validation_failed')
		expect(body.field).toMatch(/^tags(\.1)?$/)
		expect((await list(u)).body.total).toBe(0)
	})
	it('422 for metadata that is an array', () => refusedCreate({ name: 'x', metadata: [1, 2] }, 'metadata'))
	it('422 for metadata that is a string', () => refusedCreate({ name: 'x', metadata: 'bio' }, 'metadata'))
	it('422 for metadata that is null', () => refusedCreate({ name: 'x', metadata: null }, 'metadata'))
	it('accepts metadata of exactly 16 KiB', async () => {
		const u = await newUser()
		const metadata = { blob: 'm'.repeat(16 * 1024 - '{"blob":""}'.length) }
		expect(JSON.stringify(metadata)).toHaveLength(16 * 1024)
		expect((await createProject(u, { name: 'x', metadata })).metadata).toEqual(metadata)
	})
	it('422 for metadata over 16 KiB', () => refusedCreate({ name: 'x', metadata: { blob: 'm'.repeat(16 * 1024 - '{"blob":""}'.length + 1) } }, 'metadata'))
	it('422 for metadata with a "__proto__" key', () => refusedCreate('{"name":"x","metadata":{"__proto__":{"admin":true}}}', 'metadata'))
	it('422 for metadata with a nested "constructor" key', () => refusedCreate({ name: 'x', metadata: { a: { constructor: 1 } } }, 'metadata'))
	it('422 for an unknown field', () => refusedCreate({ name: 'x', owner: 'someone-else' }, 'owner'))
	it('422 for a forged id', () => refusedCreate({ name: 'x', id: '1' }, 'id'))
	it('422 for a forged namespaceId', () => refusedCreate({ name: 'x', namespaceId: 'elsewhere' }, 'namespaceId'))

	it('400 for malformed JSON', async () => {
		const u = await newUser()
		const { status, body } = await create(u, '{"name": "x"', { 'content-type': 'application/json' })
		expect(status).toBe(400)
		expect(body).toEqual({ success: false, error: 'Request body is not valid JSON.', code: 'invalid_json' })
		expect((await list(u)).body.total).toBe(0)
	})

	it('415 for a non-JSON content type', async () => {
		const u = await newUser()
		const { status, body } = await create(u, 'name=x', { 'content-type': 'application/x-www-form-urlencoded' })
		expect(status).toBe(415)
		expect(body).toEqual({ success: false, error: expect.any(String), code: 'unsupported_media_type' })
		expect((await list(u)).body.total).toBe(0)
	})

	it('accepts a body of exactly 1 MiB', async () => {
		const u = await newUser()
		const head = '{"name":"Big"'
		const text = `${head}${' '.repeat(1024 * 1024 - head.length - 1)}}`
		expect(text).toHaveLength(1024 * 1024)
		const { status } = await create(u, text, { 'content-type': 'application/json' })
		expect(status).toBe(201)
	})

	it('413 payload_too_large for a body over 1 MiB declared by Content-Length', async () => {
		const u = await newUser()
		const head = '{"name":"Big"'
		const text = `${head}${' '.repeat(1024 * 1024 - head.length)}}`
		expect(text).toHaveLength(1024 * 1024 + 1)
		const { status, body } = await create(u, text, { 'content-type': 'application/json' })
		expect(status).toBe(413)
		expect(body).toEqual({ success: false, error: 'Request body is larger than 1 MiB.', code: 'payload_too_large' })
		expect((await list(u)).body.total).toBe(0)
	})

	it('404 for a namespace that does not exist', async () => {
		const u = await newUser()
		const { status, body } = await h.call('POST', projectsPath('no-such-namespace-here'), { token: u.token, body: { name: 'x' } })
		expect(status).toBe(404)
		expect(body).toEqual(notFoundNamespace('no-such-namespace-here'))
	})

	it('writes in one transaction', async () => {
		const u = await newUser()
		const { status, db } = await create(u, { name: 'Counted' })
		expect(status).toBe(201)
		expect(db.transactions).toBe(1)
	})

	accessRows({ method: 'POST', path: (ns) => projectsPath(ns), body: { name: 'Intruder' }, ok: 201, namesProject: false })
})

describe('GET /namespaces/{ns}/projects', () => {
	it('{projects, page, pageSize, total, totalPages}, newest first', async () => {
		const u = await newUser()
		const made = []
		for (const name of ['First', 'Second', 'Third']) {
			made.push(await createProject(u, { name }))
			await Bun.sleep(2)
		}
		const { status, body } = await list(u)
		expect(status).toBe(200)
		expect(body).toEqual({ projects: made.reverse(), page: 1, pageSize: 50, total: 3, totalPages: 1 })
	})

	it('an empty namespace: no projects, total 0, totalPages 0', async () => {
		const u = await newUser()
		expect((await list(u)).body).toEqual({ projects: [], page: 1, pageSize: 50, total: 0, totalPages: 0 })
	})

	it('pages with page and pageSize', async () => {
		const u = await newUser()
		for (const name of ['p1', 'p2', 'p3', 'p4', 'p5']) await createProject(u, { name })
		const pages = await Promise.all([1, 2, 3, 4].map((page) => list(u, `?page=${page}&pageSize=2`)))
		expect(pages.map((p) => p.body.projects.map((x: { slug: string }) => x.slug))).toEqual([['p5', 'p4'], ['p3', 'p2'], ['p1'], []])
		for (const [i, p] of pages.entries()) expect(p.body).toMatchObject({ page: i + 1, pageSize: 2, total: 5, totalPages: 3 })
	})

	it('pageSize defaults to 50', async () => {
		const u = await newUser()
		for (let i = 0; i < 51; i++) await createProject(u, { name: `project ${i}` })
		const first = await list(u)
		expect(first.body).toMatchObject({ page: 1, pageSize: 50, total: 51, totalPages: 2 })
		expect(first.body.projects).toHaveLength(50)
		expect(first.body.projects[0].slug).toBe('project-50')
		const second = await list(u, '?page=2')
		expect(second.body.projects.map((p: { slug: string }) => p.slug)).toEqual(['project-0'])
		expect((await list(u, '?pageSize=200')).body.projects).toHaveLength(51)
	})

	it('pageSize 200 (the maximum) is accepted', async () => {
		const u = await newUser()
		const { status, body } = await list(u, '?pageSize=200')
		expect(status).toBe(200)
		expect(body.pageSize).toBe(200)
	})

	it.each([
		['page=0', 'page'],
		['page=-1', 'page'],
		['page=abc', 'page'],
		['page=1.5', 'page'],
		['pageSize=0', 'pageSize'],
		['pageSize=201', 'pageSize'],
		['pageSize=abc', 'pageSize'],
	])('422 for %s, naming the parameter', async (query, field) => {
		const u = await newUser()
		const { status, body } = await list(u, `?${query}`)
		expect(status).toBe(422)
		expect(body).toEqual({ success: false, error: expect.stringContaining(`"${field}"`), code: 'validation_failed', field })
	})

	it('search matches the name or the slug, case-insensitively', async () => {
		const u = await newUser()
		await createProject(u, { name: 'Robotics Lab' })
		await createProject(u, { name: 'Vision', slug: 'cv-team' })
		await createProject(u, { name: 'Speech' })
		const slugs = async (search: string) => {
			const { status, body } = await list(u, `?search=${encodeURIComponent(search)}`)
			expect(status).toBe(200)
			expect(body.total).toBe(body.projects.length)
			return body.projects.map((p: { slug: string }) => p.slug).sort()
		}
		expect(await slugs('ROBOT')).toEqual(['robotics-lab'])
		expect(await slugs('robotics lab')).toEqual(['robotics-lab'])
		expect(await slugs('CV-T')).toEqual(['cv-team'])
		expect(await slugs('vIsIoN')).toEqual(['cv-team'])
		expect(await slugs('C')).toEqual(['cv-team', 'robotics-lab', 'speech'])
		expect(await slugs('nothing-like-it')).toEqual([])
	})

	it('search takes "%" and "_" literally', async () => {
		const u = await newUser()
		await createProject(u, { name: '100% done', slug: 'done' })
		await createProject(u, { name: 'Other', slug: 'a_b' })
		await createProject(u, { name: 'Third', slug: 'axb' })
		const slugs = async (search: string) => (await list(u, `?search=${encodeURIComponent(search)}`)).body.projects.map((p: { slug: string }) => p.slug)
		expect(await slugs('%')).toEqual(['done'])
		expect(await slugs('a_b')).toEqual(['a_b'])
	})

	it('search pages and counts only the matches', async () => {
		const u = await newUser()
		for (const name of ['match 1', 'other', 'match 2', 'match 3']) await createProject(u, { name })
		const { body } = await list(u, '?search=match&pageSize=2&page=2')
		expect(body).toMatchObject({ page: 2, pageSize: 2, total: 3, totalPages: 2 })
		expect(body.projects.map((p: { slug: string }) => p.slug)).toEqual(['match-1'])
	})

	it('deleted=true lists deleted ones only', async () => {
		const u = await newUser()
		for (const name of ['Keep', 'Drop One', 'Drop Two']) await createProject(u, { name })
		const dropped = (await remove(u, 'drop-one')).body
		await remove(u, 'drop-two')
		const deleted = await list(u, '?deleted=true')
		expect(deleted.status).toBe(200)
		expect(deleted.body).toMatchObject({ total: 2, totalPages: 1 })
		expect(deleted.body.projects.map((p: { slug: string }) => p.slug).sort()).toEqual(['drop-one', 'drop-two'])
		expect(deleted.body.projects.find((p: { slug: string }) => p.slug === 'drop-one')).toMatchObject({ id: dropped.id, deletedAt: dropped.deletedAt })
		const live = await list(u)
		expect(live.body).toMatchObject({ total: 1 })
		expect(live.body.projects.map((p: { slug: string }) => p.slug)).toEqual(['keep'])
		expect((await list(u, '?deleted=false')).body.total).toBe(1)
	})

	it('episodeCount counts live episodes', async () => {
		const u = await newUser()
		await createProject(u, { name: 'Empty' })
		await createProject(u, { name: 'Busy' })
		await createEpisode(u, 'busy', 'e1')
		const dropped = await createEpisode(u, 'busy', 'e2')
		await createEpisode(u, 'busy', 'e3')
		expect((await h.call('DELETE', `/episodes/${dropped}`, { token: u.token })).status).toBe(200)
		const counts = Object.fromEntries((await list(u)).body.projects.map((p: { slug: string; episodeCount: number }) => [p.slug, p.episodeCount]))
		expect(counts).toEqual({ empty: 0, busy: 2 })
	})

	it('lastEpisodeAt is when a live episode of the project was last created or changed', async () => {
		const u = await newUser()
		await createProject(u, { name: 'Quiet' })
		const busy = await createProject(u, { name: 'Lively' })
		await createEpisode(u, 'lively', 'old')
		await Bun.sleep(5)
		const newest = await createEpisode(u, 'lively', 'new')
		await Bun.sleep(5)
		const patched = await h.call('PATCH', `/episodes/${newest}`, { token: u.token, body: { description: 'changed' } })
		const rows = Object.fromEntries((await list(u)).body.projects.map((p: { slug: string }) => [p.slug, p]))
		expect(rows.quiet.lastEpisodeAt).toBeNull()
		expect(rows.lively.lastEpisodeAt).toBe(patched.body.updatedAt)
		expect(Date.parse(rows.lively.lastEpisodeAt)).toBeGreaterThan(Date.parse(busy.updatedAt))
		expect((await getOne(u, 'lively')).body.lastEpisodeAt).toBe(patched.body.updatedAt)
		// a deleted episode no longer counts
		expect((await h.call('DELETE', `/episodes/${newest}`, { token: u.token })).status).toBe(200)
		expect(Date.parse((await getOne(u, 'lively')).body.lastEpisodeAt)).toBeLessThan(Date.parse(patched.body.updatedAt))
	})

	it('ignores unknown query parameters', async () => {
		const u = await newUser()
		await createProject(u, { name: 'Alpha' })
		const { status, body } = await list(u, '?_=12345')
		expect(status).toBe(200)
		expect(body.total).toBe(1)
	})

	it('404 for a namespace that does not exist', async () => {
		const u = await newUser()
		const { status, body } = await h.call('GET', projectsPath('no-such-namespace-here'), { token: u.token })
		expect(status).toBe(404)
		expect(body).toEqual(notFoundNamespace('no-such-namespace-here'))
	})

	it("lists none of another user's projects in one's own namespace", async () => {
		const u = await newUser()
		await ownProject(u)
		const other = await newUser()
		expect((await list(other)).body).toEqual({ projects: [], page: 1, pageSize: 50, total: 0, totalPages: 0 })
		expect((await list(other, '?deleted=true')).body.total).toBe(0)
		expect((await list(u)).body.total).toBe(1)
	})

	accessRows({ method: 'GET', path: (ns) => projectsPath(ns), ok: 200, namesProject: false })
})

describe('GET /namespaces/{ns}/projects/{project}', () => {
	it('200 the project', async () => {
		const u = await newUser()
		const made = await createProject(u, { name: 'Robotics Lab', description: 'd', tags: ['a', 'b'], metadata: { k: [1, 2] } })
		const { status, body } = await getOne(u, 'robotics-lab')
		expect(status).toBe(200)
		expect(body).toEqual(made)
	})

	it('episodeCount counts live episodes', async () => {
		const u = await newUser()
		await createProject(u, { name: 'Robotics Lab' })
		await createEpisode(u, 'robotics-lab', 'e1')
		const dropped = await createEpisode(u, 'robotics-lab', 'e2')
		expect((await getOne(u, 'robotics-lab')).body.episodeCount).toBe(2)
		expect((await h.call('DELETE', `/episodes/${dropped}`, { token: u.token })).status).toBe(200)
		expect((await getOne(u, 'robotics-lab')).body.episodeCount).toBe(1)
	})

	it('a path segment like "Robotics Lab" or "ROBOTICS-LAB" finds the project "robotics-lab"', async () => {
		const u = await newUser()
		const made = await createProject(u, { name: 'Robotics Lab' })
		for (const segment of ['Robotics Lab', 'ROBOTICS-LAB', 'robotics-lab']) {
			const { status, body } = await getOne(u, segment)
			expect(status).toBe(200)
			expect(body.id).toBe(made.id)
		}
	})

	it('decodes a path segment once: "Robotics%2520Lab" does not find "robotics-lab"', async () => {
		const u = await newUser()
		await createProject(u, { name: 'Robotics Lab' })
		const { status } = await h.call('GET', `${projectsPath(u.ns)}/Robotics%2520Lab`, { token: u.token })
		expect(status).toBe(404)
		expect((await h.call('GET', `${projectsPath(u.ns)}/Robotics%20Lab`, { token: u.token })).status).toBe(200)
	})

	it('finds it through the namespace slug in any case', async () => {
		const u = await newUser()
		const made = await createProject(u, { name: 'Robotics Lab' })
		const { status, body } = await h.call('GET', projectPath(u.ns.toUpperCase(), 'robotics-lab'), { token: u.token })
		expect(status).toBe(200)
		expect(body.id).toBe(made.id)
	})

	it('404 for a project that does not exist', async () => {
		const u = await newUser()
		const { status, body } = await getOne(u, 'no-such-project')
		expect(status).toBe(404)
		expect(body).toEqual(notFoundProject('no-such-project'))
	})

	it('404 for a segment with no letter or digit', async () => {
		const u = await newUser()
		expect((await getOne(u, '!!!')).status).toBe(404)
	})

	it('reads at most 2 statements for a known project, and none in a transaction', async () => {
		const u = await newUser()
		await createProject(u, { name: 'Robotics Lab' })
		await createEpisode(u, 'robotics-lab', 'e1')
		await getOne(u, 'robotics-lab') // the caller and the project are known now
		const { status, db } = await getOne(u, 'robotics-lab')
		expect(status).toBe(200)
		expect(db.statements).toBeGreaterThan(0)
		expect(db.statements).toBeLessThanOrEqual(2)
		expect(db.transactions).toBe(0)
	})

	accessRows({ method: 'GET', path: projectPath, ok: 200, namesProject: true })
})

describe('PATCH /namespaces/{ns}/projects/{project}', () => {
	const start = { name: 'Robotics Lab', description: 'Arms', tags: ['a', 'b'], metadata: { k: 1 } }

	it('changes only the fields sent', async () => {
		const u = await newUser()
		const before = await createProject(u, start)
		await Bun.sleep(2)
		const { status, body } = await patch(u, 'robotics-lab', { name: 'Robotics Lab 2' })
		expect(status).toBe(200)
		expect(body).toEqual({ ...before, name: 'Robotics Lab 2', updatedAt: expect.stringMatching(ISO) })
		expect(Date.parse(body.updatedAt)).toBeGreaterThan(Date.parse(before.updatedAt))
		expect(body.slug).toBe('robotics-lab') // renaming keeps the slug
		expect((await getOne(u, 'robotics-lab')).body).toEqual(body)
	})

	it('changes the description, and clears it with null', async () => {
		const u = await newUser()
		const before = await createProject(u, start)
		const changed = await patch(u, 'robotics-lab', { description: 'Grippers' })
		expect(changed.body).toEqual({ ...before, description: 'Grippers', updatedAt: expect.stringMatching(ISO) })
		const cleared = await patch(u, 'robotics-lab', { description: null })
		expect(cleared.status).toBe(200)
		expect(cleared.body.description).toBeNull()
		expect((await getOne(u, 'robotics-lab')).body).toEqual({ ...before, description: null, updatedAt: cleared.body.updatedAt })
	})

	it('replaces tags and metadata as a whole', async () => {
		const u = await newUser()
		const before = await createProject(u, start)
		const { status, body } = await patch(u, 'robotics-lab', { tags: ['z'], metadata: { other: { deep: true } } })
		expect(status).toBe(200)
		expect(body).toEqual({ ...before, tags: ['z'], metadata: { other: { deep: true } }, updatedAt: expect.stringMatching(ISO) })
		expect((await patch(u, 'robotics-lab', { tags: [] })).body.tags).toEqual([])
		expect((await getOne(u, 'robotics-lab')).body).toMatchObject({ name: start.name, description: start.description, tags: [], metadata: { other: { deep: true } } })
	})

	it('200 for an empty body {}, writing nothing', async () => {
		const u = await newUser()
		const before = await createProject(u, start)
		const { status, body, db } = await patch(u, 'robotics-lab', {})
		expect(status).toBe(200)
		expect(body).toEqual(before)
		expect(db.transactions).toBe(0)
	})

	it('finds the project by a path segment like "Robotics Lab" or "ROBOTICS-LAB"', async () => {
		const u = await newUser()
		await createProject(u, start)
		expect((await patch(u, 'Robotics Lab', { description: 'one' })).body).toMatchObject({ slug: 'robotics-lab', description: 'one' })
		expect((await patch(u, 'ROBOTICS-LAB', { description: 'two' })).body).toMatchObject({ slug: 'robotics-lab', description: 'two' })
		expect((await getOne(u, 'robotics-lab')).body.description).toBe('two')
	})

	it('keeps episodeCount in the answer', async () => {
		const u = await newUser()
		await createProject(u, start)
		await createEpisode(u, 'robotics-lab', 'e1')
		expect((await patch(u, 'robotics-lab', { description: 'x' })).body.episodeCount).toBe(1)
	})

	it('422 for slug (not changeable)', () => refusedPatch({ slug: 'new-slug' }, 'slug'))
	it('422 for slug beside a valid change, changing nothing', () => refusedPatch({ name: 'Changed', slug: 'new-slug' }, 'slug'))
	it.each(['id', 'namespaceId', 'episodeCount', 'createdAt', 'updatedAt', 'deletedAt'])('422 for "%s" (not changeable)', (field) => refusedPatch({ [field]: 'forged' }, field))
	it('422 for an empty name', () => refusedPatch({ name: '' }, 'name'))
	it('422 for a name of 101 characters', () => refusedPatch({ name: 'n'.repeat(101) }, 'name'))
	it('422 for a name with control characters', () => refusedPatch({ name: 'a\u0007b' }, 'name'))
	it('422 for a name that is null', () => refusedPatch({ name: null }, 'name'))
	it('422 for tags that are not an array', () => refusedPatch({ tags: 'a,b' }, 'tags'))
	it('422 for metadata that is not an object', () => refusedPatch({ metadata: [1] }, 'metadata'))
	it('422 for metadata over 16 KiB', () => refusedPatch({ metadata: { blob: 'm'.repeat(16 * 1024) } }, 'metadata'))
	it('422 for metadata with a "__proto__" key', () => refusedPatch('{"metadata":{"__proto__":{"admin":true}}}', 'metadata'))

	it('400 for malformed JSON', async () => {
		const u = await newUser()
		const before = await createProject(u, start)
		const { status, body } = await patch(u, 'robotics-lab', '{"name":', { 'content-type': 'application/json' })
		expect(status).toBe(400)
		expect(body.code).toBe('invalid_json')
		expect((await getOne(u, 'robotics-lab')).body).toEqual(before)
	})

	it('415 for a non-JSON content type', async () => {
		const u = await newUser()
		const before = await createProject(u, start)
		const { status, body } = await patch(u, 'robotics-lab', 'name=x', { 'content-type': 'text/plain' })
		expect(status).toBe(415)
		expect(body.code).toBe('unsupported_media_type')
		expect((await getOne(u, 'robotics-lab')).body).toEqual(before)
	})

	it('404 for a project that does not exist', async () => {
		const u = await newUser()
		const { status, body } = await patch(u, 'no-such-project', { name: 'x' })
		expect(status).toBe(404)
		expect(body).toEqual(notFoundProject('no-such-project'))
	})

	accessRows({ method: 'PATCH', path: projectPath, body: { name: 'Hijacked', metadata: { owned: true } }, ok: 200, namesProject: true })
})

describe('DELETE /namespaces/{ns}/projects/{project}', () => {
	it('answers {id, deletedAt}', async () => {
		const u = await newUser()
		const made = await createProject(u, { name: 'Robotics Lab' })
		const { status, body, db } = await remove(u, 'robotics-lab')
		expect(status).toBe(200)
		expect(body).toEqual({ id: made.id, deletedAt: expect.stringMatching(ISO) })
		expect(Math.abs(Date.parse(body.deletedAt) - Date.now())).toBeLessThan(60_000)
		expect(db.transactions).toBe(1)
		const [listed] = (await list(u, '?deleted=true')).body.projects
		expect(listed).toMatchObject({ id: made.id, deletedAt: body.deletedAt })
	})

	it('then the project is 404 on get, patch and delete', async () => {
		const u = await newUser()
		await createProject(u, { name: 'Robotics Lab' })
		await getOne(u, 'robotics-lab') // known (cached) before the delete
		expect((await remove(u, 'robotics-lab')).status).toBe(200)
		for (const reply of [await getOne(u, 'robotics-lab'), await patch(u, 'robotics-lab', { name: 'x' }), await remove(u, 'robotics-lab')]) {
			expect(reply.status).toBe(404)
			expect(reply.body).toEqual(notFoundProject('robotics-lab'))
		}
		h.restart()
		expect((await getOne(u, 'robotics-lab')).status).toBe(404)
		expect((await list(u, '?deleted=true')).body.projects[0].name).toBe('Robotics Lab') // the refused PATCH changed nothing
	})

	it('then the project is absent from lists', async () => {
		const u = await newUser()
		await createProject(u, { name: 'Keep' })
		await createProject(u, { name: 'Robotics Lab' })
		await remove(u, 'robotics-lab')
		const { body } = await list(u)
		expect(body.total).toBe(1)
		expect(body.projects.map((p: { slug: string }) => p.slug)).toEqual(['keep'])
		expect((await list(u, '?search=robotics')).body.total).toBe(0)
	})

	it('then its episodes are 404 by id', async () => {
		const u = await newUser()
		await createProject(u, { name: 'Robotics Lab' })
		const ids = [await createEpisode(u, 'robotics-lab', 'e1'), await createEpisode(u, 'robotics-lab', 'e2')]
		for (const id of ids) expect((await h.call('GET', `/episodes/${id}`, { token: u.token })).status).toBe(200) // known (cached) before the delete
		await remove(u, 'robotics-lab')
		for (const id of ids) {
			const { status, body } = await h.call('GET', `/episodes/${id}`, { token: u.token })
			expect(status).toBe(404)
			expect(body.code).toBe('episode_not_found')
		}
		const byName = await h.call('GET', `${projectPath(u.ns, 'robotics-lab')}/episodes/e1`, { token: u.token })
		expect(byName.status).toBe(404)
	})

	it('then the namespace overview stops counting it and its episodes', async () => {
		const u = await newUser()
		await createProject(u, { name: 'Keep' })
		await createEpisode(u, 'keep', 'k1')
		await createProject(u, { name: 'Robotics Lab' })
		await createEpisode(u, 'robotics-lab', 'e1')
		await createEpisode(u, 'robotics-lab', 'e2')
		expect((await overview(u)).body).toMatchObject({ projects: 2, episodes: 3 })
		await remove(u, 'robotics-lab')
		expect((await overview(u)).body).toMatchObject({ projects: 1, episodes: 1 })
	})

	it('finds the project by a path segment like "Robotics Lab" or "ROBOTICS-LAB"', async () => {
		const u = await newUser()
		const one = await createProject(u, { name: 'Robotics Lab' })
		const two = await createProject(u, { name: 'Second Lab' })
		expect((await remove(u, 'Robotics Lab')).body.id).toBe(one.id)
		expect((await remove(u, 'SECOND-LAB')).body.id).toBe(two.id)
		expect((await list(u)).body.total).toBe(0)
	})

	it('404 for a project that does not exist', async () => {
		const u = await newUser()
		const { status, body } = await remove(u, 'no-such-project')
		expect(status).toBe(404)
		expect(body).toEqual(notFoundProject('no-such-project'))
	})

	accessRows({ method: 'DELETE', path: projectPath, ok: 200, namesProject: true })
})

describe('POST /namespaces/{ns}/projects/{project}/restore', () => {
	it('restore brings it and its episodes back', async () => {
		const u = await newUser()
		const made = await createProject(u, { name: 'Robotics Lab', description: 'd', tags: ['t'], metadata: { k: 1 } })
		const ids = [await createEpisode(u, 'robotics-lab', 'e1'), await createEpisode(u, 'robotics-lab', 'e2')]
		const before = (await getOne(u, 'robotics-lab')).body
		const overviewBefore = (await overview(u)).body
		expect((await remove(u, 'robotics-lab')).status).toBe(200)

		const { status, body } = await restore(u, 'robotics-lab')
		expect(status).toBe(200)
		expect(body).toEqual({ ...before, deletedAt: null, updatedAt: expect.stringMatching(ISO) })
		expect(body.id).toBe(made.id)
		expect(body.episodeCount).toBe(2)
		expect((await getOne(u, 'robotics-lab')).body).toEqual(body)
		expect((await list(u)).body.projects.map((p: { id: string }) => p.id)).toEqual([made.id])
		expect((await list(u, '?deleted=true')).body.total).toBe(0)
		for (const id of ids) expect((await h.call('GET', `/episodes/${id}`, { token: u.token })).status).toBe(200)
		expect((await overview(u)).body).toEqual(overviewBefore)
	})

	it('an episode deleted on its own before the project stays deleted after the restore', async () => {
		const u = await newUser()
		await createProject(u, { name: 'Robotics Lab' })
		await createEpisode(u, 'robotics-lab', 'e1')
		const dropped = await createEpisode(u, 'robotics-lab', 'e2')
		expect((await h.call('DELETE', `/episodes/${dropped}`, { token: u.token })).status).toBe(200)
		await remove(u, 'robotics-lab')
		expect((await restore(u, 'robotics-lab')).body.episodeCount).toBe(1)
		expect((await h.call('GET', `/episodes/${dropped}`, { token: u.token })).status).toBe(404)
		expect((await overview(u)).body).toMatchObject({ projects: 1, episodes: 1 })
	})

	it('restore of a live project 404', async () => {
		const u = await newUser()
		const made = await createProject(u, { name: 'Robotics Lab' })
		const { status, body } = await restore(u, 'robotics-lab')
		expect(status).toBe(404)
		expect(body).toEqual({ success: false, error: 'No deleted project "robotics-lab" to restore.', code: 'project_not_deleted' })
		expect((await getOne(u, 'robotics-lab')).body).toEqual(made)
	})

	it('restore twice: the second 404', async () => {
		const u = await newUser()
		await createProject(u, { name: 'Robotics Lab' })
		await remove(u, 'robotics-lab')
		expect((await restore(u, 'robotics-lab')).status).toBe(200)
		expect((await restore(u, 'robotics-lab')).status).toBe(404)
	})

	it('404 for a project that does not exist', async () => {
		const u = await newUser()
		const { status, body } = await restore(u, 'no-such-project')
		expect(status).toBe(404)
		expect(body.code).toBe('project_not_deleted')
	})

	it('finds the project by a path segment like "Robotics Lab" or "ROBOTICS-LAB"', async () => {
		const u = await newUser()
		const one = await createProject(u, { name: 'Robotics Lab' })
		const two = await createProject(u, { name: 'Second Lab' })
		await remove(u, 'robotics-lab')
		await remove(u, 'second-lab')
		expect((await restore(u, 'Robotics Lab')).body).toMatchObject({ id: one.id, deletedAt: null })
		expect((await restore(u, 'SECOND-LAB')).body).toMatchObject({ id: two.id, deletedAt: null })
		expect((await list(u)).body.total).toBe(2)
	})

	it('lets the slug be used again by episode upserts after a restore', async () => {
		const u = await newUser()
		await createProject(u, { name: 'Robotics Lab' })
		await remove(u, 'robotics-lab')
		await restore(u, 'robotics-lab')
		await createEpisode(u, 'robotics-lab', 'after')
		expect((await getOne(u, 'robotics-lab')).body.episodeCount).toBe(1)
		expect((await list(u)).body.total).toBe(1)
	})

	accessRows({ method: 'POST', path: (ns, project) => `${projectPath(ns, project)}/restore`, ok: 200, deleted: true, namesProject: true })
})
