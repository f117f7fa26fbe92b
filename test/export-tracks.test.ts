import { afterAll, beforeAll, describe, expect, it, setDefaultTimeout } from 'bun:test'
import { connect } from 'node:net'
import { underEpisode, whoMayCall, type InEpisode } from './support/access'
import { Harness, type TestUser } from './support/harness'
import { Random } from './support/random'
import { parseCsv } from './support/csv'

// Track exports against `data` pages: random tracks (keys absent, numbers mixed with other JSON,
// chunk edges), random windows by index and time and random keys, in CSV and NDJSON; CSV quoting;
// who may export; a client that goes away mid-export. EXPORT_SEED=<seed> replays a failing run.
setDefaultTimeout(60_000)

let h: Harness
let owner: TestUser
beforeAll(async () => {
	h = await Harness.start()
	owner = await h.newUser()
})
afterAll(() => h.close())

type Point = Record<string, unknown>
const enc = encodeURIComponent
const trackPath = (id: string, name: string) => `/episodes/${id}/tracks/${enc(name)}`
const query = (q: Record<string, string | number | undefined>) =>
	new URLSearchParams(Object.entries(q).flatMap(([k, v]): [string, string][] => (v === undefined ? [] : [[k, String(v)]]))).toString()

async function append(episode: string, name: string, points: Point[], token = owner.token) {
	for (let from = 0; from < points.length; from += 10_000) {
		const { status } = await h.call('POST', `${trackPath(episode, name)}/append-batch`, { token, body: { dataPoints: points.slice(from, from + 10_000) } })
		expect(status).toBe(201)
	}
}

const exportOf = (episode: string, name: string, q: Record<string, string | number | undefined>, token: string | undefined = owner.token) =>
	h.fetch(new Request(`http://dreamlake.test${trackPath(episode, name)}/export?${query(q)}`, { headers: token === undefined ? {} : { authorization: `Bearer ${token}` } }))

/** Every point of the window, read through `data` pages of `limit` points. */
async function dataPages(episode: string, name: string, q: Record<string, string | number | undefined>, limit: number): Promise<{ index: number; data: Point }[]> {
	const out: { index: number; data: Point }[] = []
	let startIndex: number | null = Number(q.startIndex ?? 0)
	while (startIndex !== null) {
		const { status, body }: { status: number; body: any } = await h.call('GET', `${trackPath(episode, name)}/data?${query({ ...q, startIndex, limit })}`, { token: owner.token })
		expect(status).toBe(200)
		for (const p of body.points) out.push({ index: Number(p.index), data: p.data })
		startIndex = body.nextIndex
	}
	return out
}

/**
 * A value as the CSV export writes it (README, GET …/export): absent empty, `""` for an empty
 * string, numbers as JavaScript writes them, other JSON as JSON text; UTF-8 has no lone surrogate,
 * so one reads back as U+FFFD.
 */
const csvText = (value: unknown) =>
	(value === undefined ? '' : typeof value === 'number' ? String(value) : typeof value === 'string' ? (value === '' ? '""' : value) : JSON.stringify(value)).toWellFormed()

