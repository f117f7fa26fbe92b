import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { underEpisode, whoMayCall, type InEpisode, type Owned } from './support/access'
import { EventReader, openStreamOnce, serveHarness } from './support/events'
import { Harness, type TestUser } from './support/harness'

/**
 * Who may open an event stream (the episode's rules: 404 for what is not the caller's, anonymous
 * readers of public projects), and a stream that ends when that access is lost: a logout, a key
 * revoked, a membership removed, a project made private, the episode deleted.
 */

let h: Harness
let server: ReturnType<typeof serveHarness>
let base: string

beforeAll(async () => {
	h = await Harness.start({ eventStreams: { heartbeatMs: 200, recheckMs: 50 } })
	server = serveHarness(h)
	base = `http://127.0.0.1:${server.port}`
})
afterAll(() => {
	server?.stop(true)
	h?.close()
})

const openOnce = (path: string, token: string | undefined) => openStreamOnce(h, path, token)
const storedLines = (episode: string) => h.db.$client.query('SELECT sequence, message FROM log_entries WHERE episode_id = ? ORDER BY sequence').all(Number(episode))

describe('GET /episodes/{id}/events: who may open it', () => {
	whoMayCall(() => h, {
		...underEpisode<InEpisode>(() => h, {
			method: 'GET',
			path: () => '/events',
			ok: 200,
			write: false,
			unchanged: "the owner's log lines",
			async arrange(owner) {
				const episode = await h.newEpisode(owner, 'events-access')
				await h.call('POST', `/episodes/${episode}/logs`, { token: owner.token, body: { logs: [{ timestamp: '2026-12-03T10:00:00Z', level: 'info', message: 'secret line' }] } })
				return { owner, episode, project: 'events-access' }
			},
			snapshot: (f) => storedLines(f.episode),
		}),
		call: (f, token) => openOnce(`/episodes/${f.episode}/events`, token),
	})
})

describe('GET /namespaces/{ns}/projects/{project}/events: who may open it', () => {
	whoMayCall(
		() => h,
		{
			ok: 200,
			write: false,
			outsiderRow: "404 for another user's project, the same as for one that does not exist",
			unchanged: "the owner's episodes",
			async arrange(owner: TestUser) {
				await h.newEpisode(owner, 'events-project')
				return { owner }
			},
			call: (f: Owned, token) => openOnce(`/namespaces/${f.owner.ns}/projects/events-project/events`, token),
			snapshot: (f: Owned) => h.db.$client.query('SELECT id, name, status FROM episodes WHERE created_by = ? ORDER BY id').all(f.owner.id),
			hidden: () => ({ success: false, error: expect.any(String), code: expect.stringMatching(/^(namespace|project)_not_found$/) }),
		},
		['anonymous', 'malformed', 'revoked', 'outsider'],
	)
})

