import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { EventReader, serveHarness } from './support/events'
import { Harness, type TestUser } from './support/harness'
import { spawnServer } from './support/process'

/**
 * GET /episodes/{id}/events over real HTTP (the app behind Bun.serve, the stream read as it
 * arrives): each kind of event once its write has committed, what it carries checked against what
 * the API then reads back.
 */

let h: Harness
let server: ReturnType<typeof serveHarness>
let base: string
let owner: TestUser

beforeAll(async () => {
	h = await Harness.start({ eventStreams: { heartbeatMs: 100, recheckMs: 100, projectDebounceMs: 100 } })
	server = serveHarness(h)
	base = `http://127.0.0.1:${server.port}`
	owner = await h.newUser()
})
afterAll(() => {
	server?.stop(true)
	h?.close()
})

const line = (message: string, level = 'info') => ({ timestamp: '2026-12-03T10:00:00.000001Z', level, message, metadata: { n: message.length } })
const watch = (episode: string, headers: Record<string, string> = {}, token = owner.token) => EventReader.open(base, `/episodes/${episode}/events`, { token, headers })

describe('GET /episodes/{id}/events', () => {
	it('opens with ready (the episode, its counts, an id to resume from) as text/event-stream', async () => {
		const id = await h.newEpisode(owner, 'events')
		const stream = await watch(id)
		expect(stream.response.headers.get('content-type')).toBe('text/event-stream; charset=utf-8')
		expect(stream.response.headers.get('cache-control')).toContain('no-cache')
		const ready = await stream.next('ready')
		expect(ready.id).toMatch(/^.+-0$/)
		expect(ready.data).toEqual({ resumed: false, episode: { id, status: 'running', lastActivityAt: expect.any(String), updatedAt: expect.any(String), logCount: 0, trackCount: 0, fileCount: 0 } })
		await stream.close()
	})

	it('logs: the lines appended with their sequences, in order, as GET …/logs reads them', async () => {
		const id = await h.newEpisode(owner, 'events')
		const stream = await watch(id)
		await stream.next('ready')
		expect((await h.call('POST', `/episodes/${id}/logs`, { token: owner.token, body: { logs: [line('one'), line('two', 'warn')] } })).status).toBe(201)
		expect((await h.call('POST', `/episodes/${id}/logs`, { token: owner.token, body: { logs: [line('three')] } })).status).toBe(201)
		const first = await stream.next('logs')
		const second = await stream.next('logs')
		const stored = (await h.call('GET', `/episodes/${id}/logs`, { token: owner.token })).body.logs
		expect(first.data).toEqual({ startSequence: 0, endSequence: 1, logCount: 2, lines: stored.slice(0, 2) })
		expect(second.data).toEqual({ startSequence: 2, endSequence: 2, logCount: 3, lines: stored.slice(2) })
		expect(Number(second.id!.split('-').pop())).toBeGreaterThan(Number(first.id!.split('-').pop()))
		await stream.close()
	})

	it('track: the track, the index range, the last values and (few) the points; a new track changes trackCount', async () => {
		const id = await h.newEpisode(owner, 'events')
		const stream = await watch(id)
		await stream.next('ready')
		await h.call('POST', `/episodes/${id}/tracks/loss/append`, { token: owner.token, body: { data: { step: 0, loss: 1 } } })
		const points = Array.from({ length: 300 }, (_, i) => ({ step: i + 1, loss: 1 / (i + 2) }))
		await h.call('POST', `/episodes/${id}/tracks/loss/append-batch`, { token: owner.token, body: { dataPoints: points } })
		const first = await stream.next('track')
		expect(first.data).toEqual({ track: 'loss', startIndex: 0, endIndex: 0, total: 1, last: { step: 0, loss: 1 }, points: [{ step: 0, loss: 1 }] })
		expect((await stream.next('counts')).data).toEqual({ trackCount: 1 })
		const batch = await stream.next('track')
		// 300 points are more than an event carries: the range, to read with data?startIndex=
		expect(batch.data).toEqual({ track: 'loss', startIndex: 1, endIndex: 300, total: 301, last: points[299], points: null })
		const read = (await h.call('GET', `/episodes/${id}/tracks/loss/data?startIndex=${batch.data.startIndex}&limit=1000`, { token: owner.token })).body
		expect(read.points.map((p: { data: unknown }) => p.data)).toEqual(points)
		await stream.close()
	})

	it('parameters: each version that changed something, with what it changed and who wrote it', async () => {
		const id = await h.newEpisode(owner, 'events')
		const stream = await watch(id)
		await stream.next('ready')
		await h.call('POST', `/episodes/${id}/parameters`, { token: owner.token, body: { data: { lr: 0.1, model: { depth: 4 } } } })
		// no change, no version, no event
		await h.call('POST', `/episodes/${id}/parameters`, { token: owner.token, body: { data: { lr: 0.1 } } })
		await h.call('POST', `/episodes/${id}/parameters`, { token: owner.token, body: { data: { lr: 0.2 } } })
		const history = (await h.call('GET', `/episodes/${id}/parameters/history`, { token: owner.token })).body.entries
		expect((await stream.next('parameters')).data).toEqual(history[0])
		expect((await stream.next('parameters')).data).toEqual(history[1])
		expect(history).toHaveLength(2)
		await stream.close()
	})

	it('file.added, file.removed (deleted, or replaced by an upload to its path), file.changed and the file count', async () => {
		const id = await h.newEpisode(owner, 'events')
		const stream = await watch(id)
		await stream.next('ready')
		const upload = (text: string) => {
			const bytes = new TextEncoder().encode(text)
			const form = new FormData()
			form.set('checksum', new Bun.CryptoHasher('sha256').update(bytes).digest('hex'))
			form.set('sizeBytes', String(bytes.length))
			form.set('file', new File([bytes], 'notes.txt', { type: 'text/plain' }))
			return form
		}
		const first = (await h.call('POST', `/episodes/${id}/files`, { token: owner.token, body: upload('one') })).body
		expect((await stream.next('file.added')).data).toEqual(first)
		expect((await stream.next('counts')).data).toEqual({ fileCount: 1 })
		const second = (await h.call('POST', `/episodes/${id}/files`, { token: owner.token, body: upload('two') })).body
		expect((await stream.next('file.removed')).data).toEqual({ id: first.id, path: '/notes.txt', deletedAt: expect.any(String) })
		expect((await stream.next('file.added')).data).toEqual(second)
		const patched = (await h.call('PATCH', `/episodes/${id}/files/${second.id}`, { token: owner.token, body: { description: 'the second' } })).body
		expect((await stream.next('file.changed')).data).toEqual(patched)
		await h.call('DELETE', `/episodes/${id}/files/${second.id}`, { token: owner.token })
		expect((await stream.next('file.removed')).data).toMatchObject({ id: second.id })
		expect((await stream.next('counts')).data).toEqual({ fileCount: 0 })
		await stream.close()
	})

	it("episode: its own fields when a PATCH changes them; a track deleted and restored moves trackCount", async () => {
		const id = await h.newEpisode(owner, 'events')
		await h.call('POST', `/episodes/${id}/tracks/acc/append`, { token: owner.token, body: { data: { acc: 0.5 } } })
		const stream = await watch(id)
		expect((await stream.next('ready')).data.episode.trackCount).toBe(1)
		const patched = (await h.call('PATCH', `/episodes/${id}`, { token: owner.token, body: { status: 'completed', tags: ['done'] } })).body
		const episode = await stream.next('episode')
		expect(episode.data).toMatchObject({ id, status: 'completed', tags: ['done'], updatedAt: patched.updatedAt })
		await h.call('DELETE', `/episodes/${id}/tracks/acc`, { token: owner.token })
		expect((await stream.next('counts')).data).toEqual({ trackCount: 0 })
		await h.call('POST', `/episodes/${id}/tracks/acc/restore`, { token: owner.token })
		expect((await stream.next('counts')).data).toEqual({ trackCount: 1 })
		await stream.close()
	})

	it('a refused write (422) publishes nothing', async () => {
		const id = await h.newEpisode(owner, 'events')
		const stream = await watch(id)
		await stream.next('ready')
		const refused = await h.call('POST', `/episodes/${id}/logs`, { token: owner.token, body: { logs: [line('ok'), { timestamp: 'not a time', level: 'info', message: 'bad' }] } })
		expect(refused.status).toBe(422)
		await h.call('PATCH', `/episodes/${id}`, { token: owner.token, body: { description: 'after' } })
		// the PATCH's event is the first after ready: the refused append sent none
		expect((await stream.next((e) => e.event !== 'ready')).event).toBe('episode')
		expect(stream.all('logs')).toHaveLength(0)
		await stream.close()
	})
})

