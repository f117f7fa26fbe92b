import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { join } from 'node:path'
import { EventReader, serveHarness } from './support/events'
import { Harness, type TestUser } from './support/harness'

/**
 * Bounded memory and bounded streams: a reader that does not read is dropped with `overflow` once
 * its queue passes the bound (over a real socket, behind the kernel's buffers too), and past the
 * limits per user and in all a stream is a 429 with the error body.
 */

const QUEUE_BYTES = 64 * 1024
let h: Harness
let server: ReturnType<typeof serveHarness>
let base: string
let owner: TestUser

beforeAll(async () => {
	h = await Harness.start({ eventStreams: { heartbeatMs: 100, recheckMs: 1000, queueBytes: QUEUE_BYTES, maxStreams: 4, maxStreamsPerUser: 2 } })
	server = serveHarness(h)
	base = `http://127.0.0.1:${server.port}`
	owner = await h.newUser()
})
afterAll(() => {
	server?.stop(true)
	h?.close()
})

/** Lines of 15 KB, four an append: each `logs` event carries them (under its 64 KiB of messages). */
const big = (n: number) => Array.from({ length: 4 }, (_, i) => ({ timestamp: '2026-12-03T10:00:00Z', level: 'info', message: `${n}.${i} ${'x'.repeat(15_000)}` }))

describe('a slow reader', () => {
	it('that reads nothing is dropped with overflow once past its queue bound, in process', async () => {
		const episode = await h.newEpisode(owner, 'slow')
		const response = await h.fetch(new Request(`http://dreamlake.test/episodes/${episode}/events`, { headers: { authorization: `Bearer ${owner.token}` } }))
		expect(response.status).toBe(200)
		// nothing read while 240 KB of events are published
		for (let i = 0; i < 4; i++) await h.call('POST', `/episodes/${episode}/logs`, { token: owner.token, body: { logs: big(i) } })
		const text = await response.text()
		const events = [...text.matchAll(/^event: (.+)$/gm)].map((m) => m[1])
		expect(events[0]).toBe('ready')
		expect(events.at(-1)).toBe('overflow')
		// the queue held at most the bound and the event that passed it
		expect(events.filter((e) => e === 'logs').length).toBeLessThanOrEqual(2)
		expect(text).toContain('"reason":"slow_reader"')
		// a reconnect from the last event received resumes
		const lastId = [...text.matchAll(/^id: (.+)$/gm)].at(-1)![1]!
		const again = await EventReader.open(base, `/episodes/${episode}/events`, { token: owner.token, headers: { 'last-event-id': lastId } })
		expect((await again.next('ready')).data.resumed).toBe(true)
		const replayed = await again.next('logs')
		expect(replayed.data.startSequence).toBe(events.filter((e) => e === 'logs').length * 4)
		await again.close()
	})

	it('behind a real socket that stops reading is dropped the same way, and the server holds no more than its bound', async () => {
		const episode = await h.newEpisode(owner, 'slow')
		// a client that sends its request, then reads nothing for a while (a small receive buffer), then everything
		const client = Bun.spawn(['/usr/bin/python3', join(import.meta.dir, 'support', 'python', 'slow_reader.py'), String(server.port), `/episodes/${episode}/events`, owner.token, '2.5'], { stdout: 'pipe', stderr: 'inherit' })
		await Bun.sleep(500)
		// 160 appends of 60 KB: 9.6 MB, more than the kernel's socket buffers and the queue together
		for (let i = 0; i < 160; i++) await h.call('POST', `/episodes/${episode}/logs`, { token: owner.token, body: { logs: big(i) } })
		const text = await new Response(client.stdout).text()
		expect(await client.exited).toBe(0)
		const events = [...text.matchAll(/^event: (.+)$/gm)].map((m) => m[1])
		expect(events[0]).toBe('ready')
		expect(events.at(-1)).toBe('overflow')
		expect(events.filter((e) => e === 'logs').length).toBeLessThan(160)
	}, 20_000)
})

describe('limits on open streams', () => {
	it('past the streams one user may open: 429 too_many_streams with the error body; one closed, another opens', async () => {
		const user = await h.newUser()
		const episode = await h.newEpisode(user, 'limits')
		const open = [await EventReader.open(base, `/episodes/${episode}/events`, { token: user.token }), await EventReader.open(base, `/episodes/${episode}/events`, { token: user.token })]
		const refused = await fetch(`${base}/episodes/${episode}/events`, { headers: { authorization: `Bearer ${user.token}` } })
		expect(refused.status).toBe(429)
		expect(refused.headers.get('retry-after')).toBe('5')
		expect(await refused.json()).toEqual({ success: false, error: 'You have 2 event streams open, the most one may; close one (a tab) first.', code: 'too_many_streams' })
		await open[0]!.close()
		await Bun.sleep(50)
		const another = await EventReader.open(base, `/episodes/${episode}/events`, { token: user.token })
		await another.next('ready')
		await Promise.all([open[1]!.close(), another.close()])
	})

	it('past the streams the server serves in all: 429 for anyone, until one closes', async () => {
		const users = await Promise.all([h.newUser(), h.newUser(), h.newUser()])
		const episodes = await Promise.all(users.map((u) => h.newEpisode(u, 'limits')))
		const open: EventReader[] = []
		for (const i of [0, 0, 1, 1]) open.push(await EventReader.open(base, `/episodes/${episodes[i]}/events`, { token: users[i]!.token }))
		const refused = await fetch(`${base}/episodes/${episodes[2]}/events`, { headers: { authorization: `Bearer ${users[2]!.token}` } })
		expect(refused.status).toBe(429)
		expect(await refused.json()).toEqual({ success: false, error: 'The server has as many event streams open as it serves; try again later.', code: 'too_many_streams' })
		await open.pop()!.close()
		await Bun.sleep(50)
		const third = await EventReader.open(base, `/episodes/${episodes[2]}/events`, { token: users[2]!.token })
		await third.next('ready')
		await Promise.all([...open, third].map((s) => s.close()))
	})

	it('a stream that ends (its episode deleted) frees its place', async () => {
		const user = await h.newUser()
		const [a, b] = [await h.newEpisode(user, 'limits'), await h.newEpisode(user, 'limits')]
		const first = await EventReader.open(base, `/episodes/${a}/events`, { token: user.token })
		const second = await EventReader.open(base, `/episodes/${a}/events`, { token: user.token })
		await h.call('DELETE', `/episodes/${a}`, { token: user.token })
		await first.closed()
		await second.closed()
		const third = await EventReader.open(base, `/episodes/${b}/events`, { token: user.token })
		await third.next('ready')
		await third.close()
	})
})

describe('heartbeats', () => {
	it('a comment line every heartbeat interval, between events', async () => {
		const episode = await h.newEpisode(owner, 'quiet')
		const stream = await EventReader.open(base, `/episodes/${episode}/events`, { token: owner.token })
		await stream.next('ready')
		const opened = performance.now()
		await Bun.sleep(550)
		// one a 100 ms, counted against the time that really passed (a loaded machine fires timers late)
		const intervals = (performance.now() - opened) / 100
		expect(stream.comments).toBeGreaterThanOrEqual(Math.min(3, Math.floor(intervals) - 2))
		expect(stream.comments).toBeLessThanOrEqual(Math.ceil(intervals) + 1)
		await stream.close()
	})
})
