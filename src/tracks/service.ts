import type { Account } from '../auth/repository'
import { formatRowId } from '../db/ids'
import type { DbMeter } from '../db/meter'
import type { TrackRow } from '../db/schema'
import type { EpisodeService } from '../episodes/service'
import { gone, invalidField, notFound } from '../http/errors'
import { checkMetadata, cleanTags } from '../http/fields'
import { columnValues, decodeChunk, pointsOf, type Point } from './codec'
import { isTrackName, TRACK_NAME_MAX_LENGTH } from './model'
import { TrackDeletedError, type TrackFields, type TrackRepository } from './repository'

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
			const { track, startIndex } = await this.repository.append(meter, episode.id, name, points, trackFields(fields))
			return { inserted: points.length, trackName: track.name, trackId: formatRowId(track.id), startIndex }
		} catch (error) {
			if (error instanceof TrackDeletedError) throw gone('track_deleted', `Track "${name.slice(0, 100)}" was deleted: restore it (POST …/tracks/{name}/restore) or purge it first.`)
			throw error
		}
	}

	/** GET …/tracks/{name}/data: up to `limit` points from `startIndex`, within the index and `_ts` bounds given. */
	page(meter: DbMeter, caller: Account, episodeSegment: string, name: string, query: PageQuery) {
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

	stats(meter: DbMeter, caller: Account, episodeSegment: string, name: string): TrackRow {
		return this.live(meter, caller, episodeSegment, name)
	}

	list(meter: DbMeter, caller: Account, episodeSegment: string, deleted: boolean): TrackRow[] {
		const episode = this.episodes.owned(meter, caller, episodeSegment)
		return this.repository.list(meter, episode.id, deleted)
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

	private live(meter: DbMeter, caller: Account, episodeSegment: string, name: string): TrackRow {
		const episode = this.episodes.owned(meter, caller, episodeSegment)
		const track = isTrackName(name) ? this.repository.byName(meter, episode.id, name) : undefined
		if (!track || track.deletedAt !== null) throw trackNotFound(name)
		return track
	}
}

const trackNotFound = (name: string) => notFound('track_not_found', name.length <= 100 ? `Track "${name}" not found.` : 'Track not found.')

function trackFields(fields: TrackFields): TrackFields {
	const checked: TrackFields = {}
	if (fields.description !== undefined) checked.description = fields.description
	if (fields.tags !== undefined) checked.tags = cleanTags(fields.tags)
	if (fields.metadata !== undefined) {
		checkMetadata(fields.metadata)
		checked.metadata = fields.metadata
	}
	return checked
}