describe('GET /namespaces/{ns}/projects/{project}/events', () => {
	it('episode.created with the row the table lists; episode.changed (status, last activity) debounced per episode; episode.deleted', async () => {
		const project = `table-${crypto.randomUUID().slice(0, 6)}`
		await h.newEpisode(owner, project)
		const stream = await EventReader.open(base, `/namespaces/${owner.ns}/projects/${project}/events`, { token: owner.token })
		expect((await stream.next('ready')).data).toEqual({ resumed: false, project: { id: expect.any(String), slug: project } })
		const id = await h.newEpisode(owner, project)
		const listed = (await h.call('GET', `/namespaces/${owner.ns}/projects/${project}/episodes`, { token: owner.token })).body.episodes.find((e: { id: string }) => e.id === id)
		expect((await stream.next('episode.created')).data).toEqual(listed)
		// fifty writes in a burst: a few changes of the row, not fifty
		await Promise.all(Array.from({ length: 50 }, (_, i) => h.call('POST', `/episodes/${id}/logs`, { token: owner.token, body: { logs: [line(`burst ${i}`)] } })))
		await h.call('PATCH', `/episodes/${id}`, { token: owner.token, body: { status: 'failed' } })
		const changed = await stream.next((e) => e.event === 'episode.changed' && e.data.status === 'failed', 2000)
		expect(changed.data).toMatchObject({ id, status: 'failed', lastActivityAt: expect.any(String) })
		expect(stream.all('episode.changed').length).toBeLessThanOrEqual(3)
		await h.call('DELETE', `/episodes/${id}`, { token: owner.token })
		expect((await stream.next('episode.deleted')).data).toEqual({ id })
		await stream.close()
	})
})

