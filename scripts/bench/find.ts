// Issue 21's figures: "which runs had lr = 3e-4, and which reached the best val/acc?" over a
// project of 10,000 runs (each with 50 parameters and 20 metric keys), and across a namespace of
// ten such projects: the server time of the first page of 50 with 10 columns.
import { Database } from 'bun:sqlite'
import { median } from '../startup'

export interface Runner {
	dreamlake: string
	namespace: string
}

export interface FindFigures {
	episodesPerProject: number
	projects: number
	seedSeconds: number
	/** The filter, order and columns asked, as sent. */
	query: Record<string, string>
	project: { serverMs: number; dbMs: number; statements: number; total: number }
	namespace: { serverMs: number; dbMs: number; statements: number; total: number }
}

export const FIND_LR = 0.0003
const LRS = [1e-5, 3e-5, 1e-4, FIND_LR, 1e-3, 3e-3, 1e-2, 3e-2, 1e-1, 3e-1]
/** Tracks and their keys: 4 × 5 = 20 metric keys a run, each over 1,000 points. */
export const TRACKS: Record<string, string[]> = {
	train: ['loss', 'acc', 'grad_norm', 'lr', 'step'],
	val: ['loss', 'acc', 'f1', 'auc', 'step'],
	'eval/success': ['rate', 'reward', 'length', 'time', 'step'],
	'robot/pose': ['x', 'y', 'z', 'qw', 'step'],
}
const POINTS = 1000
/** Far above the ids the server draws (time-ordered, ~2^48 today), below 2^53. */
export const ID_BASE = 2 ** 52

/** A seeded generator, so every run seeds the same data. */
function generator(seed: number) {
	let state = seed >>> 0
	return () => {
		state = (state + 0x6d2b79f5) >>> 0
		let t = state
		t = Math.imul(t ^ (t >>> 15), t | 1)
		t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
		return ((t ^ (t >>> 14)) >>> 0) / 4294967296
	}
}

/**
 * `projects` projects of `episodes` runs each in `runner`'s namespace: the projects (and the
 * schema's rows they need) made through the API, the runs, their parameters and their tracks'
 * summaries written straight into the server's database (the API would take hours for a million
 * appends): what an append of 1,000 points of a curve leaves in metric_summaries. The tracks'
 * points themselves are not written (a search never reads them).
 */
export async function seed(url: string, runner: Runner, databasePath: string, projects: number, episodes: number, { name = 'find', idBase = ID_BASE } = {}): Promise<number[]> {
	const projectIds: number[] = []
	for (let p = 0; p < projects; p++) {
		const response = await fetch(`${url}/namespaces/${runner.namespace}/projects/${name}-${p}/episodes`, {
			method: 'POST',
			headers: { authorization: `Bearer ${runner.dreamlake}`, 'content-type': 'application/json' },
			body: JSON.stringify({ name: 'made-by-the-api' }),
		})
		if (response.status !== 201) throw new Error(`find: seeding project ${p}: ${response.status}`)
		projectIds.push(Number(((await response.json()) as { projectId: string }).projectId))
	}
	const db = new Database(databasePath)
	db.run('PRAGMA busy_timeout = 10000')
	db.run('PRAGMA foreign_keys = ON')
	seedRuns(db, projectIds, episodes, idBase)
	db.close()
	return projectIds
}

