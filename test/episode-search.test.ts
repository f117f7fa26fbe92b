import { afterAll, beforeAll, describe, expect, it, setDefaultTimeout } from 'bun:test'
import { whoMayCall, type Owned } from './support/access'
import { Harness, type Reply, type TestUser as User } from './support/harness'
import { Random } from './support/random'

// a project of random runs, each with parameters and tracks, made through the API
setDefaultTimeout(120_000)

let h: Harness
beforeAll(async () => {
	h = await Harness.start()
})
afterAll(() => h.close())

const enc = encodeURIComponent
type Point = Record<string, unknown>

interface Summary {
	last: number
	min: number
	max: number
	count: number
	minStep: number | null
	maxStep: number | null
	minIndex: number
	maxIndex: number
}

/** What the test sent for one episode, and so what the server must answer of it. */
interface Run {
	id: string
	name: string
	status: string
	tags: string[]
	createdAt: number
	params: Record<string, unknown>
	/** By `track\0key`: the summary computed here from the points sent (live tracks only). */
	metrics: Map<string, Summary>
}

const STATUSES = ['running', 'completed', 'failed', 'cancelled', 'archived'] as const

/** The summaries of a track's points, computed here: first of equal values wins. */
function summaries(points: Point[]): Map<string, Summary> {
	const out = new Map<string, Summary>()
	points.forEach((point, index) => {
		const step = typeof point.step === 'number' ? point.step : null
		for (const [key, value] of Object.entries(point)) {
			if (typeof value !== 'number') continue
			const s = out.get(key)
			if (!s) out.set(key, { last: value, min: value, max: value, count: 1, minStep: step, maxStep: step, minIndex: index, maxIndex: index })
			else {
				s.count++
				s.last = value
				if (value < s.min) Object.assign(s, { min: value, minStep: step, minIndex: index })
				if (value > s.max) Object.assign(s, { max: value, maxStep: step, maxIndex: index })
			}
		}
	})
	return out
}

const TRACKS = ['train', 'eval/success', 'eval.v2']

/** A project of `n` random runs of `user`'s: parameters of every type, tracks (one sometimes deleted), statuses and tags. */
async function randomProject(random: Random, user: User, project: string, n: number): Promise<Run[]> {
	const runs: Run[] = []
	for (let i = 0; i < n; i++) {
		const name = `run-${i}-${random.pick(['ppo', 'sac', 'dqn'])}`
		const status = random.pick(STATUSES)
		const tags = ['sweep', 'baseline', 'x'].filter(() => random.chance(0.4))
		const created = await h.call('POST', `/namespaces/${user.ns}/projects/${project}/episodes`, { token: user.token, body: { name, status, tags } })
		expect(created.status).toBe(201)
		const id = created.body.id as string
		const data: Record<string, unknown> = {}
		if (random.chance(0.9)) data.lr = random.pick([0.0003, 0.001, 0.01, 1])
		if (random.chance(0.8)) data.opt = random.pick(['adam', 'sgd', 'adamw'])
		if (random.chance(0.8)) data.model = { depth: random.int(5), width: random.pick([64, 128]) }
		if (random.chance(0.6)) data.flag = random.chance(0.5)
		if (random.chance(0.7)) data.mixed = random.pick([1, '1', 'x', 2.5, null, [1, 2]])
		if (random.chance(0.5)) data['odd key/with space'] = random.int(3)
		const params: Record<string, unknown> = {}
		if (Object.keys(data).length > 0) {
			expect((await h.call('POST', `/episodes/${id}/parameters`, { token: user.token, body: { data } })).status).toBe(200)
			for (const [key, value] of Object.entries(data)) {
				if (value !== null && typeof value === 'object' && !Array.isArray(value)) for (const [inner, v] of Object.entries(value)) params[`${key}.${inner}`] = v
				else params[key] = value
			}
		}
		const metrics = new Map<string, Summary>()
		for (const track of TRACKS) {
			if (!random.chance(0.7)) continue
			const points: Point[] = []
			for (let batch = random.int(3) + 1; batch > 0; batch--) {
				const more = Array.from({ length: random.int(40) + 1 }, (_, j): Point => {
					const step = points.length + j
					return track === 'train' ? { step, loss: random.int(1000) / 1000, acc: random.chance(0.9) ? random.int(100) / 100 : 'n/a' } : { step: random.chance(0.8) ? step : 'x', rate: random.int(20) / 20, acc: random.next() }
				})
				expect((await h.call('POST', `/episodes/${id}/tracks/${enc(track)}/append-batch`, { token: user.token, body: { dataPoints: more } })).status).toBe(201)
				points.push(...more)
			}
			// a deleted track's summaries are out of every search
			if (random.chance(0.15)) {
				expect((await h.call('DELETE', `/episodes/${id}/tracks/${enc(track)}`, { token: user.token })).status).toBe(200)
				continue
			}
			for (const [key, s] of summaries(points)) metrics.set(`${track}\0${key}`, s)
		}
		runs.push({ id, name, status, tags, createdAt: Date.parse(created.body.createdAt), params, metrics })
	}
	return runs
}

