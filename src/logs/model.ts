import { t, type Static } from 'elysia'
import { invalidField } from '../http/errors'
import { checkKeys, METADATA_MAX_BYTES, Timestamp } from '../http/fields'

export const LEVELS = ['debug', 'info', 'warn', 'error', 'fatal'] as const
export type Level = (typeof LEVELS)[number]
/** What a level is stored as (log_entries.level), and the names read as each. */
const LEVEL_CODES: Record<string, number> = { debug: 0, info: 1, warn: 2, warning: 2, error: 3, fatal: 4, critical: 4 }

export const MAX_ENTRIES = 1000
export const MESSAGE_MAX_BYTES = 64 * 1024

const LogEntry = t.Object(
	{
		timestamp: t.String({ description: 'ISO 8601 with 0 to 6 fractional digits and Z or an offset', error: 'must be an ISO 8601 time string' }),
		level: t.String({ description: `${LEVELS.join(', ')} (critical is read as fatal, warning as warn)`, error: 'must be a string' }),
		message: t.String({ description: `At most ${MESSAGE_MAX_BYTES / 1024} KiB`, error: 'must be a string' }),
		metadata: t.Optional(t.Union([t.Record(t.String(), t.Unknown()), t.Null()], { error: 'must be a JSON object or null' })),
	},
	{ additionalProperties: false },
)

export const LogsAppend = t.Object(
	{ logs: t.Array(LogEntry, { minItems: 1, maxItems: MAX_ENTRIES, error: `must be a list of 1 to ${MAX_ENTRIES.toLocaleString('en-US')} log entries` }) },
	{ additionalProperties: false },
)
export type LogsAppend = Static<typeof LogsAppend>

export const LogsAppended = t.Object({ created: t.Number(), startSequence: t.Number(), endSequence: t.Number(), episodeId: t.String() })

export const LogLine = t.Object({
	sequenceNumber: t.Number(),
	timestamp: t.String({ description: 'ISO 8601 UTC with microseconds' }),
	level: t.Union([t.Literal('debug'), t.Literal('info'), t.Literal('warn'), t.Literal('error'), t.Literal('fatal')]),
	message: t.String(),
	metadata: t.Union([t.Record(t.String(), t.Unknown()), t.Null()]),
})
export type LogLine = Static<typeof LogLine>

export const LogPage = t.Object({
	logs: t.Array(LogLine),
	hasMore: t.Boolean({ description: 'More lines match past this page' }),
	nextSequence: t.Number({ description: 'Send as afterSequence to read on (-1 before the first line)' }),
})

export const LogStats = t.Object({
	totalLogs: t.Number(),
	levelCounts: t.Object(Object.fromEntries(LEVELS.map((level) => [level, t.Number()])) as Record<Level, ReturnType<typeof t.Number>>),
	firstLogAt: t.Union([Timestamp, t.Null()]),
	lastLogAt: t.Union([Timestamp, t.Null()]),
})

/** A stored line as the API answers it (GET …/logs, and the `logs` event). */
export const toLogLine = (sequence: number, row: LogRow): LogLine => ({
	sequenceNumber: sequence,
	timestamp: formatMicros(row.timestamp),
	level: levelName(row.level),
	message: row.message,
	metadata: row.metadata === null ? null : (JSON.parse(row.metadata) as Record<string, unknown>),
})

/** Message bytes at most that a `logs` event carries; past them it names the range only, to read with GET …/logs. */
export const EVENT_LINES_MAX_BYTES = 64 * 1024

/** A line as stored: level as its code, times in microseconds, metadata as JSON text. */
export interface LogRow {
	timestamp: number
	level: number
	message: string
	metadata: string | null
}

/** The level's code, or `undefined` for a name that is no level. Case does not matter. */
export function levelCode(name: string): number | undefined {
	return LEVEL_CODES[name] ?? LEVEL_CODES[name.toLowerCase()]
}

export const levelName = (code: number): Level => LEVELS[code] ?? 'info'

const ISO = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,6}))?([Zz]|[+-]\d{2}:?\d{2})$/

/** The last date-and-time-to-the-second parsed, and its epoch ms: lines of a batch mostly share it. */
let lastSecond = ''
let lastSecondMs = 0

