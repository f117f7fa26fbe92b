// bun run bench: drives the compiled server with wrk and compares it, in the same run, with a bare
// Bun.serve baseline, with jose's cryptographic ceiling (exchanges) and with SQLite's in-process
// ceiling (log batches). Ratios, not absolute numbers, are the point: these machines are shared and noisy.
//
//   bun run bench             full run (~5 minutes): 5 rounds of 3 s per scenario, each right after its reference,
//                             then 1,000,000 GET /auth/me for the memory check
//   bun run bench --smoke     a few seconds, for CI: every scenario briefly, no targets enforced
//   options: --duration <s>  --rounds <n>  --connections <n>  --users <n>  --no-memory  --out <file.json>  --binary <path>
//            --only me,patch,returning,new,upsert,log,log100,ingest,tracks   (some scenarios; for iterating on one, implies --no-memory --starts 0)
//            (tracks: the chart and page reads of a million-point track, its bytes on disk, and, in a full run, memory over 10 million points)
//            --starts <n>   cold starts to time (10; 3 with --smoke)
//            --warmup <s>   unmeasured load on each server before round 1 (2; 0 with --smoke)
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { cpus, tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { Database } from 'bun:sqlite'
import { KeyServer, newIdentity } from '../test/support/key-server'
import { freePort, median, timeToFirstHealth } from './startup'
import { ingestBody } from './tracks-ceiling'

const root = resolve(import.meta.dir, '..')
const { values: options } = parseArgs({
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
	},
})
const smoke = options.smoke
const duration = Number(options.duration ?? (smoke ? 0.3 : 3))
const connections = Number(options.connections)
const seedUsers = Number(options.users ?? (smoke ? 50 : 10_000))
const only = options.only?.split(',').map((s) => s.trim())
const SCENARIO_KEYS = ['me', 'patch', 'returning', 'new', 'upsert', 'log', 'log100', 'ingest', 'tracks', 'files']
if (only?.some((key) => !SCENARIO_KEYS.includes(key))) {
	console.error(`--only takes a comma-separated list of ${SCENARIO_KEYS.join(', ')}`)
	process.exit(2)
}
// a partial or smoke run must not replace the full run's results, which the README quotes
const out = options.out ?? join(root, 'bench-results', only ? 'partial.json' : smoke ? 'smoke.json' : 'latest.json')
const memoryRun = !smoke && !only && options.memory && !options['no-memory']
const startRuns = Number(options.starts ?? (only ? 0 : smoke ? 3 : 10))
const rounds = Number(options.rounds ?? (smoke ? 1 : 5))
const warmup = Number(options.warmup ?? (smoke ? 0 : 2))

const hasWrk = Bun.which('wrk') !== null
if (!hasWrk && !smoke) {
	console.error('bun run bench needs wrk (the HTTP load generator). Install it with:  apt-get install wrk   (Debian/Ubuntu)')
	process.exit(1)
}
// On two or more cores, the server gets core 1 and the load generator core 0, so they do not compete.
const pinned = Bun.which('taskset') !== null && cpus().length >= 2
const onServerCore = (command: string[]) => (pinned ? ['taskset', '-c', '1', ...command] : command)
const onLoadCore = (command: string[]) => (pinned ? ['taskset', '-c', '0', ...command] : command)
// This process too (all its threads: the key server, the GC's helpers) stays off the server's core:
// it holds every pre-minted token, and a collection of that heap during a round took from the server.
if (pinned) Bun.spawnSync(['taskset', '-a', '-p', '-c', '0', String(process.pid)], { stdout: 'ignore' })

interface LoadResult {
	requests: number
	rps: number
	p50: number
	p99: number
	non2xx: number
	/** CPU time the server spent per request (user + system), and the system part of it; where /proc tells. */
	cpuMicros?: number
	sysMicros?: number
}

interface Scenario extends LoadResult {
	name: string
	ratio: number
	against: 'baseline' | 'crypto ceiling' | 'logs ceiling' | 'tracks ceiling' | '-'
	statements: string
}

const work = mkdtempSync(join(tmpdir(), 'dreamlake-bench-'))
const children: ReturnType<typeof Bun.spawn>[] = []
const cleanup = () => {
	for (const child of children) child.kill('SIGKILL')
	rmSync(work, { recursive: true, force: true })
}
// interrupted (Ctrl-C, a closed terminal, `timeout`, a cancelled CI job): the servers go, and so
// does the work folder, which holds a few hundred MB of pre-minted tokens and a database
for (const [signal, code] of [['SIGINT', 130], ['SIGHUP', 129], ['SIGTERM', 143]] as const) {
	process.on(signal, () => {
		cleanup()
		process.exit(code)
	})
}

