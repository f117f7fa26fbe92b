import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { Harness, type Reply, type TestUser } from './support/harness'

let h: Harness
beforeAll(async () => {
	h = await Harness.start()
})
afterAll(() => h.close())

const unique = (prefix: string) => `${prefix}-${crypto.randomUUID().slice(0, 8)}`
const usernameOf = (user: TestUser) => user.claims.username as string

/** A team with an admin and a member, one project of each visibility, each with an episode holding a log line, a track point, parameters and a file. */
async function newLab() {
	const [owner, admin, member, outsider] = await Promise.all([h.newUser(), h.newUser(), h.newUser(), h.newUser()])
	const slug = unique('vis')
	expect((await h.call('POST', '/namespaces', { token: owner.token, body: { slug } })).status).toBe(201)
	for (const [who, role] of [[admin, 'admin'], [member, 'member']] as const) await h.call('POST', `/namespaces/${slug}/members`, { token: owner.token, body: { username: usernameOf(who), role } })
	const episodes: Record<string, { id: string; file: string }> = {}
	for (const visibility of ['private', 'internal', 'public'] as const) {
		expect((await h.call('POST', `/namespaces/${slug}/projects`, { token: owner.token, body: { name: visibility, visibility } })).status).toBe(201)
		const id = (await h.call('POST', `/namespaces/${slug}/projects/${visibility}/episodes`, { token: owner.token, body: { name: 'run' } })).body.id
		await h.call('POST', `/episodes/${id}/logs`, { token: owner.token, body: { logs: [{ timestamp: '2026-12-03T10:00:00Z', level: 'info', message: `${visibility} line` }] } })
		await h.call('POST', `/episodes/${id}/tracks/loss/append`, { token: owner.token, body: { data: { step: 0, loss: 1 } } })
		await h.call('POST', `/episodes/${id}/parameters`, { token: owner.token, body: { data: { lr: 0.1 } } })
		const bytes = new TextEncoder().encode(`${visibility} notes`)
		const form = new FormData()
		form.set('checksum', new Bun.CryptoHasher('sha256').update(bytes).digest('hex'))
		form.set('sizeBytes', String(bytes.length))
		form.set('file', new File([bytes], 'notes.txt', { type: 'text/plain' }))
		const file = (await h.call('POST', `/episodes/${id}/files`, { token: owner.token, body: form })).body.id
		episodes[visibility] = { id, file }
	}
	return { slug, owner, admin, member, outsider, episodes }
}

type Lab = Awaited<ReturnType<typeof newLab>>
/** Every read of a project's data, as a reader calls it. */
const reads = (lab: Lab, visibility: 'private' | 'internal' | 'public'): ((token?: string) => Promise<Reply>)[] => {
	const { id, file } = lab.episodes[visibility]!
	return [
		(token) => h.call('GET', `/namespaces/${lab.slug}/projects/${visibility}`, { token }),
		(token) => h.call('GET', `/namespaces/${lab.slug}/projects/${visibility}/episodes`, { token }),
		(token) => h.call('GET', `/namespaces/${lab.slug}/projects/${visibility}/episodes/export`, { token }),
		(token) => h.call('GET', `/namespaces/${lab.slug}/projects/${visibility}/episodes/run`, { token }),
		(token) => h.call('GET', `/episodes/${id}`, { token }),
		(token) => h.call('GET', `/episodes/${id}/logs`, { token }),
		(token) => h.call('GET', `/episodes/${id}/logs/stats`, { token }),
		(token) => h.call('GET', `/episodes/${id}/logs/export?format=text`, { token }),
		(token) => h.call('GET', `/episodes/${id}/parameters`, { token }),
		(token) => h.call('GET', `/episodes/${id}/parameters/history`, { token }),
		(token) => h.call('GET', `/episodes/${id}/tracks`, { token }),
		(token) => h.call('GET', `/episodes/${id}/tracks/loss/data`, { token }),
		(token) => h.call('GET', `/episodes/${id}/tracks/loss/series`, { token }),
		(token) => h.call('GET', `/episodes/${id}/tracks/loss/stats`, { token }),
		(token) => h.call('GET', `/episodes/${id}/tracks/loss/export`, { token }),
		(token) => h.call('GET', `/episodes/${id}/files`, { token }),
		(token) => h.call('GET', `/episodes/${id}/files/${file}`, { token }),
		(token) => h.call('GET', `/episodes/${id}/files/${file}/download`, { token }),
	]
}
const statuses = async (calls: ((token?: string) => Promise<Reply>)[], token?: string) => Promise.all(calls.map(async (call) => (await call(token)).status))

let lab: Lab
beforeAll(async () => {
	lab = await newLab()
})