describe('against a real server process', () => {
	it("Bun's idle timeout (10 s) does not cut a stream quieter than that: events still arrive after 14 s of silence", async () => {
		const cwd = mkdtempSync(join(tmpdir(), 'dreamlake-events-'))
		const server = await spawnServer(['serve', '--dev', '--port', '0', '--events-heartbeat', '60s'], { cwd })
		try {
			const minted = (await (await fetch(`${server.url}/dev/vuer-auth/token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'quiet' }) })).json()) as { token: string }
			const token = ((await (await fetch(`${server.url}/auth/exchange`, { method: 'POST', headers: { authorization: `Bearer ${minted.token}` } })).json()) as { dreamlake_token: string }).dreamlake_token
			const auth = { authorization: `Bearer ${token}`, 'content-type': 'application/json' }
			const episode = ((await (await fetch(`${server.url}/namespaces/quiet/projects/p/episodes`, { method: 'POST', headers: auth, body: JSON.stringify({ name: 'run' }) })).json()) as { id: string }).id
			const stream = await EventReader.open(server.url, `/episodes/${episode}/events`, { token })
			await stream.next('ready')
			await Bun.sleep(14_000)
			expect(stream.ended).toBe(false)
			await fetch(`${server.url}/episodes/${episode}/logs`, { method: 'POST', headers: auth, body: JSON.stringify({ logs: [line('still here')] }) })
			expect((await stream.next('logs')).data.lines[0].message).toBe('still here')
			await stream.close()
		} finally {
			await server.stop()
			rmSync(cwd, { recursive: true, force: true })
		}
	}, 30_000)
})
