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

/**
 * The bytes of a batch, written into one buffer kept for the whole export (grown when a batch
 * needs more) and handed on as one copy: building a batch as a string of `+=` pieces, then encoding
 * it, made several times its bytes of garbage, which sized the collector's heap to +90 MB.
 */
class BatchBytes {
	private bytes = new Uint8Array(256 * 1024)
	private at = 0

	/** `text`: its ASCII a byte at a time, the rest by the encoder. */
	write(text: string): void {
		const length = text.length
		if (this.at + length * 3 > this.bytes.length) this.grow(length * 3)
		const bytes = this.bytes
		let at = this.at
		for (let i = 0; i < length; i++) {
			const code = text.charCodeAt(i)
			if (code >= 0x80) {
				at += utf8.encodeInto(i === 0 ? text : text.slice(i), bytes.subarray(at)).written
				break
			}
			bytes[at++] = code
		}
		this.at = at
	}

	/** One ASCII character. */
	char(code: number): void {
		if (this.at === this.bytes.length) this.grow(1)
		this.bytes[this.at++] = code
	}

	/** What was written since the last take, as bytes of their own; the buffer starts over. */
	take(): Uint8Array {
		const taken = this.bytes.slice(0, this.at)
		this.at = 0
		return taken
	}

	private grow(needed: number): void {
		const bytes = new Uint8Array(Math.max(this.bytes.length * 2, this.at + needed))
		bytes.set(this.bytes.subarray(0, this.at))
		this.bytes = bytes
	}
}

const COMMA = 44
const CR = 13
const LF = 10

export function csvEncoder(columns: TableColumn[]): TableEncoder {
	// null is JSON's, written as such in a json column; in any other it is no value, as absent
	const nulls = columns.map((c) => (c.kind === 'json' ? 'null' : ''))
	const out = new BatchBytes()
	return {
		header: () => utf8.encode(columns.map((c) => csvField(c.name)).join(',') + '\r\n'),
		add({ rows, values }) {
			const last = values.length - 1
			for (let r = 0; r < rows; r++) {
				for (let c = 0; c <= last; c++) {
					const value = values[c]![r]
					if (typeof value === 'number') out.write('' + value)
					else out.write(value === null ? nulls[c]! : csvValue(value))
					if (c < last) out.char(COMMA)
				}
				out.char(CR)
				out.char(LF)
			}
			return out.take()
		},
		end: () => undefined,
	}
}

/** One JSON object a line; a row without a value in a column leaves its key out. */
export function ndjsonEncoder(columns: TableColumn[]): TableEncoder {
	const keys = columns.map((c) => JSON.stringify(c.name) + ':')
	const out = new BatchBytes()
	return {
		header: () => undefined,
		add({ rows, values }) {
			for (let r = 0; r < rows; r++) {
				let first = true
				for (let c = 0; c < keys.length; c++) {
					const value = values[c]![r]
					if (value === undefined) continue
					out.char(first ? 123 : COMMA) // '{' or ','
					first = false
					out.write(keys[c]!)
					out.write(typeof value === 'number' ? '' + value : JSON.stringify(value))
				}
				if (first) out.char(123)
				out.char(125) // '}'
				out.char(LF)
			}
			return out.take()
		},
		end: () => undefined,
	}
}

/** Plain text, one line a row as `line` writes it (a log line, say). */
export function textEncoder(line: (values: ArrayLike<unknown>[], row: number) => string): TableEncoder {
	const out = new BatchBytes()
	return {
		header: () => undefined,
		add({ rows, values }) {
			for (let r = 0; r < rows; r++) {
				out.write(line(values, r))
				out.char(LF)
			}
			return out.take()
		},
		end: () => undefined,
	}
}
