import type { Account } from '../auth/model'
import type { Reader } from '../namespaces/access'
import { formatRowId } from '../db/ids'
import type { DbMeter } from '../db/meter'
import type { TrackRow } from '../db/schema'
import type { EpisodeService } from '../episodes/service'
import { gone, invalidField, notFound } from '../http/errors'
import { describedFields } from '../http/fields'
import type { Page } from '../http/paging'
import { BLOCK_POINTS, columnValues, decodeBlocks, decodeChunk, pointsOf, type ColumnSummary, type Point } from './codec'
import { foldBlocks, foldPoints, SeriesBuckets, WindowExtent, type SeriesWindow, type WindowFold } from './series'
import { isTrackName, TRACK_NAME_MAX_LENGTH } from './model'
import { TrackDeletedError, type TrackFields, type TrackRepository } from './repository'
import { TrackTable, type ExportWindow } from './export'

export interface PageQuery {
	startIndex: number
	/** Inclusive. */
	endIndex?: number
	limit: number
	/** `_ts` bounds, inclusive. */
	startTime?: number
	endTime?: number
	keys?: ReadonlySet<string>
}

export interface SeriesQuery {
	x: string
	keys?: string[]
	maxPoints: number
	startIndex?: number
	/** Inclusive. */
	endIndex?: number
	startTime?: number
	endTime?: number
}

/**
 * Points per bucket from which a chart read folds block summaries instead of points: a block then
 * shifts a bucket's edge by at most a quarter of it, less than a pixel of any chart.
 */
const BLOCK_MODE_POINTS = 4 * BLOCK_POINTS

/** Keys a chart read folds when none are named: more makes a body nobody plots. */
export const SERIES_MAX_KEYS = 64

export interface PagePoint {
	index: string
	data: Point
	createdAt: string
}

/** Tracks under an episode: appends with gapless indexes, pages of points, stats, the list, soft delete. */
export class TrackService {
	constructor(
		private readonly repository: TrackRepository,
		private readonly episodes: EpisodeService,
	) {
		episodes.addCounter('trackCount', (meter, episodeId) => repository.countLive(meter, episodeId))
	}

	/** POST …/tracks/{name}/append(-batch): the points get the track's next indexes, in order; all or nothing. */
	async append(meter: DbMeter, caller: Account, episodeSegment: string, name: string, points: Point[], fields: TrackFields) {
		const episode = this.episodes.writable(meter, caller, episodeSegment)
		if (!isTrackName(name)) throw invalidField('trackName', `must be 1 to ${TRACK_NAME_MAX_LENGTH} characters without control characters (it is the path segment after /tracks/)`)
		try {
			const { trackId, startIndex } = await this.repository.append(meter, episode.id, name, points, describedFields(fields))
			return { inserted: points.length, trackName: name, trackId: formatRowId(trackId), startIndex }
		} catch (error) {
			if (error instanceof TrackDeletedError) throw gone('track_deleted', `Track "${name.slice(0, 100)}" was deleted: restore it (POST …/tracks/{name}/restore) or purge it first.`)
			throw error
		}
	}

