// Issue 12's figures: a million-point track's ingest, its bytes on disk and the chart and page reads
// over it; with tracks-memory, the server's RSS over ten million points.
import { Database } from 'bun:sqlite'
import { median } from '../startup'
import { rssMb } from './proc'
import { INGEST_BATCH, INGEST_CONNECTIONS } from './scenarios'

interface Runner {
	dreamlake: string
	id: string
}

export interface TrackReads {
	points: number
	ingestSeconds: number
	bytesPerPoint: number
	seriesFull: { serverMs: number; clientMs: number }
	seriesWindow: { serverMs: number; clientMs: number }
	data10k: { serverMs: number; clientMs: number }
	tenMillion?: { rssBeforeMb: number; rssMaxMb: number; samplesMb: number[]; rssAfterReadsMb: number; pointsPerSecond: number }
}

export interface TracksSettings {
	smoke: boolean
	/** The server's database file, read (read-only) for the pages a point takes. */
	databasePath: string
	/** Also ingest ten million points into `other`'s episode and sample the server's RSS meanwhile. */
	tenMillion: boolean
}

/** A track of a million points {_ts, step, loss} (100,000 in a smoke run) in `runner`'s episode. */
export async function measureTracks(url: string, runner: Runner, other: Runner, pid: number, { smoke, databasePath, tenMillion }: TracksSettings): Promise<TrackReads> {
	const points = smoke ? 100_000 : 1_000_000
	const db = new Database(databasePath, { readonly: true })
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
	if (tenMillion) {
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

/** `points` points made by `point(step)` appended to a track in batches of 1,000, over 4 connections; `onMillion` after each million. */
export async function ingest(url: string, runner: Runner, name: string, points: number, point: (step: number) => Record<string, unknown>, onMillion?: () => void) {
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