async function main() {
	if (!(await Bun.file(options.binary).exists())) {
		console.log('building the binary (bun run build) …')
		if (!Bun.spawnSync([process.execPath, 'run', 'build'], { cwd: root, stdout: 'inherit', stderr: 'inherit' }).success) throw new Error('build failed')
	}
	const machine = `${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, Bun ${Bun.version}, ${process.platform}-${process.arch}`
	console.log(`machine: ${machine}; load: ${hasWrk ? 'wrk' : 'fetch (no wrk; smoke only)'}, ${connections} connections, ${duration} s per scenario${pinned ? ', server on core 1, load on core 0' : ''}`)

	const keys = await KeyServer.start()
	const port = await freePort()
	const server = Bun.spawn(onServerCore([options.binary, 'serve', '--port', String(port), '--rate-limit-exchange', '0']), {
		cwd: work,
		env: { PATH: process.env.PATH ?? '', VUER_AUTH_JWKS_URL: keys.jwksUrl, LOG_FORMAT: 'json' },
		stdout: Bun.file(join(work, 'server.log')),
		stderr: Bun.file(join(work, 'server.err')),
	})
	children.push(server)
	const url = `http://127.0.0.1:${port}`
	await waitFor(`${url}/health`)

	console.log(`seeding ${seedUsers} users … (server RSS ${rssMb(server.pid).toFixed(1)} MB)`)
	const seeded = await seed(keys, url, seedUsers)
	console.log(`seeded (server RSS ${rssMb(server.pid).toFixed(1)} MB)`)
	const meBody = await (await fetch(`${url}/auth/me`, { headers: { authorization: `Bearer ${seeded[0]!.dreamlake}` } })).text()

	const baselinePort = await freePort()
	const baseline = Bun.spawn(onServerCore([process.execPath, '-e', baselineSource(baselinePort, meBody.length)]), { stdout: 'ignore', stderr: 'inherit' })
	children.push(baseline)
	await waitFor(`http://127.0.0.1:${baselinePort}/`)

	const measureCeiling = (seconds: number) =>
		JSON.parse(Bun.spawnSync(onServerCore([process.execPath, join(root, 'scripts', 'crypto-ceiling.ts'), String(seconds)])).stdout.toString()) as {
			pairsPerSecond: number
			microsecondsPerPair: number
		}
	const ceiling = measureCeiling(smoke ? 0.3 : 2)
	console.log(`crypto ceiling: ${ceiling.pairsPerSecond} EdDSA verifications + HS256 signatures per second on one core`)
	const measureLogsCeiling = (seconds: number) =>
		JSON.parse(Bun.spawnSync(onServerCore([process.execPath, join(root, 'scripts', 'logs-ceiling.ts'), String(seconds), String(LOG_BATCH)])).stdout.toString()) as {
			rowsPerSecond: number
			rowsPerSecondWithSummary: number
		}
	const logsCeiling = measureLogsCeiling(smoke ? 0.3 : 2)
	const measureTracksCeiling = (seconds: number) =>
		JSON.parse(Bun.spawnSync(onServerCore([process.execPath, join(root, 'scripts', 'tracks-ceiling.ts'), String(seconds), String(INGEST_BATCH)])).stdout.toString()) as { pointsPerSecond: number }
	const tracksCeiling = measureTracksCeiling(smoke ? 0.3 : 2)
	console.log(`tracks ceiling: ${tracksCeiling.pointsPerSecond} points/s parsed and written one row per point, ${INGEST_BATCH} per transaction`)
	console.log(`logs ceiling: ${logsCeiling.rowsPerSecond} rows/s by a prepared statement, ${LOG_BATCH} per transaction (${logsCeiling.rowsPerSecondWithSummary} with the summary trigger)`)

	// the data API: one episode per user for the first few hundred users, as many runs logging at once
	const runners = seeded.slice(0, Math.min(seeded.length, 256))
	const episodes = await seedEpisodes(url, runners)

	const files = {
		dreamlake: writeLines('dreamlake-tokens.txt', seeded.map((s) => s.dreamlake)),
		vuer: writeLines('vuer-tokens.txt', seeded.map((s) => s.vuer)),
		logs: writeLines('log-targets.txt', episodes.map((e) => `${e.dreamlake} /episodes/${e.id}/logs`)),
		upserts: writeLines('upsert-targets.txt', episodes.map((e) => `${e.dreamlake} /namespaces/${e.namespace}/projects/bench/episodes`)),
		// one track per connection, each in its own run, as four training jobs would
		ingest: writeLines('ingest-targets.txt', episodes.slice(0, INGEST_CONNECTIONS).map((e) => `${e.dreamlake} /episodes/${e.id}/tracks/train/append-batch`)),
		new: '',
	}
	// enough distinct new users for every round that the pool cannot run dry at the ceiling's rate
	const newUserCount = !only || only.includes('new') ? Math.ceil(Math.min(ceiling.pairsPerSecond, 20_000) * duration * rounds * 1.5) + 100 : 0
	if (newUserCount > 0) console.log(`minting ${newUserCount} tokens for new users …`)
	files.new = writeLines('new-tokens.txt', await mintMany(keys, newUserCount))
	Bun.gc(true) // the minted tokens are on disk now: collect them here, not during a round

	const meLua = luaRotate(files.dreamlake, 'GET', '/auth/me')
	const plan = [
		{ key: 'me', name: `GET /auth/me (${seedUsers.toLocaleString('en')} users' tokens)`, target: `${url}/auth/me`, lua: meLua, against: 'baseline' as const, statements: await statementsOf(url, 'GET', '/auth/me', seeded[1]!.dreamlake) },
		{ key: 'patch', name: 'PATCH /auth/me', target: `${url}/auth/me`, lua: luaRotate(files.dreamlake, 'PATCH', '/auth/me', '{"name":"Bench User"}'), against: 'baseline' as const, statements: await statementsOf(url, 'PATCH', '/auth/me', seeded[2]!.dreamlake, { body: '{"name":"Bench"}' }) },
		{ key: 'returning', name: 'POST /auth/exchange, returning users', target: `${url}/auth/exchange`, lua: luaRotate(files.vuer, 'POST', '/auth/exchange'), against: 'crypto ceiling' as const, statements: await statementsOf(url, 'POST', '/auth/exchange', seeded[3]!.vuer) },
		{ key: 'new', name: 'POST /auth/exchange, new users', target: `${url}/auth/exchange`, lua: luaRotate(files.new, 'POST', '/auth/exchange'), against: 'crypto ceiling' as const, statements: await statementsOf(url, 'POST', '/auth/exchange', await keys.mint(newIdentity()), { steady: false }) },
		{ key: 'upsert', name: `POST …/episodes, an existing episode unchanged (${episodes.length} runs)`, target: url, lua: luaRotate(files.upserts, 'POST', '', UPSERT_BODY), against: 'baseline' as const, statements: await statementsOf(url, 'POST', `/namespaces/${episodes[1]!.namespace}/projects/bench/episodes`, episodes[1]!.dreamlake, { body: UPSERT_BODY }) },
		{ key: 'log', name: `POST /episodes/{id}/logs, 1 line (${episodes.length} runs)`, target: url, lua: luaRotate(files.logs, 'POST', '', LOG_BODY_1), against: 'baseline' as const, statements: await statementsOf(url, 'POST', `/episodes/${episodes[2]!.id}/logs`, episodes[2]!.dreamlake, { body: LOG_BODY_1 }) },
		{ key: 'ingest', name: `POST …/tracks/{name}/append-batch, ${INGEST_BATCH} points {_ts, step, loss, acc} (${INGEST_CONNECTIONS} connections)`, target: url, lua: luaRotate(files.ingest, 'POST', '', INGEST_BODY), against: 'tracks ceiling' as const, connections: INGEST_CONNECTIONS, statements: await statementsOf(url, 'POST', `/episodes/${episodes[4]!.id}/tracks/probe/append-batch`, episodes[4]!.dreamlake, { body: INGEST_BODY }) },
		{ key: 'log100', name: `POST /episodes/{id}/logs, ${LOG_BATCH} lines (${episodes.length} runs)`, target: url, lua: luaRotate(files.logs, 'POST', '', LOG_BODY_BATCH), against: 'logs ceiling' as const, statements: await statementsOf(url, 'POST', `/episodes/${episodes[3]!.id}/logs`, episodes[3]!.dreamlake, { body: LOG_BODY_BATCH }) },
	].filter((scenario) => !only || only.includes(scenario.key))
	// Each scenario runs right after its reference, in several rounds, and reports the median of
	// the rounds: the load of other tenants on a shared machine moves both alike.
	// Warm-up, not measured: the JIT compiles the hot paths and each token is verified once (10,000
	// HMACs) before round 1, as on a server that has been up for a while. New-user exchanges run the
	// same code as returning ones, which warm them up without using up the pool of new users.
	if (warmup > 0 && plan.length > 0) {
		console.log(`warm-up: ${warmup} s of each scenario, not measured`)
		await load(`http://127.0.0.1:${baselinePort}/`, plan[0]!.lua, warmup)
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
				const base = await load(`http://127.0.0.1:${baselinePort}/`, scenario.lua, duration, baseline.pid)
				baselines.push(base)
				reference = base.rps
			} else if (scenario.against === 'tracks ceiling') {
				// batches a second: the ceiling's points over the points in each request
				reference = measureTracksCeiling(Math.min(duration, 3)).pointsPerSecond / INGEST_BATCH
			} else if (scenario.against === 'logs ceiling') {
				// batches a second: the ceiling's rows over the lines in each request
				reference = measureLogsCeiling(Math.min(duration, 3)).rowsPerSecond / LOG_BATCH
			} else {
				reference = measureCeiling(Math.min(duration, 3)).pairsPerSecond
			}
			const result = await load(scenario.target, scenario.lua, duration, server.pid, scenario.connections)
			measured[i]!.results.push(result)
			measured[i]!.ratios.push(result.rps / reference)
			if (process.env.BENCH_SMAPS) console.log(smapsSummary(server.pid))
			console.log(
				`  ${scenario.name}: ${Math.round(result.rps)} req/s (${((result.rps / reference) * 100).toFixed(0)}% of ${scenario.against} ${Math.round(reference)}), p50 ${result.p50.toFixed(2)} ms, p99 ${result.p99.toFixed(2)} ms${result.non2xx ? `, ${result.non2xx} non-2xx` : ''}; server RSS ${rssMb(server.pid).toFixed(1)} MB${cpuNote(result, scenario.against === 'baseline' ? baselines.at(-1) : undefined)}`,
			)
		}
	}
	baseline.kill()
	const medianOf = (results: LoadResult[], ratios: number[]): Omit<Scenario, 'name' | 'against' | 'statements'> => ({
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
	})
	const scenarios: Scenario[] = [
		...(baselines.length > 0 ? [{ name: 'baseline: bare Bun.serve, same-size JSON', ...medianOf(baselines, baselines.map(() => 1)), against: 'baseline' as const, statements: '-' }] : []),
		...plan.map((scenario, i) => ({ name: scenario.name, against: scenario.against, statements: scenario.statements, ...medianOf(measured[i]!.results, measured[i]!.ratios) })),
	]
	const created = measured[plan.findIndex((s) => s.key === 'new')]?.results.reduce((sum, r) => sum + r.requests, 0) ?? 0
	if (created > newUserCount) console.log(`  (the new-user pool ran dry: ${created} requests for ${newUserCount} tokens; the rest were returning users)`)

	/** Each half: the median of its RSS samples (MB), the samples, and the last one. */
	type MemoryHalf = { requests: number; rssMb: number; samples: number[]; endRssMb: number }
	let memory: { firstHalf: MemoryHalf; secondHalf: MemoryHalf; growth: number; endGrowth: number } | undefined
	if (memoryRun) {
		const meRps = scenarios.find((s) => s.name.startsWith('GET /auth/me'))!.rps
		const half = 500_000
		console.log(`memory: ${2 * half} GET /auth/me requests …`)
		// RSS of a garbage-collected process moves with where the collector happens to be: one snapshot
		// per half gave +2.8%, -6.6% and +11.1% on the same code. Each half is sampled once per fifth,
		// and the halves compare by their medians; the end-of-half snapshots are reported too.
		const runHalf = async () => {
			let requests = 0
			const samples: number[] = []
			for (let slice = 0; slice < MEMORY_SAMPLES; slice++) {
				requests += (await load(`${url}/auth/me`, meLua, half / MEMORY_SAMPLES / meRps)).requests
				samples.push(rssMb(server.pid))
			}
			return { requests, rssMb: median(samples), samples, endRssMb: samples.at(-1)! }
		}
		const firstHalf = await runHalf()
		const secondHalf = await runHalf()
		memory = { firstHalf, secondHalf, growth: secondHalf.rssMb / firstHalf.rssMb - 1, endGrowth: secondHalf.endRssMb / firstHalf.endRssMb - 1 }
	}
	const trackReads = !only || only.includes('tracks') ? await measureTracks(url, episodes[5]!, episodes[6]!, server.pid) : undefined
	const fileFigures = !only || only.includes('files') ? await measureFiles(url, episodes[7]!, server.pid) : undefined
	const peakRssMb = peakRss(server.pid)
	server.kill('SIGTERM')
	await server.exited
	keys.stop()

	const starts: number[] = []
	// as a user runs it, on every core: a child inherits this process's pinning to the load core,
	// where the server's start-up threads (JIT, GC, the checkpoint worker) would share one core with this poller
	const everyCore = pinned ? ['taskset', '-c', `0-${cpus().length - 1}`] : []
	for (let i = 0; i < startRuns; i++) starts.push(await timeToFirstHealth(options.binary, everyCore))

	const report = { date: new Date().toISOString(), machine, load: hasWrk ? 'wrk' : 'fetch (8 concurrent loops; smoke only, not comparable)', connections: hasWrk ? connections : 8, durationSeconds: duration, rounds, pinned, seedUsers, ceiling, logsCeiling, tracksCeiling, scenarios, trackReads, files: fileFigures, peakRssMb, memory, startMs: startRuns > 0 ? { runs: starts, median: median(starts) } : undefined }
	mkdirSync(dirname(out), { recursive: true })
	writeFileSync(out, JSON.stringify(report, null, 2) + '\n')
	console.log('\n' + markdown(report) + `\n\nJSON: ${out}`)
	if (smoke && scenarios.some((s) => s.requests === 0)) throw new Error('a scenario made no requests')
}

