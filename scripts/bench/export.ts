// Issue 22's export figures: a track of 10,000,000 points (100,000 with --smoke) downloaded as CSV
// and as Parquet from the compiled server: points a second, the server's RSS meanwhile, and the
// Parquet file's size against the track's bytes on disk.
import { Database } from 'bun:sqlite'
import { rssMb } from './proc'
import { ingest } from './tracks'

interface Runner {
	dreamlake: string
	id: string
}

export interface ExportRun {
	format: 'csv' | 'parquet'
	/** 1, then 2: the same download again, to see whether the RSS reached is a plateau or keeps growing. */
	attempt: number
	bytes: number
	seconds: number
	pointsPerSecond: number
	rssBeforeMb: number
	rssMaxMb: number
	rssGrowthMb: number
}

export interface ExportFigures {
	points: number
	trackBytes: number
	ingestSeconds: number
	runs: ExportRun[]
	parquetToTrack: number
}

/** How often the server's RSS is read while an export streams. */
const SAMPLE_MS = 50

export async function measureExport(url: string, runner: Runner, pid: number, { smoke, databasePath }: { smoke: boolean; databasePath: string }): Promise<ExportFigures> {
	const points = smoke ? 100_000 : 10_000_000
	const db = new Database(databasePath, { readonly: true })
	const usedBytes = () => {
		const pages = (db.query('PRAGMA page_count').get() as { page_count: number }).page_count - (db.query('PRAGMA freelist_count').get() as { freelist_count: number }).freelist_count
		return pages * (db.query('PRAGMA page_size').get() as { page_size: number }).page_size
	}
	console.log(`export: ingesting a track of ${points.toLocaleString('en')} points {_ts, step, loss} …`)
	const before = usedBytes()
	const started = performance.now()
	await ingest(url, runner, 'export', points, (step) => ({ _ts: 1_765_000_000 + step / 100, step, loss: 1 / (step + 1) + Math.sin(step / 1000) / 10 }))
	const ingestSeconds = (performance.now() - started) / 1000
	const trackBytes = usedBytes() - before
	db.close()
	const runs: ExportRun[] = []
	for (const [format, attempt] of [['csv', 1], ['csv', 2], ['parquet', 1], ['parquet', 2]] as const) {
		Bun.gc(true)
		await Bun.sleep(200)
		const rssBeforeMb = rssMb(pid)
		let rssMaxMb = rssBeforeMb
		const sampler = setInterval(() => (rssMaxMb = Math.max(rssMaxMb, rssMb(pid))), SAMPLE_MS)
		const t0 = performance.now()
		const response = await fetch(`${url}/episodes/${runner.id}/tracks/export/export?format=${format}`, { headers: { authorization: `Bearer ${runner.dreamlake}` } })
		if (response.status !== 200) throw new Error(`export ${format}: ${response.status} ${await response.text()}`)
		let bytes = 0
		for await (const chunk of response.body!) bytes += chunk.byteLength
		const seconds = (performance.now() - t0) / 1000
		clearInterval(sampler)
		rssMaxMb = Math.max(rssMaxMb, rssMb(pid))
		runs.push({ format, attempt, bytes, seconds, pointsPerSecond: points / seconds, rssBeforeMb, rssMaxMb, rssGrowthMb: rssMaxMb - rssBeforeMb })
		console.log(`export: ${format} (${attempt}) ${(bytes / 1e6).toFixed(1)} MB in ${seconds.toFixed(2)} s, ${Math.round(points / seconds).toLocaleString('en')} points/s; server RSS ${rssBeforeMb.toFixed(0)} → max ${rssMaxMb.toFixed(0)} MB`)
	}
	const parquet = runs.find((r) => r.format === 'parquet')!
	// each format downloaded twice: the second shows whether the RSS reached is a plateau or keeps growing
	return { points, trackBytes, ingestSeconds, runs, parquetToTrack: parquet.bytes / trackBytes }
}