	/** GET …/tracks/{name}/data: up to `limit` points from `startIndex`, within the index and `_ts` bounds given. */
	page(meter: DbMeter, caller: Reader, episodeSegment: string, name: string, query: PageQuery) {
		const track = this.live(meter, caller, episodeSegment, name)
		const to = Math.min(track.total, query.endIndex === undefined ? Infinity : query.endIndex + 1)
		const timed = query.startTime !== undefined || query.endTime !== undefined
		const start = query.startTime ?? -Number.MAX_VALUE
		const end = query.endTime ?? Number.MAX_VALUE
		const points: PagePoint[] = []
		let nextIndex: number | null = null
		// one chunk decoded at a time; the statement is left as soon as the page is full
		for (const chunk of this.repository.chunks(meter, track.id, query.startIndex, to, timed ? { start, end } : undefined)) {
			const decoded = decodeChunk(chunk.data)
			const createdAt = new Date(chunk.createdAt).toISOString()
			const from = Math.max(query.startIndex - chunk.startIndex, 0)
			const upto = Math.min(decoded.count, to - chunk.startIndex)
			if (!timed) {
				const take = Math.min(upto, from + query.limit - points.length)
				pointsOf(decoded, from, take, query.keys).forEach((data, i) => points.push({ index: String(chunk.startIndex + from + i), data, createdAt }))
				if (points.length === query.limit) {
					nextIndex = chunk.startIndex + take < to ? chunk.startIndex + take : null
					break
				}
				continue
			}
			const ts = columnValues(decoded, '_ts') ?? []
			const data = pointsOf(decoded, from, upto, query.keys)
			for (let i = from; i < upto; i++) {
				const t = ts[i]
				if (typeof t !== 'number' || t < start || t > end) continue
				if (points.length === query.limit) {
					nextIndex = chunk.startIndex + i
					break
				}
				points.push({ index: String(chunk.startIndex + i), data: data[i - from]!, createdAt })
			}
			if (nextIndex !== null) break
		}
		return { trackName: track.name, points, startIndex: query.startIndex, count: points.length, total: track.total, hasMore: nextIndex !== null, nextIndex }
	}

	/**
	 * GET …/tracks/{name}/series: the window folded into at most `maxPoints` buckets of x, each with
	 * min, max, mean and last per key. Chunks are read one at a time and only the columns needed
	 * are decoded; memory holds the buckets.
	 */
	series(meter: DbMeter, caller: Reader, episodeSegment: string, name: string, query: SeriesQuery) {
		const track = this.live(meter, caller, episodeSegment, name)
		const keys = query.keys ?? track.keys.filter((key) => key !== '_ts' && key !== query.x)
		if (keys.length > SERIES_MAX_KEYS) throw invalidField('keys', `name at most ${SERIES_MAX_KEYS} keys to chart (this track has ${keys.length}); send keys=a,b`)
		const xKey = query.x === 'index' ? null : query.x
		const timed = query.startTime !== undefined || query.endTime !== undefined
		const window: SeriesWindow = {
			first: query.startIndex ?? 0,
			last: Math.min(track.total - 1, query.endIndex ?? Infinity),
			xKey,
			...(timed && { time: { start: query.startTime ?? -Number.MAX_VALUE, end: query.endTime ?? Number.MAX_VALUE } }),
		}
		let buckets: SeriesBuckets | undefined
		if (window.last >= window.first) {
			let points = window.last - window.first + 1
			if (xKey === null && !timed) buckets = SeriesBuckets.overIndexes(keys, window.first, window.last, query.maxPoints)
			else {
				// buckets slice the window's own range of x: measured first, from the stored summaries
				const extent = this.extent(meter, track.id, window)
				points = extent.count
				if (points > 0) buckets = xKey === null ? SeriesBuckets.overIndexes(keys, extent.lo, extent.hi, query.maxPoints) : SeriesBuckets.overValues(keys, xKey, extent.lo, extent.hi, query.maxPoints)
			}
			// wide buckets fold the block summaries (64 points each) and decode only the blocks across the window's edges
			const wanted = new Set([...keys, ...(xKey === null ? [] : [xKey]), ...(timed ? ['_ts'] : [])])
			if (buckets) this.fold(meter, track.id, window, wanted, buckets, points / buckets.buckets >= BLOCK_MODE_POINTS)
		}
		const result = buckets?.result() ?? { x: [], count: [], values: Object.fromEntries(keys.map((key) => [key, { min: [], max: [], mean: [], last: [] }])) }
		const points = result.count.reduce((sum, n) => sum + n, 0)
		return { trackName: track.name, x: query.x, keys, maxPoints: query.maxPoints, points, buckets: result.x.length, bucketWidth: buckets?.width ?? null, series: result }
	}

