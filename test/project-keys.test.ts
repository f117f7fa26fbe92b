import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { whoMayCall, type Owned } from './support/access'
import { Harness, type TestUser } from './support/harness'
import { Random } from './support/random'

// GET …/projects/{project}/keys: what the dashboard's filter box offers as you type, against the
// keys the test wrote (random parameters and tracks over several episodes, some deleted).

let h: Harness
let owner: TestUser
beforeAll(async () => {
	h = await Harness.start()
	owner = await h.newUser()
})
afterAll(() => h.close())

const keysPath = (u: TestUser, project: string) => `/namespaces/${u.ns}/projects/${project}/keys`
const enc = encodeURIComponent

async function episode(u: TestUser, project: string, name: string): Promise<string> {
	const { status, body } = await h.call('POST', `/namespaces/${u.ns}/projects/${project}/episodes`, { token: u.token, body: { name } })
	expect(status).toBe(201)
	return (body as { id: string }).id
}

describe('GET /namespaces/{ns}/projects/{project}/keys', () => {
	it('the distinct parameter keys and metrics of the live episodes, sorted, against what was written', async () => {
		const random = new Random(21)
		const params = new Set<string>()
		const metrics = new Set<string>()
		const PARAM_POOL = ['optimizer.lr', 'optimizer.name', 'seed', 'model.layers', 'weird key "q"', 'über.größe', 'a,b']
		const TRACK_POOL = ['train', 'val', 'eval/success', 'robot pose', 'täst']
		for (let e = 0; e < 12; e++) {
			const id = await episode(owner, 'sweep', `run-${e}`)
			const deleted = e % 5 === 4
			const data = Object.fromEntries(PARAM_POOL.filter(() => random.chance(0.4)).map((key) => [key, random.pick([1, 'x', 0.5, true])]))
			if (Object.keys(data).length) expect((await h.call('POST', `/episodes/${id}/parameters`, { token: owner.token, body: { data } })).status).toBe(200)
			for (const track of TRACK_POOL.filter(() => random.chance(0.3))) {
				const keys = ['loss', 'acc', 'step', 'k.with.dots'].filter(() => random.chance(0.5))
				if (!keys.length) continue
				const point = Object.fromEntries(keys.map((k) => [k, random.next()]))
				expect((await h.call('POST', `/episodes/${id}/tracks/${enc(track)}/append-batch`, { token: owner.token, body: { dataPoints: [point] } })).status).toBe(201)
				if (!deleted) for (const k of keys) metrics.add(JSON.stringify({ track, key: k }))
			}
			if (deleted) expect((await h.call('DELETE', `/episodes/${id}`, { token: owner.token })).status).toBe(200)
			else for (const key of Object.keys(data)) params.add(key)
		}
		// another project's keys stay out
		const elsewhere = await episode(owner, 'other', 'run')
		await h.call('POST', `/episodes/${elsewhere}/parameters`, { token: owner.token, body: { data: { only_elsewhere: 1 } } })

		const { status, body } = await h.call('GET', keysPath(owner, 'sweep'), { token: owner.token })
		expect(status).toBe(200)
		const byCodeUnits = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0)
		expect(body).toEqual({
			params: [...params].sort(byCodeUnits),
			metrics: [...metrics].map((m) => JSON.parse(m) as { track: string; key: string }).sort((a, b) => byCodeUnits(a.track, b.track) || byCodeUnits(a.key, b.key)),
		})
		expect((body as { params: string[] }).params).not.toContain('only_elsewhere')
	})

	it('an empty project has no keys; a project that does not exist is 404', async () => {
		await episode(owner, 'empty', 'nothing-yet')
		expect((await h.call('GET', keysPath(owner, 'empty'), { token: owner.token })).body).toEqual({ params: [], metrics: [] })
		const missing = await h.call('GET', keysPath(owner, 'no-such-project'), { token: owner.token })
		expect(missing.status).toBe(404)
		expect(missing.body).toMatchObject({ success: false, code: 'project_not_found' })
	})

	interface Project extends Owned {
		ns: string
		project: string
	}
	whoMayCall<Project>(() => h, {
		ok: 200,
		write: false,
		outsiderRow: "404 for another user's namespace",
		unchanged: "the owner's keys",
		async arrange(u) {
			const id = await episode(u, 'guarded', 'run')
			expect((await h.call('POST', `/episodes/${id}/parameters`, { token: u.token, body: { data: { 'secret-key': 1 } } })).status).toBe(200)
			return { owner: u, ns: u.ns, project: 'guarded' }
		},
		call: (f, token) => h.call('GET', `/namespaces/${f.ns}/projects/${f.project}/keys`, { token }),
		snapshot: async (f) => (await h.call('GET', `/namespaces/${f.ns}/projects/${f.project}/keys`, { token: f.owner.token })).body,
		hidden: (f) => ({ success: false, error: `Namespace "${f.ns}" not found.`, code: 'namespace_not_found' }),
		aliases: (f) => [{ ...f, ns: f.ns.toUpperCase() }],
		secret: 'secret-key',
	})
})