/** The list, every page of `pageSize`, followed to the end: the episodes in order, and the total each page said. */
async function walk(user: User, path: string, query: Record<string, string>, pageSize = 7): Promise<{ rows: any[]; totals: number[] }> {
	const rows: any[] = []
	const totals: number[] = []
	for (let page = 1; page < 100; page++) {
		const reply = await h.call('GET', `${path}?${new URLSearchParams({ ...query, page: String(page), pageSize: String(pageSize) })}`, { token: user.token })
		expect(reply.status, JSON.stringify(reply.body)).toBe(200)
		rows.push(...reply.body.episodes)
		totals.push(reply.body.total)
		if (reply.body.episodes.length < pageSize) return { rows, totals }
	}
	throw new Error('paging never ended')
}

// --- the reference: what SQLite's ordering and the filter language's rules say, computed here ---

type Sortable = number | string | { blob: string } | null

/** A parameter's value as SQLite holds it: numbers and text as such, anything else its JSON (a blob). */
const stored = (value: unknown): Sortable => (value === undefined ? null : typeof value === 'number' || typeof value === 'string' ? value : { blob: JSON.stringify(value) })

const rank = (v: Sortable) => (typeof v === 'number' ? 1 : typeof v === 'string' ? 2 : 3)
/** SQLite's order of values: numbers, then text (binary), then blobs (their bytes). */
function compareSql(a: Exclude<Sortable, null>, b: Exclude<Sortable, null>): number {
	if (rank(a) !== rank(b)) return rank(a) - rank(b)
	if (typeof a === 'number') return a - (b as number)
	const x = typeof a === 'string' ? a : a.blob
	const y = typeof b === 'string' ? b : (b as { blob: string }).blob
	return x < y ? -1 : x > y ? 1 : 0
}

interface KeyCase {
	/** As the language writes it. */
	text: string
	/** The value of a run to sort and compare by. */
	of(run: Run): Sortable
	/** What `columns=` answers for it. */
	cell?(run: Run): unknown
}

const STATS = ['last', 'min', 'max', 'count', 'minStep', 'maxStep', 'minIndex', 'maxIndex'] as const
const paramCase = (text: string, key: string): KeyCase => ({ text, of: (run) => stored(run.params[key]), cell: (run) => (run.params[key] === undefined ? null : run.params[key]) })
const metricCase = (text: string, track: string, key: string, stat: (typeof STATS)[number]): KeyCase => ({
	text,
	of: (run) => run.metrics.get(`${track}\0${key}`)?.[stat] ?? null,
	cell: (run) => run.metrics.get(`${track}\0${key}`)?.[stat] ?? null,
})