describe('a private project (the default)', () => {
	it('its members read everything; an outsider gets 404 and nobody signed in 401, on every read', async () => {
		const calls = reads(lab, 'private')
		expect(new Set(await statuses(calls, lab.member.token))).toEqual(new Set([200]))
		expect(new Set(await statuses(calls, lab.outsider.token))).toEqual(new Set([404]))
		expect(new Set(await statuses(calls))).toEqual(new Set([401]))
	})
})

describe('an internal project', () => {
	it('any signed-in person of this server reads everything in it; nobody signed in gets 401', async () => {
		const calls = reads(lab, 'internal')
		expect(new Set(await statuses(calls, lab.outsider.token))).toEqual(new Set([200]))
		expect(new Set(await statuses(calls))).toEqual(new Set([401]))
		const logs = await h.call('GET', `/episodes/${lab.episodes.internal!.id}/logs`, { token: lab.outsider.token })
		expect(logs.body.logs.map((l: { message: string }) => l.message)).toEqual(['internal line'])
	})

	it('an outsider may read but not write: 403 not_a_member on a write by id and by slug', async () => {
		const { id } = lab.episodes.internal!
		const write = await h.call('POST', `/episodes/${id}/logs`, { token: lab.outsider.token, body: { logs: [{ timestamp: '2026-12-03T10:00:00Z', level: 'info', message: 'x' }] } })
		expect(write.status).toBe(403)
		expect(write.body).toMatchObject({ success: false, code: 'not_a_member' })
		expect((await h.call('PATCH', `/namespaces/${lab.slug}/projects/internal`, { token: lab.outsider.token, body: { description: 'x' } })).body.code).toBe('not_a_member')
		expect((await h.call('GET', `/episodes/${id}/logs/stats`, { token: lab.owner.token })).body.totalLogs).toBe(1)
	})

	it('an API key of another namespace sees nothing of it: 404', async () => {
		const { secret } = (await h.call('POST', `/namespaces/${lab.outsider.ns}/api-keys`, { token: lab.outsider.token, body: { name: 'mine', role: 'viewer' } })).body
		expect(new Set(await statuses(reads(lab, 'internal'), secret))).toEqual(new Set([404]))
	})
})

describe('a public project', () => {
	it('anyone reads everything in it, signed in or not, and its file downloads', async () => {
		const calls = reads(lab, 'public')
		expect(new Set(await statuses(calls))).toEqual(new Set([200]))
		expect(new Set(await statuses(calls, lab.outsider.token))).toEqual(new Set([200]))
		const { id, file } = lab.episodes.public!
		const download = await h.fetch(new Request(`http://dreamlake.test/episodes/${id}/files/${file}/download`))
		expect(await download.text()).toBe('public notes')
	})

	it('a dashboard session gone stale (signed out elsewhere) reads a public project as nobody; a bad Authorization header is still 401', async () => {
		const leaver = await h.newUser()
		expect((await h.call('POST', '/auth/logout', { token: leaver.token })).status).toBe(200)
		const path = `/namespaces/${lab.slug}/projects/public`
		const withCookie = await h.fetch(new Request(`http://dreamlake.test${path}`, { headers: { cookie: `dreamlake_session=${leaver.token}` } }))
		expect(withCookie.status).toBe(200)
		const privately = await h.fetch(new Request(`http://dreamlake.test/namespaces/${lab.slug}/projects/private`, { headers: { cookie: `dreamlake_session=${leaver.token}` } }))
		expect(privately.status).toBe(401)
		expect((await h.call('GET', path, { token: leaver.token })).status).toBe(401)
	})

	it('nobody signed in cannot write (401); a signed-in outsider gets 403 not_a_member', async () => {
		const { id } = lab.episodes.public!
		const body = { data: { step: 1, loss: 0.5 } }
		expect((await h.call('POST', `/episodes/${id}/tracks/loss/append`, { body })).status).toBe(401)
		expect((await h.call('POST', `/episodes/${id}/tracks/loss/append`, { token: lab.outsider.token, body })).body.code).toBe('not_a_member')
		expect((await h.call('DELETE', `/episodes/${id}`)).status).toBe(401)
	})
})

