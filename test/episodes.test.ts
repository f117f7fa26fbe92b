import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { row, type CallerKind, type Owned, type Route as AccessRoute } from './support/access'
import { Harness, type Reply, type TestUser as User } from './support/harness'

let h: Harness
beforeAll(async () => {
	h = await Harness.start()
})
afterAll(() => h.close())

const unique = () => crypto.randomUUID().slice(0, 8)
const enc = encodeURIComponent
const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/
const ID = /^[1-9][0-9]*$/
const LOG_LINE = { timestamp: '2026-08-12T10:30:00.123456Z', level: 'info', message: 'x' }

const newUser = () => h.newUser()

const projectPath = (u: User, project: string) => `/namespaces/${enc(u.ns)}/projects/${enc(project)}`
const listPath = (u: User, project: string) => `${projectPath(u, project)}/episodes`
const namePath = (u: User, project: string, name: string) => `${listPath(u, project)}/${enc(name)}`

const upsert = (u: User, project: string, body: unknown) => h.call('POST', listPath(u, project), { token: u.token, body })
const getById = (u: User, id: string) => h.call('GET', `/episodes/${id}`, { token: u.token })
const getByName = (u: User, project: string, name: string) => h.call('GET', namePath(u, project, name), { token: u.token })
const patchById = (u: User, id: string, body: unknown) => h.call('PATCH', `/episodes/${id}`, { token: u.token, body })
const patchByName = (u: User, project: string, name: string, body: unknown) => h.call('PATCH', namePath(u, project, name), { token: u.token, body })
const remove = (u: User, id: string) => h.call('DELETE', `/episodes/${id}`, { token: u.token })
const restore = (u: User, id: string) => h.call('POST', `/episodes/${id}/restore`, { token: u.token })
const list = (u: User, project: string, query = '') => h.call('GET', `${listPath(u, project)}${query}`, { token: u.token })
const postLogs = (u: User, id: string, count = 1) => h.call('POST', `/episodes/${id}/logs`, { token: u.token, body: { logs: Array.from({ length: count }, () => LOG_LINE) } })
const postParameters = (u: User, id: string, data: Record<string, unknown> = { a: 1 }) => h.call('POST', `/episodes/${id}/parameters`, { token: u.token, body: { data } })

/** A user (a fresh one unless given), a fresh project name and a new episode in it (201). */
async function setup(body: Record<string, unknown> = {}, owner?: User) {
	const user = owner ?? (await newUser())
	const project = `p-${unique()}`
	const name = `ep-${unique()}`
	const created = await upsert(user, project, { name, ...body })
	expect(created.status).toBe(201)
	return { user, project, name, id: created.body.id as string, created: created.body }
}

/** An episode in the user's project (201). */
async function addEpisode(user: User, project: string, body: Record<string, unknown>) {
	const reply = await upsert(user, project, body)
	expect(reply.status).toBe(201)
	return reply.body
}

function expectError(reply: Reply, status: number, code: string) {
	expect(reply.status).toBe(status)
	expect(reply.body).toEqual({ success: false, error: expect.any(String), code, ...(code === 'validation_failed' && { field: expect.any(String) }) })
}

/** A 422 (or `status`) naming `field`, after which the project was not even created. */
async function refusedUpsert(body: unknown, field: string, status = 422) {
	const user = await newUser()
	const project = `p-${unique()}`
	const reply = await upsert(user, project, body)
	expect(reply.status).toBe(status)
	expect(reply.body).toEqual({ success: false, error: expect.stringContaining(`"${field}"`), code: expect.any(String), field })
	expect((await h.call('GET', projectPath(user, project), { token: user.token })).status).toBe(404)
	return reply
}

/** The stored row count with this name in the user's project, read straight from SQLite. */
function rowsNamed(projectId: string, name: string): number {
	return (h.db.$client.query('SELECT count(*) AS n FROM episodes WHERE project_id = ? AND name = ?').get(Number(projectId), name) as { n: number }).n
}