const PARAMS: KeyCase[] = [
	paramCase('params.lr', 'lr'),
	paramCase('params.opt', 'opt'),
	paramCase('params.model.depth', 'model.depth'),
	paramCase('params."model.width"', 'model.width'),
	paramCase('params.flag', 'flag'),
	paramCase('params.mixed', 'mixed'),
	paramCase('params."odd key/with space"', 'odd key/with space'),
	paramCase('params.nobody', 'nobody'),
]
const METRICS: KeyCase[] = [
	...STATS.map((stat) => metricCase(`metrics.train.loss.${stat}`, 'train', 'loss', stat)),
	metricCase('metrics.train.loss', 'train', 'loss', 'last'),
	metricCase('metrics.train.acc.max', 'train', 'acc', 'max'),
	metricCase('metrics.train.step.count', 'train', 'step', 'count'),
	metricCase('metrics."eval/success".rate', 'eval/success', 'rate', 'last'),
	metricCase('metrics."eval/success".rate.minStep', 'eval/success', 'rate', 'minStep'),
	metricCase('metrics.eval.v2.acc.min', 'eval.v2', 'acc', 'min'),
	metricCase('metrics."eval.v2".rate.maxIndex', 'eval.v2', 'rate', 'maxIndex'),
	metricCase('metrics.train.nothing', 'train', 'nothing', 'last'),
]
const ATTRIBUTES: KeyCase[] = [
	{ text: 'name', of: (run) => run.name },
	{ text: 'createdAt', of: (run) => run.createdAt },
	{ text: 'status', of: (run) => run.status },
	{ text: 'tags', of: (run) => JSON.stringify(run.tags) },
]

/** The runs in the order `order` and `dir` say: runs without the key last, ties by id in the same direction. */
function sorted(runs: Run[], key: KeyCase, dir: 'asc' | 'desc'): Run[] {
	const sign = dir === 'asc' ? 1 : -1
	return [...runs].sort((a, b) => {
		const x = key.of(a)
		const y = key.of(b)
		if (x === null || y === null) {
			if (x !== y) return x === null ? 1 : -1
		} else {
			const c = compareSql(x, y)
			if (c !== 0) return sign * c
		}
		return sign * (Number(a.id) - Number(b.id))
	})
}

/** A comparison as text, and what it says of a run, by the language's rules (README, Finding runs). */
interface Comparison {
	text: string
	holds(run: Run): boolean
}

