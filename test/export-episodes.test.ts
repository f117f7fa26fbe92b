import { afterAll, beforeAll, describe, expect, it, setDefaultTimeout } from 'bun:test'
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { whoMayCall, type Owned } from './support/access'
import { Harness, type TestUser } from './support/harness'
import { parseCsv } from './support/csv'

// The episodes table export against the episodes list (same filters and order, every page) and
// each episode's parameters; CSV and Parquet (read back by DuckDB); who may export.
setDefaultTimeout(60_000)

let h: Harness
let owner: TestUser
let now = Date.now()
let duck: DuckDBConnection
let dir: string
beforeAll(async () => {
	h = await Harness.start({ clock: () => now, staleAfterSeconds: 600 })
	owner = await h.newUser()
	duck = await (await DuckDBInstance.create(':memory:')).connect()
	dir = mkdtempSync(join(tmpdir(), 'export-episodes-'))
})
afterAll(() => {
	h.close()
	rmSync(dir, { recursive: true, force: true })
})

const query = (q: Record<string, string | undefined>) => new URLSearchParams(Object.entries(q).flatMap(([k, v]): [string, string][] => (v === undefined ? [] : [[k, v]]))).toString()
const projectPath = (u: TestUser, project: string) => `/namespaces/${u.ns}/projects/${project}`
const exportOf = (u: TestUser, project: string, q: Record<string, string | undefined>) =>
	h.fetch(new Request(`http://dreamlake.test${projectPath(u, project)}/episodes/export?${query(q)}`, { headers: { authorization: `Bearer ${u.token}` } }))

/** Every episode the list gives for the filters, in its order, with its parameters (GET …/parameters). */
async function listed(u: TestUser, project: string, q: Record<string, string | undefined>) {
	const out: { episode: any; params: Record<string, unknown> }[] = []
	for (let page = 1; ; page++) {
		const { status, body }: { status: number; body: any } = await h.call('GET', `${projectPath(u, project)}/episodes?${query({ ...q, page: String(page), pageSize: '200' })}`, { token: u.token })
		expect(status).toBe(200)
		for (const episode of body.episodes) {
			const params = await h.call('GET', `/episodes/${episode.id}/parameters`, { token: u.token })
			out.push({ episode, params: params.status === 200 ? params.body.data : {} })
		}
		if (page >= body.totalPages) return out
	}
}

const ATTRIBUTES = ['id', 'name', 'status', 'description', 'tags', 'writeProtected', 'createdAt', 'createdBy', 'updatedAt', 'lastActivityAt', 'metadata']
const cell = (value: unknown) => (value === undefined || value === null ? '' : typeof value === 'string' ? value : JSON.stringify(value))