function markdown(report: any): string {
	const rows = report.scenarios.map(
		(s: Scenario) =>
			`| ${s.name} | ${Math.round(s.rps).toLocaleString('en')}${s.name.includes('append-batch') ? ` (${Math.round(s.rps * INGEST_BATCH).toLocaleString('en')} points/s)` : ''} | ${s.p50.toFixed(2)} | ${s.p99.toFixed(2)} | ${s.against === '-' ? '-' : `${(s.ratio * 100).toFixed(0)}% of ${s.against}`} | ${s.statements} | ${s.cpuMicros === undefined ? '-' : `${s.cpuMicros.toFixed(1)} (${s.sysMicros!.toFixed(1)})`} |`,
	)
	const lines = [
		`${report.machine}; ${report.load}, ${report.connections} connections; each scenario ${report.rounds} × ${report.durationSeconds} s, right after its reference, medians shown${report.pinned ? '; server and load generator on separate cores' : ''}.`,
		'',
		'| Scenario | req/s | p50 ms | p99 ms | ratio | DB statements / request | CPU µs / request (system) |',
		'|---|---|---|---|---|---|---|',
		...rows,
		'',
		'CPU: the time the server (all its threads) spent per request, user plus system, from /proc; the baseline row, the bare server\'s.',
		`Crypto ceiling: ${report.ceiling.pairsPerSecond.toLocaleString('en')} EdDSA verifications + HS256 signatures /s on one core (${report.ceiling.microsecondsPerPair} µs each).`,
		`Tracks ceiling: ${report.tracksCeiling.pointsPerSecond.toLocaleString('en')} points/s parsed and written one row of JSON per point by a prepared statement, ${INGEST_BATCH} per transaction (the append-batch scenario is compared with it, in batches a second).`,
		`Logs ceiling: ${report.logsCeiling.rowsPerSecond.toLocaleString('en')} log rows/s inserted in-process by a prepared statement, ${LOG_BATCH} per transaction, into the bare table (${report.logsCeiling.rowsPerSecondWithSummary.toLocaleString('en')} with the summary trigger the server's table has); the ${LOG_BATCH}-line scenario is compared with the bare one.`,
		`Server peak RSS: ${report.peakRssMb.toFixed(1)} MB.${report.startMs ? ` Start, exec to first 200 on /health (empty data folder): median ${report.startMs.median.toFixed(1)} ms of ${report.startMs.runs.length}.` : ''}`,
	]
	if (report.files) {
		const f = report.files as FileFigures
		const gib = (f.bytes / 2 ** 30).toFixed(f.bytes >= 2 ** 30 ? 0 : 3)
		lines.push(
			'',
			`Files (${f.rounds} rounds, medians; bare: a Bun.serve of a few lines, on the server's core):`,
			'',
			'| Measure | server | bare Bun.serve | ratio | target |',
			'|---|---|---|---|---|',
			`| upload of ${gib} GiB (multipart, checked, stored) | ${f.upload.mbps.toFixed(0)} MB/s | ${f.bareUpload.mbps.toFixed(0)} MB/s (the body streamed to a file) | ${((f.upload.mbps / f.bareUpload.mbps) * 100).toFixed(0)}% | ≥ 70% |`,
			`| server RSS growth during the upload | ${f.upload.rssGrowthMb.toFixed(1)} MB | | | ≤ 64 MB |`,
			`| download of it | ${f.download.mbps.toFixed(0)} MB/s | ${f.bareDownload.mbps.toFixed(0)} MB/s (Bun.file) | ${((f.download.mbps / f.bareDownload.mbps) * 100).toFixed(0)}% | ≥ 80% |`,
			`| ${f.small.count.toLocaleString('en')} uploads of 10 KB, 4 connections | ${f.small.filesPerSecond.toFixed(0)} files/s, ${f.small.statements} statements each | | | reported |`,
		)
	}
	if (report.trackReads) {
		const t = report.trackReads as TrackReads
		const row = (name: string, r: { serverMs: number; clientMs: number }, target: string) => `| ${name} | ${r.serverMs.toFixed(1)} | ${r.clientMs.toFixed(1)} | ${target} |`
		lines.push(
			'',
			`Tracks: a track of ${t.points.toLocaleString('en')} points {_ts, step, loss} ingested in ${t.ingestSeconds.toFixed(1)} s (${Math.round(t.points / t.ingestSeconds).toLocaleString('en')} points/s, 4 connections); ${t.bytesPerPoint.toFixed(1)} bytes a point on disk (database pages in use, before and after).`,
			'',
			'| Read (median of 20) | server ms (Server-Timing total) | client ms | target |',
			'|---|---|---|---|',
			row(`series, ${t.points.toLocaleString('en')} points into 1,000 buckets`, t.seriesFull, '≤ 50 ms'),
			row('series, a 100,000-point window into 1,000 buckets', t.seriesWindow, '≤ 20 ms'),
			row('data, a page of 10,000 points', t.data10k, '≤ 10 ms'),
		)
		if (t.tenMillion) {
			const m = t.tenMillion
			lines.push('', `Memory over 10,000,000 points ingested and read back (series and 100 pages of 10,000): server RSS ${m.rssBeforeMb.toFixed(1)} MB before, at most ${m.rssMaxMb.toFixed(1)} MB while ingesting (samples: ${m.samplesMb.map((v) => v.toFixed(0)).join(', ')}), ${m.rssAfterReadsMb.toFixed(1)} MB after the reads; ingest ${Math.round(m.pointsPerSecond).toLocaleString('en')} points/s.`)
		}
	}
	if (report.memory) {
		lines.push(
			`Memory over ${(report.memory.firstHalf.requests + report.memory.secondHalf.requests).toLocaleString('en')} GET /auth/me: RSS ${report.memory.firstHalf.rssMb.toFixed(1)} MB in the first half, ${report.memory.secondHalf.rssMb.toFixed(1)} MB in the second (${signed(report.memory.growth)}; medians of ${MEMORY_SAMPLES} samples each); at the end of each half ${report.memory.firstHalf.endRssMb.toFixed(1)} and ${report.memory.secondHalf.endRssMb.toFixed(1)} MB (${signed(report.memory.endGrowth)}).`,
		)
	}
	return lines.join('\n')
}

