// bun run bench: drives the compiled server with wrk and compares it, in the same run, with a bare
// Bun.serve baseline, with jose's cryptographic ceiling (exchanges) and with SQLite's in-process
// ceilings (log and track batches). Ratios, not absolute numbers, are the point: these machines are
// shared and noisy. `bun run bench --help` lists the options, `--list` the scenarios.
import { join } from 'node:path'
import { cpus } from 'node:os'
import { KeyServer } from '../../test/support/key-server'
import { median } from '../startup'
import { measureCeilings, moveRates, postgresCeilings } from './ceilings'
import { pinned, pinThisProcessToLoadCore } from './cores'
import { measureEvents } from './events'
import { measureExport } from './export'
import { measureFiles, startBucket, type Bucket } from './files'
import { measureFind } from './find'
import { measureMemory } from './memory'
import { readOptions, root, type BenchOptions } from './options'
import { peakRssMb, rssMb } from './proc'
import { writeReport } from './report'
import { runRounds } from './rounds'
import { loadScenarios, meLua } from './scenarios'
import { newUserTokens, seedEpisodes, seedUsers, writeTargets } from './seed'
import { ensureBinary, startBaseline, startServer, timeStarts } from './servers'
import { measureTracks } from './tracks'
import { FETCH_LOOPS, hasWrk, loadGenerator } from './wrk'
import { Workspace } from './work'

const options = readOptions()
if (!hasWrk && !options.smoke && options.database === 'sqlite') {
	console.error('bun run bench needs wrk (the HTTP load generator). Install it with:  apt-get install wrk   (Debian/Ubuntu)')
	process.exit(1)
}
pinThisProcessToLoadCore()
const work = new Workspace()
work.cleanupOnSignals()
let bucket: Bucket | undefined
try {
	await main(options, work)
} finally {
	bucket?.stop()
	work.cleanup()
}

async function main({ smoke, duration, connections, seedUsers: userCount, rounds, warmup, startRuns, binary, out, selected, team, database, fileStorage }: BenchOptions, work: Workspace) {
	if (database === 'postgres') return measurePostgres(smoke, out)
	await ensureBinary(binary, root)
	if (fileStorage === 's3') bucket = await startBucket(work)
	const machine = `${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, Bun ${Bun.version}, ${process.platform}-${process.arch}`
	console.log(`machine: ${machine}; load: ${hasWrk ? 'wrk' : 'fetch (no wrk; smoke only)'}, ${connections} connections, ${duration} s per scenario${pinned ? ', server on core 1, load on core 0' : ''}`)
	const load = loadGenerator(work.dir, connections)

	const keys = await KeyServer.start()
	const server = await startServer(work, binary, keys.jwksUrl, { env: bucket?.env })
	const pid = server.process.pid
	console.log(`seeding ${userCount} users … (server RSS ${rssMb(pid).toFixed(1)} MB)`)
	const seeded = await seedUsers(keys, server.url, userCount)
	console.log(`seeded (server RSS ${rssMb(pid).toFixed(1)} MB)`)
	const meBody = await (await fetch(`${server.url}/auth/me`, { headers: { authorization: `Bearer ${seeded[0]!.dreamlake}` } })).text()
	const baseline = await startBaseline(work, meBody.length)

	const ceilings = measureCeilings(smoke ? 0.3 : 2)

	// the data API: one episode per user for the first few hundred users, as many runs logging at once
	const episodes = await seedEpisodes(server.url, seeded.slice(0, Math.min(seeded.length, 256)), { team })
	if (team) console.log(`the runs are ${episodes.length} members' of the team ${episodes[0]!.namespace}, each in a project of its own`)
	const targets = writeTargets(work, seeded, episodes)
	// enough distinct new users for every round that the pool cannot run dry at the ceiling's rate
	const newUserCount = selected.has('new') ? Math.ceil(Math.min(ceilings.ceiling.pairsPerSecond, 20_000) * duration * rounds * 1.5) + 100 : 0
	if (newUserCount > 0) console.log(`minting ${newUserCount} tokens for new users …`)
	const files = { ...targets, new: await newUserTokens(work, keys, newUserCount) }
	Bun.gc(true) // the minted tokens are on disk now: collect them here, not during a round

	const plan = await loadScenarios(server.url, keys, seeded, episodes, files, selected)
	const { scenarios, byKey } = await runRounds(plan, { load, duration, rounds, warmup, baseline: { url: baseline.url, pid: baseline.process.pid }, serverPid: pid })
	baseline.process.kill()
	const created = byKey.get('new')?.requests ?? 0
	if (created > newUserCount) console.log(`  (the new-user pool ran dry: ${created} requests for ${newUserCount} tokens; the rest were returning users)`)

	const meUrl = `${server.url}/auth/me`
	// without the me scenario, a round of its requests tells the rate the memory run's slices are sized by
	const memory = selected.has('memory') ? await measureMemory(load, meUrl, meLua(files), byKey.get('me')?.rps ?? (await load(meUrl, meLua(files), duration)).rps, pid) : undefined
	const trackReads = selected.has('tracks') ? await measureTracks(server.url, episodes[5]!, episodes[6]!, pid, { smoke, databasePath: join(work.dir, 'data', 'dreamlake.db'), tenMillion: selected.has('tracks-memory') }) : undefined
	const find = selected.has('find') ? await measureFind(server.url, seeded[Math.min(seeded.length - 1, 9)]!, join(work.dir, 'data', 'dreamlake.db'), smoke) : undefined
	const fileFigures = selected.has('files') ? await measureFiles(server.url, episodes[7]!, pid, work, smoke, bucket) : undefined
	const exportFigures = selected.has('export') ? await measureExport(server.url, episodes[8]!, pid, { smoke, databasePath: join(work.dir, 'data', 'dreamlake.db') }) : undefined
	const peak = peakRssMb(pid)
	const eventFigures = selected.has('events') ? await measureEvents(work, binary, keys, { smoke }) : undefined
	server.process.kill('SIGTERM')
	await server.process.exited
	keys.stop()
	const starts = await timeStarts(binary, startRuns)

	writeReport(
		{ date: new Date().toISOString(), machine, load: hasWrk ? 'wrk' : `fetch (${FETCH_LOOPS} concurrent loops; smoke only, not comparable)`, connections: hasWrk ? connections : FETCH_LOOPS, durationSeconds: duration, rounds, pinned, seedUsers: userCount, ...ceilings, scenarios, trackReads, find, files: fileFigures, events: eventFigures, export: exportFigures, peakRssMb: peak, memory, startMs: startRuns > 0 ? { runs: starts, median: median(starts) } : undefined },
		out,
	)
	if (smoke && scenarios.some((s) => s.requests === 0)) throw new Error('a scenario made no requests')
}

