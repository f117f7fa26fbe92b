import type { DbMeter } from '../db/meter'
import type { TrackRow } from '../db/schema'
import { breather, type RowBatch, type TableColumn, type TableSource } from '../export/table'
import { columnValues, decodeChunk } from './codec'
import type { TrackRepository } from './repository'

export interface ExportWindow {
	startIndex: number
	/** Inclusive. */
	endIndex?: number
	/** `_ts` bounds, inclusive. */
	startTime?: number
	endTime?: number
	/** Only these keys, in this order. */
	keys?: string[]
}

/** Chunks the kinds pass reads before it yields to other requests. */
const KINDS_SLICE = 64

/**
 * A track's window as a table: `index` (int64), then one column per key, `_ts` first. A batch is
 * a chunk (4,096 points at most), read by a statement of its own that is closed before the rows are
 * handed on: nothing holds the connection while the client reads.
 */
export class TrackTable implements TableSource {
	private cursor: number
	private readonly to: number
	private readonly keys: string[]
	private readonly time?: { start: number; end: number }
	/** What is decoded of each chunk: the keys, and `_ts` for a window in time. */
	private readonly wanted: Set<string>
	/** The positions' column, kept from batch to batch: a batch is read before the next is asked for. */
	private index = new Float64Array(4096)

	constructor(
		private readonly repository: TrackRepository,
		private readonly meter: DbMeter,
		private readonly track: TrackRow,
		window: ExportWindow,
	) {
		this.cursor = window.startIndex
		this.to = Math.min(track.total, window.endIndex === undefined ? Infinity : window.endIndex + 1)
		const keys = window.keys ?? track.keys
		this.keys = [...new Set(keys.includes('_ts') ? ['_ts', ...keys] : keys)]
		if (window.startTime !== undefined || window.endTime !== undefined) this.time = { start: window.startTime ?? -Number.MAX_VALUE, end: window.endTime ?? Number.MAX_VALUE }
		this.wanted = new Set(this.time ? [...this.keys, '_ts'] : this.keys)
	}

	async columns(typed: boolean, signal: AbortSignal): Promise<TableColumn[]> {
		const names = columnNames(this.keys)
		if (!typed) return [{ name: 'index', kind: 'int64' }, ...this.keys.map((key, i) => ({ name: names[i]!, kind: 'json' as const }))]
		// a key is float64 when every chunk of the window stores it as numbers (or lacks it): the headers say, without a value parsed
		const kinds = new Map<string, boolean>()
		for (let from = this.cursor; from < this.to && !signal.aborted; ) {
			let read = 0
			let next = this.to
			for (const chunk of this.repository.chunks(this.meter, this.track.id, from, this.to, this.time)) {
				decodeChunk(chunk.data, EMPTY, kinds)
				if (++read === KINDS_SLICE) {
					next = chunk.startIndex + chunk.count
					break
				}
			}
			from = next
			await breather()
		}
		return [{ name: 'index', kind: 'int64' }, ...this.keys.map((key, i) => ({ name: names[i]!, kind: key === '_ts' || kinds.get(key) !== false ? ('float64' as const) : ('json' as const) }))]
	}

	/** The rows of the next chunk of the window that has any (a chunk's column as it is, where no `_ts` bound filters it). */
	next(): RowBatch | undefined {
		while (this.cursor < this.to) {
			let batch: RowBatch | undefined
			let next = this.to
			// one row of the statement, and it is closed (leaving the loop) before the rows are handed on
			for (const chunk of this.repository.chunks(this.meter, this.track.id, this.cursor, this.to, this.time)) {
				const decoded = decodeChunk(chunk.data, this.wanted)
				const from = Math.max(this.cursor - chunk.startIndex, 0)
				const upto = Math.min(decoded.count, this.to - chunk.startIndex)
				next = chunk.startIndex + upto
				batch = this.time ? this.inTime(decoded, chunk.startIndex, from, upto, this.time) : this.rows(decoded, chunk.startIndex, from, upto)
				break
			}
			this.cursor = next
			if (batch && batch.rows > 0) return batch
		}
		return undefined
	}

	/** Points `from` to `upto` of a chunk, each column sliced whole from the decoded one. */
	private rows(decoded: ReturnType<typeof decodeChunk>, startIndex: number, from: number, upto: number): RowBatch {
		if (this.index.length < upto - from) this.index = new Float64Array(upto - from)
		const index = this.index.subarray(0, upto - from)
		for (let i = from; i < upto; i++) index[i - from] = startIndex + i
		const values = this.keys.map((key) => {
			const column = decoded.columns.find((c) => c.key === key)
			if (!column) return NONE
			const all = column.present === null ? column.values : columnValues(decoded, key)!
			return from === 0 && upto === all.length ? all : all.slice(from, upto)
		})
		return { rows: upto - from, values: [index, ...values] }
	}

	/** The points of a chunk within the `_ts` bounds. */
	private inTime(decoded: ReturnType<typeof decodeChunk>, startIndex: number, from: number, upto: number, time: { start: number; end: number }): RowBatch {
		const columns = this.keys.map((key) => columnValues(decoded, key) ?? NONE)
		const ts = columnValues(decoded, '_ts') ?? NONE
		const index: number[] = []
		const values: unknown[][] = this.keys.map(() => [])
		for (let i = from; i < upto; i++) {
			const t = ts[i]
			if (typeof t !== 'number' || t < time.start || t > time.end) continue
			index.push(startIndex + i)
			for (let k = 0; k < columns.length; k++) values[k]!.push(columns[k]![i])
		}
		return { rows: index.length, values: [index, ...values] }
	}
}

/** The column of a key the chunk lacks: every row reads `undefined`. */
const NONE: readonly unknown[] = []

const EMPTY: ReadonlySet<string> = new Set()

/** Each key's column name: itself, but a key that is `index` (the position's column) or would then repeat one gets `_` appended. */
function columnNames(keys: string[]): string[] {
	const taken = new Set(['index'])
	return keys.map((key) => {
		let name = key
		while (taken.has(name)) name += '_'
		taken.add(name)
		return name
	})
}