describe('POST /namespaces/{ns}/projects/{project}/episodes', () => {
	it('201 when created, creating the missing project too (then GET …/projects/{project} finds it)', async () => {
		const user = await newUser()
		const project = `p-${unique()}`
		expect((await h.call('GET', projectPath(user, project), { token: user.token })).status).toBe(404)
		const reply = await upsert(user, project, { name: 'first' })
		expect(reply.status).toBe(201)
		const found = await h.call('GET', projectPath(user, project), { token: user.token })
		expect(found.status).toBe(200)
		expect(found.body).toMatchObject({ id: reply.body.projectId, slug: project, namespaceId: user.nsId, episodeCount: 1, deletedAt: null })
		expect(reply.body.project).toEqual({ id: found.body.id, slug: project })
	})

	it('200 when it exists', async () => {
		const { user, project, name, id } = await setup({ description: 'once' })
		const again = await upsert(user, project, { name })
		expect(again.status).toBe(200)
		expect(again.body.id).toBe(id)
		const changed = await upsert(user, project, { name, description: 'twice' })
		expect(changed.status).toBe(200)
		expect(changed.body.id).toBe(id)
		expect((await list(user, project)).body.total).toBe(1)
	})

	it('fields sent replace stored ones, fields left out keep theirs (re-open with only {name})', async () => {
		const fields = { description: 'kept', tags: ['a', 'b'], status: 'completed', metadata: { lr: 0.1, nested: { k: [1, 2] } } }
		const { user, project, name, id, created } = await setup(fields)
		expect(created).toMatchObject(fields)

		const reopened = await upsert(user, project, { name })
		expect(reopened.status).toBe(200)
		expect(reopened.body).toMatchObject({ id, ...fields })
		expect((await getById(user, id)).body).toMatchObject(fields)

		await Bun.sleep(2)
		const replaced = await upsert(user, project, { name, tags: ['z'], metadata: { only: true } })
		expect(replaced.status).toBe(200)
		expect(replaced.body).toMatchObject({ id, description: 'kept', status: 'completed', tags: ['z'], metadata: { only: true } })
		expect(Date.parse(replaced.body.updatedAt)).toBeGreaterThan(Date.parse(created.updatedAt))
		expect(replaced.body.createdAt).toBe(created.createdAt)
		expect((await getById(user, id)).body).toMatchObject({ description: 'kept', status: 'completed', tags: ['z'], metadata: { only: true } })

		const cleared = await upsert(user, project, { name, description: null, status: 'failed' })
		expect(cleared.body).toMatchObject({ description: null, status: 'failed', tags: ['z'], metadata: { only: true } })
	})

	it('answers flat (status "running" by default) and with episode, project, workspace, folder and namespace', async () => {
		const user = await newUser()
		const project = `p-${unique()}`
		const { status, body } = await upsert(user, project, { name: 'flat' })
		expect(status).toBe(201)
		const flat = {
			id: expect.stringMatching(ID),
			name: 'flat',
			description: null,
			tags: [],
			status: 'running',
			writeProtected: false,
			metadata: {},
			// who made it: the person (their username then); no key acted for them
			createdBy: { id: user.id, username: user.claims.username, key: null },
			projectId: expect.stringMatching(ID),
			projectNodeId: body.projectId,
			createdAt: expect.stringMatching(ISO),
			updatedAt: body.createdAt,
			lastActivityAt: body.createdAt,
			deletedAt: null,
		}
		expect(body).toEqual({
			...flat,
			episode: flat,
			project: { id: body.projectId, slug: project },
			workspace: { id: body.projectId, slug: project },
			folder: null,
			namespace: { id: user.nsId, slug: user.ns },
		})
		expect(body.episode).toEqual({ ...body.episode, id: body.id, projectId: body.projectId })
		expect(typeof body.id).toBe('string')

		const full = { name: 'full', description: 'd', tags: ['t1', 't2'], status: 'archived', writeProtected: true, metadata: { a: { b: 1 } } }
		const second = await upsert(user, project, full)
		expect(second.status).toBe(201)
		expect(second.body).toMatchObject(full)
		expect(second.body.episode).toMatchObject(full)
		expect(second.body.projectId).toBe(body.projectId)
	})

	it('an upsert that changes nothing writes nothing, and sends no statement once the episode is in memory (one read each of the caller, project and episode when not)', async () => {
		const body = { description: 'same', tags: ['x'], status: 'completed', metadata: { k: 1 } }
		const { user, project, name, created } = await setup(body)
		const second = await upsert(user, project, { name, ...body })
		expect(second.status).toBe(200)
		expect(second.body).toEqual(created)
		const third = await upsert(user, project, { name })
		expect(third.status).toBe(200)
		expect(third.body).toEqual(created)
		// the second call (right after the 201) and the third: no write, and the episode and its project from memory
		expect({ second: second.db, third: third.db }).toEqual({ second: { statements: 0, transactions: 0 }, third: { statements: 0, transactions: 0 } })
		// after a restart nothing is in memory: the caller's account, the project and the episode are read once, then kept
		h.restart()
		const cold = await upsert(user, project, { name })
		expect(cold.body).toEqual(created)
		expect(cold.db).toEqual({ statements: 3, transactions: 0 })
		expect((await upsert(user, project, { name, ...body })).db).toEqual({ statements: 0, transactions: 0 })
	})

	it('never answers 409', async () => {
		const user = await newUser()
		const project = `p-${unique()}`
		const made = await h.call('POST', `/namespaces/${enc(user.ns)}/projects`, { token: user.token, body: { name: project } })
		expect(made.status).toBe(201)
		const statuses = []
		for (const body of [{ name: 'same' }, { name: 'same' }, { name: 'same', description: 'd' }, { name: 'same', status: 'failed' }, { name: 'same' }]) {
			statuses.push((await upsert(user, project, body)).status)
		}
		expect(statuses).toEqual([201, 200, 200, 200, 200])
		expect((await list(user, project)).body.total).toBe(1)
	})

	it('20 concurrent upserts of one new name end with one episode (all the same id, exactly one 201)', async () => {
		const user = await newUser()
		const project = `p-${unique()}`
		const replies = await Promise.all(Array.from({ length: 20 }, () => upsert(user, project, { name: 'racer' })))
		expect(replies.filter((r) => r.status === 201)).toHaveLength(1)
		expect(replies.filter((r) => r.status === 200)).toHaveLength(19)
		const ids = new Set(replies.map((r) => r.body.id))
		expect(ids.size).toBe(1)
		expect(new Set(replies.map((r) => r.body.projectId)).size).toBe(1)
		const listed = await list(user, project)
		expect(listed.body.total).toBe(1)
		expect(listed.body.episodes[0].id).toBe(replies[0]!.body.id)
		expect(rowsNamed(replies[0]!.body.projectId, 'racer')).toBe(1)
		const projects = await h.call('GET', `/namespaces/${enc(user.ns)}/projects`, { token: user.token })
		expect(projects.body.total).toBe(1)
	})

	it('403 episode_write_protected for an upsert that would change a write-protected episode, 200 for one that changes nothing', async () => {
		const { user, project, name, id, created } = await setup({ writeProtected: true, description: 'locked', tags: ['t'] })
		for (const change of [{ description: 'new' }, { tags: ['u'] }, { status: 'failed' }, { metadata: { a: 1 } }, { description: null }, { writeProtected: false }]) {
			const refused = await upsert(user, project, { name, ...change })
			expectError(refused, 403, 'episode_write_protected')
		}
		expect((await getById(user, id)).body).toMatchObject({ description: 'locked', tags: ['t'], status: 'running', metadata: {}, updatedAt: created.updatedAt })
		for (const same of [{}, { writeProtected: true }, { description: 'locked', tags: ['t'], status: 'running' }]) {
			const ok = await upsert(user, project, { name, ...same })
			expect(ok.status).toBe(200)
			expect(ok.body).toEqual(created)
			expect(ok.db.transactions).toBe(0)
		}
	})

	it('410 episode_deleted for the name of a deleted episode', async () => {
		const { user, project, name, id } = await setup()
		expect((await remove(user, id)).status).toBe(200)
		for (const body of [{ name }, { name, description: 'again' }]) expectError(await upsert(user, project, body), 410, 'episode_deleted')
		expect(rowsNamed((await h.call('GET', projectPath(user, project), { token: user.token })).body.id, name)).toBe(1)
		expect((await getByName(user, project, name)).status).toBe(404)
	})

	it('410 project_deleted into a deleted project', async () => {
		const { user, project } = await setup()
		expect((await h.call('DELETE', projectPath(user, project), { token: user.token })).status).toBe(200)
		expectError(await upsert(user, project, { name: `new-${unique()}` }), 410, 'project_deleted')
		expect((await h.call('GET', projectPath(user, project), { token: user.token })).status).toBe(404)
		const deleted = await h.call('GET', `/namespaces/${enc(user.ns)}/projects?deleted=true`, { token: user.token })
		expect(deleted.body.projects.map((p: { slug: string }) => p.slug)).toEqual([project])
		const rows = h.db.$client.query('SELECT count(*) AS n FROM episodes WHERE project_id = ?').get(Number(deleted.body.projects[0].id)) as { n: number }
		expect(rows.n).toBe(1) // the episode from before the delete, and nothing new
	})

	describe('422 naming the field', () => {
		it('400 missing_field naming "name" when the name is missing', async () => {
			const reply = await refusedUpsert({ description: 'no name' }, 'name', 400)
			expect(reply.body.code).toBe('missing_field')
		})
		it('name of 256 characters (255 are accepted)', async () => {
			await refusedUpsert({ name: 'n'.repeat(256) }, 'name')
			const { user, project } = await setup()
			const ok = await upsert(user, project, { name: 'n'.repeat(255) })
			expect(ok.status).toBe(201)
			expect(ok.body.name).toHaveLength(255)
		})
		it('bad status', () => refusedUpsert({ name: 'x', status: 'done' }, 'status'))
		it('tags not strings (the field named is the first offending element, "tags.0")', async () => {
			await refusedUpsert({ name: 'x', tags: [1, 2] }, 'tags.0')
			await refusedUpsert({ name: 'x', tags: 'a,b' }, 'tags')
		})
		it('metadata over 16 KiB (16 KiB are accepted)', async () => {
			const fits = { blob: 'm'.repeat(16 * 1024 - '{"blob":""}'.length) }
			expect(JSON.stringify(fits)).toHaveLength(16 * 1024)
			await refusedUpsert({ name: 'x', metadata: { blob: `${fits.blob}m` } }, 'metadata')
			const { user, project } = await setup()
			const ok = await upsert(user, project, { name: 'fits', metadata: fits })
			expect(ok.status).toBe(201)
			expect(ok.body.metadata).toEqual(fits)
		})
		it('unknown field', () => refusedUpsert({ name: 'x', owner: 'someone' }, 'owner'))
	})

	it('400 for malformed JSON', async () => {
		const user = await newUser()
		const project = `p-${unique()}`
		const reply = await h.call('POST', listPath(user, project), { token: user.token, body: '{"name": "x"', headers: { 'content-type': 'application/json' } })
		expect(reply.status).toBe(400)
		expect(reply.body).toEqual({ success: false, error: 'Request body is not valid JSON.', code: 'invalid_json' })
		expect((await h.call('GET', projectPath(user, project), { token: user.token })).status).toBe(404)
	})
})

