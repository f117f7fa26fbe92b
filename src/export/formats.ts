import type { RowBatch, TableColumn } from './table'

/**
 * Turns a table into bytes: the header once, then each batch (bytes, or nothing while it gathers a
 * row group), then the end. Bytes returned are a view of the encoder's own buffer, valid until its
 * next call: the export copies them into the response before it asks for more.
 */
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
 * needs more) and handed on as a view of it: building a batch as a string of `+=` pieces, then encoding
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

	/** The next number of `texts`. */
	number(texts: NumberTexts): void {
		if (this.at + MAX_NUMBER_TEXT > this.bytes.length) this.grow(MAX_NUMBER_TEXT)
		this.at = texts.copyNext(this.bytes, this.at)
	}

	/** One ASCII character. */
	char(code: number): void {
		if (this.at === this.bytes.length) this.grow(1)
		this.bytes[this.at++] = code
	}

	/** What was written since the last take, a view valid until the next write; the buffer starts over. */
	take(): Uint8Array {
		const taken = this.bytes.subarray(0, this.at)
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

/** The longest text JavaScript writes a float64 as (`-2.2250738585072014e-308`), and some. */
const MAX_NUMBER_TEXT = 32

/**
 * A batch's column of float64s as text, written by the engine in one `join` (each number as
 * `String` writes it: the shortest text that reads back exactly), then handed out a number at a
 * time. A string a value (`'' + value`) made 30 M short-lived strings of a 10 M-point export,
 * which grew the server's RSS by some 50 MB; one string a column a batch is a few.
 */
class NumberTexts {
	private bytes = new Uint8Array(64 * 1024)
	private at = 0

	/** Whether a batch's column is one this writes: float64s, as many as the batch's rows. */
	static fits(values: ArrayLike<unknown>, rows: number): values is Float64Array {
		return values instanceof Float64Array && values.length >= rows
	}

	load(values: Float64Array, rows: number): void {
		const text = values.subarray(0, rows).join(',')
		if (text.length + 1 > this.bytes.length) this.bytes = new Uint8Array(Math.max(this.bytes.length * 2, text.length + 1))
		const written = utf8.encodeInto(text, this.bytes).written
		this.bytes[written] = COMMA
		this.at = 0
	}

	/** Copies the next number's text into `into` at `at`; where it ends there. */
	copyNext(into: Uint8Array, at: number): number {
		const bytes = this.bytes
		let from = this.at
		for (let byte = bytes[from++]!; byte !== COMMA; byte = bytes[from++]!) into[at++] = byte
		this.at = from
		return at
	}
}

/** Per column, its NumberTexts when the batch's column is float64s, else undefined (written a value at a time). */
function numberTextsOf(values: ArrayLike<unknown>[], rows: number, texts: NumberTexts[]): (NumberTexts | undefined)[] {
	return values.map((column, c) => {
		if (!NumberTexts.fits(column, rows)) return undefined
		const columnTexts = (texts[c] ??= new NumberTexts())
		columnTexts.load(column, rows)
		return columnTexts
	})
}

export function csvEncoder(columns: TableColumn[]): TableEncoder {
	// null is JSON's, written as such in a json column; in any other it is no value, as absent
	const nulls = columns.map((c) => (c.kind === 'json' ? 'null' : ''))
	const out = new BatchBytes()
	const texts: NumberTexts[] = []
	return {
		header: () => utf8.encode(columns.map((c) => csvField(c.name)).join(',') + '\r\n'),
		add({ rows, values }) {
			const last = values.length - 1
			const numbers = numberTextsOf(values, rows, texts)
			for (let r = 0; r < rows; r++) {
				for (let c = 0; c <= last; c++) {
					const columnTexts = numbers[c]
					if (columnTexts) {
						out.number(columnTexts)
						if (c < last) out.char(COMMA)
						continue
					}
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
	const texts: NumberTexts[] = []
	return {
		header: () => undefined,
		add({ rows, values }) {
			const numbers = numberTextsOf(values, rows, texts)
			for (let r = 0; r < rows; r++) {
				let first = true
				for (let c = 0; c < keys.length; c++) {
					const columnTexts = numbers[c]
					if (columnTexts) {
						out.char(first ? 123 : COMMA)
						first = false
						out.write(keys[c]!)
						out.number(columnTexts)
						continue
					}
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
