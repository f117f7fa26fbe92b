import { and, asc, eq, gt, inArray, sql } from 'drizzle-orm'
import type { Db } from '../db/client'
import { newRowId } from '../db/ids'
import { metered, type DbMeter } from '../db/meter'
import { parameterEntries, parameters, type ParametersRow } from '../db/schema'
import type { WriteQueue } from '../db/write-queue'
import type { MadeByColumns } from '../http/fields'
import type { EpisodeActivity } from '../episodes/model'
import type { EventHub } from '../events/hub'
import { toMadeBy } from '../http/fields'

export interface ParameterEntry extends MadeByColumns {
	version: number
	patch: Record<string, unknown>
	createdAt: Date
}

/** Thrown inside a merge job to refuse it (limits that depend on what is stored). */
export type MergeCheck = (merged: Record<string, unknown>, changed: number) => void

/** An episode's parameters (one row, the whole merged set) and their journal (one row per write). */
export class ParameterRepository {
	private readonly q

	constructor(
		private readonly db: Db,
		private readonly writes: WriteQueue,
		private readonly activity: EpisodeActivity,
		private readonly events: EventHub,
	) {
		this.q = {
			current: db
				.select()
				.from(parameters)
				.where(eq(parameters.episodeId, sql.placeholder('episodeId')))
				.prepare(),
		}
	}

	current(meter: DbMeter, episodeId: number): ParametersRow | undefined {
		return metered(meter, () => this.q.current.get({ episodeId }))
	}

	/** The current parameters of each of these episodes that has any. */
	currentOf(meter: DbMeter, episodeIds: number[]): Map<number, Record<string, unknown>> {
		if (episodeIds.length === 0) return new Map()
		const rows = metered(meter, () => this.db.select({ episodeId: parameters.episodeId, data: parameters.data }).from(parameters).where(inArray(parameters.episodeId, episodeIds)).all())
		return new Map(rows.map((row) => [row.episodeId, row.data]))
	}

	/**
	 * Merges `patch` into the stored set in one transaction: the keys whose value changes are
	 * written, with one journal entry; a merge that changes nothing writes nothing (except the first,
	 * which creates the set at version 1).
	 */
	merge(meter: DbMeter, episodeId: number, patch: Map<string, unknown>, author: MadeByColumns, check: MergeCheck): Promise<ParametersRow> {
		return this.writes.run(meter, (tx) => {
			this.activity.touch(tx, episodeId)
			const current = this.q.current.get({ episodeId })
			const merged: Record<string, unknown> = { ...current?.data }
			const changed: Record<string, unknown> = {}
			let changes = 0
			for (const [key, value] of patch) {
				if (Object.hasOwn(merged, key) && JSON.stringify(merged[key]) === JSON.stringify(value)) continue
				merged[key] = value
				changed[key] = value
				changes++
			}
			if (current && changes === 0) return current
			check(merged, changes)
			const now = new Date()
			const version = (current?.version ?? 0) + 1
			const row = current
				? this.db.update(parameters).set({ data: merged, version, updatedAt: now }).where(eq(parameters.episodeId, episodeId)).returning().get()
				: this.db.insert(parameters).values({ episodeId, id: newRowId(), data: merged, version, createdAt: now, updatedAt: now }).returning().get()
			this.db.insert(parameterEntries).values({ episodeId, version, patch: changed, createdAt: now, ...author }).run()
			this.events.episodes.afterCommit(tx, episodeId, 'parameters', () => ({ version, patch: changed, createdAt: now.toISOString(), createdBy: toMadeBy(author) }))
			return row
		})
	}

	history(meter: DbMeter, episodeId: number, afterVersion: number, limit: number): ParameterEntry[] {
		return metered(meter, () =>
			this.db
				.select({ version: parameterEntries.version, patch: parameterEntries.patch, createdAt: parameterEntries.createdAt, createdBy: parameterEntries.createdBy, createdByName: parameterEntries.createdByName, createdByKey: parameterEntries.createdByKey, createdByKeyName: parameterEntries.createdByKeyName })
				.from(parameterEntries)
				.where(and(eq(parameterEntries.episodeId, episodeId), gt(parameterEntries.version, afterVersion)))
				.orderBy(asc(parameterEntries.version))
				.limit(limit)
				.all(),
		)
	}
}
