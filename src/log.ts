import { sqliteErrorOf } from './db/client'

export type LogLevel = 'debug' | 'info' | 'warn' | 'error'
export type LogFields = Record<string, unknown>

export interface Logger {
	debug(message: string, fields?: LogFields): void
	info(message: string, fields?: LogFields): void
	warn(message: string, fields?: LogFields): void
	error(message: string, fields?: LogFields): void
}

export interface LoggerOptions {
	/** `json`: one object per line (for machines); `pretty`: aligned text (for a terminal). */
	format: 'json' | 'pretty'
	level?: LogLevel
	write?: (line: string) => void
}

const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 }

export function createLogger({ format, level = 'info', write = (line) => process.stdout.write(line + '\n') }: LoggerOptions): Logger {
	const min = ORDER[level]
	const emit = (lvl: LogLevel, message: string, fields?: LogFields) => {
		if (ORDER[lvl] < min) return
		const time = new Date().toISOString()
		if (format === 'json') {
			write(JSON.stringify({ time, level: lvl, msg: message, ...fields }))
			return
		}
		const rest = fields
			? Object.entries(fields)
					.map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
					.join(' ')
			: ''
		write(`${time} ${lvl.toUpperCase().padEnd(5)} ${message}${rest ? ' ' + rest : ''}`)
	}
	return {
		debug: (m, f) => emit('debug', m, f),
		info: (m, f) => emit('info', m, f),
		warn: (m, f) => emit('warn', m, f),
		error: (m, f) => emit('error', m, f),
	}
}

export const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {} }

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
	// a SQLite or drizzle message can quote the statement and its parameters: log only the code
	const detail = sqlite ? { sqlite: sqlite.code ?? 'unknown' } : { message: error.message.split('\n')[0]!.slice(0, 200) }
	return { error: error.name, ...detail, ...(where && { where }) }
}
