import { t, type Static } from 'elysia'
import { formatRowId } from '../db/ids'
import type { ParametersRow } from '../db/schema'
import { invalidField } from '../http/errors'
import { FORBIDDEN_KEYS, hasControlCharacters, iso, MadeBy, Timestamp } from '../http/fields'

export const KEY_MAX_LENGTH = 255
export const MAX_KEYS = 10_000
export const VALUE_MAX_BYTES = 64 * 1024
/** The whole merged set, as JSON: each merge rewrites it, so it must stay a size a merge can afford. */
export const DATA_MAX_BYTES = 16 * 1024 * 1024
const MAX_DEPTH = 64

export const ParametersMerge = t.Object(
	{ data: t.Record(t.String(), t.Unknown(), { error: 'must be a JSON object', description: 'Nested objects are flattened to dot keys: {"model": {"lr": 0.1}} is model.lr' }) },
	{ additionalProperties: false },
)
export type ParametersMerge = Static<typeof ParametersMerge>

const Flat = t.Record(t.String(), t.Unknown(), { description: 'Every key set so far, flattened to dot keys' })

export const ParametersResponse = t.Object({
	id: t.String(),
	episodeId: t.String(),
	data: Flat,
	version: t.Number({ description: 'Writes so far, from 1' }),
	createdAt: Timestamp,
	updatedAt: Timestamp,
})

export const ParametersHistory = t.Object({
	entries: t.Array(
		t.Object({
			version: t.Number(),
			patch: t.Record(t.String(), t.Unknown(), { description: 'The keys this write changed, with their new values' }),
			createdAt: Timestamp,
			createdBy: MadeBy,
		}),
	),
	hasMore: t.Boolean(),
})

/**
 * `data` flattened to dot keys (nested objects only; arrays are values), each key and value
 * within its limit; else a 422 naming the offending key.
 */
export function flattenParameters(data: Record<string, unknown>): Map<string, unknown> {
	const flat = new Map<string, unknown>()
	const visit = (object: Record<string, unknown>, prefix: string, depth: number) => {
		if (depth > MAX_DEPTH) throw invalidField('data', `must not nest deeper than ${MAX_DEPTH} levels`)
		for (const [name, value] of Object.entries(object)) {
			const key = prefix === '' ? name : `${prefix}.${name}`
			if (name === '' || hasControlCharacters(name) || FORBIDDEN_KEYS.has(name)) throw invalidField(`data.${key}`, 'is not a usable key (empty, a control character, or a reserved name)')
			if (key.length > KEY_MAX_LENGTH) throw invalidField(`data.${key.slice(0, 40)}…`, `is a key longer than ${KEY_MAX_LENGTH} characters`)
			if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
				visit(value as Record<string, unknown>, key, depth + 1)
				continue
			}
			const json = JSON.stringify(value)
			if (json.length * 3 > VALUE_MAX_BYTES && Buffer.byteLength(json, 'utf8') > VALUE_MAX_BYTES) throw invalidField(`data.${key}`, `must be at most ${VALUE_MAX_BYTES / 1024} KiB as JSON`)
			flat.set(key, value)
		}
	}
	visit(data, '', 1)
	return flat
}

export const toParametersResponse = (row: ParametersRow) => ({
	id: formatRowId(row.id),
	episodeId: formatRowId(row.episodeId),
	data: row.data,
	version: row.version,
	createdAt: iso(row.createdAt),
	updatedAt: iso(row.updatedAt),
})
