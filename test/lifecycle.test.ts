import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { Harness, type TestUser } from './support/harness'

// a clock the test moves: minutes pass in a moment
let offset = 0
let h: Harness
let user: TestUser
beforeAll(async () => {
	h = await Harness.start({ clock: () => Date.now() + offset, staleAfterSeconds: 600 })
	user = await h.newUser()
})
afterAll(() => h.close())

const MINUTE = 60_000
const line = { logs: [{ timestamp: '2026-12-03T10:00:00Z', level: 'info', message: 'still training' }] }
const episode = (id: string) => h.call('GET', `/episodes/${id}`, { token: user.token })
const listed = async (project: string, status: string) =>
	(await h.call('GET', `/namespaces/${user.ns}/projects/${project}/episodes?status=${status}`, { token: user.token })).body.episodes.map((e: { name: string }) => e.name)

describe('lastActivityAt', () => {
	it('moves with every write under the episode (logs, parameters, tracks, files) while updatedAt stays its own fields\'', async () => {
		offset = 0
		const made = (await h.call('POST', `/namespaces/${user.ns}/projects/life/episodes`, { token: user.token, body: { name: 'moves' } })).body
		expect(made.lastActivityAt).toBe(made.updatedAt)
		let last = Date.parse(made.lastActivityAt)
		const writes = [
			() => h.call('POST', `/episodes/${made.id}/logs`, { token: user.token, body: line }),
			() => h.call('POST', `/episodes/${made.id}/parameters`, { token: user.token, body: { data: { lr: Math.random() } } }),
			() => h.call('POST', `/episodes/${made.id}/tracks/loss/append`, { token: user.token, body: { data: { step: 1, loss: 0.5 } } }),
		]
		for (const write of writes) {
			offset += MINUTE
			expect((await write()).status).toBeLessThan(300)
			const now = (await episode(made.id)).body
			expect(Date.parse(now.lastActivityAt)).toBeGreaterThan(last)
			expect(now.updatedAt).toBe(made.updatedAt)
			last = Date.parse(now.lastActivityAt)
		}
		// one statement for the write, as before: the activity is the group commit's, charged to no request
		offset += MINUTE
		expect((await writes[0]!()).db.statements).toBe(1)
	})
})

describe('lastActivityAt, to the second', () => {
	it('a run writing many times a second has its row rewritten at most once a second', async () => {
		offset = 0
		const made = (await h.call('POST', `/namespaces/${user.ns}/projects/busy/episodes`, { token: user.token, body: { name: 'hot' } })).body
		offset = 5 * MINUTE
		const sent = Date.now()
		await h.call('POST', `/episodes/${made.id}/logs`, { token: user.token, body: line })
		const first = (await episode(made.id)).body.lastActivityAt
		offset += 300
		await h.call('POST', `/episodes/${made.id}/logs`, { token: user.token, body: line })
		expect((await episode(made.id)).body.lastActivityAt).toBe(first)
		offset += 1_000
		await h.call('POST', `/episodes/${made.id}/logs`, { token: user.token, body: line })
		const realElapsed = Date.now() - sent // the clock moved 1,300 ms, plus the real time the calls took
		const moved = Date.parse((await episode(made.id)).body.lastActivityAt) - Date.parse(first)
		expect(moved).toBeGreaterThanOrEqual(1_300)
		expect(moved).toBeLessThanOrEqual(1_300 + realElapsed)
	})
})

describe('stale', () => {
	it('a running episode silent for STALE_AFTER answers status "stale" and is filtered as such, its stored status untouched; the next write makes it running again', async () => {
		offset = 0
		const made = (await h.call('POST', `/namespaces/${user.ns}/projects/quiet/episodes`, { token: user.token, body: { name: 'silent' } })).body
		const done = (await h.call('POST', `/namespaces/${user.ns}/projects/quiet/episodes`, { token: user.token, body: { name: 'finished', status: 'completed' } })).body
		expect((await episode(made.id)).body.status).toBe('running')
		offset = 9 * MINUTE
		expect((await episode(made.id)).body.status).toBe('running')
		expect(await listed('quiet', 'stale')).toEqual([])
		offset = 11 * MINUTE
		expect((await episode(made.id)).body.status).toBe('stale')
		expect(await listed('quiet', 'stale')).toEqual(['silent'])
		expect(await listed('quiet', 'running')).toEqual([])
		// an ended run never goes stale
		expect((await episode(done.id)).body.status).toBe('completed')
		expect(h.db.$client.query('SELECT status FROM episodes WHERE id = ?').get(Number(made.id))).toEqual({ status: 'running' })
		// the unchanged upsert (Episode.open()) says so too
		expect((await h.call('POST', `/namespaces/${user.ns}/projects/quiet/episodes`, { token: user.token, body: { name: 'silent' } })).body.status).toBe('stale')
		expect((await h.call('POST', `/episodes/${made.id}/logs`, { token: user.token, body: line })).status).toBe(201)
		expect((await episode(made.id)).body.status).toBe('running')
		expect(await listed('quiet', 'running')).toEqual(['silent'])
		expect((await h.call('POST', `/namespaces/${user.ns}/projects/quiet/episodes`, { token: user.token, body: { name: 'silent' } })).body.status).toBe('running')
		// a PATCH to completed ends it for good
		offset = 30 * MINUTE
		expect((await h.call('PATCH', `/episodes/${made.id}`, { token: user.token, body: { status: 'completed' } })).body.status).toBe('completed')
		offset = 60 * MINUTE
		expect((await episode(made.id)).body.status).toBe('completed')
	})

	it('422 for a status filter that is none', async () => {
		expect((await h.call('GET', `/namespaces/${user.ns}/projects/quiet/episodes?status=sleepy`, { token: user.token })).status).toBe(422)
	})
})