/** `--database postgres`: the server does not serve from PostgreSQL yet (issue 23), so its ceilings only, for the targets to be set against. */
async function measurePostgres(smoke: boolean, out: string) {
	const machine = `${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, Bun ${Bun.version}, ${process.platform}-${process.arch}`
	const ceilings = postgresCeilings(smoke ? 0.3 : 2)
	console.log(`machine: ${machine}; PostgreSQL ${ceilings.postgres}, local, one connection, in process`)
	console.log(`tracks: ${ceilings.pointsPerSecondOneRowPerPoint} points/s one row per point, pipelined (${ceilings.pointsPerSecondOneRowPerPointAwaited} awaited row by row), 1,000 per transaction`)
	console.log(`logs: ${ceilings.rowsPerSecondMultiRow} rows/s as 100-row INSERTs (${ceilings.rowsPerSecondMultiRowWithSummary} with the summary trigger)`)
	console.log(`commits: ${ceilings.commitsPerSecond} one-row transactions/s`)
	const ratio = (value: number, of: number) => `${Math.round((100 * value) / of)}%`
	console.log(
		`repositories (${ceilings.repositoryWriters} writers, in process, no HTTP): tracks ${ceilings.repositoryPointsPerSecond} points/s (${ratio(ceilings.repositoryPointsPerSecond, ceilings.pointsPerSecondOneRowPerPoint)} of the one-row-per-point ceiling; target ≥ 150% over HTTP), ` +
			`logs ${ceilings.repositoryLinesPerSecond} lines/s in 100-line appends (${ratio(ceilings.repositoryLinesPerSecond, ceilings.rowsPerSecondMultiRow)} of the multi-row ceiling; target ≥ 50% over HTTP)`,
	)
	const move = moveRates(smoke ? 5_000 : 200_000)
	console.log(`migrate-data: ${move.lines} log lines at ${move.rowsPerSecond} rows/s end to end (copy ${move.copyMs} ms at ${move.copyRowsPerSecond} rows/s, check ${move.verifyMs} ms); a bare COPY of them: ${move.bareCopyRowsPerSecond} rows/s (copy at ${(move.copyRowsPerSecond / move.bareCopyRowsPerSecond).toFixed(2)}× it)`)
	await Bun.write(out, JSON.stringify({ at: new Date().toISOString(), machine, database: 'postgres', smoke, pgCeilings: ceilings, migrateData: move }, null, 2) + '\n')
	console.log(`written to ${out}`)
}
