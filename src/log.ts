import { sqliteErrorOf } from './db/client'
import { DrizzleQueryError } from 'drizzle-orm/errors'
import { postgresErrorOf } from './db/postgres-errors'

export type LogLevel = 'debug' | 'info' | 'warn' | 'error'
export type LogFields = Record<string, unknown>

export interface Logger {
	debug(message: string, fields?: LogFields): void
	info(message: string, fields?: LogFields): void
	warn(message: string, fields?: LogFields): void
	error(message: string, fields?: LogFields): void
	/** The one line per HTTP request (http/operations.ts): `info`, msg "request", built without an object per request. */
	request(id: string, method: string, path: string, status: number, ms: number): void
	/** Writes out anything buffered. */
	flush(): void
}

export interface LoggerOptions {
	/** `json`: one object per line (for machines); `pretty`: aligned text (for a terminal). */
	format: 'json' | 'pretty'
	level?: LogLevel
	/** Where lines go; default: standard output, batched (see stdoutLines). */
	write?: (line: string, urgent: boolean) => void
}

const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 }

/** Printable ASCII but `"` and `\`: a string JSON writes as it is, between quotes. */
const PLAIN = /^[\x20\x21\x23-\x5b\x5d-\x7e]*$/
/** JSON.stringify for a string, without its cost for the plain ones every request line has. */
const jsonString = (value: string) => (PLAIN.test(value) ? `"${value}"` : JSON.stringify(value))

/**
 * Standard output, batched: a write per request line cost about a quarter of a small request's
 * time (bun run bench), so lines are gathered and written together at most 50 ms later, at once
 * when 64 KiB are waiting, and at once for warnings, errors, and when the process exits.
 */
function stdoutLines(): { write: (line: string, urgent: boolean) => void; flush: () => void } {
	// one growing string, not an array joined later: JavaScriptCore concatenates lazily (a rope) and
	// flattens it once, when it is written
	let pending = ''
	let timer: Timer | undefined
	const flush = () => {
		if (timer) clearTimeout(timer)
		timer = undefined
		if (pending === '') return
		const text = pending
		pending = ''
		process.stdout.write(text)
	}
	process.on('exit', flush)
	return {
		flush,
		write(line, urgent) {
			pending += line + '\n'
			if (urgent || pending.length >= 64 * 1024) flush()
			else timer ??= setTimeout(flush, 50).unref()
		},
	}
}

export function createLogger({ format, level = 'info', write }: LoggerOptions): Logger {
	const sink = write ? { write, flush() {} } : stdoutLines()
	const min = ORDER[level]
	// under load many lines share a millisecond: format its timestamp once
	let lastMs = 0
	let lastTime = ''
	const timestamp = () => {
		const now = Date.now()
		if (now !== lastMs) lastTime = new Date((lastMs = now)).toISOString()
		return lastTime
	}
	const emit = (lvl: LogLevel, message: string, fields?: LogFields) => {
		if (ORDER[lvl] < min) return
		const time = timestamp()
		const urgent = ORDER[lvl] >= ORDER.warn
		if (format === 'json') {
			// the same line JSON.stringify({ time, level, msg, ...fields }) gives, without building that object per request
			const rest = fields ? JSON.stringify(fields) : '{}'
			sink.write(`{"time":"${time}","level":"${lvl}","msg":${JSON.stringify(message)}${rest === '{}' ? '}' : `,${rest.slice(1)}`}`, urgent)
			return
		}
		const rest = fields
			? Object.entries(fields)
					.map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
					.join(' ')
			: ''
		sink.write(`${time} ${lvl.toUpperCase().padEnd(5)} ${message}${rest ? ' ' + rest : ''}`, urgent)
	}
	return {
		debug: (m, f) => emit('debug', m, f),
		info: (m, f) => emit('info', m, f),
		warn: (m, f) => emit('warn', m, f),
		error: (m, f) => emit('error', m, f),
		request(id, method, path, status, ms) {
			if (ORDER.info < min) return
			// the line emit() writes for info('request', { id, method, path, status, ms }), in the same key order
			if (format === 'json') {
				sink.write(`{"time":"${timestamp()}","level":"info","msg":"request","id":${jsonString(id)},"method":${jsonString(method)},"path":${jsonString(path)},"status":${status},"ms":${ms}}`, false)
			} else {
				sink.write(`${timestamp()} INFO  request id=${id} method=${method} path=${path} status=${status} ms=${ms}`, false)
			}
		},
		flush: sink.flush,
	}
}

/**
 * Enough of an error to find the fault: its class, the SQLite code or first line of the message,
 * and the one line of our code it came through. Never a stack trace, SQL text or parameters.
 */
export function describeError(error: unknown): LogFields {
	if (!(error instanceof Error)) return { error: typeof error }
	const where = error.stack
		?.split('\n')
		.find((line) => line.includes('/src/') && !line.includes('/src/db/meter.ts'))
		?.trim()
		.replace(/^at /, '')
	const sqlite = sqliteErrorOf(error)
	const postgres = postgresErrorOf(error)
	// a SQLite, PostgreSQL or drizzle message can quote the statement, its parameters or a row: log only the code
	const detail = sqlite
		? { sqlite: sqlite.code ?? 'unknown' }
		: postgres
			? { postgres: typeof postgres.errno === 'string' ? postgres.errno : postgres.code }
			: error instanceof DrizzleQueryError
				? { drizzle: error.cause instanceof Error ? error.cause.name : 'failed query' }
				: { message: error.message.split('\n')[0]!.slice(0, 200) }
	return { error: error.name, ...detail, ...(where && { where }) }
}
