// The command line: what `bun run bench` is asked to measure, how long, and where the JSON goes.
import { join, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { databaseOf, DATABASES, SCENARIOS, scenarioList, type Database, type ScenarioKey } from './scenarios'

export const root = resolve(import.meta.dir, '..', '..')

const USAGE = `bun run bench             full run (~5 minutes): 5 rounds of 3 s per scenario, each right after its reference,
                          then 1,000,000 GET /auth/me for the memory check
bun run bench --smoke     a few seconds, for CI: every scenario briefly but the full-run ones, no targets enforced
options: --duration <s>  --rounds <n>  --connections <n>  --users <n>  --out <file.json>  --binary <path>
         --only <key,…>  only these scenarios, for iterating on one (written to bench-results/partial.json)
         --no-memory     without the full-run ones (memory, tracks-memory)
         --starts <n>    cold starts to time (10; 3 with --smoke; with --only, 0 unless it names start)
         --warmup <s>    unmeasured load on each server before round 1 (2; 0 with --smoke)
         --team          the episode scenarios (upsert, log, log100, ingest) as members of one team, each
                         in a project of its own there, instead of each in their own namespace
         --database <db> sqlite (the default), or postgres: so far its ceilings only (pg-ceilings), on
                         DATABASE_URL's server when it names one, else a throwaway cluster (scripts/postgres.sh)
         --list          the scenarios, which --only takes`

export interface BenchOptions {
	smoke: boolean
	duration: number
	connections: number
	seedUsers: number
	rounds: number
	warmup: number
	startRuns: number
	binary: string
	out: string
	/** What this run measures: every scenario, less the full-run ones in a smoke run or with --no-memory; or those --only names. */
	selected: ReadonlySet<ScenarioKey>
	/** The runs' episodes are in one team's namespace, written by its members. */
	team: boolean
	database: Database
}

/** The options of `argv`; prints and exits on --help, --list and an --only that names no scenario. */
export function readOptions(argv: string[] = Bun.argv.slice(2)): BenchOptions {
	const { values } = parseArgs({
		args: argv,
		options: {
			smoke: { type: 'boolean', default: false },
			duration: { type: 'string' },
			connections: { type: 'string', default: '64' },
			users: { type: 'string' },
			rounds: { type: 'string' },
			memory: { type: 'boolean', default: true },
			'no-memory': { type: 'boolean', default: false },
			out: { type: 'string' },
			binary: { type: 'string', default: join(root, 'dist', 'dreamlake-server') },
			only: { type: 'string' },
			starts: { type: 'string' },
			warmup: { type: 'string' },
			list: { type: 'boolean', default: false },
			team: { type: 'boolean', default: false },
			database: { type: 'string', default: 'sqlite' },
			help: { type: 'boolean', default: false },
		},
	})
	if (values.help || values.list) {
		console.log(values.help ? `${USAGE}\n\nscenarios ([full run]: left out of --smoke and by --no-memory unless --only names them):\n${scenarioList()}` : scenarioList())
		process.exit(0)
	}
	const smoke = values.smoke
	const database = values.database as Database
	if (!DATABASES.includes(database)) {
		console.error(`--database takes ${DATABASES.join(' or ')}, not ${JSON.stringify(values.database)}`)
		process.exit(2)
	}
	const memory = values.memory && !values['no-memory']
	const only = values.only?.split(',').map((s) => s.trim())
	const unknown = only?.filter((key) => !SCENARIOS.some((s) => s.key === key))
	if (unknown?.length) {
		console.error(`--only takes a comma-separated list of these scenarios (not ${unknown.map((key) => JSON.stringify(key)).join(', ')}):\n${scenarioList()}`)
		process.exit(2)
	}
	const elsewhere = only?.filter((key) => databaseOf(SCENARIOS.find((s) => s.key === key)!) !== database)
	if (elsewhere?.length) {
		console.error(`--only ${elsewhere.join(',')}: not measured with --database ${database}:\n${scenarioList()}`)
		process.exit(2)
	}
	if (only && !memory && SCENARIOS.some((s) => 'fullRun' in s && only.includes(s.key))) {
		console.error('--only names a memory scenario, which --no-memory leaves out')
		process.exit(2)
	}
	const selected = new Set<ScenarioKey>(
		only
			? (only as ScenarioKey[]).flatMap((key) => (key === 'tracks-memory' ? [key, 'tracks' as const] : [key]))
			: SCENARIOS.filter((s) => databaseOf(s) === database && (!('fullRun' in s) || (!smoke && memory))).map((s) => s.key),
	)
	return {
		smoke,
		duration: Number(values.duration ?? (smoke ? 0.3 : 3)),
		connections: Number(values.connections),
		seedUsers: Number(values.users ?? (smoke ? 50 : 10_000)),
		rounds: Number(values.rounds ?? (smoke ? 1 : 5)),
		warmup: Number(values.warmup ?? (smoke ? 0 : 2)),
		startRuns: Number(values.starts ?? (selected.has('start') ? (smoke ? 3 : 10) : 0)),
		binary: values.binary,
		// a partial or smoke run must not replace the full run's results, which the README quotes
		out: values.out ?? join(root, 'bench-results', only ? 'partial.json' : smoke ? 'smoke.json' : database === 'postgres' ? 'postgres.json' : 'latest.json'),
		selected,
		team: values.team,
		database,
	}
}