const glob = (pattern: string) => new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`, 's')
const numeric = (text: string) => (/^-?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(text) ? Number(text) : undefined)
const literal = (v: number | string | boolean) => (typeof v === 'string' ? JSON.stringify(v) : String(v))

function paramComparison(random: Random, key: KeyCase & { text: string }): Comparison {
	const value = random.pick<number | string | boolean>([0.0003, 0.001, 1, 2, 2.5, 64, 'adam', 'sgd', '1', '0.001', 'x', true, false, 'ad*', 'nope'])
	const isText = typeof value === 'string'
	const ops = typeof value === 'number' ? ['=', '!=', '<', '<=', '>', '>='] : isText ? ['=', '!=', '~'] : ['=', '!=']
	const op = random.pick(ops)
	const text = `${key.text} ${op} ${literal(value)}`
	const equals = (v: Sortable): boolean => {
		if (v === null) return false
		if (typeof value === 'boolean') return typeof v === 'object' && v.blob === String(value)
		if (typeof value === 'number') return v === value
		return v === value || (numeric(value) !== undefined && v === numeric(value))
	}
	return {
		text,
		holds(run) {
			const v = key.of(run)
			if (v === null) return false
			switch (op) {
				case '=':
					return equals(v)
				case '!=':
					return !equals(v)
				case '~':
					return typeof v === 'string' && glob(value as string).test(v)
				default: {
					if (typeof v !== 'number') return false
					const n = value as number
					return op === '<' ? v < n : op === '<=' ? v <= n : op === '>' ? v > n : v >= n
				}
			}
		},
	}
}

function metricComparison(random: Random, key: KeyCase): Comparison {
	const value = random.pick([0, 0.1, 0.5, 0.9, 1, 3, 10, 20])
	const op = random.pick(['=', '!=', '<', '<=', '>', '>='])
	return {
		text: `${key.text} ${op} ${value}`,
		holds(run) {
			const v = key.of(run) as number | null
			if (v === null) return false
			return op === '=' ? v === value : op === '!=' ? v !== value : op === '<' ? v < value : op === '<=' ? v <= value : op === '>' ? v > value : v >= value
		},
	}
}

function attributeComparison(random: Random, runs: Run[]): Comparison {
	switch (random.int(5)) {
		case 0: {
			const pattern = random.pick(['run-1*', '*-ppo', 'run-?-sac', '*', 'nothing*'])
			return { text: `name ~ ${JSON.stringify(pattern)}`, holds: (run) => glob(pattern).test(run.name) }
		}
		case 1: {
			const status = random.pick(STATUSES)
			const op = random.pick(['=', '!='])
			return { text: `status ${op} "${status}"`, holds: (run) => (run.status === status) === (op === '=') }
		}
		case 2: {
			const tag = random.pick(['sweep', 'baseline', 'x', 'none'])
			const op = random.pick(['=', '!='])
			return { text: `tags ${op} "${tag}"`, holds: (run) => run.tags.includes(tag) === (op === '=') }
		}
		case 3: {
			const at = random.pick(runs).createdAt
			const op = random.pick(['<', '>='])
			return { text: `createdAt ${op} "${new Date(at).toISOString()}"`, holds: (run) => (op === '<' ? run.createdAt < at : run.createdAt >= at) }
		}
		default: {
			const values = ['completed', 'failed', 'stale'].filter(() => random.chance(0.6))
			if (values.length === 0) values.push('running')
			const negated = random.chance(0.5)
			return { text: `status ${negated ? 'not in' : 'in'} (${values.map((v) => `"${v}"`).join(', ')})`, holds: (run) => values.includes(run.status) !== negated }
		}
	}
}

/** A random filter, parenthesized where it nests, with its meaning. */
function randomFilter(random: Random, runs: Run[], depth = 0): Comparison {
	if (depth < 2 && random.chance(0.5)) {
		const left = randomFilter(random, runs, depth + 1)
		const right = randomFilter(random, runs, depth + 1)
		const and = random.chance(0.5)
		return { text: `(${left.text} ${and ? 'and' : 'or'} ${right.text})`, holds: (run) => (and ? left.holds(run) && right.holds(run) : left.holds(run) || right.holds(run)) }
	}
	const kind = random.int(3)
	if (kind === 0) return paramComparison(random, random.pick(PARAMS))
	if (kind === 1) return metricComparison(random, random.pick(METRICS))
	return attributeComparison(random, runs)
}

describe('GET …/episodes with filter=, order= and columns=, against a reference computed here', () => {
	let user: User
	let runs: Run[]
	const project = 'sweep'
	const path = () => `/namespaces/${user.ns}/projects/${project}/episodes`
	beforeAll(async () => {
		user = await h.newUser()
		runs = await randomProject(new Random(2112), user, project, 30)
	})

	it('every order=, both directions, with random columns, over every page', async () => {
		const random = new Random(7)
		const columnCases = [...PARAMS, ...METRICS]
		for (const key of [...ATTRIBUTES, ...PARAMS, ...METRICS]) {
			for (const dir of ['asc', 'desc'] as const) {
				const columns = columnCases.filter(() => random.chance(0.3)).slice(0, 20)
				const query: Record<string, string> = { order: key.text, dir }
				if (columns.length > 0) query.columns = columns.map((c) => c.text).join(',')
				const { rows, totals } = await walk(user, path(), query)
				const expected = sorted(runs, key, dir)
				expect(rows.map((r) => r.name), `${key.text} ${dir}`).toEqual(expected.map((r) => r.name))
				expect(new Set(totals)).toEqual(new Set([runs.length]))
				for (const [i, row] of rows.entries()) {
					if (columns.length === 0) expect(row.values).toBeUndefined()
					else expect(row.values, `${key.text} ${dir}: ${row.name}`).toEqual(Object.fromEntries(columns.map((c) => [c.text, c.cell!(expected[i]!)])))
				}
			}
		}
	})

	it('random filters (and, or, parentheses, every kind of key) find what the reference finds, in order', async () => {
		const random = new Random(99)
		let between = 0
		for (let i = 0; i < 60; i++) {
			const filter = randomFilter(random, runs)
			const order = random.pick([...ATTRIBUTES, ...PARAMS, ...METRICS])
			const dir = random.pick(['asc', 'desc'] as const)
			const { rows, totals } = await walk(user, path(), { filter: filter.text, order: order.text, dir }, 10)
			const expected = sorted(runs.filter(filter.holds), order, dir)
			expect(rows.map((r) => r.name), `${filter.text} order ${order.text} ${dir}`).toEqual(expected.map((r) => r.name))
			expect(new Set(totals)).toEqual(new Set([expected.length]))
			if (expected.length > 0 && expected.length < runs.length) between++
		}
		// the filters tell runs apart: most match some but not all
		expect(between).toBeGreaterThan(30)
	})

	it('and binds tighter than or', async () => {
		const names = async (filter: string) => (await walk(user, path(), { filter, order: 'name', dir: 'asc' }, 50)).rows.map((r) => r.name)
		const a = 'status = "failed"'
		const b = 'params.opt = "adam"'
		const c = 'metrics.train.loss.min < 0.1'
		const ref = (f: (r: Run) => boolean) => sorted(runs.filter(f), ATTRIBUTES[0]!, 'asc').map((r) => r.name)
		const A = (r: Run) => r.status === 'failed'
		const B = (r: Run) => r.params.opt === 'adam'
		const C = (r: Run) => (r.metrics.get('train\0loss')?.min ?? Infinity) < 0.1
		expect(await names(`${a} or ${b} and ${c}`)).toEqual(ref((r) => A(r) || (B(r) && C(r))))
		expect(await names(`(${a} or ${b}) and ${c}`)).toEqual(ref((r) => (A(r) || B(r)) && C(r)))
		expect(ref((r) => A(r) || (B(r) && C(r)))).not.toEqual(ref((r) => (A(r) || B(r)) && C(r)))
	})

	it('a key no episode has matches nothing, != and not in included', async () => {
		for (const filter of ['params.nobody = 1', 'params.nobody != 1', 'params.nobody not in (1, "a")', 'metrics.train.nothing >= 0', 'metrics.nowhere.loss != 3', 'metrics.train.loss.count < 0']) {
			const reply = await h.call('GET', `${path()}?filter=${enc(filter)}`, { token: user.token })
			expect(reply.status).toBe(200)
			expect(reply.body).toMatchObject({ episodes: [], total: 0, totalPages: 0 })
		}
	})

	it('injection attempts are values like any other: nothing matches and nothing breaks', async () => {
		for (const filter of [`params.x = "1' OR 1=1 --"`, `params."x' OR '1'='1" = 1`, `name = "\\" OR 1=1 --"`, `metrics."t'); DROP TABLE episodes; --".k > 0`, `tags = "') OR 1=1 --"`, `name ~ "*' OR '*"`]) {
			const reply = await h.call('GET', `${path()}?filter=${enc(filter)}&columns=${enc(`params."a'b",metrics."x\\"y".z`)}`, { token: user.token })
			expect(reply.status, filter).toBe(200)
			expect(reply.body.total).toBe(0)
		}
		expect((await walk(user, path(), {}, 50)).rows).toHaveLength(runs.length)
	})

	it('the existing parameters still work beside the new ones', async () => {
		const { rows } = await walk(user, path(), { status: 'failed', tags: 'sweep', filter: 'params.lr >= 0.001', order: 'metrics.train.loss.min', dir: 'asc' }, 5)
		const expected = sorted(
			runs.filter((r) => r.status === 'failed' && r.tags.includes('sweep') && typeof r.params.lr === 'number' && r.params.lr >= 0.001),
			METRICS[1]!,
			'asc',
		)
		expect(rows.map((r) => r.name)).toEqual(expected.map((r) => r.name))
	})

	it('a page past the end still says how many match', async () => {
		const reply = await h.call('GET', `${path()}?filter=${enc('params.lr > 0')}&page=50&pageSize=10`, { token: user.token })
		expect(reply.status).toBe(200)
		const total = runs.filter((r) => typeof r.params.lr === 'number').length
		expect(reply.body).toEqual({ episodes: [], page: 50, pageSize: 10, total, totalPages: Math.ceil(total / 10) })
	})

	it('a track deleted, then restored: its summaries leave the search and come back', async () => {
		const id = runs[0]!.id
		const filter = 'metrics.eval.v2.acc.count > 0 and metrics.eval.v2.acc.count < 1000000'
		const hasIt = async () => (await walk(user, path(), { filter }, 50)).rows.some((r) => r.id === id)
		await h.call('POST', `/episodes/${id}/tracks/eval.v2/append-batch`, { token: user.token, body: { dataPoints: [{ acc: 0.5 }] } }).then((r) => expect([201, 410]).toContain(r.status))
		const restoreFirst = await h.call('POST', `/episodes/${id}/tracks/eval.v2/restore`, { token: user.token })
		if (restoreFirst.status === 200) await h.call('POST', `/episodes/${id}/tracks/eval.v2/append-batch`, { token: user.token, body: { dataPoints: [{ acc: 0.5 }] } })
		expect(await hasIt()).toBe(true)
		expect((await h.call('DELETE', `/episodes/${id}/tracks/eval.v2`, { token: user.token })).status).toBe(200)
		expect(await hasIt()).toBe(false)
		expect((await h.call('POST', `/episodes/${id}/tracks/eval.v2/restore`, { token: user.token })).status).toBe(200)
		expect(await hasIt()).toBe(true)
	})
})