describe('GET /namespaces/{ns}/projects/{project}/episodes', () => {
	it('a paged list {episodes, page, pageSize, total, totalPages}', async () => {
		const { user, project, name, created } = await setup()
		for (let i = 1; i < 5; i++) await addEpisode(user, project, { name: `${name}-${i}` })
		const all = await list(user, project)
		expect(all.status).toBe(200)
		expect(all.body).toEqual({ episodes: expect.any(Array), page: 1, pageSize: 50, total: 5, totalPages: 1 })
		expect(all.body.episodes).toHaveLength(5)
		expect(all.body.episodes).toContainEqual(created.episode)

		const pages = []
		for (const page of [1, 2, 3]) {
			const reply = await list(user, project, `?page=${page}&pageSize=2`)
			expect(reply.body).toMatchObject({ page, pageSize: 2, total: 5, totalPages: 3 })
			pages.push(...reply.body.episodes.map((e: { id: string }) => e.id))
		}
		expect(pages).toEqual(all.body.episodes.map((e: { id: string }) => e.id))
		const past = await list(user, project, '?page=4&pageSize=2')
		expect(past.body).toEqual({ episodes: [], page: 4, pageSize: 2, total: 5, totalPages: 3 })
	})

	it('filters by status', async () => {
		const { user, project } = await setup()
		await addEpisode(user, project, { name: 'done-1', status: 'completed' })
		await addEpisode(user, project, { name: 'done-2', status: 'completed' })
		await addEpisode(user, project, { name: 'broke', status: 'failed' })
		const completed = await list(user, project, '?status=completed')
		expect(completed.body.total).toBe(2)
		expect(completed.body.episodes.map((e: { name: string }) => e.name).sort()).toEqual(['done-1', 'done-2'])
		expect((await list(user, project, '?status=failed')).body.episodes.map((e: { name: string }) => e.name)).toEqual(['broke'])
		expect((await list(user, project, '?status=running')).body.total).toBe(1)
		expect((await list(user, project, '?status=archived')).body).toMatchObject({ episodes: [], total: 0, totalPages: 0 })
	})

	it('filters by tags=a,b (any)', async () => {
		const { user, project, name } = await setup({ tags: ['a', 'z'] })
		await addEpisode(user, project, { name: 'b-only', tags: ['b'] })
		await addEpisode(user, project, { name: 'ab', tags: ['b', 'a'] })
		await addEpisode(user, project, { name: 'c-only', tags: ['c'] })
		await addEpisode(user, project, { name: 'none' })
		const names = async (query: string) => (await list(user, project, query)).body.episodes.map((e: { name: string }) => e.name).sort()
		expect(await names('?tags=a,b')).toEqual(['ab', 'b-only', name].sort())
		expect((await list(user, project, '?tags=a,b')).body.total).toBe(3)
		expect(await names('?tags=c')).toEqual(['c-only'])
		expect(await names('?tags=a')).toEqual(['ab', name].sort())
		expect(await names('?tags=nope')).toEqual([])
		expect(await names(`?tags=${enc('nope,c')}`)).toEqual(['c-only'])
	})

	it('filters by search in the name or description', async () => {
		const { user, project } = await setup()
		await addEpisode(user, project, { name: 'walker-needle-1' })
		await addEpisode(user, project, { name: 'runner', description: 'has a NEEDLE in it' })
		await addEpisode(user, project, { name: 'other', description: 'haystack' })
		const found = await list(user, project, '?search=needle')
		expect(found.body.total).toBe(2)
		expect(found.body.episodes.map((e: { name: string }) => e.name).sort()).toEqual(['runner', 'walker-needle-1'])
		expect((await list(user, project, '?search=haystack')).body.episodes.map((e: { name: string }) => e.name)).toEqual(['other'])
		expect((await list(user, project, '?search=absent')).body.total).toBe(0)
		expect((await list(user, project, `?search=${enc("%' OR 1=1 --")}`)).body.total).toBe(0)
	})

	it('orders by createdAt, updatedAt or name, asc or desc', async () => {
		const user = await newUser()
		const project = `p-${unique()}`
		for (const name of ['bravo', 'charlie', 'alpha']) {
			await addEpisode(user, project, { name })
			await Bun.sleep(2)
		}
		expect((await patchByName(user, project, 'bravo', { description: 'touched' })).status).toBe(200)
		const order = async (query: string) => {
			const reply = await list(user, project, query)
			expect(reply.status).toBe(200)
			return reply.body.episodes.map((e: { name: string }) => e.name)
		}
		expect(await order('')).toEqual(['alpha', 'charlie', 'bravo'])
		expect(await order('?order=createdAt')).toEqual(['alpha', 'charlie', 'bravo'])
		expect(await order('?order=createdAt&dir=desc')).toEqual(['alpha', 'charlie', 'bravo'])
		expect(await order('?order=createdAt&dir=asc')).toEqual(['bravo', 'charlie', 'alpha'])
		expect(await order('?dir=asc')).toEqual(['bravo', 'charlie', 'alpha'])
		expect(await order('?order=updatedAt')).toEqual(['bravo', 'alpha', 'charlie'])
		expect(await order('?order=updatedAt&dir=asc')).toEqual(['charlie', 'alpha', 'bravo'])
		expect(await order('?order=name&dir=asc')).toEqual(['alpha', 'bravo', 'charlie'])
		expect(await order('?order=name&dir=desc')).toEqual(['charlie', 'bravo', 'alpha'])
	})

	it.each([
		['order=bogus', 'order'],
		['dir=sideways', 'dir'],
		['status=bogus', 'status'],
		['pageSize=0', 'pageSize'],
	])('422 for %s', async (query, field) => {
		const { user, project } = await setup()
		const reply = await list(user, project, `?${query}`)
		expect(reply.status).toBe(422)
		expect(reply.body).toEqual({ success: false, error: expect.stringContaining(`"${field}"`), code: 'validation_failed', field })
	})

	it('deleted=true lists the deleted ones only', async () => {
		const { user, project, id } = await setup()
		const kept = await addEpisode(user, project, { name: 'kept' })
		const gone = await addEpisode(user, project, { name: 'gone' })
		expect((await remove(user, id)).status).toBe(200)
		expect((await remove(user, gone.id)).status).toBe(200)
		const deleted = await list(user, project, '?deleted=true')
		expect(deleted.body.total).toBe(2)
		expect(deleted.body.episodes.map((e: { id: string }) => e.id).sort()).toEqual([id, gone.id].sort())
		for (const e of deleted.body.episodes) expect(e.deletedAt).toMatch(ISO)
		const live = await list(user, project)
		expect(live.body).toMatchObject({ total: 1, episodes: [{ id: kept.id, deletedAt: null }] })
		expect((await list(user, project, '?deleted=false')).body.total).toBe(1)
	})
})

