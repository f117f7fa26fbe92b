import type { RowBatch, TableColumn } from './table'

/** Turns a table into bytes: the header once, then each batch (bytes, or nothing while it gathers a row group), then the end. */
export interface TableEncoder {
	header(): Uint8Array | undefined
	add(batch: RowBatch): Uint8Array | undefined
	end(): Uint8Array | undefined
}

const utf8 = new TextEncoder()
const NEEDS_QUOTES = /[",\r\n]/

/** A CSV field (RFC 4180): quoted when it holds a comma, quote or line break, quotes doubled. */
export function csvField(text: string): string {
	return NEEDS_QUOTES.test(text) ? `"${text.replaceAll('"', '""')}"` : text
}

/** A value as CSV text: absent is empty, an empty string `""`, numbers as JavaScript writes them (shortest exact), strings as they are, other JSON as JSON text. */
function csvValue(value: unknown): string {
	if (value === undefined) return ''
	if (typeof value === 'number') return String(value)
	if (typeof value === 'string') return value === '' ? '""' : csvField(value)
	return csvField(JSON.stringify(value))
}

export function csvEncoder(columns: TableColumn[]): TableEncoder {
	// null is JSON's, written as such in a json column; in any other it is no value, as absent
	const nulls = columns.map((c) => (c.kind === 'json' ? 'null' : ''))
	const field = (value: unknown, c: number) => (typeof value === 'number' ? '' + value : value === null ? nulls[c]! : csvValue(value))
	return {
		header: () => utf8.encode(columns.map((c) => csvField(c.name)).join(',') + '\r\n'),
		add({ rows, values }) {
			let out = ''
			const last = values.length - 1
			for (let r = 0; r < rows; r++) {
				for (let c = 0; c < last; c++) out += field(values[c]![r], c) + ','
				out += field(values[last]![r], last) + '\r\n'
			}
			return utf8.encode(out)
		},
		end: () => undefined,
	}
}

/** One JSON object a line; a row without a value in a column leaves its key out. */
export function ndjsonEncoder(columns: TableColumn[]): TableEncoder {
	const keys = columns.map((c) => JSON.stringify(c.name) + ':')
	return {
		header: () => undefined,
		add({ rows, values }) {
			let out = ''
			for (let r = 0; r < rows; r++) {
				let line = ''
				for (let c = 0; c < keys.length; c++) {
					const value = values[c]![r]
					if (value === undefined) continue
					line += (line === '' ? '{' : ',') + keys[c] + (typeof value === 'number' ? String(value) : JSON.stringify(value))
				}
				out += (line === '' ? '{}' : line + '}') + '\n'
			}
			return utf8.encode(out)
		},
		end: () => undefined,
	}
}

/** Plain text, one line a row as `line` writes it (a log line, say). */
export function textEncoder(line: (values: ArrayLike<unknown>[], row: number) => string): TableEncoder {
	return {
		header: () => undefined,
		add({ rows, values }) {
			let out = ''
			for (let r = 0; r < rows; r++) out += line(values, r) + '\n'
			return utf8.encode(out)
		},
		end: () => undefined,
	}
}
