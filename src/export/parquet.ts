import { snappyCompressor } from 'hysnappy'
import type { ColumnChunk, RowGroup, SchemaElement, Statistics } from 'hyparquet'
import { ByteWriter } from 'hyparquet-writer'
import { writePageHeader } from 'hyparquet-writer/src/datapage.js'
import { deltaBinaryPack } from 'hyparquet-writer/src/delta.js'
import { writeRleBitPackedHybrid } from 'hyparquet-writer/src/encoding.js'
import { writeMetadata } from 'hyparquet-writer/src/metadata.js'
import type { TableEncoder } from './formats'
import type { RowBatch, TableColumn } from './table'
import { VERSION } from '../version'

/** Rows per row group: a group is held in memory while it is encoded (about 1 MB a number column). */
export const ROW_GROUP_ROWS = 131_072
/** Rows per data page: a page is encoded in buffers kept from page to page (128 KiB a number column). */
const PAGE_ROWS = 16_384
/** "PAR1", the magic number at both ends of a Parquet file. */
const MAGIC = 0x31524150

const elementOf = ({ name, kind }: TableColumn): SchemaElement => {
	if (kind === 'int64') return { name, type: 'INT64', repetition_type: 'REQUIRED' }
	if (kind === 'float64') return { name, type: 'DOUBLE', repetition_type: 'OPTIONAL' }
	return { name, type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: 'OPTIONAL' }
}

let compress: ((input: Uint8Array) => Uint8Array) | undefined
/** Snappy in WebAssembly (hysnappy, its module inlined), made once: hyparquet-writer's own, in JavaScript, took 43% of an export. */
const snappy = () => (compress ??= snappyCompressor())

/** A value of a `string` or `json` column as Parquet UTF-8: strings as they are, other JSON as JSON text, absent (and null) as null. */
const textOf = (value: unknown): string | null => (value === undefined || value === null ? null : typeof value === 'string' ? value : JSON.stringify(value))

const utf8 = new TextEncoder()

/**
 * Parquet, a row group at a time: batches gather until a group is full, the group is encoded page
 * by page and its bytes handed on, and only the footer (the groups' offsets and statistics) grows
 * with the file. Numbers are DOUBLE (PLAIN), `int64` columns INT64 (DELTA_BINARY_PACKED), the rest
 * UTF-8 strings (PLAIN); data pages v2, Snappy-compressed. The pages are written here, into buffers
 * kept for the whole export, and hyparquet-writer's pieces write their headers, the delta encoding,
 * the levels and the footer: its ParquetWriter allocated several copies of every page (slices,
 * arrays of levels, buffers grown by doubling), which took a first Parquet download of 10 M points
 * to +220 MB of server RSS.
 */
export function parquetEncoder(columns: TableColumn[]): TableEncoder {
	const out = new ByteWriter(1 << 20)
	const pages = new PageBuffers()
	const schema: SchemaElement[] = [{ name: 'root', num_children: columns.length }, ...columns.map(elementOf)]
	const groups = columns.map((column) => new GroupColumn(column.kind))
	const rowGroups: RowGroup[] = []
	let rows = 0
	let fileRows = 0
	out.appendUint32(MAGIC)
	// the bytes written since the last take; the writer's offset keeps counting the whole file
	const take = (): Uint8Array | undefined => {
		if (out.index === 0) return undefined
		const bytes = out.getBytes()
		out.index = 0
		return bytes
	}
	const flush = () => {
		if (rows === 0) return
		const start = out.offset
		const chunks = columns.map((column, c) => writeColumnChunk(out, pages, column, schema[c + 1]!, groups[c]!, rows))
		for (const group of groups) group.clear(rows)
		rowGroups.push({ columns: chunks, total_byte_size: chunks.reduce((sum, chunk) => sum + chunk.meta_data!.total_uncompressed_size, 0n), num_rows: BigInt(rows), total_compressed_size: BigInt(out.offset - start) })
		fileRows += rows
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
			writeMetadata(out, { version: 2, created_by: `dreamlake-server ${VERSION}`, schema, num_rows: BigInt(fileRows), row_groups: rowGroups, metadata_length: 0 })
			out.appendUint32(MAGIC)
			return take()
		},
	}
}

/** The buffers a page is encoded in, kept from page to page: its definition levels (one a row), their encoding, its values. */
class PageBuffers {
	readonly definitions = new Uint8Array(PAGE_ROWS)
	readonly levels = new ByteWriter(4096)
	readonly values = new ByteWriter(PAGE_ROWS * 8 + 64)

	reset(): void {
		this.levels.index = this.levels.offset = 0
		this.values.index = this.values.offset = 0
	}
}

/** Min, max (NaN left out, zero as -0 and +0, as the format says), nulls and NaNs of the numbers written. */
class NumberStatistics {
	min = Infinity
	max = -Infinity
	nulls = 0
	nans = 0

	add(value: number): void {
		if (Number.isNaN(value)) this.nans++
		else {
			if (value < this.min) this.min = value
			if (value > this.max) this.max = value
		}
	}