describe('GET …/episodes/{name} and GET /episodes/{id}', () => {
	it('one episode with logCount, trackCount and fileCount', async () => {
		const { user, project, name, id, created } = await setup({ description: 'd', tags: ['t'], metadata: { m: 1 } })
		const empty = await getById(user, id)
		expect(empty.status).toBe(200)
		expect(empty.body).toEqual({ ...created, logCount: 0, trackCount: 0, fileCount: 0 })

		expect((await postLogs(user, id, 3)).status).toBe(201)
		expect((await postLogs(user, id)).status).toBe(201)
		const byId = await getById(user, id)
		expect(byId.status).toBe(200)
		// the lines moved its last activity, not its own fields
		const moved = byId.body.lastActivityAt
		expect(Date.parse(moved)).toBeGreaterThanOrEqual(Date.parse(created.lastActivityAt))
		expect(byId.body).toEqual({ ...created, lastActivityAt: moved, episode: { ...created.episode, lastActivityAt: moved }, logCount: 4, trackCount: 0, fileCount: 0 })
		const byName = await getByName(user, project, name)
		expect(byName.status).toBe(200)
		expect(byName.body).toEqual(byId.body)

		const other = await addEpisode(user, project, { name: `${name}-other` })
		expect((await getById(user, other.id)).body.logCount).toBe(0)
	})

	it('finds an episode name with "/" and spaces, percent-encoded in one path segment', async () => {
		const { user, project } = await setup()
		const name = 'robot/pose run 50%/2'
		const created = await addEpisode(user, project, { name })
		expect(created.name).toBe(name)
		const byName = await getByName(user, project, name)
		expect(byName.status).toBe(200)
		expect(byName.body).toMatchObject({ id: created.id, name })
		const patched = await patchByName(user, project, name, { description: 'slash' })
		expect(patched.status).toBe(200)
		expect(patched.body).toMatchObject({ id: created.id, name, description: 'slash' })
		expect((await getByName(user, project, 'robot')).status).toBe(404)
		expect((await h.call('GET', `${listPath(user, project)}/robot/pose%20run%2050%25/2`, { token: user.token })).status).toBe(404)
	})
})