async function seed(keys: KeyServer, url: string, count: number) {
	const users: { vuer: string; dreamlake: string; namespace: string }[] = []
	let next = 0
	await Promise.all(
		Array.from({ length: 32 }, async () => {
			while (next < count) {
				next++
				const vuer = await keys.mint(newIdentity(), { expiresIn: 4 * 3600 })
				const response = await fetch(`${url}/auth/exchange`, { method: 'POST', headers: { authorization: `Bearer ${vuer}` } })
				if (response.status !== 200) throw new Error(`seeding failed: ${response.status} ${await response.text()}`)
				const body = (await response.json()) as { dreamlake_token: string; namespace: { slug: string } }
				users.push({ vuer, dreamlake: body.dreamlake_token, namespace: body.namespace.slug })
			}
		}),
	)
	return users
}

interface TrackReads {
	points: number
	ingestSeconds: number
	bytesPerPoint: number
	seriesFull: { serverMs: number; clientMs: number }
	seriesWindow: { serverMs: number; clientMs: number }
	data10k: { serverMs: number; clientMs: number }
	tenMillion?: { rssBeforeMb: number; rssMaxMb: number; samplesMb: number[]; rssAfterReadsMb: number; pointsPerSecond: number }
}

/**
 * Issue 12's reads: a track of a million points {_ts, step, loss} (100,000 in a smoke run), its
 * bytes on disk, and the chart and page reads over it; in a full run, memory over ten million.
 */
