import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { EventReader, serveHarness } from './support/events'
import { Harness, type TestUser } from './support/harness'

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
	h = await Harness.start({ eventStreams: { heartbeatMs: 100, recheckMs: 100 } })
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
})