describe('PATCH …/episodes/{name} and PATCH /episodes/{id}', () => {
	it('only the fields sent change', async () => {
		const fields = { description: 'd0', tags: ['t0'], status: 'completed', metadata: { m: 0 } }
		const { user, project, name, id, created } = await setup(fields)
		await Bun.sleep(2)
		const first = await patchById(user, id, { description: 'd1' })
		expect(first.status).toBe(200)
		expect(first.body).toEqual({ ...created, description: 'd1', updatedAt: expect.stringMatching(ISO), lastActivityAt: first.body.updatedAt, episode: { ...created.episode, description: 'd1', updatedAt: first.body.updatedAt, lastActivityAt: first.body.updatedAt }, logCount: 0, trackCount: 0, fileCount: 0 })
		expect(Date.parse(first.body.updatedAt)).toBeGreaterThan(Date.parse(created.updatedAt))

		const second = await patchByName(user, project, name, { tags: ['t1', 't2'], metadata: { m: 1 } })
		expect(second.status).toBe(200)
		expect(second.body).toMatchObject({ id, name, description: 'd1', tags: ['t1', 't2'], status: 'completed', metadata: { m: 1 }, writeProtected: false })

		const third = await patchByName(user, project, name, { status: 'archived', description: null })
		expect(third.body).toMatchObject({ description: null, tags: ['t1', 't2'], status: 'archived', metadata: { m: 1 } })
		expect((await getById(user, id)).body).toMatchObject({ description: null, tags: ['t1', 't2'], status: 'archived', metadata: { m: 1 }, createdAt: created.createdAt })
		expectError(await patchById(user, id, { name: 'renamed' }), 422, 'validation_failed')
		expect((await getByName(user, project, name)).status).toBe(200)
	})

	it('a PATCH without status does not change the status (it once reset it to "running")', async () => {
		const { user, project, name, id } = await setup({ status: 'completed' })
		expect((await patchById(user, id, { description: 'by id' })).body.status).toBe('completed')
		expect((await patchByName(user, project, name, { tags: ['by-name'] })).body.status).toBe('completed')
		expect((await patchById(user, id, {})).body.status).toBe('completed')
		expect((await patchByName(user, project, name, { metadata: { a: 1 } })).body.status).toBe('completed')
		h.restart()
		expect((await getById(user, id)).body.status).toBe('completed')
	})

	it('writeProtected:true, then any change is 403 (PATCH, upsert, logs POST, parameters POST)', async () => {
		const { user, project, name, id } = await setup({ description: 'before' })
		const locked = await patchById(user, id, { writeProtected: true })
		expect(locked.status).toBe(200)
		expect(locked.body.writeProtected).toBe(true)
		const snapshot = (await getById(user, id)).body

		for (const change of [{ description: 'after' }, { tags: ['x'] }, { status: 'failed' }, { metadata: { a: 1 } }, { writeProtected: true, description: 'after' }]) {
			expectError(await patchById(user, id, change), 403, 'episode_write_protected')
			expectError(await patchByName(user, project, name, change), 403, 'episode_write_protected')
		}
		expectError(await upsert(user, project, { name, description: 'after' }), 403, 'episode_write_protected')
		expectError(await postLogs(user, id), 403, 'episode_write_protected')
		expectError(await postParameters(user, id), 403, 'episode_write_protected')

		expect((await getById(user, id)).body).toEqual(snapshot)
		expect((await h.call('GET', `/episodes/${id}/logs`, { token: user.token })).body.logs).toEqual([])
		expectError(await h.call('GET', `/episodes/${id}/parameters`, { token: user.token }), 404, 'parameters_not_found')
	})

	it('a PATCH with {writeProtected:false, description:"x"} lifts the protection and applies', async () => {
		const { user, project, name, id } = await setup({ writeProtected: true, description: 'locked' })
		const lifted = await patchById(user, id, { writeProtected: false, description: 'x' })
		expect(lifted.status).toBe(200)
		expect(lifted.body).toMatchObject({ writeProtected: false, description: 'x' })
		expect((await postLogs(user, id)).status).toBe(201)
		expect((await postParameters(user, id)).status).toBe(200)
		expect((await patchByName(user, project, name, { tags: ['free'] })).status).toBe(200)

		expect((await patchByName(user, project, name, { writeProtected: true })).status).toBe(200)
		const byName = await patchByName(user, project, name, { writeProtected: false, description: 'y' })
		expect(byName.status).toBe(200)
		expect(byName.body).toMatchObject({ writeProtected: false, description: 'y', tags: ['free'], logCount: 1 })
	})

	it('a no-op PATCH of a protected episode is 200 (and changes nothing, updatedAt included)', async () => {
		const { user, project, name, id, created } = await setup({ writeProtected: true, description: 'same', tags: ['t'] })
		const unchanged = { ...created, logCount: 0, trackCount: 0, fileCount: 0 }
		await Bun.sleep(2)
		for (const body of [{}, { description: 'same' }, { tags: ['t'], writeProtected: true }]) {
			const byId = await patchById(user, id, body)
			expect(byId.status).toBe(200)
			expect(byId.body).toMatchObject({ id, writeProtected: true, description: 'same', tags: ['t'], status: 'running' })
			const byName = await patchByName(user, project, name, body)
			expect(byName.status).toBe(200)
			// nothing about a protected episode changes, its updatedAt included
			expect({ byId: byId.body, byName: byName.body }).toEqual({ byId: unchanged, byName: unchanged })
		}
		expect((await getById(user, id)).body).toEqual(unchanged)
	})
})

