import type { DbMeter } from '../db/meter'
import type { RowBatch, TableColumn, TableSource } from '../export/table'
import { formatMicros, levelName } from './model'
import type { LogQuery, LogRepository } from './repository'

/** Lines a batch reads: one statement, a page in sequence order from the last one read. */
const BATCH_LINES = 2000

const COLUMNS: TableColumn[] = [
	{ name: 'sequenceNumber', kind: 'int64' },
	{ name: 'timestamp', kind: 'string' },
	{ name: 'level', kind: 'string' },
	{ name: 'message', kind: 'string' },
	{ name: 'metadata', kind: 'json' },
]

/**
 * An episode's log lines (the filters of GET …/logs) as a table, the fields a line of the logs
 * page has, read a page at a time from the last sequence read: a keyset, so lines appended
 * meanwhile join the end and none is read twice.
 */
export class LogTable implements TableSource {
	private after: number | undefined
	private done = false

	constructor(
		private readonly repository: LogRepository,
		private readonly meter: DbMeter,
		private readonly episodeId: number,
		private readonly query: Omit<LogQuery, 'limit'>,
	) {
		this.after = query.afterSequence
	}

	columns(): TableColumn[] {
		return COLUMNS
	}

	next(): RowBatch | undefined {
		if (this.done) return undefined
		const rows = this.repository.read(this.meter, this.episodeId, { ...this.query, afterSequence: this.after, limit: BATCH_LINES })
		if (rows.length < BATCH_LINES) this.done = true
		if (rows.length === 0) return undefined
		this.after = rows[rows.length - 1]!.sequence
		return {
			rows: rows.length,
			values: [
				rows.map((row) => row.sequence),
				rows.map((row) => formatMicros(row.timestamp)),
				rows.map((row) => levelName(row.level)),
				rows.map((row) => row.message),
				rows.map((row) => (row.metadata === null ? null : (JSON.parse(row.metadata) as unknown))),
			],
		}
	}
}

/** A line of the text export: time, level, message, and the metadata as JSON when there is any. */
export function logTextLine(values: ArrayLike<unknown>[], row: number): string {
	const metadata = values[4]![row]
	return `${values[1]![row]} ${String(values[2]![row]).toUpperCase().padEnd(5)} ${values[3]![row]}${metadata === null || metadata === undefined ? '' : ` ${JSON.stringify(metadata)}`}`
}