describe('bad input', () => {
	let user: User
	beforeAll(async () => {
		user = await h.newUser()
		await h.newEpisode(user, 'bad')
	})
	const list = (query: string) => h.call('GET', `/namespaces/${user.ns}/projects/bad/episodes?${query}`, { token: user.token })

	it('a filter that does not parse is a 400 saying where and what was expected', async () => {
		expect((await list(`filter=${enc('params.lr = ')}`)).body).toEqual({
			success: false,
			error: 'Invalid filter: expected a value (a number, "text" in double quotes, true or false) at character 13, found the end.',
			code: 'invalid_filter',
		})
		expect((await list(`filter=${enc('params.lr > "abc"')}`)).body).toEqual({
			success: false,
			error: 'Invalid filter: params.lr > at character 13: < <= > >= compare a parameter with a number; "abc" is not one (text takes = != in ~).',
			code: 'invalid_filter',
		})
		expect((await list(`filter=${enc('status = "done"')}`)).status).toBe(400)
		expect((await list(`filter=${enc(`name = "${'x'.repeat(4100)}"`)}`)).body.error).toBe('Invalid filter: a filter may be at most 4096 bytes.')
		const many = Array.from({ length: 33 }, (_, i) => `params.k${i} = ${i}`).join(' or ')
		expect((await list(`filter=${enc(many)}`)).body.error).toStartWith('Invalid filter: a filter may hold at most 32 comparisons')
	})

	it.each([
		['order=loss', 'order'],
		['order=metrics.train', 'order'],
		['order=params.', 'order'],
		[`columns=${enc('name')}`, 'columns'],
		[`columns=${enc('params.a,metrics.x')}`, 'columns'],
		[`columns=${enc(Array.from({ length: 21 }, (_, i) => `params.k${i}`).join(','))}`, 'columns'],
	])('422 naming the parameter for %s', async (query, field) => {
		const reply = await list(query)
		expect(reply.status).toBe(422)
		expect(reply.body).toEqual({ success: false, error: expect.stringContaining(`"${field}"`), code: 'validation_failed', field })
	})

	it('columns: commas inside quotes belong to a name; twenty columns are fine', async () => {
		const twenty = Array.from({ length: 20 }, (_, i) => `params.k${i}`).join(',')
		expect((await list(`columns=${enc(twenty)}`)).status).toBe(200)
		const reply = await list(`columns=${enc('params."a,b",metrics."x,y".z.max')}`)
		expect(reply.status).toBe(200)
		expect(reply.body.episodes[0].values).toEqual({ 'params."a,b"': null, 'metrics."x,y".z.max': null })
	})
})

