import type { Database } from 'bun:sqlite'
import type { Db } from './client'

export interface PurgeReport {
	/** Teams, each with everything in it. */
	namespaces: number
	projects: number
	episodes: number
	logLines: number
	tracks: number
	trackChunks: number
	/** Rows of files; their bytes are freed by the sweep of unreferenced bytes (files/sweep.ts). */
	files: number
	/** Episodes restored while this ran: kept, with whatever lines were not removed yet. */
	restoredMeanwhile: number
}

/** Log lines removed per transaction: short enough that a running server's writes never wait long. */
const LINES_PER_TRANSACTION = 10_000
/** Track chunks (up to 4,096 points each) removed per transaction, for the same reason. */
const CHUNKS_PER_TRANSACTION = 64

/** An episode due for purging: deleted at or before ?2, or in a project that was. */
const EPISODE_DUE = `(SELECT 1 FROM episodes e WHERE e.id = ?1 AND (
	(e.deleted_at IS NOT NULL AND e.deleted_at <= ?2)
	OR e.project_id IN (SELECT id FROM projects WHERE deleted_at IS NOT NULL AND deleted_at <= ?2)))`

/**
 * Removes for good what was deleted at or before `cutoff` (epoch ms): deleted teams and deleted projects with
 * everything in them, deleted episodes with their logs, parameters, tracks and files, deleted
 * tracks with their points, and deleted files' rows (their bytes go with `sweepUnreferenced`). Each step is a short
 * transaction that checks again that its episode is still due, so it runs beside a live server
 * (which keeps only live projects and episodes in memory) without holding the write lock for long.
 */
export function purgeDeleted(db: Db, cutoff: number): PurgeReport {
	const sqlite = db.$client
	const report: PurgeReport = { namespaces: 0, projects: 0, episodes: 0, logLines: 0, tracks: 0, trackChunks: 0, files: 0, restoredMeanwhile: 0 }
	// a team deleted before the cutoff goes the way of its projects, deleted with it: each project is
	// then purged below in short transactions, and the team last, once nothing is left in it
	const teams = (sqlite.prepare('SELECT id FROM namespaces WHERE deleted_at IS NOT NULL AND deleted_at <= ?').all(cutoff) as { id: string }[]).map((row) => row.id)
	const withTeam = sqlite.prepare<never, [string, number]>(
		`UPDATE projects SET deleted_at = (SELECT deleted_at FROM namespaces WHERE id = ?1)
		WHERE namespace_id = ?1 AND deleted_at IS NULL AND EXISTS (SELECT 1 FROM namespaces WHERE id = ?1 AND deleted_at IS NOT NULL AND deleted_at <= ?2)`,
	)
	for (const team of teams) inTransaction(sqlite, () => withTeam.run(team, cutoff))
	purgeTracks(sqlite, cutoff, report)
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
	// the summary, parameters, their journal and the files' rows go with the row (ON DELETE CASCADE)
	const deleteEpisode = sqlite.prepare<never, [number, number]>(`DELETE FROM episodes WHERE id = ?1 AND EXISTS ${EPISODE_DUE}`)
	const filesOf = sqlite.prepare<{ n: number }, [number]>('SELECT count(*) AS n FROM files WHERE episode_id = ?')
	for (const episode of episodes) {
		const last = lastSequence.get(episode)?.last ?? -1
		for (let from = 0; from <= last; from += LINES_PER_TRANSACTION) {
			const removed = inTransaction(sqlite, () => (isDue.get(episode, cutoff)?.due ? deleteLines.run(episode, cutoff, from, from + LINES_PER_TRANSACTION).changes : -1))
			if (removed < 0) break
			report.logLines += removed
		}
		const gone = inTransaction(sqlite, () => {
			const files = filesOf.get(episode)!.n
			const changes = deleteEpisode.run(episode, cutoff).changes
			if (changes > 0) report.files += files
			return changes
		})
		if (gone > 0) report.episodes += gone
		else report.restoredMeanwhile++
	}
	// files deleted on their own, in episodes that live on
	report.files += inTransaction(sqlite, () => sqlite.prepare<never, [number]>('DELETE FROM files WHERE deleted_at IS NOT NULL AND deleted_at <= ?').run(cutoff).changes)
	report.projects = inTransaction(
		sqlite,
		() => sqlite.prepare<never, [number]>('DELETE FROM projects WHERE deleted_at IS NOT NULL AND deleted_at <= ? AND NOT EXISTS (SELECT 1 FROM episodes WHERE project_id = projects.id)').run(cutoff).changes,
	)
	// its members go with it (ON DELETE CASCADE)
	report.namespaces = inTransaction(
		sqlite,
		() => sqlite.prepare<never, [number]>("DELETE FROM namespaces WHERE kind = 'team' AND deleted_at IS NOT NULL AND deleted_at <= ? AND NOT EXISTS (SELECT 1 FROM projects WHERE namespace_id = namespaces.id)").run(cutoff).changes,
	)
	return report
}

/** A track due for purging: deleted at or before ?2, or under an episode that is due. */
const TRACK_DUE = `(SELECT 1 FROM tracks t WHERE t.id = ?1 AND (
	(t.deleted_at IS NOT NULL AND t.deleted_at <= ?2)
	OR EXISTS ${EPISODE_DUE.replace('e.id = ?1', 'e.id = t.episode_id')}))`

/** Tracks deleted (or under episodes deleted) before the cutoff, their chunks a few at a time first. */
function purgeTracks(sqlite: Database, cutoff: number, report: PurgeReport): void {
	const due = (
		sqlite
			.prepare(
				`SELECT t.id FROM tracks t JOIN episodes e ON e.id = t.episode_id
				WHERE (t.deleted_at IS NOT NULL AND t.deleted_at <= ?1) OR (e.deleted_at IS NOT NULL AND e.deleted_at <= ?1)
				OR e.project_id IN (SELECT id FROM projects WHERE deleted_at IS NOT NULL AND deleted_at <= ?1)`,
			)
			.all(cutoff) as { id: number }[]
	).map((row) => row.id)
	const nextChunks = sqlite.prepare<{ startIndex: number }, [number, number]>('SELECT start_index AS startIndex FROM track_chunks WHERE track_id = ? ORDER BY start_index LIMIT 1 OFFSET ?')
	const deleteChunks = sqlite.prepare<never, [number, number, number]>(`DELETE FROM track_chunks WHERE track_id = ?1 AND start_index < ?3 AND EXISTS ${TRACK_DUE}`)
	const deleteTrack = sqlite.prepare<never, [number, number]>(`DELETE FROM tracks WHERE id = ?1 AND EXISTS ${TRACK_DUE}`)
	for (const track of due) {
		for (;;) {
			const bound = nextChunks.get(track, CHUNKS_PER_TRANSACTION)?.startIndex ?? Number.MAX_SAFE_INTEGER
			const removed = inTransaction(sqlite, () => deleteChunks.run(track, cutoff, bound).changes)
			report.trackChunks += removed
			if (removed === 0 || bound === Number.MAX_SAFE_INTEGER) break
		}
		report.tracks += inTransaction(sqlite, () => deleteTrack.run(track, cutoff).changes)
	}
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
