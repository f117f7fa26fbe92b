// Every scenario a run can measure, in the order a full run measures them, with what each sends.
import { newIdentity, type KeyServer } from '../../test/support/key-server'
import { ingestBody } from '../tracks-ceiling'
import type { Episode, User } from './seed'
import { luaRotate } from './wrk'

export const UPSERT_BODY = '{"name":"run"}'
export const INGEST_BATCH = 1000
export const INGEST_CONNECTIONS = 4
export const INGEST_BODY = ingestBody(0, INGEST_BATCH)
export const LOG_BATCH = 100
const logLine = (i: number) => ({ timestamp: '2026-08-12T10:30:00.123456Z', level: 'info', message: `epoch 12 step ${3400 + i}: loss=0.2345 acc=0.9123 lr=0.0001 grad_norm=1.234` })
/** What the SDK sends for one `episode.log(...)`. */
export const LOG_BODY_1 = JSON.stringify({ logs: [logLine(0)] })
export const LOG_BODY_BATCH = JSON.stringify({ logs: Array.from({ length: LOG_BATCH }, (_, i) => logLine(i)) })

/** `--only` keys and `--list` lines; `fullRun`: left out of --smoke and by --no-memory unless --only names it. */
export const SCENARIOS = [
	{ key: 'me', about: "GET /auth/me, spread over every seeded user's token; against the bare baseline" },
	{ key: 'patch', about: 'PATCH /auth/me with a new name; against the bare baseline' },
	{ key: 'returning', about: 'POST /auth/exchange for users the server knows; against the crypto ceiling' },
	{ key: 'new', about: 'POST /auth/exchange for users it has never seen (pre-minted tokens); against the crypto ceiling' },
	{ key: 'upsert', about: 'POST …/episodes re-opening an existing episode unchanged (Episode.open()); against the bare baseline' },
	{ key: 'log', about: 'POST /episodes/{id}/logs with 1 line, as episode.log() sends it; against the bare baseline' },
	{ key: 'ingest', about: `POST …/tracks/{name}/append-batch of ${INGEST_BATCH.toLocaleString('en')} points, ${INGEST_CONNECTIONS} connections; against the tracks ceiling` },
	{ key: 'log100', about: `POST /episodes/{id}/logs with ${LOG_BATCH} lines; against the logs ceiling` },
	{ key: 'memory', about: 'server RSS over 1,000,000 GET /auth/me, the first half against the second', fullRun: true },
	{ key: 'tracks', about: 'a track of 1,000,000 points (100,000 with --smoke): ingest rate, bytes a point on disk, chart and page reads' },
	{ key: 'tracks-memory', about: 'server RSS over 10,000,000 track points ingested and read back; measures tracks too, reported with it', fullRun: true },
	{ key: 'find', about: 'GET …/episodes?filter=&order=&columns= over a project of 10,000 runs (50 parameters, 20 metric keys each) and a namespace of ten (2 × 300 with --smoke)' },
	{ key: 'dashboard', about: 'the episodes table of a project of 10,000 runs with 10 metric columns in headless Chromium: navigation to the first rows, median of 7 cold loads (300 runs, 3 loads with --smoke)' },
	{ key: 'files', about: 'a 1 GiB upload and its download (16 MiB with --smoke) against a bare Bun.serve, RSS meanwhile, small uploads' },
	{ key: 'events', about: 'GET /episodes/{id}/events: 1,000 subscribers (50 with --smoke) on one episode written at 1,000 lines and 10,000 points a second, against the same load unwatched' },
	{ key: 'export', about: 'a track of 10,000,000 points (100,000 with --smoke) downloaded as CSV and as Parquet: points/s, server RSS, Parquet size against the track on disk' },
	{ key: 'start', about: 'cold starts of the binary, exec to the first 200 on /health, empty data folder (10; 3 with --smoke)' },
	{ key: 'pg-ceilings', about: 'PostgreSQL: one-row-per-point and multi-row INSERT ceilings, in process (scripts/pg-ceiling.ts)', database: 'postgres' },
] as const satisfies readonly { key: string; about: string; fullRun?: boolean; database?: Database }[]

/** What a run measures against: SQLite (the default), or PostgreSQL, which so far has its ceilings only (issue 23). */
export const DATABASES = ['sqlite', 'postgres'] as const
export type Database = (typeof DATABASES)[number]
export const databaseOf = (scenario: (typeof SCENARIOS)[number]): Database => ('database' in scenario ? scenario.database : 'sqlite')

export type ScenarioKey = (typeof SCENARIOS)[number]['key']

/** "  key        about" per scenario, for --list, --help and a bad --only. */
export function scenarioList(): string {
	const width = Math.max(...SCENARIOS.map((s) => s.key.length))
	return SCENARIOS.map((s) => `  ${s.key.padEnd(width)}  ${s.about}${'fullRun' in s ? ' [full run]' : ''}${'database' in s ? ` [--database ${s.database}]` : ''}`).join('\n')
}

export type Reference = 'baseline' | 'crypto ceiling' | 'logs ceiling' | 'tracks ceiling'