async function measureTracks(url: string, runner: { dreamlake: string; id: string }, other: { dreamlake: string; id: string }, pid: number): Promise<TrackReads> {
	const points = smoke ? 100_000 : 1_000_000
	const db = new Database(join(work, 'data', 'dreamlake.db'), { readonly: true })
	const usedBytes = () => {
		const pages = (db.query('PRAGMA page_count').get() as { page_count: number }).page_count - (db.query('PRAGMA freelist_count').get() as { freelist_count: number }).freelist_count
		return pages * (db.query('PRAGMA page_size').get() as { page_size: number }).page_size
	}
	const before = usedBytes()
	const started = performance.now()
	await ingest(url, runner, 'million', points, (step) => ({ _ts: 1_765_000_000 + step / 100, step, loss: 1 / (step + 1) + Math.sin(step / 1000) / 10 }))
	const ingestSeconds = (performance.now() - started) / 1000
	const bytesPerPoint = (usedBytes() - before) / points
	db.close()
	const track = `${url}/episodes/${runner.id}/tracks/million`
	const timed = async (path: string) => {
		const server: number[] = []
		const client: number[] = []
		for (let i = 0; i < 20; i++) {
			const t0 = performance.now()
			const response = await fetch(`${track}${path}`, { headers: { authorization: `Bearer ${runner.dreamlake}` } })
			await response.arrayBuffer()
			client.push(performance.now() - t0)
			if (response.status !== 200) throw new Error(`${path}: ${response.status}`)
			server.push(Number(/total;dur=([\d.]+)/.exec(response.headers.get('server-timing') ?? '')?.[1] ?? Number.NaN))
		}
		return { serverMs: median(server), clientMs: median(client) }
	}
	const result: TrackReads = {
		points,
		ingestSeconds,
		bytesPerPoint,
		seriesFull: await timed('/series?keys=loss&maxPoints=1000'),
		seriesWindow: await timed(`/series?keys=loss&maxPoints=1000&startIndex=${points / 2}&endIndex=${points / 2 + Math.min(100_000, points / 2) - 1}`),
		data10k: await timed(`/data?startIndex=${Math.floor(points / 3)}&limit=10000`),
	}
	console.log(`tracks: ${points} points in ${ingestSeconds.toFixed(1)} s, ${bytesPerPoint.toFixed(1)} bytes a point; series ${result.seriesFull.serverMs} ms, window ${result.seriesWindow.serverMs} ms, data 10k ${result.data10k.serverMs} ms (server)`)
	if (memoryRun) {
		const total = 10_000_000
		const samplesMb: number[] = []
		const rssBeforeMb = rssMb(pid)
		const t0 = performance.now()
		await ingest(url, other, 'ten-million', total, (step) => ({ _ts: 1_765_000_000 + step / 100, step, loss: 1 / (step + 1) }), () => samplesMb.push(rssMb(pid)))
		const pointsPerSecond = total / ((performance.now() - t0) / 1000)
		const read = (path: string) => fetch(`${url}/episodes/${other.id}/tracks/ten-million${path}`, { headers: { authorization: `Bearer ${other.dreamlake}` } }).then((r) => r.arrayBuffer())
		await read('/series?keys=loss&maxPoints=1000')
		for (let page = 0; page < 100; page++) await read(`/data?startIndex=${page * 100_000}&limit=10000`)
		result.tenMillion = { rssBeforeMb, rssMaxMb: Math.max(...samplesMb), samplesMb, rssAfterReadsMb: rssMb(pid), pointsPerSecond }
		console.log(`tracks: 10M points at ${Math.round(pointsPerSecond)} points/s; RSS ${rssBeforeMb.toFixed(0)} → max ${result.tenMillion.rssMaxMb.toFixed(0)} → ${result.tenMillion.rssAfterReadsMb.toFixed(0)} MB after reads`)
	}
	return result
}

interface FileFigures {
	bytes: number
	rounds: number
	upload: { mbps: number; rssGrowthMb: number }
	bareUpload: { mbps: number }
	download: { mbps: number }
	bareDownload: { mbps: number }
	small: { count: number; filesPerSecond: number; statements: string }
}