/** The runs of each project, their parameters and their tracks' summaries, into `db`: the same every time (a seeded generator). */
export function seedRuns(db: Database, projectIds: number[], episodes: number, idBase = ID_BASE): void {
	const random = generator(21)
	const insertEpisode = db.prepare('INSERT INTO episodes (id, project_id, name, status, tags, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)')
	const insertParameters = db.prepare('INSERT INTO parameters (episode_id, id, data, version, created_at, updated_at) VALUES (?, ?, ?, 1, ?, ?)')
	const insertValue = db.prepare('INSERT INTO parameter_values (episode_id, project_id, key, value) VALUES (?, ?, ?, ?)')
	const insertTrack = db.prepare('INSERT INTO tracks (id, episode_id, name, keys, total, chunks, created_at, updated_at) VALUES (?, ?, ?, ?, ?, 0, ?, ?)')
	const insertSummary = db.prepare(
		'INSERT INTO metric_summaries (episode_id, project_id, track_id, track_name, key, count, last, last_index, "min", min_index, min_step, "max", max_index, max_step) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
	)
	let id = idBase
	const now = Date.now()
	for (const projectId of projectIds) {
		db.transaction(() => {
			for (let e = 0; e < episodes; e++) {
				const episodeId = ++id
				const at = now - (episodes - e) * 60_000
				insertEpisode.run(episodeId, projectId, `run-${e}`, random() < 0.1 ? 'failed' : 'completed', random() < 0.5 ? '["sweep"]' : '[]', at, at)
				// 50 parameters: the swept lr, an optimizer's name, and 48 more of mixed kinds
				const params: Record<string, number | string> = { 'optimizer.lr': LRS[Math.floor(random() * LRS.length)]!, 'optimizer.name': ['adam', 'sgd', 'adamw'][Math.floor(random() * 3)]! }
				for (let k = 0; k < 48; k++) params[`hp.group${k % 6}.k${k}`] = k % 5 === 0 ? `choice-${Math.floor(random() * 8)}` : k % 2 ? random() : Math.floor(random() * 1000)
				insertParameters.run(episodeId, ++id, JSON.stringify(params), at, at)
				for (const [key, value] of Object.entries(params)) insertValue.run(episodeId, projectId, key, value)
				for (const [track, keys] of Object.entries(TRACKS)) {
					const trackId = ++id
					insertTrack.run(trackId, episodeId, track, JSON.stringify(keys), POINTS, at, at)
					for (const key of keys) {
						if (key === 'step') {
							insertSummary.run(episodeId, projectId, trackId, track, key, POINTS, POINTS - 1, POINTS - 1, 0, 0, 0, POINTS - 1, POINTS - 1, POINTS - 1)
							continue
						}
						// a curve falling (loss-like) or rising (acc-like) over 1,000 points, with noise: its extremes near its ends
						const start = 0.5 + random() * 2
						const end = 0.05 + random() * 0.45
						const rising = key !== 'loss' && key !== 'grad_norm'
						const [first, last] = rising ? [1 - start / 3, 1 - end / 2] : [start, end]
						const minIndex = rising ? Math.floor(random() * 20) : POINTS - 1 - Math.floor(random() * 100)
						const maxIndex = rising ? POINTS - 1 - Math.floor(random() * 100) : Math.floor(random() * 20)
						const min = Math.min(first, last) * (0.9 + random() * 0.1)
						const max = Math.max(first, last) * (1 + random() * 0.1)
						insertSummary.run(episodeId, projectId, trackId, track, key, POINTS, last, POINTS - 1, min, minIndex, minIndex, max, maxIndex, maxIndex)
					}
				}
			}
		})()
	}
}

/** Seeds, then times the search 20 times on one project and across the namespace: medians of the server's own timing. */
export async function measureFind(url: string, runner: Runner, databasePath: string, smoke: boolean): Promise<FindFigures> {
	const projects = smoke ? 2 : 10
	const episodes = smoke ? 300 : 10_000
	const started = performance.now()
	await seed(url, runner, databasePath, projects, episodes)
	const seedSeconds = (performance.now() - started) / 1000
	const query = {
		filter: `params.optimizer.lr = ${FIND_LR} and metrics.train.loss.min < 0.2`,
		order: 'metrics.val.acc.max',
		dir: 'desc',
		columns: 'params.optimizer.lr,params.optimizer.name,params.hp.group1.k1,params.hp.group2.k2,params.hp.group0.k0,metrics.train.loss.min,metrics.train.loss.last,metrics.val.acc.max,metrics."eval/success".rate.last,metrics."robot/pose".x.count',
		pageSize: '50',
	}
	const timed = async (path: string) => {
		const server: number[] = []
		const db: number[] = []
		let statements = 0
		let total = 0
		for (let i = 0; i < 20; i++) {
			const response = await fetch(`${url}${path}?${new URLSearchParams(query)}`, { headers: { authorization: `Bearer ${runner.dreamlake}` } })
			const body = (await response.json()) as { total: number; episodes: { values?: Record<string, unknown> }[] }
			if (response.status !== 200) throw new Error(`find ${path}: ${response.status} ${JSON.stringify(body)}`)
			if (body.episodes.length === 0 || Object.keys(body.episodes[0]!.values ?? {}).length !== 10) throw new Error(`find ${path}: no page of 10 columns`)
			const timing = response.headers.get('server-timing') ?? ''
			server.push(Number(/total;dur=([\d.]+)/.exec(timing)?.[1] ?? Number.NaN))
			db.push(Number(/db;dur=([\d.]+)/.exec(timing)?.[1] ?? Number.NaN))
			statements = Number(/db;dur=[\d.]+;desc="(\d+)"/.exec(timing)?.[1] ?? Number.NaN)
			total = body.total
		}
		return { serverMs: median(server), dbMs: median(db), statements, total }
	}
	const result: FindFigures = {
		episodesPerProject: episodes,
		projects,
		seedSeconds,
		query,
		project: await timed(`/namespaces/${runner.namespace}/projects/find-0/episodes`),
		namespace: await timed(`/namespaces/${runner.namespace}/episodes`),
	}
	console.log(
		`find: ${projects} × ${episodes.toLocaleString('en')} runs seeded in ${seedSeconds.toFixed(1)} s; one project ${result.project.serverMs.toFixed(2)} ms (db ${result.project.dbMs.toFixed(2)}, ${result.project.total} match), namespace-wide ${result.namespace.serverMs.toFixed(2)} ms (db ${result.namespace.dbMs.toFixed(2)}, ${result.namespace.total} match), server time, medians of 20`,
	)
	return result
}
