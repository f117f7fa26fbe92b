// The wrk scenarios' rounds: each scenario runs right after its reference, in several rounds, and
// reports the median of the rounds: the load of other tenants on a shared machine moves both alike.
import { median } from '../startup'
import { cryptoCeiling, logsCeiling, tracksCeiling } from './ceilings'
import { INGEST_BATCH, LOG_BATCH, type LoadScenario, type Reference, type ScenarioKey } from './scenarios'
import { rssMb, smapsSummary } from './proc'
import type { Load, LoadResult } from './wrk'

/** A row of the report: a scenario's medians over its rounds, and its ratio to its reference. */
export interface Scenario extends LoadResult {
	name: string
	ratio: number
	against: Reference | '-'
	statements: string
}

export interface RoundsSettings {
	load: Load
	duration: number
	rounds: number
	warmup: number
	baseline: { url: string; pid: number }
	serverPid: number
}

/** The baseline's row (when a scenario was compared with it), then one row per scenario of `plan`. */
export async function runRounds(plan: LoadScenario[], { load, duration, rounds, warmup, baseline, serverPid }: RoundsSettings): Promise<{ scenarios: Scenario[]; byKey: Map<ScenarioKey, Scenario> }> {
	// Warm-up, not measured: the JIT compiles the hot paths and each token is verified once (10,000
	// HMACs) before round 1, as on a server that has been up for a while. New-user exchanges run the
	// same code as returning ones, which warm them up without using up the pool of new users.
	if (warmup > 0 && plan.length > 0) {
		console.log(`warm-up: ${warmup} s of each scenario, not measured`)
		await load(baseline.url, plan[0]!.lua, warmup)
		for (const scenario of plan) if (scenario.key !== 'new') await load(scenario.target, scenario.lua, warmup, undefined, scenario.connections)
	}
	const baselines: LoadResult[] = []
	const measured = plan.map(() => ({ results: [] as LoadResult[], ratios: [] as number[] }))
	for (let round = 1; round <= rounds; round++) {
		console.log(`round ${round} of ${rounds}`)
		for (const [i, scenario] of plan.entries()) {
			let reference: number
			if (scenario.against === 'baseline') {
				// the same requests (method, path, Authorization, body) as the scenario: only the server differs
				const base = await load(baseline.url, scenario.lua, duration, baseline.pid)
				baselines.push(base)
				reference = base.rps
			} else if (scenario.against === 'tracks ceiling') {
				// batches a second: the ceiling's points over the points in each request
				reference = tracksCeiling(Math.min(duration, 3)).pointsPerSecond / INGEST_BATCH
			} else if (scenario.against === 'logs ceiling') {
				// batches a second: the ceiling's rows over the lines in each request
				reference = logsCeiling(Math.min(duration, 3)).rowsPerSecond / LOG_BATCH
			} else {
				reference = cryptoCeiling(Math.min(duration, 3)).pairsPerSecond
			}
			const result = await load(scenario.target, scenario.lua, duration, serverPid, scenario.connections)
			measured[i]!.results.push(result)
			measured[i]!.ratios.push(result.rps / reference)
			if (process.env.BENCH_SMAPS) console.log(smapsSummary(serverPid))
			console.log(
				`  ${scenario.name}: ${Math.round(result.rps)} req/s (${((result.rps / reference) * 100).toFixed(0)}% of ${scenario.against} ${Math.round(reference)}), p50 ${result.p50.toFixed(2)} ms, p99 ${result.p99.toFixed(2)} ms${result.non2xx ? `, ${result.non2xx} non-2xx` : ''}; server RSS ${rssMb(serverPid).toFixed(1)} MB${cpuNote(result, scenario.against === 'baseline' ? baselines.at(-1) : undefined)}`,
			)
		}
	}
	const rows = plan.map((scenario, i) => ({ name: scenario.name, against: scenario.against, statements: scenario.statements, ...medianOf(measured[i]!.results, measured[i]!.ratios) }))
	const scenarios: Scenario[] = [...(baselines.length > 0 ? [{ name: 'baseline: bare Bun.serve, same-size JSON', ...medianOf(baselines, baselines.map(() => 1)), against: 'baseline' as const, statements: '-' }] : []), ...rows]
	return { scenarios, byKey: new Map(plan.map((scenario, i) => [scenario.key, rows[i]!])) }
}

function medianOf(results: LoadResult[], ratios: number[]): Omit<Scenario, 'name' | 'against' | 'statements'> {
	return {
		requests: results.reduce((sum, r) => sum + r.requests, 0),
		rps: median(results.map((r) => r.rps)),
		p50: median(results.map((r) => r.p50)),
		p99: median(results.map((r) => r.p99)),
		non2xx: results.reduce((sum, r) => sum + r.non2xx, 0),
		ratio: median(ratios),
		...(results.every((r) => r.cpuMicros !== undefined) && {
			cpuMicros: median(results.map((r) => r.cpuMicros!)),
			sysMicros: median(results.map((r) => r.sysMicros!)),
		}),
	}
}

/** "; CPU 31.2 µs/request (9.8 system); baseline 13.1 (5.0 system)": where /proc tells. */
function cpuNote(result: LoadResult, base?: LoadResult): string {
	if (result.cpuMicros === undefined) return ''
	const baseNote = base?.cpuMicros === undefined ? '' : `; baseline ${base.cpuMicros.toFixed(1)} (${base.sysMicros!.toFixed(1)} system)`
	return `; CPU ${result.cpuMicros.toFixed(1)} µs/request (${result.sysMicros!.toFixed(1)} system)${baseNote}`
}