describe('GET /namespaces/{ns}/episodes: across the projects the caller may read', () => {
	const usernameOf = (user: User) => user.claims.username as string

	/** A team with a member and a viewer, a private, an internal and a public project, each with a run of lr 0.1 and a loss. */
	async function newTeam() {
		const [owner, member, viewer, outsider] = await Promise.all([h.newUser(), h.newUser(), h.newUser(), h.newUser()])
		const slug = `lab-${crypto.randomUUID().slice(0, 8)}`
		expect((await h.call('POST', '/namespaces', { token: owner.token, body: { slug } })).status).toBe(201)
		for (const [who, role] of [[member, 'member'], [viewer, 'viewer']] as const) {
			expect((await h.call('POST', `/namespaces/${slug}/members`, { token: owner.token, body: { username: usernameOf(who), role } })).status).toBe(201)
		}
		const ids: Record<string, string> = {}
		for (const visibility of ['private', 'internal', 'public'] as const) {
			expect((await h.call('POST', `/namespaces/${slug}/projects`, { token: owner.token, body: { name: visibility, visibility } })).status).toBe(201)
			const id = (await h.call('POST', `/namespaces/${slug}/projects/${visibility}/episodes`, { token: owner.token, body: { name: `${visibility}-run` } })).body.id
			await h.call('POST', `/episodes/${id}/parameters`, { token: owner.token, body: { data: { lr: 0.1, secret: `${visibility}-secret` } } })
			await h.call('POST', `/episodes/${id}/tracks/train/append`, { token: owner.token, body: { data: { step: 0, loss: 0.5 } } })
			ids[visibility] = id
		}
		return { slug, owner, member, viewer, outsider, ids }
	}

	const search = (ns: string, query: string, token?: string) => h.call('GET', `/namespaces/${ns}/episodes?${query}`, { token })
	const names = (reply: Reply) => reply.body.episodes.map((e: { name: string }) => e.name).sort()

	it('members and viewers find every project’s runs, each row with its project', async () => {
		const team = await newTeam()
		for (const who of [team.owner, team.member, team.viewer]) {
			const reply = await search(team.slug, `filter=${enc('params.lr = 0.1 and metrics.train.loss < 1')}&columns=params.secret&order=name&dir=asc`, who.token)
			expect(reply.status).toBe(200)
			expect(reply.body.total).toBe(3)
			expect(reply.body.episodes.map((e: any) => [e.name, e.project.slug, e.values['params.secret']])).toEqual([
				['internal-run', 'internal', 'internal-secret'],
				['private-run', 'private', 'private-secret'],
				['public-run', 'public', 'public-secret'],
			])
		}
	})

	it('someone without access finds only what is open to them, through any filter: never a private project’s runs', async () => {
		const team = await newTeam()
		const filters = ['', 'params.lr = 0.1', 'params.secret ~ "*"', 'params.secret = "private-secret"', 'metrics.train.loss >= 0', 'name ~ "private*"', 'name = "private-run" or params.lr != 999', '(params.secret in ("private-secret") or status != "failed")']
		for (const filter of filters) {
			const query = `filter=${enc(filter)}&columns=params.secret,metrics.train.loss&pageSize=200`
			const outsider = await search(team.slug, query, team.outsider.token)
			expect(outsider.status).toBe(200)
			expect(JSON.stringify(outsider.body)).not.toContain('private')
			expect(names(outsider).every((n: string) => n === 'internal-run' || n === 'public-run')).toBe(true)
			const anonymous = await search(team.slug, query)
			expect(anonymous.status).toBe(200)
			expect(JSON.stringify(anonymous.body)).not.toContain('private')
			expect(JSON.stringify(anonymous.body)).not.toContain('internal')
		}
		// and the project's own list answers the same 404 as for a project that does not exist
		const own = await h.call('GET', `/namespaces/${team.slug}/projects/private/episodes?filter=${enc('params.lr = 0.1')}`, { token: team.outsider.token })
		expect(own.status).toBe(404)
		expect(own.body.code).toBe('project_not_found')
	})

	it('a namespace with nothing open to the caller is the same 404 as one that does not exist', async () => {
		const owner = await h.newUser()
		const stranger = await h.newUser()
		await h.newEpisode(owner, 'hidden')
		const reply = await search(owner.ns, `filter=${enc('params.lr = 1')}`, stranger.token)
		expect(reply.status).toBe(404)
		expect(reply.body).toEqual(await search('no-such-namespace-here', '', stranger.token).then((r) => ({ ...r.body, error: reply.body.error })))
		expect(reply.body.error).toBe(`Namespace "${owner.ns}" not found.`)
		expect((await search(owner.ns, '')).status).toBe(401)
	})

	it('another namespace’s runs never show, whatever the filter: the search is within the namespace asked for', async () => {
		const mine = await h.newUser()
		const theirs = await h.newUser()
		const id = await h.newEpisode(theirs, 'theirs')
		await h.call('POST', `/episodes/${id}/parameters`, { token: theirs.token, body: { data: { lr: 0.5 } } })
		await h.newEpisode(mine, 'mine')
		for (const filter of ['params.lr = 0.5', 'name ~ "*"', 'params.lr > 0 or name ~ "*"']) {
			const reply = await search(mine.ns, `filter=${enc(filter)}`, mine.token)
			expect(reply.status).toBe(200)
			expect(reply.body.episodes.every((e: any) => e.project.slug === 'mine')).toBe(true)
		}
	})
})