/** A scenario wrk drives: its requests (`lua`), what it is compared with, and the database work of one request. */
export interface LoadScenario {
	key: ScenarioKey
	name: string
	target: string
	lua: string
	against: Reference
	statements: string
	connections?: number
}

/** The files of tokens and targets the Lua scripts rotate through. */
export interface TargetFiles {
	dreamlake: string
	vuer: string
	logs: string
	upserts: string
	ingest: string
	new: string
}

/** The wrk scenarios that `selected` names, in the order they run. */
export async function loadScenarios(url: string, keys: KeyServer, seeded: User[], episodes: Episode[], files: TargetFiles, selected: ReadonlySet<ScenarioKey>): Promise<LoadScenario[]> {
	const plan: LoadScenario[] = [
		{ key: 'me', name: `GET /auth/me (${seeded.length.toLocaleString('en')} users' tokens)`, target: `${url}/auth/me`, lua: meLua(files), against: 'baseline', statements: await statementsOf(url, 'GET', '/auth/me', seeded[1]!.dreamlake) },
		{ key: 'patch', name: 'PATCH /auth/me', target: `${url}/auth/me`, lua: luaRotate(files.dreamlake, 'PATCH', '/auth/me', '{"name":"Bench User"}'), against: 'baseline', statements: await statementsOf(url, 'PATCH', '/auth/me', seeded[2]!.dreamlake, { body: '{"name":"Bench"}' }) },
		{ key: 'returning', name: 'POST /auth/exchange, returning users', target: `${url}/auth/exchange`, lua: luaRotate(files.vuer, 'POST', '/auth/exchange'), against: 'crypto ceiling', statements: await statementsOf(url, 'POST', '/auth/exchange', seeded[3]!.vuer) },
		{ key: 'new', name: 'POST /auth/exchange, new users', target: `${url}/auth/exchange`, lua: luaRotate(files.new, 'POST', '/auth/exchange'), against: 'crypto ceiling', statements: await statementsOf(url, 'POST', '/auth/exchange', await keys.mint(newIdentity()), { steady: false }) },
		{ key: 'upsert', name: `POST …/episodes, an existing episode unchanged (${episodes.length} runs)`, target: url, lua: luaRotate(files.upserts, 'POST', '', UPSERT_BODY), against: 'baseline', statements: await statementsOf(url, 'POST', `/namespaces/${episodes[1]!.namespace}/projects/${episodes[1]!.project}/episodes`, episodes[1]!.dreamlake, { body: UPSERT_BODY }) },
		{ key: 'log', name: `POST /episodes/{id}/logs, 1 line (${episodes.length} runs)`, target: url, lua: luaRotate(files.logs, 'POST', '', LOG_BODY_1), against: 'baseline', statements: await statementsOf(url, 'POST', `/episodes/${episodes[2]!.id}/logs`, episodes[2]!.dreamlake, { body: LOG_BODY_1 }) },
		{ key: 'ingest', name: `POST …/tracks/{name}/append-batch, ${INGEST_BATCH} points {_ts, step, loss, acc} (${INGEST_CONNECTIONS} connections)`, target: url, lua: luaRotate(files.ingest, 'POST', '', INGEST_BODY), against: 'tracks ceiling', connections: INGEST_CONNECTIONS, statements: await statementsOf(url, 'POST', `/episodes/${episodes[4]!.id}/tracks/probe/append-batch`, episodes[4]!.dreamlake, { body: INGEST_BODY }) },
		{ key: 'log100', name: `POST /episodes/{id}/logs, ${LOG_BATCH} lines (${episodes.length} runs)`, target: url, lua: luaRotate(files.logs, 'POST', '', LOG_BODY_BATCH), against: 'logs ceiling', statements: await statementsOf(url, 'POST', `/episodes/${episodes[3]!.id}/logs`, episodes[3]!.dreamlake, { body: LOG_BODY_BATCH }) },
	]
	return plan.filter((scenario) => selected.has(scenario.key))
}

/** GET /auth/me over every seeded token: the `me` scenario's requests, and the memory run's. */
export const meLua = (files: TargetFiles) => luaRotate(files.dreamlake, 'GET', '/auth/me')

/**
 * The database work of a request, read from its Server-Timing. `steady`: of the second of two
 * alike, once the server has the caller in memory (the first may read them); else of the first.
 */
async function statementsOf(url: string, method: string, path: string, token: string, { body, steady = true }: { body?: string; steady?: boolean } = {}): Promise<string> {
	const send = () => fetch(`${url}${path}`, { method, body, headers: { authorization: `Bearer ${token}`, ...(body && { 'content-type': 'application/json' }) } })
	if (steady) await (await send()).arrayBuffer()
	const response = await send()
	const timing = response.headers.get('server-timing') ?? ''
	const statements = /db;dur=[\d.]+;desc="(\d+)"/.exec(timing)?.[1] ?? '?'
	const transactions = /db-tx;desc="(\d+)"/.exec(timing)?.[1]
	return transactions ? `${statements} (in ${transactions} write tx)` : statements
}
