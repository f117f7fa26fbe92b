import type { Account } from '../auth/model'
import type { Reader } from '../namespaces/access'
import type { DbMeter } from '../db/meter'
import type { EpisodeService } from '../episodes/service'
import { formatRowId } from '../db/ids'
import { formatMicros, logRows, toLogLine, type LogLine, type LogsAppend } from './model'
import type { LogQuery, LogRepository } from './repository'
import { LogTable } from './export'

/** Log lines under an episode: batched appends with gapless sequence numbers, paged reads, stats. */
export class LogService {
	constructor(
		private readonly repository: LogRepository,
		private readonly episodes: EpisodeService,
	) {
		episodes.addCounter('logCount', (meter, episodeId) => repository.total(meter, episodeId))
	}

	/** POST /episodes/{id}/logs: the lines get the next sequence numbers of the episode, in order. */
	async append(meter: DbMeter, caller: Account, episodeSegment: string, body: LogsAppend) {
		const episode = this.episodes.writable(meter, caller, episodeSegment)
		const rows = logRows(body)
		const { start, end } = await this.repository.append(meter, episode.id, rows)
		return { created: rows.length, startSequence: start, endSequence: end, episodeId: formatRowId(episode.id) }
	}

	/** GET /episodes/{id}/logs: one page in sequence order, and the cursor to read on from. */
	read(meter: DbMeter, caller: Reader, episodeSegment: string, query: LogQuery) {
		const episode = this.episodes.readable(meter, caller, episodeSegment)
		const rows = this.repository.read(meter, episode.id, { ...query, limit: query.limit + 1 })
		const hasMore = rows.length > query.limit
		if (hasMore) rows.pop()
		const logs: LogLine[] = rows.map((row) => toLogLine(row.sequence, row))
		const nextSequence = rows.length > 0 ? rows[rows.length - 1]!.sequence : (query.afterSequence ?? -1)
		return { logs, hasMore, nextSequence }
	}

	/** GET /episodes/{id}/logs/export: every line the filters match, read a page at a time while the client takes them. */
	exportTable(meter: DbMeter, caller: Reader, episodeSegment: string, query: Omit<LogQuery, 'limit'>): LogTable {
		const episode = this.episodes.readable(meter, caller, episodeSegment)
		return new LogTable(this.repository, meter, episode.id, query)
	}

	/** GET /episodes/{id}/logs/stats: from the episode's summary row, not a scan. */
	stats(meter: DbMeter, caller: Reader, episodeSegment: string) {
		const episode = this.episodes.readable(meter, caller, episodeSegment)
		const summary = this.repository.summary(meter, episode.id)
		return {
			totalLogs: summary?.total ?? 0,
			levelCounts: { debug: summary?.debug ?? 0, info: summary?.info ?? 0, warn: summary?.warn ?? 0, error: summary?.error ?? 0, fatal: summary?.fatal ?? 0 },
			firstLogAt: summary?.firstAt == null ? null : formatMicros(summary.firstAt),
			lastLogAt: summary?.lastAt == null ? null : formatMicros(summary.lastAt),
		}
	}
}