interface Listed extends Owned {
	ns: string
}

describe('who may call the episode lists', () => {
	for (const [label, path] of [
		['the project list', (ns: string) => `/namespaces/${ns}/projects/runs/episodes`],
		['the namespace list', (ns: string) => `/namespaces/${ns}/episodes`],
	] as const) {
		describe(label, () => {
			whoMayCall<Listed>(
				() => h,
				{
					ok: 200,
					write: false,
					outsiderRow: "404 for another user's namespace, through a filter matching everything",
					unchanged: "the owner's episodes",
					async arrange(owner) {
						const id = await h.newEpisode(owner, 'runs')
						await h.call('POST', `/episodes/${id}/parameters`, { token: owner.token, body: { data: { secret: 'owner-only' } } })
						return { owner, ns: owner.ns }
					},
					call: (f, token) => h.call('GET', `${path(f.ns)}?filter=${enc('params.secret ~ "*" or name ~ "*"')}&columns=params.secret`, { token }),
					snapshot: async (f) => (await h.call('GET', `${path(f.ns)}?columns=params.secret`, { token: f.owner.token })).body,
					hidden: (f) => ({ success: false, error: `Namespace "${f.ns}" not found.`, code: 'namespace_not_found' }),
					secret: 'owner-only',
				},
				['anonymous', 'malformed', 'revoked', 'outsider'],
			)
		})
	}
})

