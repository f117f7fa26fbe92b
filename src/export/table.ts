/**
 * What every export streams: a table read a bounded batch of rows at a time, column by column.
 * A feature's export builds a TableSource over its own reads; src/export/index.ts turns it into a
 * pull-based response body in the format asked for.
 */

/**
 * How a column's values are written: `int64` and `float64` numbers, `string` text, `json` any
 * JSON value (strings as they are, anything else as JSON text where the format has no JSON).
 */
export type ColumnKind = 'int64' | 'float64' | 'string' | 'json'

export interface TableColumn {
	name: string
	kind: ColumnKind
}

/** Rows `values[column][row]`; `undefined` or `null` (or past a column's end): the row has no value there. Read before the next batch is asked for: a source may reuse its arrays. */
export interface RowBatch {
	rows: number
	values: ArrayLike<unknown>[]
}

export interface TableSource {
	/**
	 * The columns. `typed` asks for their kinds as the data has them (a Parquet schema is fixed
	 * before its first row), which may read the rows once, a slice at a time, stopping when
	 * `signal` is aborted; untyped, a value column may say `json`.
	 */
	columns(typed: boolean, signal: AbortSignal): TableColumn[] | Promise<TableColumn[]>
	/** The next rows (a bounded batch, read synchronously when asked), or undefined at the end. */
	next(): RowBatch | undefined
}

/** Yields to the event loop between slices of a long synchronous read. */
export const breather = () => new Promise<void>((resolve) => setImmediate(resolve))
