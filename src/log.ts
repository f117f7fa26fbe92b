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