/**
 * Issue 13's figures: one large upload (1 GiB; 16 MiB in a smoke run) through the server, checked
 * and stored, against a bare Bun.serve streaming the same request body to a file; its download
 * against a bare Bun.serve answering Bun.file of it; the server's RSS while it uploads; and a
 * thousand small uploads from four connections.
 */
async function measureFiles(url: string, runner: { dreamlake: string; id: string }, pid: number): Promise<FileFigures> {
	const bytes = smoke ? 16 * 2 ** 20 : 2 ** 30
	const rounds = smoke ? 1 : 3
	const block = crypto.getRandomValues(new Uint8Array(2 ** 20))
	const hasher = new Bun.CryptoHasher('sha256')
	for (let at = 0; at < bytes; at += block.length) hasher.update(block)
	const checksum = hasher.digest('hex')
	const boundary = `----dreamlake-bench-${crypto.randomUUID()}`
	const fieldPart = (name: string, value: string) => `--${boundary}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`
	const head = `${fieldPart('prefix', '/bench')}${fieldPart('checksum', checksum)}${fieldPart('sizeBytes', String(bytes))}--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.bin"\r\nContent-Type: application/octet-stream\r\n\r\n`
	const bodyPath = join(work, 'upload-body.bin')
	const writer = Bun.file(bodyPath).writer()
	writer.write(head)
	for (let at = 0; at < bytes; at += block.length) writer.write(block)
	writer.write(`\r\n--${boundary}--\r\n`)
	await writer.end()
	const contentType = `multipart/form-data; boundary=${boundary}`
	const auth = { authorization: `Bearer ${runner.dreamlake}` }

	const barePort = await freePort()
	const bareDir = join(work, 'bare-upload')
	mkdirSync(bareDir, { recursive: true })
	// the bare download serves the very bytes the server stored (they are named by their checksum)
	const stored = join(work, 'data', 'files', checksum.slice(0, 2), checksum)
	const bare = Bun.spawn(onServerCore([process.execPath, '-e', bareFilesSource(barePort, bareDir, stored)]), { stdout: 'ignore', stderr: 'inherit' })
	children.push(bare)
	await waitFor(`http://127.0.0.1:${barePort}/health`)

	const timedUpload = async (target: string, headers: Record<string, string>, watch?: number) => {
		const rssBefore = watch ? rssMb(watch) : 0
		let rssMax = rssBefore
		const sampler = watch ? setInterval(() => (rssMax = Math.max(rssMax, rssMb(watch))), 20) : undefined
		const t0 = performance.now()
		const response = await fetch(target, { method: 'POST', headers: { ...headers, 'content-type': contentType }, body: Bun.file(bodyPath) })
		const text = await response.text()
		const seconds = (performance.now() - t0) / 1000
		if (sampler) clearInterval(sampler)
		if (response.status >= 300) throw new Error(`upload: ${response.status} ${text}`)
		return { mbps: bytes / 1e6 / seconds, rssGrowthMb: rssMax - rssBefore, body: text }
	}
	const timedDownload = async (target: string, headers: Record<string, string>) => {
		const t0 = performance.now()
		const response = await fetch(target, { headers })
		let received = 0
		for await (const chunk of response.body!) received += chunk.byteLength
		const seconds = (performance.now() - t0) / 1000
		if (received !== bytes) throw new Error(`download: ${received} bytes, not ${bytes}`)
		return { mbps: bytes / 1e6 / seconds }
	}
	const uploads: { mbps: number; rssGrowthMb: number }[] = []
	const bareUploads: { mbps: number }[] = []
	const downloads: { mbps: number }[] = []
	const bareDownloads: { mbps: number }[] = []
	let fileId = ''
	for (let round = 0; round < rounds; round++) {
		bareUploads.push(await timedUpload(`http://127.0.0.1:${barePort}/upload`, {}))
		const up = await timedUpload(`${url}/episodes/${runner.id}/files`, auth, pid)
		uploads.push(up)
		fileId = (JSON.parse(up.body) as { id: string }).id
		bareDownloads.push(await timedDownload(`http://127.0.0.1:${barePort}/download`, {}))
		downloads.push(await timedDownload(`${url}/episodes/${runner.id}/files/${fileId}/download`, auth))
		console.log(`  files round ${round + 1}: upload ${up.mbps.toFixed(0)} MB/s (bare ${bareUploads.at(-1)!.mbps.toFixed(0)}), RSS +${up.rssGrowthMb.toFixed(1)} MB; download ${downloads.at(-1)!.mbps.toFixed(0)} MB/s (bare ${bareDownloads.at(-1)!.mbps.toFixed(0)})`)
	}
	bare.kill()
	rmSync(bodyPath, { force: true })

	// small files: 10 KB each, distinct bytes, four connections
	const count = smoke ? 100 : 1000
	const small = Array.from({ length: count }, (_, i) => {
		const content = crypto.getRandomValues(new Uint8Array(10 * 1024))
		return { name: `small-${i}.bin`, content, checksum: new Bun.CryptoHasher('sha256').update(content).digest('hex') }
	})
	let next = 0
	let statements = '?'
	const t0 = performance.now()
	await Promise.all(
		Array.from({ length: 4 }, async () => {
			while (next < small.length) {
				const file = small[next++]!
				const form = new FormData()
				form.set('prefix', '/small')
				form.set('checksum', file.checksum)
				form.set('sizeBytes', String(file.content.length))
				form.set('file', new Blob([file.content]), file.name)
				const response = await fetch(`${url}/episodes/${runner.id}/files`, { method: 'POST', headers: auth, body: form })
				if (response.status !== 201) throw new Error(`small upload: ${response.status} ${await response.text()}`)
				await response.arrayBuffer()
				const timing = response.headers.get('server-timing') ?? ''
				statements = `${/db;dur=[\d.]+;desc="(\d+)"/.exec(timing)?.[1] ?? '?'} (in ${/db-tx;desc="(\d+)"/.exec(timing)?.[1] ?? '0'} write tx)`
			}
		}),
	)
	const filesPerSecond = count / ((performance.now() - t0) / 1000)
	console.log(`  ${count} small uploads: ${filesPerSecond.toFixed(0)} files/s, ${statements} statements each`)
	const med = <T extends Record<string, number>>(list: T[], key: keyof T) => median(list.map((r) => r[key] as number))
	return {
		bytes,
		rounds,
		upload: { mbps: med(uploads, 'mbps'), rssGrowthMb: Math.max(...uploads.map((u) => u.rssGrowthMb)) },
		bareUpload: { mbps: med(bareUploads, 'mbps') },
		download: { mbps: med(downloads, 'mbps') },
		bareDownload: { mbps: med(bareDownloads, 'mbps') },
		small: { count, filesPerSecond, statements },
	}
}

