// The run's results: the JSON written to --out, and the README-style Markdown printed at the end.
import { mkdirSync, writeFileSync } from 'node:fs'
import { dirname } from 'node:path'
import type { CryptoCeiling, LogsCeiling, TracksCeiling } from './ceilings'
import type { DashboardFigures } from './dashboard'
import type { EventFigures } from './events'
import type { ExportFigures } from './export'
import type { FileFigures } from './files'
import type { FindFigures } from './find'
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
	find: FindFigures | undefined
	dashboard: DashboardFigures | undefined
	files: FileFigures | undefined
	events: EventFigures | undefined
	export: ExportFigures | undefined
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
	if (report.events) {
		const e = report.events
		const w = e.watched
		lines.push(
			'',
			`Events: ${e.subscribers.toLocaleString('en')} subscribers on one episode while it is written at ${e.offered.linesPerSecond.toLocaleString('en')} log lines and ${e.offered.pointsPerSecond.toLocaleString('en')} track points a second (every 100 ms, 100 lines and 1,000 points), ${e.seconds} s, against the same load with no subscriber:`,
			'',
			'| Measure | no subscriber | subscribers | target |',
			'|---|---|---|---|',
			`| write → event at a subscriber, p50 / p99 / max (from the write sent; from its answer) | | ${w.fromSentMs.p50.toFixed(1)} / ${w.fromSentMs.p99.toFixed(1)} / ${w.fromSentMs.max.toFixed(1)} ms (${w.fromAnsweredMs.p50.toFixed(1)} / ${w.fromAnsweredMs.p99.toFixed(1)} ms) | p99 ≤ 250 ms |`,
			`| events delivered | | ${w.delivered.toLocaleString('en')} of ${w.expected.toLocaleString('en')} | all |`,
			`| log lines / s written | ${e.alone.linesPerSecond.toFixed(0)} | ${w.linesPerSecond.toFixed(0)} (${((w.linesPerSecond / e.alone.linesPerSecond) * 100).toFixed(1)}%) | within 10% |`,
			`| track points / s written | ${e.alone.pointsPerSecond.toFixed(0)} | ${w.pointsPerSecond.toFixed(0)} (${((w.pointsPerSecond / e.alone.pointsPerSecond) * 100).toFixed(1)}%) | within 10% |`,
			`| write latency p50 / p99 | ${e.alone.writeP50Ms.toFixed(1)} / ${e.alone.writeP99Ms.toFixed(1)} ms | ${w.writeP50Ms.toFixed(1)} / ${w.writeP99Ms.toFixed(1)} ms | reported |`,
			`| server CPU per second | ${e.alone.serverCpuMsPerSecond.toFixed(0)} ms | ${w.serverCpuMsPerSecond.toFixed(0)} ms (the readers' processes: ${w.readersCpuMsPerSecond.toFixed(0)} ms) | reported |`,
			`| server RSS | ${e.rss.beforeMb.toFixed(1)} MB | ${e.rss.subscribedMb.toFixed(1)} MB subscribed, peak ${e.rss.peakMb.toFixed(1)} MB (+${e.rss.growthMb.toFixed(1)} MB) | growth ≤ 64 MB |`,
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
	if (report.export) {
		const e = report.export
		lines.push(
			'',
			`Export: a track of ${e.points.toLocaleString('en')} points {_ts, step, loss}, ${(e.trackBytes / 1e6).toFixed(1)} MB on disk (database pages in use, before and after its ingest), downloaded whole by one client:`,
			'',
			'| Format (download) | size | time | points/s (target ≥ 1,000,000) | server RSS growth (target ≤ 64 MB) |',
			'|---|---|---|---|---|',
			...e.runs.map((r) => `| ${r.format === 'csv' ? 'CSV' : 'Parquet'} (${r.attempt}) | ${(r.bytes / 1e6).toFixed(1)} MB${r.format === 'parquet' ? ` (${e.parquetToTrack.toFixed(2)}× the track on disk; target ≤ 1.5×)` : ''} | ${r.seconds.toFixed(2)} s | ${Math.round(r.pointsPerSecond).toLocaleString('en')} | ${r.rssGrowthMb.toFixed(1)} MB (${r.rssBeforeMb.toFixed(0)} → ${r.rssMaxMb.toFixed(0)}) |`),
		)
	}
	if (report.find) {
		const f = report.find
		const row = (name: string, r: FindFigures['project'], target: string) => `| ${name} | ${r.serverMs.toFixed(2)} | ${r.dbMs.toFixed(2)} | ${r.statements} | ${r.total.toLocaleString('en')} | ${target} |`
		lines.push(
			'',
			`Find: ${f.projects} projects of ${f.episodesPerProject.toLocaleString('en')} runs (50 parameters and 20 metric keys each), seeded in ${f.seedSeconds.toFixed(0)} s; filter \`${f.query.filter}\`, order=${f.query.order} ${f.query.dir}, 10 columns, the first page of ${f.query.pageSize}.`,
			'',
			'| Search (median of 20) | server ms (Server-Timing total) | db ms | statements | matching | target |',
			'|---|---|---|---|---|---|',
			row('one project', f.project, '≤ 20 ms'),
			row(`the namespace, ${f.projects} projects`, f.namespace, '≤ 50 ms'),
		)
	}
	if (report.dashboard) {
		const d = report.dashboard
		lines.push(
			'',
			`Dashboard: the episodes table of a project of ${d.episodes.toLocaleString('en')} runs (seeded as for find, in ${d.seedSeconds.toFixed(0)} s) with ${d.metricColumns} metric columns, in headless Chromium, each load in a fresh context: navigation to the first 50 rows in the document, **${d.medianMs.toFixed(0)} ms** median of ${d.loads.length} (${d.loads.map((l) => l.toFixed(0)).join(', ')}); target ≤ ${d.targetMs} ms: ${d.medianMs <= d.targetMs ? 'met' : 'missed'}.`,
			`An episode of ${d.charts.tracks} tracks of ${d.charts.pointsPerTrack.toLocaleString('en')} points on its tracks tab: navigation to every chart drawn, **${d.charts.medianMs.toFixed(0)} ms** median of ${d.charts.loads.length} (${d.charts.loads.map((l) => l.toFixed(0)).join(', ')}); target ≤ ${d.charts.targetMs} ms: ${d.charts.medianMs <= d.charts.targetMs ? 'met' : 'missed'}.`,
		)
	}
	if (report.memory) {
		lines.push(
			`Memory over ${(report.memory.firstHalf.requests + report.memory.secondHalf.requests).toLocaleString('en')} GET /auth/me: RSS ${report.memory.firstHalf.rssMb.toFixed(1)} MB in the first half, ${report.memory.secondHalf.rssMb.toFixed(1)} MB in the second (${signed(report.memory.growth)}; medians of ${MEMORY_SAMPLES} samples each); at the end of each half ${report.memory.firstHalf.endRssMb.toFixed(1)} and ${report.memory.secondHalf.endRssMb.toFixed(1)} MB (${signed(report.memory.endGrowth)}).`,
		)
	}
	return lines.join('\n')
}