describe('a stream ends when access is lost', () => {
	it('a logout (every token of the person revoked) ends it with end access_lost', async () => {
		const owner = await h.newUser()
		const episode = await h.newEpisode(owner, 'lost')
		const stream = await EventReader.open(base, `/episodes/${episode}/events`, { token: owner.token })
		await stream.next('ready')
		expect((await h.call('POST', '/auth/logout', { token: owner.token })).status).toBe(200)
		expect((await stream.next('end')).data).toEqual({ reason: 'access_lost' })
		await stream.closed()
	})

	it('an API key revoked ends the streams it opened', async () => {
		const owner = await h.newUser()
		const episode = await h.newEpisode(owner, 'lost')
		const key = (await h.call('POST', `/namespaces/${owner.ns}/api-keys`, { token: owner.token, body: { name: 'watcher', role: 'viewer' } })).body
		const stream = await EventReader.open(base, `/episodes/${episode}/events`, { token: key.secret })
		await stream.next('ready')
		expect((await h.call('DELETE', `/namespaces/${owner.ns}/api-keys/${key.id}`, { token: owner.token })).status).toBe(200)
		expect((await stream.next('end')).data).toEqual({ reason: 'access_lost' })
		await stream.closed()
	})

	it("a member removed from the team stops seeing its episode's events", async () => {
		const [owner, member] = await Promise.all([h.newUser(), h.newUser()])
		const slug = `lab-${crypto.randomUUID().slice(0, 8)}`
		await h.call('POST', '/namespaces', { token: owner.token, body: { slug } })
		await h.call('POST', `/namespaces/${slug}/members`, { token: owner.token, body: { username: member.claims.username, role: 'viewer' } })
		const episode = (await h.call('POST', `/namespaces/${slug}/projects/p/episodes`, { token: owner.token, body: { name: 'run' } })).body.id
		const stream = await EventReader.open(base, `/episodes/${episode}/events`, { token: member.token })
		const project = await EventReader.open(base, `/namespaces/${slug}/projects/p/events`, { token: member.token })
		await stream.next('ready')
		await project.next('ready')
		await h.call('POST', `/episodes/${episode}/logs`, { token: owner.token, body: { logs: [{ timestamp: '2026-12-03T10:00:00Z', level: 'info', message: 'seen' }] } })
		expect((await stream.next('logs')).data.lines[0].message).toBe('seen')
		expect((await h.call('DELETE', `/namespaces/${slug}/members/${member.claims.username}`, { token: owner.token })).status).toBe(200)
		expect((await stream.next('end')).data).toEqual({ reason: 'access_lost' })
		expect((await project.next('end')).data).toEqual({ reason: 'access_lost' })
		await stream.closed()
		await project.closed()
		// and nothing written after reached them
		await h.call('POST', `/episodes/${episode}/logs`, { token: owner.token, body: { logs: [{ timestamp: '2026-12-03T10:00:01Z', level: 'info', message: 'unseen' }] } })
		expect(stream.all('logs')).toHaveLength(1)
	})

	it('a public project made private ends the streams of readers signed in as nobody', async () => {
		const owner = await h.newUser()
		const slug = (await h.call('POST', `/namespaces/${owner.ns}/projects`, { token: owner.token, body: { name: `open-${crypto.randomUUID().slice(0, 6)}`, visibility: 'public' } })).body.slug
		const episode = (await h.call('POST', `/namespaces/${owner.ns}/projects/${slug}/episodes`, { token: owner.token, body: { name: 'run' } })).body.id
		const anonymous = await EventReader.open(base, `/episodes/${episode}/events`)
		const mine = await EventReader.open(base, `/episodes/${episode}/events`, { token: owner.token })
		await anonymous.next('ready')
		await mine.next('ready')
		expect((await h.call('PATCH', `/namespaces/${owner.ns}/projects/${slug}`, { token: owner.token, body: { visibility: 'private' } })).status).toBe(200)
		expect((await anonymous.next('end')).data).toEqual({ reason: 'access_lost' })
		// the owner's stream goes on
		await h.call('POST', `/episodes/${episode}/parameters`, { token: owner.token, body: { data: { lr: 0.1 } } })
		expect((await mine.next('parameters')).data.version).toBe(1)
		expect(mine.ended).toBe(false)
		await mine.close()
	})

	it('a deleted episode ends its streams at once with end episode_deleted, and a reconnect is a 404', async () => {
		const owner = await h.newUser()
		const episode = await h.newEpisode(owner, 'doomed')
		const stream = await EventReader.open(base, `/episodes/${episode}/events`, { token: owner.token })
		const project = await EventReader.open(base, `/namespaces/${owner.ns}/projects/doomed/events`, { token: owner.token })
		const ready = await stream.next('ready')
		await project.next('ready')
		expect((await h.call('DELETE', `/episodes/${episode}`, { token: owner.token })).status).toBe(200)
		expect((await stream.next('end', 1000)).data).toEqual({ reason: 'episode_deleted' })
		await stream.closed(1000)
		expect((await project.next('episode.deleted')).data).toEqual({ id: episode })
		await project.close()
		const again = await fetch(`${base}/episodes/${episode}/events`, { headers: { authorization: `Bearer ${owner.token}`, 'last-event-id': ready.id! } })
		expect(again.status).toBe(404)
		expect(await again.json()).toEqual({ success: false, error: 'Episode not found.', code: 'episode_not_found' })
	})
})
