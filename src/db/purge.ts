import type { Database } from 'bun:sqlite'
import type { Db } from './client'

export interface PurgeReport {
	projects: number
	episodes: number
	logLines: number
	/** Episodes restored while this ran: kept, with whatever lines were not removed yet. */
	restoredMeanwhile: number
}

/** Log lines removed per transaction: short enough that a running server's writes never wait long. */
const LINES_PER_TRANSACTION = 10_000

/** An episode due for purging: deleted at or before ?2, or in a project that was. */
const EPISODE_DUE = `(SELECT 1 FROM episodes e WHERE e.id = ?1 AND (
	(e.deleted_at IS NOT NULL AND e.deleted_at <= ?2)
	OR e.project_id IN (SELECT id FROM projects WHERE deleted_at IS NOT NULL AND deleted_at <= ?2)))`

/**
 * Removes for good what was deleted at or before `cutoff` (epoch ms): deleted projects with
 * everything in them, and deleted episodes with their logs and parameters. Each step is a short
 * transaction that checks again that its episode is still due, so it runs beside a live server
 * (which keeps only live projects and episodes in memory) without holding the write lock for long.
 */
export function purgeDeleted(db: Db, cutoff: number): PurgeReport {
	const sqlite = db.$client
	const report: PurgeReport = { projects: 0, episodes: 0, logLines: 0, restoredMeanwhile: 0 }
	const episodes = (
		sqlite
			.prepare(
				`SELECT id FROM episodes WHERE (deleted_at IS NOT NULL AND deleted_at <= ?1)
				OR project_id IN (SELECT id FROM projects WHERE deleted_at IS NOT NULL AND deleted_at <= ?1)`,
			)
			.all(cutoff) as { id: number }[]
	).map((row) => row.id)
	const lastSequence = sqlite.prepare<{ last: number | null }, [number]>('SELECT max(sequence) AS last FROM log_entries WHERE episode_id = ?')
	const deleteLines = sqlite.prepare<never, [number, number, number, number]>(`DELETE FROM log_entries WHERE episode_id = ?1 AND sequence >= ?3 AND sequence < ?4 AND EXISTS ${EPISODE_DUE}`)
	const isDue = sqlite.prepare<{ due: number }, [number, number]>(`SELECT EXISTS ${EPISODE_DUE} AS due`)
	// the summary, parameters and their journal go with the row (ON DELETE CASCADE)
	const deleteEpisode = sqlite.prepare<never, [number, number]>(`DELETE FROM episodes WHERE id = ?1 AND EXISTS ${EPISODE_DUE}`)
	for (const episode of episodes) {
		const last = lastSequence.get(episode)?.last ?? -1
		for (let from = 0; from <= last; from += LINES_PER_TRANSACTION) {
			const removed = inTransaction(sqlite, () => (isDue.get(episode, cutoff)?.due ? deleteLines.run(episode, cutoff, from, from + LINES_PER_TRANSACTION).changes : -1))
			if (removed < 0) break
			report.logLines += removed
		}
		const gone = inTransaction(sqlite, () => deleteEpisode.run(episode, cutoff).changes)
		if (gone > 0) report.episodes += gone
		else report.restoredMeanwhile++
	}
	report.projects = inTransaction(
		sqlite,
		() => sqlite.prepare<never, [number]>('DELETE FROM projects WHERE deleted_at IS NOT NULL AND deleted_at <= ? AND NOT EXISTS (SELECT 1 FROM episodes WHERE project_id = projects.id)').run(cutoff).changes,
	)
	return report
}

function inTransaction<T>(sqlite: Database, work: () => T): T {
	sqlite.run('BEGIN IMMEDIATE')
	try {
		const result = work()
		sqlite.run('COMMIT')
		return result
	} catch (error) {
		sqlite.run('ROLLBACK')
		throw error
	}
}