	/** The window's count and range of x: chunks inside it from their summaries, the others (across its edges) from their blocks. */
	private extent(meter: DbMeter, trackId: number, window: SeriesWindow): WindowExtent {
		const extent = new WindowExtent(window)
		const wanted = new Set([...(window.xKey === null ? [] : [window.xKey]), ...(window.time ? ['_ts'] : [])])
		for (const row of this.repository.summaries(meter, trackId, window.first, window.last + 1, window.time)) {
			if (extent.addChunk(row.startIndex, row.count, JSON.parse(row.summary) as Record<string, ColumnSummary | undefined>)) continue
			const decode = () => decodeChunk(this.repository.chunkData(meter, trackId, row.startIndex), wanted)
			foldBlocks(window, row.startIndex, row.count, decodeBlocks(this.repository.chunkBlocks(meter, trackId, row.startIndex), wanted), decode, extent)
		}
		return extent
	}

	/** Folds the window's points into `into`, a chunk at a time: from the block summaries (`blocks`), or decoding every point. */
	private fold(meter: DbMeter, trackId: number, window: SeriesWindow, wanted: ReadonlySet<string>, into: WindowFold, blocks: boolean): void {
		if (blocks) {
			for (const row of this.repository.blocks(meter, trackId, window.first, window.last + 1, window.time)) {
				const decode = () => decodeChunk(this.repository.chunkData(meter, trackId, row.startIndex), wanted)
				foldBlocks(window, row.startIndex, row.count, decodeBlocks(row.blocks, wanted), decode, into)
			}
			return
		}
		for (const chunk of this.repository.chunks(meter, trackId, window.first, window.last + 1, window.time)) foldPoints(window, chunk.startIndex, decodeChunk(chunk.data, wanted), into)
	}

	/** GET …/tracks/{name}/export: the window's points as a table, read a batch at a time while the client takes them. */
	exportTable(meter: DbMeter, caller: Reader, episodeSegment: string, name: string, window: ExportWindow): TrackTable {
		return new TrackTable(this.repository, meter, this.live(meter, caller, episodeSegment, name), window)
	}

	stats(meter: DbMeter, caller: Reader, episodeSegment: string, name: string): TrackRow {
		return this.live(meter, caller, episodeSegment, name)
	}

	list(meter: DbMeter, caller: Reader, episodeSegment: string, page: Page, deleted: boolean) {
		const episode = this.episodes.readable(meter, caller, episodeSegment)
		return this.repository.list(meter, episode.id, { deleted, offset: page.offset, limit: page.pageSize })
	}

	async remove(meter: DbMeter, caller: Account, episodeSegment: string, name: string): Promise<TrackRow> {
		const episode = this.episodes.writable(meter, caller, episodeSegment)
		const track = isTrackName(name) ? await this.repository.softDelete(meter, episode.id, name) : undefined
		if (!track) throw trackNotFound(name)
		return track
	}

	async restore(meter: DbMeter, caller: Account, episodeSegment: string, name: string): Promise<TrackRow> {
		const episode = this.episodes.writable(meter, caller, episodeSegment)
		const track = isTrackName(name) ? await this.repository.restore(meter, episode.id, name) : undefined
		if (!track) throw notFound('track_not_deleted', 'No deleted track of that name to restore.')
		return track
	}

	private live(meter: DbMeter, caller: Reader, episodeSegment: string, name: string): TrackRow {
		const episode = this.episodes.readable(meter, caller, episodeSegment)
		const track = isTrackName(name) ? this.repository.byName(meter, episode.id, name) : undefined
		if (!track || track.deletedAt !== null) throw trackNotFound(name)
		return track
	}
}

const trackNotFound = (name: string) => notFound('track_not_found', name.length <= 100 ? `Track "${name}" not found.` : 'Track not found.')

