// The run's results: the JSON written to --out, and the README-style Markdown printed at the end.
import { mkdirSync, writeFileSync } from 'node:fs'
import { dirname } from 'node:path'
import type { CryptoCeiling, LogsCeiling, TracksCeiling } from './ceilings'
import type { FileFigures } from './files'
import { MEMORY_SAMPLES, type Memory } from './memory'
import type { Scenario } from './rounds'
import { INGEST_BATCH, LOG_BATCH } from './scenarios'
import type { TrackReads } from './tracks'

/** The JSON's shape; its fields in this order, those left undefined left out. */
export interface Report {
	date: string
	machine: string
	load: string
	connections: number
	durationSeconds: number
	rounds: number
	pinned: boolean
	seedUsers: number
	ceiling: CryptoCeiling
	logsCeiling: LogsCeiling
	tracksCeiling: TracksCeiling
	scenarios: Scenario[]
	trackReads: TrackReads | undefined
	files: FileFigures | undefined
	peakRssMb: number
	memory: Memory | undefined
	startMs: { runs: number[]; median: number } | undefined
}

/** Writes the JSON to `out` and prints the Markdown and where the JSON went. */
export function writeReport(report: Report, out: string) {
	mkdirSync(dirname(out), { recursive: true })
	writeFileSync(out, JSON.stringify(report, null, 2) + '\n')
	console.log('\n' + markdown(report) + `\n\nJSON: ${out}`)
}

const signed = (fraction: number) => `${fraction >= 0 ? '+' : ''}${(fraction * 100).toFixed(1)}%`

function markdown(report: Report): string {
	const rows = report.scenarios.map(
		(s) =>
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
		const f = report.files
		const gib = (f.bytes / 2 ** 30).toFixed(f.bytes >= 2 ** 30 ? 0 : 3)
		const s3 = f.storage === 's3'
		lines.push(
			'',
			s3
				? `Files in a bucket (--files s3: Swift's S3 API on loopback; ${f.rounds} rounds, medians; direct: Bun's S3 client from the bench, same bytes):`
				: `Files (${f.rounds} rounds, medians; bare: a Bun.serve of a few lines, on the server's core):`,
			'',
			`| Measure | server | ${s3 ? 'direct to the store' : 'bare Bun.serve'} | ratio | target |`,
			'|---|---|---|---|---|',
			`| upload of ${gib} GiB (multipart, checked, stored) | ${f.upload.mbps.toFixed(0)} MB/s | ${f.bareUpload.mbps.toFixed(0)} MB/s (${s3 ? "a multipart upload, the server's part size and parts in flight" : 'the body streamed to a file'}) | ${((f.upload.mbps / f.bareUpload.mbps) * 100).toFixed(0)}% | ≥ 70% |`,
			`| server RSS growth during the upload | ${f.upload.rssGrowthMb.toFixed(1)} MB | | | ≤ ${s3 ? 96 : 64} MB |`,
			`| download of it | ${f.download.mbps.toFixed(0)} MB/s | ${f.bareDownload.mbps.toFixed(0)} MB/s (${s3 ? 'a streamed GET' : 'Bun.file'}) | ${((f.download.mbps / f.bareDownload.mbps) * 100).toFixed(0)}% | ≥ 80% |`,
			`| ${f.small.count.toLocaleString('en')} uploads of 10 KB, 4 connections | ${f.small.filesPerSecond.toFixed(0)} files/s, ${f.small.statements} statements each | | | reported |`,
			...(f.concurrent ? [`| ${f.concurrent.count} uploads of 10 KB at once | ${f.concurrent.errors} errors, ${f.concurrent.seconds.toFixed(2)} s | | | no error |`] : []),
		)
	}
	if (report.trackReads) {
		const t = report.trackReads
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
