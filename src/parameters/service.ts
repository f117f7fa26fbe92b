import { madeByCaller, type Account } from '../auth/model'
import { toMadeBy } from '../http/fields'
import type { Reader } from '../namespaces/access'
import type { DbMeter } from '../db/meter'
import type { EpisodeService } from '../episodes/service'
import { invalidField, notFound } from '../http/errors'
import { DATA_MAX_BYTES, flattenParameters, MAX_KEYS, type ParametersMerge } from './model'
import type { ParameterRepository } from './repository'

/** An episode's hyperparameters: merged key by key, versioned, with the journal of writes. */
export class ParameterService {
	constructor(
		private readonly repository: ParameterRepository,
		private readonly episodes: EpisodeService,
	) {
		episodes.addColumnGroup('params', (meter, episodeIds) => repository.currentOf(meter, episodeIds))
	}

	/** POST /episodes/{id}/parameters: merges the keys sent (flattened); never removes one. */
	merge(meter: DbMeter, caller: Account, episodeSegment: string, body: ParametersMerge) {
		const episode = this.episodes.writable(meter, caller, episodeSegment)
		const patch = flattenParameters(body.data)
		if (patch.size > MAX_KEYS) throw invalidField('data', `must hold at most ${MAX_KEYS.toLocaleString('en-US')} keys`)
		return this.repository.merge(meter, episode.id, patch, madeByCaller(caller), (merged) => {
			const keys = Object.keys(merged).length
			if (keys > MAX_KEYS) throw invalidField('data', `would give the episode ${keys.toLocaleString('en-US')} parameters; at most ${MAX_KEYS.toLocaleString('en-US')} are kept`)
			if (JSON.stringify(merged).length > DATA_MAX_BYTES) throw invalidField('data', `would make the episode's parameters larger than ${DATA_MAX_BYTES / 1024 / 1024} MiB`)
		})
	}

	/** GET /episodes/{id}/parameters: 404 parameters_not_found when none were ever set. */
	get(meter: DbMeter, caller: Reader, episodeSegment: string) {
		const episode = this.episodes.readable(meter, caller, episodeSegment)
		const row = this.repository.current(meter, episode.id)
		if (!row) throw notFound('parameters_not_found', 'No parameters have been set on this episode.')
		return row
	}

	/** GET /episodes/{id}/parameters/history: what each write changed, oldest first. */
	history(meter: DbMeter, caller: Reader, episodeSegment: string, afterVersion: number, limit: number) {
		const episode = this.episodes.readable(meter, caller, episodeSegment)
		const entries = this.repository.history(meter, episode.id, afterVersion, limit + 1)
		const hasMore = entries.length > limit
		if (hasMore) entries.pop()
		return { entries: entries.map((e) => ({ version: e.version, patch: e.patch, createdAt: e.createdAt.toISOString(), createdBy: toMadeBy(e) })), hasMore }
	}
}