/**
 * Microseconds since the epoch of an ISO 8601 time with 0 to 6 fractional digits and `Z` or an
 * offset; `undefined` when it is not one or names no real moment (February 30th, 25:00).
 */
export function parseMicros(text: string): number | undefined {
	const m = ISO.exec(text)
	if (!m) return undefined
	const second = text.slice(0, 19)
	let ms: number
	if (second === lastSecond) {
		ms = lastSecondMs
	} else {
		const [year, month, day, hour, minute, sec] = [m[1], m[2], m[3], m[4], m[5], m[6]].map(Number) as [number, number, number, number, number, number]
		const date = new Date(0)
		date.setUTCFullYear(year, month - 1, day) // not Date.UTC, which reads the years 0-99 as 1900-1999
		date.setUTCHours(hour, minute, sec, 0)
		if (date.getUTCFullYear() !== year || date.getUTCMonth() !== month - 1 || date.getUTCDate() !== day || hour > 23 || minute > 59 || sec > 59) return undefined
		ms = date.getTime()
		lastSecond = second
		lastSecondMs = ms
	}
	const fraction = m[7] ? Number(m[7].padEnd(6, '0')) : 0
	const zone = m[8]!
	let offsetMinutes = 0
	if (zone !== 'Z' && zone !== 'z') {
		const digits = zone.replace(':', '')
		const hours = Number(digits.slice(1, 3))
		const minutes = Number(digits.slice(3, 5))
		if (hours > 23 || minutes > 59) return undefined
		offsetMinutes = (zone[0] === '-' ? -1 : 1) * (hours * 60 + minutes)
	}
	const micros = (ms - offsetMinutes * 60_000) * 1000 + fraction
	// past 2^53 µs (June 2255) a number would round it: another time stored than the one sent
	return Number.isSafeInteger(micros) ? micros : undefined
}

/** `2026-08-12T10:30:00.123456Z`: ISO 8601 UTC with the microseconds kept. */
export function formatMicros(micros: number): string {
	const ms = Math.floor(micros / 1000)
	const rest = micros - ms * 1000
	const iso = new Date(ms).toISOString() // …SS.mmmZ
	return `${iso.slice(0, -1)}${String(rest).padStart(3, '0')}Z`
}

/** The rows to store for a batch, or a 422 naming the first bad entry's field (`logs.3.level`). */
export function logRows(body: LogsAppend): LogRow[] {
	const rows: LogRow[] = new Array(body.logs.length)
	for (let i = 0; i < body.logs.length; i++) {
		const entry = body.logs[i]!
		const timestamp = parseMicros(entry.timestamp)
		if (timestamp === undefined) throw invalidField(`logs.${i}.timestamp`, 'must be an ISO 8601 time with 0 to 6 fractional digits and Z or an offset, such as 2026-08-12T10:30:00.123456Z')
		const level = levelCode(entry.level)
		if (level === undefined) throw invalidField(`logs.${i}.level`, `must be one of ${LEVELS.join(', ')}`)
		// a string of n UTF-16 units is at most 3n bytes of UTF-8: most messages need no count
		if (entry.message.length * 3 > MESSAGE_MAX_BYTES && Buffer.byteLength(entry.message, 'utf8') > MESSAGE_MAX_BYTES) {
			throw invalidField(`logs.${i}.message`, `must be at most ${MESSAGE_MAX_BYTES / 1024} KiB`)
		}
		rows[i] = { timestamp, level, message: entry.message, metadata: metadataJson(entry.metadata, `logs.${i}.metadata`) }
	}
	return rows
}

function metadataJson(metadata: Record<string, unknown> | null | undefined, field: string): string | null {
	if (metadata === undefined || metadata === null) return null
	const json = JSON.stringify(metadata)
	if (json.length * 3 > METADATA_MAX_BYTES && Buffer.byteLength(json, 'utf8') > METADATA_MAX_BYTES) {
		throw invalidField(field, `must be at most ${METADATA_MAX_BYTES / 1024} KiB as JSON`)
	}
	checkKeys(metadata, field)
	return json
}