describe('GET /namespaces/{ns}/projects/{project}/episodes/export', () => {
	it('CSV holds what the list holds, every page, with the same filters and order, and each episode’s parameters as params.<key> columns', async () => {
		const project = 'table'
		const statuses = ['running', 'completed', 'failed']
		for (let i = 0; i < 520; i++) {
			const { status, body } = await h.call('POST', `${projectPath(owner, project)}/episodes`, {
				token: owner.token,
				body: { name: `run-${String(i).padStart(3, '0')}`, status: statuses[i % 3], tags: i % 5 === 0 ? ['sweep', 'a,b'] : [], description: i % 7 === 0 ? 'lr "sweep",\nsecond line' : undefined },
			})
			expect(status).toBe(201)
			if (i % 4 !== 3) expect((await h.call('POST', `/episodes/${body.id}/parameters`, { token: owner.token, body: { data: { lr: 0.001 * i, model: { name: i % 2 ? 'vit' : 'resnet', depth: i % 10 } } } })).status).toBe(200)
			if (i === 7) expect((await h.call('POST', `/episodes/${body.id}/parameters`, { token: owner.token, body: { data: { only: 'here' } } })).status).toBe(200)
		}
		// silent for 11 minutes (STALE_AFTER is 10): the running ones show as stale
		now += 11 * 60_000
		for (const q of [{}, { status: 'stale' }, { status: 'running' }, { tags: 'sweep', order: 'name', dir: 'asc' }, { search: 'sweep' }, { order: 'updatedAt' }]) {
			const res = await exportOf(owner, project, q)
			expect(res.status).toBe(200)
			expect(res.headers.get('content-type')).toBe('text/csv; charset=utf-8')
			expect(res.headers.get('content-disposition')).toBe(`attachment; filename="${owner.ns}-${project}-episodes.csv"; filename*=UTF-8''${owner.ns}-${project}-episodes.csv`)
			const [header, ...rows] = parseCsv(await res.text())
			const expected = await listed(owner, project, q)
			const paramKeys = [...new Set(expected.flatMap((e) => Object.keys(e.params)))].sort()
			expect(header).toEqual([...ATTRIBUTES, ...paramKeys.map((k) => `params.${k}`)])
			expect(rows).toEqual(
				expected.map(({ episode, params }) => [
					...ATTRIBUTES.map((a) => (a === 'createdBy' ? cell(episode.createdBy?.username ?? episode.createdBy?.id) : a === 'tags' || a === 'metadata' || a === 'writeProtected' ? JSON.stringify(episode[a]) : cell(episode[a]))),
					...paramKeys.map((k) => cell(params[k])),
				]),
			)
		}
		const stale = parseCsv(await (await exportOf(owner, project, { status: 'stale' })).text()).slice(1)
		expect(stale.map((row) => row[2])).toEqual(Array.from({ length: 174 }, () => 'stale'))
	})

	it('Parquet: number parameters are DOUBLE, the rest UTF-8, as DuckDB reads them', async () => {
		const project = 'typed-table'
		for (const [name, data] of [
			['a', { lr: 0.1, model: { name: 'vit' }, mixed: 1 }],
			['b', { lr: 2, mixed: 'two', flag: true }],
			['c', null],
		] as const) {
			const { body } = await h.call('POST', `${projectPath(owner, project)}/episodes`, { token: owner.token, body: { name, tags: ['x'] } })
			if (data) expect((await h.call("POST", `/episodes/${body.id}/parameters`, { token: owner.token, body: { data } })).status).toBe(200)
		}
		const res = await exportOf(owner, project, { format: 'parquet', order: 'name', dir: 'asc' })
		expect(res.headers.get('content-type')).toBe('application/vnd.apache.parquet')
		const path = join(dir, 'episodes.parquet')
		await Bun.write(path, await res.arrayBuffer())
		const described = Object.fromEntries((await duck.runAndReadAll(`DESCRIBE SELECT * FROM read_parquet('${path}')`)).getRowObjects().map((r) => [r.column_name, r.column_type]))
		expect(described).toMatchObject({ id: 'VARCHAR', name: 'VARCHAR', status: 'VARCHAR', 'params.lr': 'DOUBLE', 'params.model.name': 'VARCHAR', 'params.mixed': 'VARCHAR', 'params.flag': 'VARCHAR' })
		const rows = (await duck.runAndReadAll(`SELECT name, tags, "params.lr" AS lr, "params.mixed" AS mixed, "params.model.name" AS model FROM read_parquet('${path}')`)).getRowObjects()
		expect(rows).toEqual([
			{ name: 'a', tags: '["x"]', lr: 0.1, mixed: '1', model: 'vit' },
			{ name: 'b', tags: '["x"]', lr: 2, mixed: 'two', model: null },
			{ name: 'c', tags: '["x"]', lr: null, mixed: null, model: null },
		])
	})

	it('the filter language, an order by a metric summary and columns= export as the list answers them (CSV and Parquet)', async () => {
		const project = 'found'
		for (let i = 0; i < 30; i++) {
			const { body } = await h.call('POST', `${projectPath(owner, project)}/episodes`, { token: owner.token, body: { name: `sweep-${i}` } })
			expect((await h.call('POST', `/episodes/${body.id}/parameters`, { token: owner.token, body: { data: { lr: i % 3 === 0 ? 0.0003 : 0.001, seed: i } } })).status).toBe(200)
			const points = Array.from({ length: 5 + (i % 4) }, (_, k) => ({ step: k, loss: 1 / (k + 1 + i), acc: (k * i) % 7 }))
			expect((await h.call('POST', `/episodes/${body.id}/tracks/${encodeURIComponent('train/m')}/append-batch`, { token: owner.token, body: { dataPoints: points } })).status).toBe(201)
		}
		const q = { filter: 'params.lr = 0.0003 and metrics."train/m".acc.max >= 2', order: 'metrics."train/m".loss.min', dir: 'asc', columns: 'params.seed,metrics."train/m".loss.min,metrics."train/m".acc.count' }
		const labels = q.columns.split(',')
		const { status, body } = await h.call('GET', `${projectPath(owner, project)}/episodes?${query({ ...q, pageSize: '200' })}`, { token: owner.token })
		expect(status).toBe(200)
		expect(body.episodes.length).toBeGreaterThan(3)
		expect(body.episodes.length).toBeLessThan(10)
		const csv = await exportOf(owner, project, q)
		expect(csv.status).toBe(200)
		const [header, ...rows] = parseCsv(await csv.text())
		expect(header!.slice(0, ATTRIBUTES.length + labels.length)).toEqual([...ATTRIBUTES, ...labels])
		expect(rows.map((row) => [row[1], ...row.slice(ATTRIBUTES.length, ATTRIBUTES.length + labels.length)])).toEqual(body.episodes.map((e: any) => [e.name, ...labels.map((l) => cell(e.values[l]))]))

		const path = join(dir, 'found.parquet')
		await Bun.write(path, await (await exportOf(owner, project, { ...q, format: 'parquet' })).arrayBuffer())
		const described = Object.fromEntries((await duck.runAndReadAll(`DESCRIBE SELECT * FROM read_parquet('${path}')`)).getRowObjects().map((r) => [r.column_name, r.column_type]))
		for (const label of labels) expect(described[label]).toBe('DOUBLE')
		const read = (await duck.runAndReadAll(`SELECT name, ${labels.map((l, i) => `"${l.replaceAll('"', '""')}" AS c${i}`).join(', ')} FROM read_parquet('${path}')`)).getRowObjects()
		expect(read).toEqual(body.episodes.map((e: any) => ({ name: e.name, ...Object.fromEntries(labels.map((l, i) => [`c${i}`, e.values[l]])) })))
	})

	it('a bad format or filter is a 422; an unknown project a 404', async () => {
		for (const [q, field] of [
			[{ format: 'ndjson' }, 'format'],
			[{ status: 'sleeping' }, 'status'],
			[{ order: 'loss' }, 'order'],
		] as const) {
			const { status, body } = await h.call('GET', `${projectPath(owner, 'table')}/episodes/export?${query(q)}`, { token: owner.token })
			expect(status).toBe(422)
			expect(body).toMatchObject({ success: false, code: 'validation_failed', field })
		}
		const { status, body } = await h.call('GET', `${projectPath(owner, 'nothing-here')}/episodes/export`, { token: owner.token })
		expect(status).toBe(404)
		expect(body).toEqual({ success: false, error: 'Project "nothing-here" not found.', code: 'project_not_found' })
	})

	interface Owner extends Owned {
		ns: string
		project: string
	}
	whoMayCall<Owner>(() => h, {
		ok: 200,
		write: false,
		outsiderRow: "404 for another user's namespace",
		unchanged: "the owner's episodes",
		async arrange(u) {
			const { status } = await h.call('POST', `${projectPath(u, 'guarded')}/episodes`, { token: u.token, body: { name: 'secret-run' } })
			expect(status).toBe(201)
			return { owner: u, ns: u.ns, project: 'guarded' }
		},
		call: (f, token) => h.call('GET', `/namespaces/${f.ns}/projects/${f.project}/episodes/export`, { token }),
		snapshot: async (f) => (await h.call('GET', `/namespaces/${f.ns}/projects/${f.project}/episodes`, { token: f.owner.token })).body,
		hidden: (f) => ({ success: false, error: `Namespace "${f.ns}" not found.`, code: 'namespace_not_found' }),
		aliases: (f) => [{ ...f, ns: f.ns.toUpperCase() }],
		secret: 'secret-run',
	})
})