/** A bare Bun.serve: POST /upload streams the request body to a file; GET /download answers Bun.file of the stored bytes. */
function bareFilesSource(port: number, dir: string, downloadPath: string): string {
	return `
const { openSync, writeSync, closeSync, rmSync } = require('node:fs')
Bun.serve({ hostname: '127.0.0.1', port: ${port}, maxRequestBodySize: 2 ** 34, async fetch(request) {
	const path = new URL(request.url).pathname
	if (path === '/health') return new Response('ok')
	if (path === '/download') return new Response(Bun.file(${JSON.stringify(downloadPath)}))
	const file = ${JSON.stringify(dir)} + '/' + crypto.randomUUID()
	const fd = openSync(file, 'w')
	for await (const chunk of request.body) { let at = 0; while (at < chunk.length) at += writeSync(fd, chunk, at, chunk.length - at) }
	closeSync(fd)
	rmSync(file)
	return Response.json({ ok: true })
} })
`
}

/** `points` points made by `point(step)` appended to a track in batches of 1,000, over 4 connections; `onMillion` after each million. */
async function ingest(url: string, runner: { dreamlake: string; id: string }, name: string, points: number, point: (step: number) => Record<string, unknown>, onMillion?: () => void) {
	let next = 0
	let reported = 0
	await Promise.all(
		Array.from({ length: INGEST_CONNECTIONS }, async () => {
			while (next < points) {
				const from = next
				next += INGEST_BATCH
				const body = JSON.stringify({ dataPoints: Array.from({ length: Math.min(INGEST_BATCH, points - from) }, (_, i) => point(from + i)) })
				const response = await fetch(`${url}/episodes/${runner.id}/tracks/${name}/append-batch`, { method: 'POST', headers: { authorization: `Bearer ${runner.dreamlake}`, 'content-type': 'application/json' }, body })
				if (response.status !== 201) throw new Error(`ingest: ${response.status} ${await response.text()}`)
				await response.arrayBuffer()
				if (onMillion && Math.floor(next / 1_000_000) > reported) {
					reported = Math.floor(next / 1_000_000)
					onMillion()
				}
			}
		}),
	)
}

/** For each user, the episode `run` in their project `bench`, created by the upsert the SDK sends. */
async function seedEpisodes(url: string, users: { dreamlake: string; namespace: string }[]) {
	return Promise.all(
		users.map(async (user) => {
			const response = await fetch(`${url}/namespaces/${user.namespace}/projects/bench/episodes`, {
				method: 'POST',
				headers: { authorization: `Bearer ${user.dreamlake}`, 'content-type': 'application/json' },
				body: UPSERT_BODY,
			})
			if (response.status !== 201) throw new Error(`seeding episodes failed: ${response.status} ${await response.text()}`)
			return { ...user, id: ((await response.json()) as { id: string }).id }
		}),
	)
}

async function mintMany(keys: KeyServer, count: number): Promise<string[]> {
	const tokens: string[] = []
	for (let i = 0; i < count; i += 256) tokens.push(...(await Promise.all(Array.from({ length: Math.min(256, count - i) }, () => keys.mint(newIdentity(), { expiresIn: 4 * 3600 })))))
	return tokens
}

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

function writeLines(name: string, lines: string[]): string {
	const path = join(work, name)
	writeFileSync(path, lines.join('\n') + '\n')
	return path
}

const UPSERT_BODY = '{"name":"run"}'
const INGEST_BATCH = 1000
const INGEST_CONNECTIONS = 4
const INGEST_BODY = ingestBody(0, INGEST_BATCH)
const LOG_BATCH = 100
const logLine = (i: number) => ({ timestamp: '2026-08-12T10:30:00.123456Z', level: 'info', message: `epoch 12 step ${3400 + i}: loss=0.2345 acc=0.9123 lr=0.0001 grad_norm=1.234` })
/** What the SDK sends for one `episode.log(...)`. */
const LOG_BODY_1 = JSON.stringify({ logs: [logLine(0)] })
const LOG_BODY_BATCH = JSON.stringify({ logs: Array.from({ length: LOG_BATCH }, (_, i) => logLine(i)) })

/**
 * Each request takes the next line of `file` (threads start at different offsets): a token, or a
 * token, a space and the path to send it to (else `path`). The requests are formatted once, in
 * init(): formatting one per request in Lua capped wrk's single thread at about 42k req/s on this
 * machine, below what the bare baseline serves.
 */
function luaRotate(file: string, method: string, path: string, body?: string): string {
	return `
local lines = {}
for line in io.lines("${file}") do lines[#lines + 1] = line end
local requests = {}
local i = 0
function init(args)
  for k, line in ipairs(lines) do
    local token, target = line:match("^(%S+) (%S+)$")
    if not token then token, target = line, "${path}" end
    requests[k] = wrk.format("${method}", target, { ["Authorization"] = "Bearer " .. token${body ? ', ["Content-Type"] = "application/json"' : ''} }${body ? `, '${body}'` : ''})
  end
  i = math.random(#requests) - 1
end
function request()
  i = i + 1
  if i > #requests then i = 1 end
  return requests[i]
end
`
}

/**
 * Runs wrk (or, without it, a plain fetch loop: smoke only) against `target` for `seconds`; with
 * `pid`, also charges that process's CPU time to the requests it answered.
 */
async function load(target: string, lua: string, seconds: number, pid?: number, conns = connections): Promise<LoadResult> {
	const before = pid === undefined ? undefined : cpuTime(pid)
	const result = hasWrk ? wrkLoad(target, lua, seconds, conns) : await fetchLoad(target, lua, seconds)
	const after = pid === undefined ? undefined : cpuTime(pid)
	if (!before || !after || result.requests === 0) return result
	return { ...result, cpuMicros: (after.user + after.system - before.user - before.system) / result.requests, sysMicros: (after.system - before.system) / result.requests }
}