describe('status in a filter and an order is the one shown, stale included', () => {
	// a clock the test moves: minutes pass in a moment
	let offset = 0
	let clocked: Harness
	beforeAll(async () => {
		clocked = await Harness.start({ clock: () => Date.now() + offset, staleAfterSeconds: 600 })
	})
	afterAll(() => clocked.close())

	it('a running run silent for STALE_AFTER is stale, not running; a written one stays running', async () => {
		const user = await clocked.newUser()
		const make = async (name: string, status?: string) =>
			(await clocked.call('POST', `/namespaces/${user.ns}/projects/life/episodes`, { token: user.token, body: { name, ...(status && { status }) } })).body.id as string
		await make('quiet')
		const busy = await make('busy')
		await make('done', 'completed')
		offset += 11 * 60_000
		const line = { logs: [{ timestamp: '2026-12-03T10:00:00Z', level: 'info', message: 'still training' }] }
		expect((await clocked.call('POST', `/episodes/${busy}/logs`, { token: user.token, body: line })).status).toBe(201)
		const names = async (query: Record<string, string>) =>
			(await clocked.call('GET', `/namespaces/${user.ns}/projects/life/episodes?${new URLSearchParams(query)}`, { token: user.token })).body.episodes.map((e: { name: string }) => e.name)
		expect(await names({ filter: 'status = "stale"' })).toEqual(['quiet'])
		expect(await names({ filter: 'status = "running"' })).toEqual(['busy'])
		expect(await names({ filter: 'status != "stale"', order: 'name', dir: 'asc' })).toEqual(['busy', 'done'])
		expect(await names({ filter: 'status in ("stale", "completed")', order: 'name', dir: 'asc' })).toEqual(['done', 'quiet'])
		expect(await names({ filter: 'status not in ("running")', order: 'name', dir: 'asc' })).toEqual(['done', 'quiet'])
		// ordered by the status shown: completed, running, stale
		expect(await names({ order: 'status', dir: 'asc' })).toEqual(['done', 'busy', 'quiet'])
		// and across the namespace
		expect((await clocked.call('GET', `/namespaces/${user.ns}/episodes?filter=${enc('status = "stale"')}`, { token: user.token })).body.episodes.map((e: { name: string }) => e.name)).toEqual(['quiet'])
	})
})
