import { snappyCompressor } from 'hysnappy'
import { ByteWriter, ParquetWriter } from 'hyparquet-writer'
import type { TableEncoder } from './formats'
import type { RowBatch, TableColumn } from './table'
import { VERSION } from '../version'

/** Rows per row group: a group is held in memory while it is encoded (about 1 MB a number column). */
export const ROW_GROUP_ROWS = 131_072

/** A schema element as hyparquet-writer takes it (its types are hyparquet's, not re-exported). */
type Element = ConstructorParameters<typeof ParquetWriter>[0]['schema'][number]
/** A column's values as hyparquet-writer takes them: an array, or a typed array. */
type Values = Parameters<ParquetWriter['write']>[0]['columnData'][number]['data']

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
	const groups = columns.map((column) => new GroupColumn(column.kind))
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
			columnData: columns.map((column, c) => ({ name: column.name, data: groups[c]!.take(rows), ...(column.kind === 'int64' && { encoding: 'DELTA_BINARY_PACKED' as const }) })),
			rowGroupSize: rows,
		})
		rows = 0
	}
	return {
		header: () => undefined,
		add(batch: RowBatch) {
			for (let c = 0; c < columns.length; c++) groups[c]!.add(rows, batch.values[c]!, batch.rows)
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

/**
 * One column of the row group being gathered. Numbers go into a Float64Array kept from group to
 * group (a JavaScript array of them was a tenth of an export's time, and most of its garbage), with
 * a mask of the rows that have none; text into an array.
 */
class GroupColumn {
	private numbers = new Float64Array(ROW_GROUP_ROWS + 4096)
	private missing = new Uint8Array(ROW_GROUP_ROWS + 4096)
	private anyMissing = false
	private texts: (string | null)[] = []

	constructor(private readonly kind: TableColumn['kind']) {}

	/** Rows `0` to `count` of `values`, at row `at` of the group. */
	add(at: number, values: ArrayLike<unknown>, count: number): void {
		if (this.kind === 'string' || this.kind === 'json') {
			for (let r = 0; r < count; r++) this.texts.push(textOf(values[r]))
			return
		}
		if (at + count > this.numbers.length) this.grow(at + count)
		if (values instanceof Float64Array && values.length >= count) {
			this.numbers.set(count === values.length ? values : values.subarray(0, count), at)
			return
		}
		for (let r = 0; r < count; r++) {
			const value = values[r]
			if (typeof value === 'number') this.numbers[at + r] = value
			else {
				this.missing[at + r] = 1
				this.anyMissing = true
			}
		}
	}

	/** The group's `rows` values, as hyparquet-writer takes them (null where a row has none); the column starts over. */
	take(rows: number): Values {
		if (this.kind === 'string' || this.kind === 'json') {
			const texts = this.texts
			this.texts = []
			return texts
		}
		if (!this.anyMissing) return this.numbers.subarray(0, rows)
		const values: (number | null)[] = new Array(rows)
		for (let r = 0; r < rows; r++) values[r] = this.missing[r] ? null : this.numbers[r]!
		this.missing.fill(0, 0, rows)
		this.anyMissing = false
		return values
	}

	private grow(size: number): void {
		const numbers = new Float64Array(size * 2)
		numbers.set(this.numbers)
		const missing = new Uint8Array(size * 2)
		missing.set(this.missing)
		this.numbers = numbers
		this.missing = missing
	}
}
