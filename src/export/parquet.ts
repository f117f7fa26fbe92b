import { snappyCompressor } from 'hysnappy'
import { ByteWriter, ParquetWriter } from 'hyparquet-writer'
import type { TableEncoder } from './formats'
import type { RowBatch, TableColumn } from './table'
import { VERSION } from '../version'

/** Rows per row group: a group is held in memory while it is encoded (about 1 MB a number column). */
export const ROW_GROUP_ROWS = 131_072

/** A schema element as hyparquet-writer takes it (its types are hyparquet's, not re-exported). */
type Element = ConstructorParameters<typeof ParquetWriter>[0]['schema'][number]

const elementOf = ({ name, kind }: TableColumn): Element => {
	if (kind === 'int64') return { name, type: 'INT64', repetition_type: 'REQUIRED' }
	if (kind === 'float64') return { name, type: 'DOUBLE', repetition_type: 'OPTIONAL' }
	return { name, type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: 'OPTIONAL' }
}

let compress: ((input: Uint8Array) => Uint8Array) | undefined
/** Snappy in WebAssembly (hysnappy, its module inlined), made once: hyparquet-writer's own, in JavaScript, took 43% of an export. */
const snappy = () => (compress ??= snappyCompressor())

/** A value of a `string` or `json` column as Parquet UTF-8: strings as they are, other JSON as JSON text, absent (and null) as null. */
const textOf = (value: unknown): string | null => (value === undefined || value === null ? null : typeof value === 'string' ? value : JSON.stringify(value))

/**
 * Parquet, a row group at a time: batches gather until a group is full, the group is encoded and
 * its bytes handed on, and only the footer (the groups' offsets and statistics) grows with the
 * file. Numbers are DOUBLE, `int64` columns INT64, the rest UTF-8 strings; Snappy-compressed.
 */
export function parquetEncoder(columns: TableColumn[]): TableEncoder {
	const writer = new ByteWriter(1 << 20)
	const parquet = new ParquetWriter({
		writer,
		schema: [{ name: 'root', num_children: columns.length }, ...columns.map(elementOf)],
		compressors: { SNAPPY: snappy() },
		createdBy: `dreamlake-server ${VERSION}`,
	})
	let pending: unknown[][] = columns.map(() => [])
	let rows = 0
	// the bytes written since the last take; the writer's offset keeps counting the whole file
	const take = (): Uint8Array | undefined => {
		if (writer.index === 0) return undefined
		const bytes = writer.getBytes().slice()
		writer.index = 0
		return bytes
	}
	const flush = () => {
		if (rows === 0) return
		parquet.write({
			columnData: columns.map((column, c) => ({ name: column.name, data: pending[c]!, ...(column.kind === 'int64' && { encoding: 'DELTA_BINARY_PACKED' as const }) })),
			rowGroupSize: rows,
		})
		pending = columns.map(() => [])
		rows = 0
	}
	return {
		header: () => undefined,
		add(batch: RowBatch) {
			columns.forEach((column, c) => {
				const into = pending[c]!
				const values = batch.values[c]!
				if (column.kind === 'int64') for (let r = 0; r < batch.rows; r++) into.push(values[r])
				else if (column.kind === 'float64') for (let r = 0; r < batch.rows; r++) into.push(typeof values[r] === 'number' ? values[r] : null)
				else for (let r = 0; r < batch.rows; r++) into.push(textOf(values[r]))
			})
			rows += batch.rows
			if (rows < ROW_GROUP_ROWS) return undefined
			flush()
			return take()
		},
		end() {
			flush()
			parquet.finish()
			return take()
		},
	}
}
