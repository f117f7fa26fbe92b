import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { underEpisode, whoMayCall, type InEpisode } from './support/access'
import { Harness, type TestUser } from './support/harness'
import { Random } from './support/random'

// Log exports against GET …/logs pages with the same filters, in NDJSON and text; who may export.
let h: Harness
let owner: TestUser
beforeAll(async () => {
	h = await Harness.start()
	owner = await h.newUser()
})
afterAll(() => h.close())

const query = (q: Record<string, string | number | undefined>) =>
	new URLSearchParams(Object.entries(q).flatMap(([k, v]): [string, string][] => (v === undefined ? [] : [[k, String(v)]]))).toString()
const LEVELS = ['debug', 'info', 'warn', 'error', 'fatal']

async function logLines(episode: string, count: number, random: Random) {
	const lines = Array.from({ length: count }, (_, i) => ({
		timestamp: new Date(Date.UTC(2026, 7, 12, 10, 0, 0) + i * 1000).toISOString().replace('Z', `${String(i % 1000).padStart(3, '0')}Z`),
		level: random.pick(LEVELS),
		message: random.chance(0.2) ? `step ${i}: loss\n=${random.next()}, "quoted"` : `step ${i} ${random.string(20)}`,
		...(random.chance(0.5) && { metadata: { step: i, tag: random.string(6) } }),
	}))
	for (let from = 0; from < lines.length; from += 1000) expect((await h.call('POST', `/episodes/${episode}/logs`, { token: owner.token, body: { logs: lines.slice(from, from + 1000) } })).status).toBe(201)
}

/** Every line the filters match, through GET …/logs pages. */
async function pages(episode: string, q: Record<string, string | number | undefined>) {
	const out: unknown[] = []
	let afterSequence = q.afterSequence
	for (;;) {
		const { status, body }: { status: number; body: any } = await h.call('GET', `/episodes/${episode}/logs?${query({ ...q, afterSequence, limit: 1000 })}`, { token: owner.token })
		expect(status).toBe(200)
		out.push(...body.logs)
		if (!body.hasMore) return out
		afterSequence = body.nextSequence
	}
}

const exportOf = (episode: string, q: Record<string, string | number | undefined>) =>
	h.fetch(new Request(`http://dreamlake.test/episodes/${episode}/logs/export?${query(q)}`, { headers: { authorization: `Bearer ${owner.token}` } }))

describe('GET /episodes/{id}/logs/export', () => {
	it('NDJSON holds the lines GET …/logs pages hold, with the same filters, in their order', async () => {
		const random = new Random(Number(process.env.LOGS_SEED ?? 7))
		const episode = await h.newEpisode(owner, 'logs-export')
		await logLines(episode, 4500, random)
		for (const q of [{}, { level: 'warn,error' }, { search: 'LOSS' }, { startTime: '2026-08-12T10:20:00Z', endTime: '2026-08-12T10:40:00.5Z' }, { dir: 'desc' }, { afterSequence: 4000 }, { dir: 'desc', afterSequence: 2500, level: 'info' }]) {
			const res = await exportOf(episode, { ...q, format: 'ndjson' })
			expect(res.status).toBe(200)
			expect(res.headers.get('content-type')).toBe('application/x-ndjson; charset=utf-8')
			expect(res.headers.get('content-disposition')).toBe(`attachment; filename="${episode}-logs.ndjson"; filename*=UTF-8''${episode}-logs.ndjson`)
			const lines = (await res.text()).split('\n')
			expect(lines.pop()).toBe('')
			expect(lines.map((l) => JSON.parse(l))).toEqual(await pages(episode, q))
		}
	})

	it('text: a line per log line, time, level, message and metadata as JSON; NDJSON is the default', async () => {
		const episode = await h.newEpisode(owner, 'logs-export')
		const logs = [
			{ timestamp: '2026-08-12T10:30:00.123456Z', level: 'info', message: 'epoch 1: loss=0.5' },
			{ timestamp: '2026-08-12T12:30:00+02:00', level: 'critical', message: 'out of memory', metadata: { gpu: 0, note: 'a "b"' } },
		]
		expect((await h.call('POST', `/episodes/${episode}/logs`, { token: owner.token, body: { logs } })).status).toBe(201)
		const res = await exportOf(episode, { format: 'text' })
		expect(res.headers.get('content-type')).toBe('text/plain; charset=utf-8')
		expect(res.headers.get('content-disposition')).toContain(`filename="${episode}-logs.txt"`)
		expect(await res.text()).toBe('2026-08-12T10:30:00.123456Z INFO  epoch 1: loss=0.5\n2026-08-12T10:30:00.000000Z FATAL out of memory {"gpu":0,"note":"a \\"b\\""}\n')
		expect((await (await exportOf(episode, {})).text()).split('\n')[0]).toBe('{"sequenceNumber":0,"timestamp":"2026-08-12T10:30:00.123456Z","level":"info","message":"epoch 1: loss=0.5","metadata":null}')
		const empty = await h.newEpisode(owner, 'logs-export')
		expect(await (await exportOf(empty, { format: 'text' })).text()).toBe('')
	})

	it('a bad format or filter is a 422 naming the parameter', async () => {
		const episode = await h.newEpisode(owner, 'logs-export')
		for (const [q, field] of [
			[{ format: 'csv' }, 'format'],
			[{ level: 'loud' }, 'level'],
			[{ startTime: 'noon' }, 'startTime'],
			[{ dir: 'up' }, 'dir'],
		] as const) {
			const { status, body } = await h.call('GET', `/episodes/${episode}/logs/export?${query(q)}`, { token: owner.token })
			expect(status).toBe(422)
			expect(body).toMatchObject({ success: false, code: 'validation_failed', field })
		}
	})

	whoMayCall(
		() => h,
		underEpisode<InEpisode>(() => h, {
			method: 'GET',
			path: () => '/logs/export?format=text',
			ok: 200,
			write: false,
			unchanged: "the owner's logs",
			async arrange(user) {
				const episode = await h.newEpisode(user, 'logs-guarded')
				expect((await h.call('POST', `/episodes/${episode}/logs`, { token: user.token, body: { logs: [{ timestamp: '2026-08-12T10:30:00Z', level: 'info', message: 'secret line' }] } })).status).toBe(201)
				return { owner: user, episode, project: 'logs-guarded' }
			},
			snapshot: async (f) => (await h.call('GET', `/episodes/${f.episode}/logs`, { token: f.owner.token })).body,
			secret: 'secret line',
		}),
	)
})