function wrkLoad(target: string, lua: string, seconds: number, conns: number): LoadResult {
	const script = join(work, `script-${Math.random().toString(36).slice(2)}.lua`)
	writeFileSync(script, lua + '\ndone = function(summary, latency, requests)\n  io.write(string.format("RESULT %d %d %f %f %d\\n", summary.requests, summary.duration, latency:percentile(50), latency:percentile(99), summary.errors.status))\nend\n')
	const wrk = Bun.spawnSync(onLoadCore(['wrk', '-t1', `-c${conns}`, `-d${Math.max(1, Math.round(seconds))}s`, '--latency', '-s', script, target]))
	const out = wrk.stdout.toString()
	const match = /RESULT (\d+) (\d+) ([\d.]+) ([\d.]+) (\d+)/.exec(out)
	if (!match) throw new Error(`wrk failed: ${out}${wrk.stderr.toString()}`)
	const [, requests, micros, p50, p99, non2xx] = match.map(Number) as number[]
	return { requests: requests!, rps: requests! / (micros! / 1e6), p50: p50! / 1000, p99: p99! / 1000, non2xx: non2xx! }
}

const FETCH_LOOPS = 8

/** Smoke-only stand-in for wrk: a few concurrent fetch loops; numbers from it are not comparable. */
async function fetchLoad(target: string, lua: string, seconds: number): Promise<LoadResult> {
	const method = /wrk\.format\("(\w+)"/.exec(lua)?.[1] ?? 'GET'
	const file = /io\.lines\("([^"]+)"\)/.exec(lua)?.[1]
	const tokens = file ? (await Bun.file(file).text()).trim().split('\n') : ['']
	const body = /'(\{.*\})'\)/.exec(lua)?.[1]
	const latencies: number[] = []
	let non2xx = 0
	const deadline = performance.now() + seconds * 1000
	let i = 0
	await Promise.all(
		Array.from({ length: FETCH_LOOPS }, async () => {
			while (performance.now() < deadline) {
				const [token, path] = tokens[i++ % tokens.length]!.split(' ')
				const started = performance.now()
				const response = await fetch(path ? `${target}${path}` : target, { method, body, headers: { authorization: `Bearer ${token}`, ...(body && { 'content-type': 'application/json' }) } })
				await response.arrayBuffer()
				latencies.push(performance.now() - started)
				if (response.status >= 300) non2xx++
			}
		}),
	)
	latencies.sort((a, b) => a - b)
	const at = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? 0
	return { requests: latencies.length, rps: latencies.length / seconds, p50: at(0.5), p99: at(0.99), non2xx }
}

function baselineSource(port: number, size: number): string {
	return `
const body = JSON.stringify({ padding: 'x'.repeat(${Math.max(0, size - 14)}) })
Bun.serve({ hostname: '127.0.0.1', port: ${port}, fetch: () => new Response(body, { headers: { 'content-type': 'application/json' } }) })
`
}

async function waitFor(url: string) {
	for (let i = 0; i < 500; i++) {
		try {
			if ((await fetch(url)).ok) return
		} catch {}
		await Bun.sleep(10)
	}
	throw new Error(`${url} did not come up`)
}

/** Resident memory by mapping (anonymous heap, the binary, SQLite files…), largest first: where RSS goes. */
function smapsSummary(pid: number): string {
	const text = readFileSync(`/proc/${pid}/smaps`, 'utf8')
	const byName = new Map<string, number>()
	let name = ''
	for (const line of text.split('\n')) {
		const header = /^[0-9a-f]+-[0-9a-f]+ \S+ \S+ \S+ \S+\s*(.*)$/.exec(line)
		if (header) name = header[1] || '[anonymous]'
		const rss = /^Rss:\s+(\d+) kB/.exec(line)
		if (rss) byName.set(name, (byName.get(name) ?? 0) + Number(rss[1]))
	}
	return [...byName].sort((a, b) => b[1] - a[1]).slice(0, 6).map(([n, kb]) => `    ${(kb / 1024).toFixed(1)} MB ${n}`).join('\n')
}

/** A `kB` field of /proc/<pid>/status, in MB (0 where there is no /proc). */
function statusField(pid: number, field: string): number {
	try {
		const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
		return match ? Number(match[1]) / 1024 : 0
	} catch {
		return 0
	}
}
const rssMb = (pid: number) => statusField(pid, 'VmRSS')
/** RSS samples per half of the memory run. */
const MEMORY_SAMPLES = 5
const signed = (fraction: number) => `${fraction >= 0 ? '+' : ''}${(fraction * 100).toFixed(1)}%`
/** "; CPU 31.2 µs/request (9.8 system); baseline 13.1 (5.0 system)": where /proc tells. */
function cpuNote(result: LoadResult, base?: LoadResult): string {
	if (result.cpuMicros === undefined) return ''
	const baseNote = base?.cpuMicros === undefined ? '' : `; baseline ${base.cpuMicros.toFixed(1)} (${base.sysMicros!.toFixed(1)} system)`
	return `; CPU ${result.cpuMicros.toFixed(1)} µs/request (${result.sysMicros!.toFixed(1)} system)${baseNote}`
}

const CLOCK_TICKS_PER_SECOND = Number(Bun.spawnSync(['getconf', 'CLK_TCK']).stdout.toString().trim()) || 100

/** User and system CPU time a process (all its threads) has used so far, in µs; undefined where there is no /proc. */
function cpuTime(pid: number): { user: number; system: number } | undefined {
	try {
		const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
		// after "pid (comm) ": state, then 10 fields, then utime and stime (fields 14 and 15 of proc(5))
		const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
		const tick = 1e6 / CLOCK_TICKS_PER_SECOND
		return { user: Number(fields[11]) * tick, system: Number(fields[12]) * tick }
	} catch {
		return undefined
	}
}

/** The kernel's high-water mark of the process's resident memory since it started. */
const peakRss = (pid: number) => statusField(pid, 'VmHWM')

// last, so every helper above is initialised before it runs
try {
	await main()
} finally {
	cleanup()
}
