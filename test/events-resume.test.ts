import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { EventReader, serveHarness, type ReceivedEvent } from './support/events'
import { Harness, type TestUser } from './support/harness'
import { Random } from './support/random'

/**
 * Resuming: a client that reconnects with Last-Event-ID (or ?after=) while writers run gets every
 * event it had not received, once. Checked against what was stored, not against the events.
 */

let h: Harness
let server: ReturnType<typeof serveHarness>
let base: string
let owner: TestUser

beforeAll(async () => {
	h = await Harness.start({ eventStreams: { heartbeatMs: 1000, recheckMs: 1000, replay: { events: 64, bytes: 2 ** 22, lingerMs: 60_000 } } })
	server = serveHarness(h)
	base = `http://127.0.0.1:${server.port}`
	owner = await h.newUser()
})
afterAll(() => {
	server?.stop(true)
	h?.close()
})

const lines = (n: number, tag: string) => Array.from({ length: n }, (_, i) => ({ timestamp: '2026-12-03T10:00:00Z', level: 'info', message: `${tag} ${i}` }))
const watch = (episode: string, lastEventId?: string) => EventReader.open(base, `/episodes/${episode}/events`, { token: owner.token, headers: lastEventId === undefined ? {} : { 'last-event-id': lastEventId } })

describe('resuming with Last-Event-ID', () => {
	it('while four writers append logs and points, a client that reconnects six times gets every line and point once, in order', async () => {
		const random = new Random(22)
		const between = (lo: number, hi: number) => lo + random.int(hi - lo + 1)
		const episode = await h.newEpisode(owner, 'resume')
		let writing = true
		const writer = async (w: number) => {
			for (let i = 0; writing; i++) {
				if (between(0, 3) === 0) await h.call('POST', `/episodes/${episode}/tracks/t${w}/append-batch`, { token: owner.token, body: { dataPoints: Array.from({ length: between(1, 20) }, (_, k) => ({ v: k })) } })
				else expect((await h.call('POST', `/episodes/${episode}/logs`, { token: owner.token, body: { logs: lines(between(1, 30), `w${w}.${i}`) } })).status).toBe(201)
				await Bun.sleep(between(0, 5))
			}
		}
		const received: ReceivedEvent[] = []
		let stream = await watch(episode)
		expect((await stream.next('ready')).data.resumed).toBe(false)
		const writers = [0, 1, 2, 3].map(writer)
		for (let reconnect = 0; reconnect < 6; reconnect++) {
			await Bun.sleep(between(30, 120))
			await stream.next('logs', 5000)
			const cut = stream.lastEventId!
			await stream.close()
			received.push(...stream.events.filter((e) => e.event === 'logs' || e.event === 'track'))
			// away a moment, while the writers go on
			await Bun.sleep(between(0, 40))
			stream = await watch(episode, cut)
			const ready = await stream.next('ready')
			expect(ready).toEqual({ id: undefined, event: 'ready', data: expect.objectContaining({ resumed: true }) })
		}
		writing = false
		await Promise.all(writers)
		const stored = h.db.$client.query('SELECT sequence, message FROM log_entries WHERE episode_id = ? ORDER BY sequence').all(Number(episode)) as { sequence: number; message: string }[]
		await stream.next((e) => e.event === 'logs' && e.data.logCount === stored.length, 5000)
		await stream.close()
		received.push(...stream.events.filter((e) => e.event === 'logs' || e.event === 'track'))
		// ids: strictly increasing across every reconnect, none twice
		const seqs = received.map((e) => Number(e.id!.split('-').pop()))
		expect(seqs).toEqual([...seqs].sort((a, b) => a - b))
		expect(new Set(seqs).size).toBe(seqs.length)
		const logLines = received.filter((e) => e.event === 'logs').flatMap((e) => e.data.lines.map((l: { sequenceNumber: number; message: string }) => ({ sequence: l.sequenceNumber, message: l.message })))
		expect(logLines).toEqual(stored)
		const tracks = h.db.$client.query('SELECT name, total FROM tracks WHERE episode_id = ? ORDER BY name').all(Number(episode)) as { name: string; total: number }[]
		for (const { name, total } of tracks) {
			const ranges = received.filter((e) => e.event === 'track' && e.data.track === name).flatMap((e) => Array.from({ length: e.data.endIndex - e.data.startIndex + 1 }, (_, i) => e.data.startIndex + i))
			expect(ranges).toEqual(Array.from({ length: total }, (_, i) => i))
		}
		expect(stored.length).toBeGreaterThan(100)
	}, 30_000)

	it('?after= resumes as Last-Event-ID does (for clients that cannot send the header)', async () => {
		const episode = await h.newEpisode(owner, 'resume')
		const stream = await watch(episode)
		const ready = await stream.next('ready')
		await stream.close()
		await h.call('POST', `/episodes/${episode}/logs`, { token: owner.token, body: { logs: lines(3, 'away') } })
		const again = await EventReader.open(base, `/episodes/${episode}/events?after=${encodeURIComponent(ready.id!)}`, { token: owner.token })
		expect((await again.next('ready')).data.resumed).toBe(true)
		expect((await again.next('logs')).data).toMatchObject({ startSequence: 0, endSequence: 2 })
		await again.close()
	})

	it('an id the server no longer keeps (before a restart, older than the replay buffer, or made up) gets reset: re-read, then follow from its id', async () => {
		const episode = await h.newEpisode(owner, 'resume')
		const stream = await watch(episode)
		const ready = await stream.next('ready')
		await stream.close()
		// more events than the replay buffer holds (64 here)
		for (let i = 0; i < 70; i++) await h.call('POST', `/episodes/${episode}/logs`, { token: owner.token, body: { logs: lines(1, `gone ${i}`) } })
		const late = await watch(episode, ready.id)
		const reset = await late.next('reset')
		expect(reset.data).toEqual({ reason: 'unknown_event_id', error: expect.any(String), episode: expect.objectContaining({ id: episode, logCount: 70 }) })
		expect(reset.id).toStartWith(ready.id!.split('-')[0]!)
		// following on from the reset's id misses nothing after it
		await late.close()
		await h.call('POST', `/episodes/${episode}/logs`, { token: owner.token, body: { logs: lines(1, 'after reset') } })
		const resumed = await watch(episode, reset.id)
		expect((await resumed.next('logs')).data).toMatchObject({ startSequence: 70, lines: [expect.objectContaining({ message: 'after reset 0' })] })
		await resumed.close()
		for (const madeUp of ['nonsense', `${reset.id!.split('-')[0]}-99999`, '-1']) {
			const confused = await watch(episode, madeUp)
			expect((await confused.next((e) => e.event === 'reset' || e.event === 'ready')).event).toBe('reset')
			await confused.close()
		}
		// a new app on the same database, as after a restart: the old ids mean nothing to it
		const before = (await (async () => {
			const s = await watch(episode)
			const r = await s.next('ready')
			await s.close()
			return r.id!
		})())
		h.restart()
		const afterRestart = await watch(episode, before)
		expect((await afterRestart.next((e) => e.event === 'reset' || e.event === 'ready')).event).toBe('reset')
		await afterRestart.close()
	})
})