describe('the namespace, seen by a guest', () => {
	it('lists and counts only the projects they may read, with role null; nobody signed in sees the public one', async () => {
		const listed = await h.call('GET', `/namespaces/${lab.slug}/projects`, { token: lab.outsider.token })
		expect(listed.body.projects.map((p: { slug: string }) => p.slug).sort()).toEqual(['internal', 'public'])
		expect((await h.call('GET', `/namespaces/${lab.slug}/projects`)).body.projects.map((p: { slug: string }) => p.slug)).toEqual(['public'])
		expect((await h.call('GET', `/namespaces/${lab.slug}`, { token: lab.outsider.token })).body).toMatchObject({ role: null, projects: 2, episodes: 2 })
		expect((await h.call('GET', `/namespaces/${lab.slug}`)).body).toMatchObject({ role: null, projects: 1 })
		expect((await h.call('GET', `/namespaces/${lab.slug}`, { token: lab.member.token })).body).toMatchObject({ role: 'member', projects: 3 })
		// asked for by name, the private one is as missing as one that does not exist
		expect((await h.call('GET', `/namespaces/${lab.slug}/projects/private`, { token: lab.outsider.token })).body.code).toBe('project_not_found')
		expect((await h.call('GET', `/namespaces/${lab.slug}/projects?deleted=true`, { token: lab.outsider.token })).body.projects).toEqual([])
	})

	it('a namespace with only private projects is 404 to a guest, by every route, and 401 to nobody signed in', async () => {
		const closed = await h.newUser()
		await h.call('POST', `/namespaces/${closed.ns}/projects`, { token: closed.token, body: { name: 'secret' } })
		for (const path of [`/namespaces/${closed.ns}`, `/namespaces/${closed.ns}/projects`, `/namespaces/${closed.ns}/projects/secret`, `/namespaces/${closed.ns}/projects/secret/episodes`]) {
			const seen = await h.call('GET', path, { token: lab.outsider.token })
			expect([path, seen.status, seen.body.code]).toEqual([path, 404, 'namespace_not_found'])
			expect((await h.call('GET', path)).status).toBe(401)
		}
	})
})

describe('setting visibility', () => {
	it('is an admin’s: a member gets 403 (changing it or creating a project open to more); the change holds from the next request', async () => {
		const project = unique('flip')
		expect((await h.call('POST', `/namespaces/${lab.slug}/projects`, { token: lab.member.token, body: { name: project, visibility: 'public' } })).status).toBe(403)
		expect((await h.call('POST', `/namespaces/${lab.slug}/projects`, { token: lab.member.token, body: { name: project } })).body.visibility).toBe('private')
		expect((await h.call('PATCH', `/namespaces/${lab.slug}/projects/${project}`, { token: lab.member.token, body: { visibility: 'public' } })).status).toBe(403)
		expect((await h.call('GET', `/namespaces/${lab.slug}/projects/${project}`)).status).toBe(401)
		expect((await h.call('PATCH', `/namespaces/${lab.slug}/projects/${project}`, { token: lab.admin.token, body: { visibility: 'public' } })).body.visibility).toBe('public')
		expect((await h.call('GET', `/namespaces/${lab.slug}/projects/${project}`)).status).toBe(200)
		const id = (await h.call('POST', `/namespaces/${lab.slug}/projects/${project}/episodes`, { token: lab.member.token, body: { name: 'run' } })).body.id
		expect((await h.call('GET', `/episodes/${id}`)).status).toBe(200)
		expect((await h.call('PATCH', `/namespaces/${lab.slug}/projects/${project}`, { token: lab.admin.token, body: { visibility: 'private' } })).status).toBe(200)
		expect((await h.call('GET', `/episodes/${id}`)).status).toBe(401)
		expect((await h.call('GET', `/episodes/${id}`, { token: lab.outsider.token })).status).toBe(404)
		expect((await h.call('PATCH', `/namespaces/${lab.slug}/projects/${project}`, { token: lab.admin.token, body: { visibility: 'secret' } })).status).toBe(422)
	})
})

describe('GET /auth/namespaces', () => {
	it('without a token: the namespaces with a public project, never one without', async () => {
		const { status, body } = await h.call('GET', '/auth/namespaces')
		expect(status).toBe(200)
		const slugs = body.namespaces.map((n: { slug: string }) => n.slug)
		expect(slugs).toContain(lab.slug)
		expect(body.namespaces.find((n: { slug: string }) => n.slug === lab.slug)).toEqual({ id: expect.any(String), slug: lab.slug, kind: 'team', name: null, role: null })
		expect(slugs).not.toContain(lab.outsider.ns)
	})

	it('with a token: also their own and their teams’ with their role', async () => {
		const { body } = await h.call('GET', '/auth/namespaces', { token: lab.member.token })
		const roles = Object.fromEntries(body.namespaces.map((n: { slug: string; role: string | null }) => [n.slug, n.role]))
		expect(roles[lab.member.ns]).toBe('owner')
		expect(roles[lab.slug]).toBe('member')
		const outsider = await h.call('GET', '/auth/namespaces', { token: lab.outsider.token })
		expect(Object.fromEntries(outsider.body.namespaces.map((n: { slug: string; role: string | null }) => [n.slug, n.role]))[lab.slug]).toBeNull()
	})

	it('401 for a bad token (none is fine, a wrong one is not)', async () => {
		expect((await h.call('GET', '/auth/namespaces', { token: 'not-a-token' })).status).toBe(401)
	})
})