describe('DELETE /episodes/{id}', () => {
	it('{id, deletedAt}; then 404 by id and name, on PATCH, DELETE and every route under it', async () => {
		const { user, project, name, id } = await setup()
		expect((await postLogs(user, id, 2)).status).toBe(201)
		expect((await postParameters(user, id)).status).toBe(200)
		const under = [
			['GET', `/episodes/${id}/logs`, undefined],
			['POST', `/episodes/${id}/logs`, { logs: [LOG_LINE] }],
			['GET', `/episodes/${id}/logs/stats`, undefined],
			['GET', `/episodes/${id}/parameters`, undefined],
			['POST', `/episodes/${id}/parameters`, { data: { b: 2 } }],
			['GET', `/episodes/${id}/parameters/history`, undefined],
		] as const
		for (const [method, path] of under.filter(([method]) => method === 'GET')) expect((await h.call(method, path, { token: user.token })).status).toBe(200)

		const deleted = await remove(user, id)
		expect(deleted.status).toBe(200)
		expect(deleted.body).toEqual({ id, deletedAt: expect.stringMatching(ISO) })

		expectError(await getById(user, id), 404, 'episode_not_found')
		expectError(await getByName(user, project, name), 404, 'episode_not_found')
		expectError(await patchById(user, id, { description: 'x' }), 404, 'episode_not_found')
		expectError(await patchByName(user, project, name, { description: 'x' }), 404, 'episode_not_found')
		expectError(await remove(user, id), 404, 'episode_not_found')
		for (const [method, path, body] of under) expectError(await h.call(method, path, { token: user.token, body }), 404, 'episode_not_found')
		expect((await list(user, project)).body.total).toBe(0)
		expect((await h.call('GET', projectPath(user, project), { token: user.token })).body.episodeCount).toBe(0)
	})

	it('403 while write-protected', async () => {
		const { user, id } = await setup({ writeProtected: true })
		expectError(await remove(user, id), 403, 'episode_write_protected')
		expect((await getById(user, id)).status).toBe(200)
		expect((await patchById(user, id, { writeProtected: false })).status).toBe(200)
		expect((await remove(user, id)).status).toBe(200)
	})

	it('POST /episodes/{id}/restore brings it back (200, same id, logs still there)', async () => {
		const { user, project, name, id, created } = await setup({ description: 'd', tags: ['t'] })
		expect((await postLogs(user, id, 3)).status).toBe(201)
		expect((await remove(user, id)).status).toBe(200)
		const restored = await restore(user, id)
		expect(restored.status).toBe(200)
		expect(restored.body).toMatchObject({ id, name, description: 'd', tags: ['t'], deletedAt: null, logCount: 3, project: { id: created.projectId, slug: project } })
		expect((await getById(user, id)).body.logCount).toBe(3)
		expect((await getByName(user, project, name)).body.id).toBe(id)
		expect((await h.call('GET', `/episodes/${id}/logs`, { token: user.token })).body.logs).toHaveLength(3)
		expect((await postLogs(user, id)).body).toMatchObject({ startSequence: 3, endSequence: 3 })
		expect((await upsert(user, project, { name })).status).toBe(200)
		expect((await list(user, project)).body.total).toBe(1)
	})

	it('restore of a live episode is 404', async () => {
		const { user, id } = await setup()
		expectError(await restore(user, id), 404, 'episode_not_deleted')
		expect((await getById(user, id)).status).toBe(200)
	})
})