describe('GET …/tracks/{name}/export', () => {
	it('streams CSV with a header of index, _ts and the keys, a safe attachment name and the CSV type', async () => {
		const episode = await h.newEpisode(owner, 'export')
		await append(episode, 'train/loss', [{ _ts: 1.5, loss: 0.25, note: 'a' }, { loss: 1e-7 }, { _ts: 3, note: 'x, "y"\nz' }])
		const res = await exportOf(episode, 'train/loss', {})
		expect(res.status).toBe(200)
		expect(res.headers.get('content-type')).toBe('text/csv; charset=utf-8')
		expect(res.headers.get('content-disposition')).toBe(`attachment; filename="${episode}-train_loss.csv"; filename*=UTF-8''${episode}-train_loss.csv`)
		expect(await res.text()).toBe('index,_ts,loss,note\r\n0,1.5,0.25,a\r\n1,,1e-7,\r\n2,3,,"x, ""y""\nz"\r\n')
	})

	it('quotes strings with commas, quotes, line breaks; keeps empty strings apart from absent values; writes other JSON as JSON text', async () => {
		const episode = await h.newEpisode(owner, 'export')
		const tricky = ['a,b', 'say "hi"', 'line\nbreak', 'cr\rlf\r\n', '', ' spaced ', '"', ',', '日本🤖', '=1+2', 'null']
		const points: Point[] = tricky.map((s, i) => ({ s, j: i % 3 === 0 ? { a: [1, 'x,y'] } : i % 3 === 1 ? null : true }))
		points.push({ j: 1 })
		await append(episode, 'strings', points)
		const rows = parseCsv(await (await exportOf(episode, 'strings', {})).text())
		expect(rows[0]).toEqual(['index', 's', 'j'])
		expect(rows.slice(1)).toEqual(points.map((p, i) => [String(i), csvText(p.s), csvText(p.j)]))
	})

	it('NDJSON: one object a line, absent keys left out, values as stored', async () => {
		const episode = await h.newEpisode(owner, 'export')
		const points: Point[] = [{ _ts: 10, a: 1, s: 'x' }, { b: [1, { c: null }] }, {}, { a: 2.5e-300, s: '' }]
		await append(episode, 'nd', points)
		const res = await exportOf(episode, 'nd', { format: 'ndjson' })
		expect(res.headers.get('content-type')).toBe('application/x-ndjson; charset=utf-8')
		const lines = (await res.text()).split('\n')
		expect(lines.pop()).toBe('')
		expect(lines.map((l) => JSON.parse(l))).toEqual(points.map((p, index) => ({ index, ...p })))
	})

	it('names a key called index index_ (the position keeps its name), and keys= picks and orders the columns', async () => {
		const episode = await h.newEpisode(owner, 'export')
		await append(episode, 'clash', [{ index: 'mine', index_: 2, z: 1, a: 0 }])
		expect(await (await exportOf(episode, 'clash', {})).text()).toBe('index,index_,index__,z,a\r\n0,mine,2,1,0\r\n')
		expect(await (await exportOf(episode, 'clash', { keys: 'a,z,missing' })).text()).toBe('index,a,z,missing\r\n0,0,1,\r\n')
	})

	it('a bad format or window is a 422 naming the parameter; nothing is streamed', async () => {
		const episode = await h.newEpisode(owner, 'export')
		await append(episode, 't', [{ a: 1 }])
		for (const [q, field] of [
			[{ format: 'xlsx' }, 'format'],
			[{ format: 'CSV' }, 'format'],
			[{ startIndex: -1 }, 'startIndex'],
			[{ endIndex: 'x' }, 'endIndex'],
			[{ startTime: 'yesterday' }, 'startTime'],
		] as const) {
			const { status, body } = await h.call('GET', `${trackPath(episode, 't')}/export?${query(q)}`, { token: owner.token })
			expect(status).toBe(422)
			expect(body).toEqual({ success: false, error: expect.stringContaining(`"${field}"`), code: 'validation_failed', field })
		}
		const { body } = await h.call('GET', `${trackPath(episode, 't')}/export?format=xlsx`, { token: owner.token })
		expect(body.error).toBe('Invalid query parameter: "format" must be one of csv, ndjson, parquet.')
	})

	it('a deleted track is a 404, and a missing one', async () => {
		const episode = await h.newEpisode(owner, 'export')
		await append(episode, 'gone', [{ a: 1 }])
		expect((await h.call('DELETE', trackPath(episode, 'gone'), { token: owner.token })).status).toBe(200)
		for (const name of ['gone', 'never']) {
			const { status, body } = await h.call('GET', `${trackPath(episode, name)}/export`, { token: owner.token })
			expect(status).toBe(404)
			expect(body).toEqual({ success: false, error: `Track "${name}" not found.`, code: 'track_not_found' })
		}
	})

	// the property: the export of a window holds exactly the points `data` pages give, in order
	const seed = Number(process.env.EXPORT_SEED ?? Date.now() % 1_000_000)
	it(`holds what data pages hold, point by point, over random tracks, windows and keys (EXPORT_SEED=${seed})`, async () => {
		const random = new Random(seed)
		const episode = await h.newEpisode(owner, 'export')
		for (let t = 0; t < 6; t++) {
			const name = `random-${t}`
			const points = randomPoints(random, random.pick([1, 63, 64, 4095, 4096, 4097, 1 + random.int(9000)]))
			// batches of random sizes: small ones join the last chunk, large ones split at 4,096
			for (let from = 0; from < points.length; ) {
				const size = random.pick([1, 7, 500, 4096, 5000, 10_000])
				await append(episode, name, points.slice(from, from + size))
				from += size
			}
			const trackKeys: string[] = (await h.call('GET', `${trackPath(episode, name)}/stats`, { token: owner.token })).body.keys
			for (let w = 0; w < 4; w++) {
				const q: Record<string, string | number | undefined> = {}
				if (random.chance(0.5)) q.startIndex = random.int(points.length + 2)
				if (random.chance(0.5)) q.endIndex = random.int(points.length + 2)
				if (random.chance(0.3)) {
					const times = points.map((p) => p._ts).filter((x): x is number => typeof x === 'number')
					if (times.length > 0) {
						q.startTime = random.pick(times)
						if (random.chance(0.5)) q.endTime = Number(q.startTime) + random.pick([0, 1, 100, 1e6])
					}
				}
				if (random.chance(0.4)) q.keys = random.pick([['loss'], ['note', '_ts'], ['acc', 'nothing', 'loss'], ['_ts']]).join(',')
				const expected = await dataPages(episode, name, q, random.pick([1000, 10_000]))
				const keys = q.keys === undefined ? trackKeys : String(q.keys).split(',')
				const columns = [...new Set(keys.includes('_ts') ? ['_ts', ...keys] : keys)]
				const csv = parseCsv(await (await exportOf(episode, name, { ...q, format: 'csv' })).text())
				expect(csv[0]).toEqual(['index', ...columns])
				expect(csv.length - 1).toBe(expected.length)
				expect(csv.slice(1)).toEqual(expected.map((p) => [String(p.index), ...columns.map((k) => csvText(p.data[k]))]))
				const ndjson = (await (await exportOf(episode, name, { ...q, format: 'ndjson' })).text()).split('\n').filter((l) => l !== '')
				expect(ndjson.map((l) => JSON.parse(l))).toEqual(expected.map((p) => ({ index: p.index, ...p.data })))
			}
		}
	})

	it('stops reading at once when the client goes away: nothing is read ahead of what the socket takes, and the export ends cancelled', async () => {
		const episode = await h.newEpisode(owner, 'export')
		const total = 400_000
		for (let b = 0; b < total / 10_000; b++) await append(episode, 'long', Array.from({ length: 10_000 }, (_, i) => ({ _ts: 1.7e9 + b * 10_000 + i, loss: Math.sin(i), acc: i / 7 })))
		const server = Bun.serve({ port: 0, hostname: '127.0.0.1', fetch: h.fetch })
		const exportLines = () => h.logs.map((l) => JSON.parse(l)).filter((l) => l.msg === 'export' && l.what === 'track')
		const before = exportLines().length
		try {
			// a raw socket, so that nothing reads on behind the test's back: it takes 64 KiB, then stops reading, then hangs up
			const socket = connect(server.port!, '127.0.0.1')
			await new Promise<void>((resolve) => {
				let got = 0
				socket.on('data', (data) => {
					got += data.length
					if (got > 64 * 1024) socket.pause(), resolve()
				})
				socket.write(`GET ${trackPath(episode, 'long')}/export?format=csv HTTP/1.1\r\nHost: dreamlake.test\r\nAuthorization: Bearer ${owner.token}\r\n\r\n`)
			})
			await Bun.sleep(300)
			// while the client does not read, the export waits: it has not run to its end
			expect(exportLines().length).toBe(before)
			socket.destroy()
			for (let i = 0; i < 100 && exportLines().length === before; i++) await Bun.sleep(10)
			const [ended] = exportLines().slice(before)
			expect(ended).toMatchObject({ what: 'track', format: 'csv', outcome: 'cancelled' })
			// what the socket buffers took, at most: a few MB of CSV, not the 22 MB of the whole track
			expect(ended.rows).toBeLessThan(total / 2)
			await Bun.sleep(300)
			expect(exportLines().slice(before)).toEqual([ended])
		} finally {
			server.stop(true)
		}
	})

	it('sends the same bytes over a real socket as in process, for an export of many MB in every format', async () => {
		// Over HTTP the encoders' reused buffers go straight to the socket's sink, which copies
		// them; in process they are copied before the next batch overwrites them. Both must agree.
		const episode = await h.newEpisode(owner, 'export')
		const random = new Random(Number(process.env.EXPORT_SEED ?? Date.now()))
		const points = randomPoints(random, 300_000)
		await append(episode, 'big', points)
		const server = Bun.serve({ port: 0, hostname: '127.0.0.1', fetch: h.fetch })
		try {
			for (const format of ['csv', 'ndjson', 'parquet']) {
				const path = `${trackPath(episode, 'big')}/export?format=${format}`
				// through a Blob: its sink keeps what is written, where arrayBuffer() copies (Bun 1.4)
				const local = await (await (await exportOf(episode, 'big', { format })).blob()).bytes()
				const remote = await fetch(`http://127.0.0.1:${server.port}${path}`, { headers: { authorization: `Bearer ${owner.token}` } })
				expect(remote.status).toBe(200)
				const bytes = new Uint8Array(await remote.arrayBuffer())
				expect(local.length).toBeGreaterThan(2 * 1024 * 1024)
				expect(bytes.length).toBe(local.length)
				expect(`${format} ${Bun.hash(bytes)}`).toBe(`${format} ${Bun.hash(local)}`)
			}
		} finally {
			server.stop(true)
		}
	})

	whoMayCall(
		() => h,
		underEpisode<InEpisode & { name: string }>(() => h, {
			method: 'GET',
			path: (f) => `/tracks/${enc(f.name)}/export?format=csv`,
			ok: 200,
			write: false,
			unchanged: "the owner's track",
			async arrange(user) {
				const episode = await h.newEpisode(user, 'export-guarded')
				await append(episode, 'guarded', [{ a: 1 }, { a: 2 }], user.token)
				return { owner: user, episode, project: 'export-guarded', name: 'guarded' }
			},
			snapshot: async (f) => (await h.call('GET', `${trackPath(f.episode, f.name)}/data`, { token: f.owner.token })).body,
		}),
	)
})

const JUNK = [null, 'nan', true, '1.5', {}, [], 'a,b "c"\nd', '']

/** A track: `_ts` rising (sometimes absent), keys sometimes absent or holding something other than a number. */
function randomPoints(random: Random, n: number): Point[] {
	const absent = random.pick([0, 0.05, 0.3])
	const junk = random.pick([0, 0.02, 0.3])
	let t = 1_765_000_000 + random.int(1000)
	return Array.from({ length: n }, (_, i) => {
		t += random.pick([0, 0.001, 1, 7.5])
		const point: Point = {}
		if (!random.chance(absent)) point._ts = t
		if (!random.chance(absent)) point.loss = random.chance(junk) ? random.pick(JUNK) : Math.sin(i / 37) * 10 + random.next()
		if (random.chance(0.5)) point.acc = random.int(1000) / 1000
		if (random.chance(0.2)) point.note = random.chance(0.5) ? `n${i}` : random.string(12)
		return point
	})
}