	result(float: boolean): Statistics {
		const any = this.min <= this.max
		return {
			null_count: BigInt(this.nulls),
			...(any && { min_value: this.min === 0 ? -0 : this.min, max_value: this.max === 0 ? 0 : this.max }),
			...(float && { nan_count: BigInt(this.nans) }),
		}
	}
}

/** One column of a row group: its data pages, then its chunk's metadata for the footer. */
function writeColumnChunk(out: ByteWriter, pages: PageBuffers, column: TableColumn, element: SchemaElement, group: GroupColumn, rows: number): ColumnChunk {
	const fileOffset = out.offset
	const encoding = column.kind === 'int64' ? 'DELTA_BINARY_PACKED' : 'PLAIN'
	const statistics = new NumberStatistics()
	let uncompressed = 0
	let pageCount = 0
	for (let start = 0; start < rows; start += PAGE_ROWS) {
		const end = Math.min(rows, start + PAGE_ROWS)
		const count = end - start
		pages.reset()
		let nulls = 0
		if (column.kind === 'int64') {
			if (group.anyMissing) throw new Error(`the int64 column ${column.name} has a row without a value`)
			const values = group.numbers.subarray(start, end)
			for (let r = 0; r < count; r++) statistics.add(values[r]!)
			deltaBinaryPack(pages.values, values, 'INT64')
		} else {
			for (let r = 0; r < count; r++) {
				const present = group.present(start + r)
				pages.definitions[r] = present ? 1 : 0
				if (!present) nulls++
			}
			writeRleBitPackedHybrid(pages.levels, pages.definitions.subarray(0, count), 1)
			if (column.kind === 'float64') writeDoubles(pages.values, group, start, end, statistics)
			else writeTexts(pages.values, group.texts, start, end)
		}
		statistics.nulls += nulls
		const levels = pages.levels.getBytes()
		const compressed = snappy()(pages.values.getBytes())
		const headerStart = out.offset
		writePageHeader(out, {
			type: 'DATA_PAGE_V2',
			uncompressed_page_size: levels.length + pages.values.offset,
			compressed_page_size: levels.length + compressed.length,
			data_page_header_v2: { num_values: count, num_nulls: nulls, num_rows: count, encoding, definition_levels_byte_length: levels.length, repetition_levels_byte_length: 0, is_compressed: true },
		})
		uncompressed += out.offset - headerStart + levels.length + pages.values.offset
		out.appendBytes(levels)
		out.appendBytes(compressed)
		pageCount++
	}
	return {
		file_offset: BigInt(fileOffset),
		meta_data: {
			type: element.type!,
			encodings: [encoding],
			path_in_schema: [column.name],
			codec: 'SNAPPY',
			num_values: BigInt(rows),
			total_uncompressed_size: BigInt(uncompressed),
			total_compressed_size: BigInt(out.offset - fileOffset),
			data_page_offset: BigInt(fileOffset),
			// text columns go without min and max (optional in the format): their order is of UTF-8 bytes, not of JavaScript's strings
			statistics: column.kind === 'string' || column.kind === 'json' ? { null_count: BigInt(statistics.nulls) } : statistics.result(column.kind === 'float64'),
			encoding_stats: [{ page_type: 'DATA_PAGE_V2', encoding, count: pageCount }],
		},
	}
}

/** The present numbers of rows `start` to `end`, little-endian doubles. */
function writeDoubles(page: ByteWriter, group: GroupColumn, start: number, end: number, statistics: NumberStatistics): void {
	page.ensure((end - start) * 8)
	for (let r = start; r < end; r++) {
		if (!group.present(r)) continue
		const value = group.numbers[r]!
		statistics.add(value)
		page.view.setFloat64(page.index, value, true)
		page.index += 8
	}
	page.offset = page.index
}

/** The present texts of rows `start` to `end`, each its UTF-8 length then its bytes. */
function writeTexts(page: ByteWriter, texts: (string | null)[], start: number, end: number): void {
	for (let r = start; r < end; r++) {
		const text = texts[r]
		if (text === null || text === undefined) continue
		page.ensure(4 + text.length * 3)
		const { written } = utf8.encodeInto(text, new Uint8Array(page.buffer, page.index + 4))
		page.view.setUint32(page.index, written, true)
		page.index += 4 + written
	}
	page.offset = page.index
}

/**
 * One column of the row group being gathered, kept from group to group. Numbers go into a
 * Float64Array (a JavaScript array of them was a tenth of an export's time, and most of its
 * garbage), with a mask of the rows that have none; text into an array.
 */
class GroupColumn {
	numbers = new Float64Array(ROW_GROUP_ROWS + 4096)
	private missing = new Uint8Array(ROW_GROUP_ROWS + 4096)
	anyMissing = false
	texts: (string | null)[] = []

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

	/** Whether row `row` has a value. */
	present(row: number): boolean {
		if (this.kind === 'string' || this.kind === 'json') return this.texts[row] !== null
		return !this.anyMissing || this.missing[row] === 0
	}

	/** The group of `rows` rows was written: the column starts over. */
	clear(rows: number): void {
		this.texts = []
		if (!this.anyMissing) return
		this.missing.fill(0, 0, rows)
		this.anyMissing = false
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
