// The in-process references the exchanges, log batches and track batches are compared with, each
// measured by its own script (scripts/*-ceiling.ts) in a child process on the server's core.
import { join } from 'node:path'
import { onServerCore } from './cores'
import { INGEST_BATCH, LOG_BATCH } from './scenarios'

export interface CryptoCeiling {
	pairsPerSecond: number
	microsecondsPerPair: number
}
export interface LogsCeiling {
	rowsPerSecond: number
	rowsPerSecondWithSummary: number
}
export interface TracksCeiling {
	pointsPerSecond: number
}
export interface PostgresCeilings {
	/** 1,000-point batches, one row per point, pipelined: the reference for tracks ingest. */
	pointsPerSecondOneRowPerPoint: number
	/** The same, each row awaited (a round trip each). */
	pointsPerSecondOneRowPerPointAwaited: number
	/** 100-line batches, one multi-row INSERT each: the reference for 100-line log batches. */
	rowsPerSecondMultiRow: number
	rowsPerSecondMultiRowWithSummary: number
	/** One-row transactions a second: what a commit costs on this disk. */
	commitsPerSecond: number
	/** PgTrackRepository's 1,000-point appends and PgLogRepository's 100-line ones, `repositoryWriters` at once, in process. */
	repositoryPointsPerSecond: number
	repositoryLinesPerSecond: number
	repositoryWriters: number
	postgres: string
}

/** `migrate-data` of a data folder of log lines, end to end and its copy alone, against a bare COPY of the same rows. */
export interface MoveRates {
	lines: number
	rowsPerSecond: number
	copyRowsPerSecond: number
	copyMs: number
	verifyMs: number
	bareCopyRowsPerSecond: number
}

const scripts = join(import.meta.dir, '..')
const run = (script: string, ...args: (string | number)[]) => JSON.parse(Bun.spawnSync(onServerCore([process.execPath, join(scripts, script), ...args.map(String)])).stdout.toString())

/** jose's EdDSA verifications + HS256 signatures a second on one core. */
export const cryptoCeiling = (seconds: number): CryptoCeiling => run('crypto-ceiling.ts', seconds)
/** Log rows a second inserted by a prepared statement, LOG_BATCH per transaction. */
export const logsCeiling = (seconds: number): LogsCeiling => run('logs-ceiling.ts', seconds, LOG_BATCH)
/** Points a second parsed and written one row per point, INGEST_BATCH per transaction. */
export const tracksCeiling = (seconds: number): TracksCeiling => run('tracks-ceiling.ts', seconds, INGEST_BATCH)

/** PostgreSQL's in-process INSERT ceilings (issue 23's references), on DATABASE_URL's server or a throwaway cluster. */
export const postgresCeilings = (seconds: number): PostgresCeilings => run('pg-ceiling.ts', seconds, INGEST_BATCH, LOG_BATCH)

/** The three ceilings once, before the rounds, for the report; each round measures its own again. */
export function measureCeilings(seconds: number): { ceiling: CryptoCeiling; logsCeiling: LogsCeiling; tracksCeiling: TracksCeiling } {
	const ceiling = cryptoCeiling(seconds)
	console.log(`crypto ceiling: ${ceiling.pairsPerSecond} EdDSA verifications + HS256 signatures per second on one core`)
	const logs = logsCeiling(seconds)
	const tracks = tracksCeiling(seconds)
	console.log(`tracks ceiling: ${tracks.pointsPerSecond} points/s parsed and written one row per point, ${INGEST_BATCH} per transaction`)
	console.log(`logs ceiling: ${logs.rowsPerSecond} rows/s by a prepared statement, ${LOG_BATCH} per transaction (${logs.rowsPerSecondWithSummary} with the summary trigger)`)
	return { ceiling, logsCeiling: logs, tracksCeiling: tracks }
}

/** scripts/migrate-data-ceiling.ts: migrate-data's rows a second against the bare COPY's, same run. */
export const moveRates = (lines: number): MoveRates => run('migrate-data-ceiling.ts', lines)
