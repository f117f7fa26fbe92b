import type { DbMeter } from '../db/meter'
import { contentDisposition } from '../http/download'
import { invalidQuery } from '../http/errors'
import { describeError, type Logger } from '../log'
import { csvEncoder, ndjsonEncoder, textEncoder, type TableEncoder } from './formats'
import { parquetEncoder } from './parquet'
import type { TableColumn, TableSource } from './table'

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
 * Table exports as streamed responses. The body is pull-based: a batch of rows is read only when
 * the client has taken the bytes before it, so memory holds a batch (a Parquet row group), and a
 * client that goes away cancels the stream, which stops the reading at once. Each export ends with
 * one log line (`export`: what, format, rows, bytes, ms, outcome complete|cancelled|failed).
 */
export class TableExports {
	constructor(private readonly log: Logger) {}

	respond(meter: DbMeter, { format, source, filename, what, line }: ExportRequest): Response {
		const log = this.log
		const abort = new AbortController()
		const started = performance.now()
		let rows = 0
		let bytes = 0
		let encoder: TableEncoder | undefined
		let ended = false
		const end = (outcome: 'complete' | 'cancelled' | 'failed') => {
			if (ended) return
			ended = true
			log.info('export', { what, format, rows, bytes, ms: Math.round(performance.now() - started), outcome })
		}
		const body = new ReadableStream<Uint8Array>(
			{
				async pull(controller) {
					try {
						if (!encoder) {
							const columns = await source.columns(format === 'parquet', abort.signal)
							if (abort.signal.aborted) return
							encoder = encoderOf(format, columns, line)
							const head = encoder.header()
							if (head) {
								bytes += head.byteLength
								return controller.enqueue(head)
							}
						}
						for (;;) {
							const batch = source.next()
							if (!batch) {
								const tail = encoder.end()
								if (tail) controller.enqueue(tail)
								bytes += tail?.byteLength ?? 0
								controller.close()
								return end('complete')
							}
							rows += batch.rows
							const chunk = encoder.add(batch)
							if (chunk) {
								bytes += chunk.byteLength
								return controller.enqueue(chunk)
							}
						}
					} catch (error) {
						end('failed')
						log.error('export failed', { what, format, rows, ...describeError(error) })
						controller.error(error)
					}
				},
				cancel() {
					abort.abort()
					end('cancelled')
				},
			},
			// nothing is read ahead of the client: the next batch waits for a read
			{ highWaterMark: 0 },
		)
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

function encoderOf(format: ExportFormat, columns: TableColumn[], line?: (values: ArrayLike<unknown>[], row: number) => string): TableEncoder {
	if (format === 'csv') return csvEncoder(columns)
	if (format === 'ndjson') return ndjsonEncoder(columns)
	if (format === 'parquet') return parquetEncoder(columns)
	if (!line) throw new Error('a text export needs a line')
	return textEncoder(line)
}