describe('the caches', () => {
	it('after h.restart() (nothing in memory) everything still reads right, and a deleted episode stays deleted', async () => {
		const { user, project, name, id } = await setup({ description: 'd', tags: ['t'], status: 'completed', metadata: { m: 1 } })
		expect((await postLogs(user, id, 2)).status).toBe(201)
		const locked = await addEpisode(user, project, { name: 'locked', writeProtected: true })
		const gone = await addEpisode(user, project, { name: 'gone' })
		expect((await remove(user, gone.id)).status).toBe(200)
		const before = { byId: (await getById(user, id)).body, list: (await list(user, project)).body }

		h.restart()
		expect((await getById(user, id)).body).toEqual(before.byId)
		h.restart()
		expect((await getByName(user, project, name)).body).toEqual(before.byId)
		h.restart()
		expect((await list(user, project)).body).toEqual(before.list)
		h.restart()
		expectError(await getById(user, gone.id), 404, 'episode_not_found')
		h.restart()
		expectError(await getByName(user, project, 'gone'), 404, 'episode_not_found')
		h.restart()
		expectError(await postLogs(user, gone.id), 404, 'episode_not_found')
		h.restart()
		expectError(await upsert(user, project, { name: 'gone' }), 410, 'episode_deleted')
		h.restart()
		expectError(await patchById(user, locked.id, { description: 'x' }), 403, 'episode_write_protected')
		h.restart()
		expectError(await postLogs(user, locked.id), 403, 'episode_write_protected')
		h.restart()
		const reopened = await upsert(user, project, { name })
		expect(reopened.status).toBe(200)
		expect(reopened.db.transactions).toBe(0)
		expect(reopened.body).toMatchObject({ id, description: 'd', tags: ['t'], status: 'completed', metadata: { m: 1 } })
		h.restart()
		expect((await h.call('GET', `/episodes/${id}/logs/stats`, { token: user.token })).body.totalLogs).toBe(2)
		h.restart()
		expect((await restore(user, gone.id)).status).toBe(200)
		h.restart()
		expect((await getById(user, gone.id)).status).toBe(200)
	})

	it('a deleted episode stays deleted for a new app even when the old one had it in memory', async () => {
		const { user, project, name, id } = await setup()
		expect((await getById(user, id)).status).toBe(200) // in memory now
		expect((await remove(user, id)).status).toBe(200)
		expect((await getById(user, id)).status).toBe(404)
		h.restart()
		expect((await getById(user, id)).status).toBe(404)
		expect((await getByName(user, project, name)).status).toBe(404)
		expect((await postParameters(user, id)).status).toBe(404)
	})
})

interface Target extends Owned {
	project: string
	name: string
	id: string
	/** A deleted episode of the same user, for restore. */
	deletedId: string
}

interface Route {
	label: string
	/** The status of an answered call. */
	ok: number
	request: (t: Target) => { method: string; path: string; body?: unknown }
}

const ROUTES: Route[] = [
	{ label: 'POST /namespaces/{ns}/projects/{project}/episodes', ok: 200, request: (t) => ({ method: 'POST', path: listPath(t.owner, t.project), body: { name: t.name, description: 'intruder' } }) },
	{ label: 'GET /namespaces/{ns}/projects/{project}/episodes', ok: 200, request: (t) => ({ method: 'GET', path: listPath(t.owner, t.project) }) },
	{ label: 'GET /namespaces/{ns}/projects/{project}/episodes/{name}', ok: 200, request: (t) => ({ method: 'GET', path: namePath(t.owner, t.project, t.name) }) },
	{ label: 'PATCH /namespaces/{ns}/projects/{project}/episodes/{name}', ok: 200, request: (t) => ({ method: 'PATCH', path: namePath(t.owner, t.project, t.name), body: { description: 'intruder' } }) },
	{ label: 'GET /episodes/{id}', ok: 200, request: (t) => ({ method: 'GET', path: `/episodes/${t.id}` }) },
	{ label: 'PATCH /episodes/{id}', ok: 200, request: (t) => ({ method: 'PATCH', path: `/episodes/${t.id}`, body: { description: 'intruder' } }) },
	{ label: 'DELETE /episodes/{id}', ok: 200, request: (t) => ({ method: 'DELETE', path: `/episodes/${t.id}` }) },
	{ label: 'POST /episodes/{id}/restore', ok: 200, request: (t) => ({ method: 'POST', path: `/episodes/${t.deletedId}/restore` }) },
	{ label: 'GET /episodes/{id}/logs', ok: 200, request: (t) => ({ method: 'GET', path: `/episodes/${t.id}/logs` }) },
	{ label: 'POST /episodes/{id}/logs', ok: 201, request: (t) => ({ method: 'POST', path: `/episodes/${t.id}/logs`, body: { logs: [LOG_LINE] } }) },
	{ label: 'GET /episodes/{id}/logs/stats', ok: 200, request: (t) => ({ method: 'GET', path: `/episodes/${t.id}/logs/stats` }) },
	{ label: 'GET /episodes/{id}/parameters', ok: 200, request: (t) => ({ method: 'GET', path: `/episodes/${t.id}/parameters` }) },
	{ label: 'POST /episodes/{id}/parameters', ok: 200, request: (t) => ({ method: 'POST', path: `/episodes/${t.id}/parameters`, body: { data: { intruder: true } } }) },
	{ label: 'GET /episodes/{id}/parameters/history', ok: 200, request: (t) => ({ method: 'GET', path: `/episodes/${t.id}/parameters/history` }) },
]
const ID_ROUTES = ROUTES.filter(({ label }) => label.includes('/episodes/{id}'))

