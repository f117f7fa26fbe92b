import type { DbMeter } from '../db/meter'
import { contentDisposition } from '../http/download'
import { invalidQuery } from '../http/errors'
import { describeError, type Logger } from '../log'
import { csvEncoder, ndjsonEncoder, textEncoder, type TableEncoder } from './formats'
import { parquetEncoder } from './parquet'
import { breather, type TableColumn, type TableSource } from './table'

export type { TableSource, TableColumn, RowBatch, ColumnKind } from './table'

export const EXPORT_FORMATS = {
	csv: { contentType: 'text/csv; charset=utf-8', extension: 'csv' },
	ndjson: { contentType: 'application/x-ndjson; charset=utf-8', extension: 'ndjson' },
	parquet: { contentType: 'application/vnd.apache.parquet', extension: 'parquet' },
	text: { contentType: 'text/plain; charset=utf-8', extension: 'txt' },
} as const
export type ExportFormat = keyof typeof EXPORT_FORMATS

/** `format=` among those a route offers (the first when absent), else a 422 naming them. */
export function formatParam<F extends ExportFormat>(raw: string | undefined, offered: readonly [F, ...F[]]): F {
	if (raw === undefined || raw === '') return offered[0]
	if (!(offered as readonly string[]).includes(raw)) throw invalidQuery('format', `must be one of ${offered.join(', ')}`)
	return raw as F
}

/** A file name made of `parts` that no file system or browser reads as a path: separators, control characters and dots in front replaced. */
export function safeFilename(parts: string[], format: ExportFormat): string {
	const stem = parts
		.join('-')
		.replace(/[\u0000-\u001f\u007f/\\:*?"<>|]/g, '_')
		.replace(/^\.+/, '_')
		.slice(0, 150)
	return `${stem || 'export'}.${EXPORT_FORMATS[format].extension}`
}

export interface ExportRequest {
	format: ExportFormat
	source: TableSource
	filename: string
	/** What is exported, for the log line: `track`, `logs`, `episodes`. */
	what: string
	/** For `text`: one row as a line. */
	line?: (values: ArrayLike<unknown>[], row: number) => string
}

/**
 * Table exports as streamed responses. The body is one of Bun's direct streams: each batch's bytes
 * go into the response's own buffer and the next batch is read only once the socket has taken
 * them, so memory holds a batch (a Parquet row group). An encoder writes every batch into one
 * buffer of its own: a fresh copy a batch, garbage freed only by the collector, took a CSV export
 * of 10 M points to +30 MB of RSS. A client that goes away cancels the stream, which stops the
 * reading at once. Each export ends with one log line (`export`: what, format, rows, bytes, ms,
 * outcome complete|cancelled|failed).
 */
export class TableExports {
	constructor(private readonly log: Logger) {}

	respond(meter: DbMeter, { format, source, filename, what, line }: ExportRequest): Response {
		const log = this.log
		const abort = new AbortController()
		const started = performance.now()
		let rows = 0
		let bytes = 0
		let ended = false
		const end = (outcome: 'complete' | 'cancelled' | 'failed') => {
			if (ended) return
			ended = true
			log.info('export', { what, format, rows, bytes, ms: Math.round(performance.now() - started), outcome })
		}
		const body = new ReadableStream({
			type: 'direct',
			async pull(controller) {
				const copy = !copiesWrites(controller)
				let unflushed = 0
				// into the response's buffer; past a slice of bytes, a wait until the socket has taken them (and other requests had a turn)
				const send = async (chunk: Uint8Array | undefined) => {
					if (!chunk || chunk.byteLength === 0) return
					bytes += chunk.byteLength
					unflushed += chunk.byteLength
					await controller.write(copy ? chunk.slice() : chunk)
					if (unflushed < FLUSH_BYTES) return
					unflushed = 0
					await controller.flush()
					await breather()
				}
				try {
					const columns = await source.columns(format === 'parquet', abort.signal)
					const encoder = encoderOf(format, columns, line)
					await send(encoder.header())
					for (let batch = source.next(); batch && !abort.signal.aborted; batch = source.next()) {
						rows += batch.rows
						await send(encoder.add(batch))
					}
					if (abort.signal.aborted) return
					await send(encoder.end())
					controller.close()
					end('complete')
				} catch (error) {
					if (abort.signal.aborted) return
					end('failed')
					log.error('export failed', { what, format, rows, ...describeError(error) })
					controller.close(error as Error)
				}
			},
			cancel() {
				abort.abort()
				end('cancelled')
			},
		})
		return new Response(body, {
			headers: {
				'content-type': EXPORT_FORMATS[format].contentType,
				'content-disposition': contentDisposition(filename),
				'cache-control': 'private, no-store',
				'x-content-type-options': 'nosniff',
				'server-timing': meter.serverTiming(),
			},
		})
	}
}

/** Bytes written between two waits for the socket: a few batches, so a fast client is not slowed by a wait a batch. */
const FLUSH_BYTES = 1 << 20

/**
 * Whether a direct stream's writes are copied where they go: Bun.serve's response sink copies them
 * into its buffer; the sinks of `.text()` and `.blob()` keep the bytes written, so a reused buffer
 * must be copied for them (and for any sink this does not recognise).
 */
function copiesWrites(controller: ReadableStreamDirectController): boolean {
	return Object.prototype.toString.call(controller) === '[object ReadableHTTPResponseSinkController]'
}

function encoderOf(format: ExportFormat, columns: TableColumn[], line?: (values: ArrayLike<unknown>[], row: number) => string): TableEncoder {
	if (format === 'csv') return csvEncoder(columns)
	if (format === 'ndjson') return ndjsonEncoder(columns)
	if (format === 'parquet') return parquetEncoder(columns)
	if (!line) throw new Error('a text export needs a line')
	return textEncoder(line)
}