/** A user (a new one unless given) with a live episode (with a log line and parameters) and a deleted one. */
async function target(owner?: User): Promise<Target> {
	const { user, project, name, id } = await setup({ description: 'owned' }, owner)
	expect((await postLogs(user, id)).status).toBe(201)
	expect((await postParameters(user, id)).status).toBe(200)
	const deleted = await addEpisode(user, project, { name: `${name}-deleted` })
	expect((await remove(user, deleted.id)).status).toBe(200)
	return { owner: user, project, name, id, deletedId: deleted.id }
}

/** What the owner sees of the target, and its rows straight from SQLite: nothing any refused request may change. */
async function ownerView(t: Target) {
	const episode = (await getById(t.owner, t.id)).body
	const logs = (await h.call('GET', `/episodes/${t.id}/logs`, { token: t.owner.token })).body
	const parameters = (await h.call('GET', `/episodes/${t.id}/parameters`, { token: t.owner.token })).body
	const deleted = (await list(t.owner, t.project, '?deleted=true')).body
	const rows = h.db.$client.query('SELECT id, description, deleted_at AS deletedAt FROM episodes WHERE id IN (?, ?) ORDER BY id').all(Number(t.id), Number(t.deletedId))
	const logRows = (h.db.$client.query('SELECT count(*) AS n FROM log_entries WHERE episode_id = ?').get(Number(t.id)) as { n: number }).n
	return { episode, logs, parameters, deleted, rows, logRows }
}

/** A route of ROUTES for the access rows of test/support/access.ts. */
function accessRoute({ label, ok, request }: Route): AccessRoute<Target> {
	const byName = label.includes(' /namespaces/')
	const restores = label.endsWith('/restore')
	return {
		ok,
		write: !label.startsWith('GET '),
		outsiderRow: byName ? "404 for another user's namespace" : `404 for another user's ${restores ? 'deleted ' : ''}episode, the same as for one that does not exist`,
		unchanged: "the owner's episodes",
		arrange: target,
		call: (t, token) => {
			const { method, path, body } = request(t)
			return h.call(method, path, { token, body })
		},
		snapshot: ownerView,
		hidden: (t) =>
			byName
				? { success: false, error: `Namespace "${t.owner.ns}" not found.`, code: 'namespace_not_found' }
				: { success: false, error: expect.any(String), code: restores ? 'episode_not_deleted' : 'episode_not_found' },
		missing: byName ? undefined : (t) => [{ ...t, id: '999999999999', deletedId: '999999999999' }],
		// the other user has a project of the same name, with an episode of the same name, of their own
		async outsider(t) {
			const intruder = await newUser()
			expect((await upsert(intruder, t.project, { name: t.name })).status).toBe(201)
			return intruder
		},
		also: {
			// and the other user's own episode of the same name is untouched and found only in their namespace
			async outsider({ f, other }) {
				const own = await getByName(other!, f.project, f.name)
				expect(own.status).toBe(200)
				expect(own.body.id).not.toBe(f.id)
				expect(own.body).toMatchObject({ description: null, logCount: 0 })
			},
		},
	}
}

describe('every route', () => {
	// one describe per row of the access table, one it per route, each on a target of its own
	const rows: [string, CallerKind][] = [
		['401 without a token', 'anonymous'],
		['401 with a malformed token', 'malformed'],
		['401 with a revoked token (POST /auth/logout with it first)', 'revoked'],
		["a second user gets 404 for the first user's episode, by id and by namespace/project/name", 'outsider'],
	]
	describe.each(rows)('%s', (_, kind) => {
		for (const route of ROUTES) row(() => h, accessRoute(route), kind, route.label)
	})

	let owner: Target
	beforeAll(async () => {
		owner = await target()
	})

	describe('ids that are not ids (or no one\'s) 404', () => {
		it.each(ID_ROUTES.flatMap(({ label, request }) => ['abc', '0', '-1', '99999999999999999999', '1.5', '1e3', '%20', '123456789012345'].map((id) => [label, id, request] as const)))(
			'%s with id "%s"',
			async (_, id, request) => {
				const { method, path, body } = request({ ...owner, id, deletedId: id })
				const reply = await h.call(method, path, { token: owner.owner.token, body })
				expect(reply.status).toBe(404)
				expect(reply.body).toEqual({ success: false, error: expect.any(String), code: expect.any(String) })
			},
		)
	})
})
