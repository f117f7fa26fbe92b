import { t } from 'elysia'
import type { TLiteral, TUnion } from '@sinclair/typebox'
import { invalidField } from './errors'

/**
 * Field rules that several features share (projects, episodes, logs, the profile): one schema and
 * one check each, so a limit cannot differ from one route to the next.
 */

export const METADATA_MAX_BYTES = 16 * 1024
export const METADATA_MAX_DEPTH = 20
export const DESCRIPTION_MAX_LENGTH = 10_000
export const TAGS_MAX = 100
export const TAG_MAX_LENGTH = 100
/** Keys that turn into prototype pollution in careless JavaScript consumers of the data. */
export const FORBIDDEN_KEYS: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype'])
/** C0 control characters and DEL: never in a name, tag, key or anything else shown as one line. */
const CONTROL = /[\u0000-\u001f\u007f]/
const CONTROLS = /[\u0000-\u001f\u007f]/g
export const hasControlCharacters = (text: string) => CONTROL.test(text)
export const withoutControlCharacters = (text: string) => text.replace(CONTROLS, '')

export const Metadata = t.Record(t.String(), t.Unknown(), { description: `A JSON object of at most ${METADATA_MAX_BYTES / 1024} KiB`, error: 'must be a JSON object' })
export const Description = t.Union([t.String({ maxLength: DESCRIPTION_MAX_LENGTH }), t.Null()], {
	description: `At most ${DESCRIPTION_MAX_LENGTH} characters, or null`,
	error: `must be a string of at most ${DESCRIPTION_MAX_LENGTH} characters, or null`,
})
export const Tags = t.Array(t.String({ minLength: 1, maxLength: TAG_MAX_LENGTH }), {
	maxItems: TAGS_MAX,
	description: `At most ${TAGS_MAX} tags of 1 to ${TAG_MAX_LENGTH} characters`,
	error: `must be a list of at most ${TAGS_MAX} strings of 1 to ${TAG_MAX_LENGTH} characters`,
})
export const Timestamp = t.String({ description: 'ISO 8601 UTC' })

/**
 * One of some strings: a union of literals, not t.UnionEnum, which Elysia gives a default (its first
 * value) and fills into a body that left the field out (a PATCH without `status` set it to "running").
 */
export const oneOf = <const T extends readonly [string, ...string[]]>(values: T, options: { description?: string } = {}) =>
	t.Union(values.map((value) => t.Literal(value)), { error: `must be one of ${values.join(', ')}`, ...options }) as unknown as TUnion<{ -readonly [K in keyof T]: TLiteral<T[K]> }>

/** Who made a row, as its columns keep it (db/schema/data.ts, madeBy). */
export interface MadeByColumns {
	createdBy: string | null
	createdByName: string | null
	createdByKey: string | null
	createdByKeyName: string | null
}

/** Who made it: a person, with an API key's id and name when one acted for them; null before anyone was recorded. */
export const MadeBy = t.Union(
	[t.Object({ id: t.Union([t.String(), t.Null()]), username: t.Union([t.String(), t.Null()]), key: t.Union([t.Object({ id: t.String(), name: t.Union([t.String(), t.Null()]) }), t.Null()]) }), t.Null()],
	{ description: 'Who made it: the person (their username then), and the API key that acted for them, if one did' },
)

export const toMadeBy = (row: MadeByColumns) =>
	row.createdBy === null && row.createdByName === null && row.createdByKey === null
		? null
		: { id: row.createdBy, username: row.createdByName, key: row.createdByKey === null ? null : { id: row.createdByKey, name: row.createdByKeyName } }

/** What a soft delete answers: the row's id and when it was deleted (restorable until purged). */
export const DeletedResponse = t.Object({ id: t.String(), deletedAt: Timestamp })

/** A JSON object of at most 16 KiB, 20 levels deep, without prototype-polluting keys; else a 422 naming `field`. */
export function checkMetadata(metadata: Record<string, unknown>, field = 'metadata'): void {
	if (Buffer.byteLength(JSON.stringify(metadata), 'utf8') > METADATA_MAX_BYTES) {
		throw invalidField(field, `must be at most ${METADATA_MAX_BYTES / 1024} KiB as JSON`)
	}
	checkKeys(metadata, field)
}

/** No key anywhere in `value` is `__proto__`, `constructor` or `prototype`, and it nests at most 20 levels. */
export function checkKeys(value: unknown, field: string, depth = 1): void {
	if (value === null || typeof value !== 'object') return
	if (depth > METADATA_MAX_DEPTH) throw invalidField(field, `must not nest deeper than ${METADATA_MAX_DEPTH} levels`)
	for (const [key, child] of Object.entries(value)) {
		if (FORBIDDEN_KEYS.has(key)) throw invalidField(field, `must not use the key "${key}"`)
		checkKeys(child, field, depth + 1)
	}
}

/** Tags without control characters, each once, in the order given. */
export function cleanTags(tags: string[], field = 'tags'): string[] {
	for (const tag of tags) if (CONTROL.test(tag) || tag.trim() === '') throw invalidField(field, 'must hold visible characters and no control characters')
	return [...new Set(tags)]
}

/** What projects, episodes, tracks and files each carry besides their own fields. */
export interface Described {
	description?: string | null
	tags?: string[]
	metadata?: Record<string, unknown>
}

/** The description, tags and metadata a body sends, checked (tags cleaned, metadata's size and keys); those left out stay out. */
export function describedFields(body: Described): Described {
	const fields: Described = {}
	if (body.description !== undefined) fields.description = body.description
	if (body.tags !== undefined) fields.tags = cleanTags(body.tags)
	if (body.metadata !== undefined) {
		checkMetadata(body.metadata)
		fields.metadata = body.metadata
	}
	return fields
}

export const isCleanName = (value: string) => !CONTROL.test(value) && value.trim() !== ''

/** A name people read: visible characters, no control characters; else a 422 naming `field`. */
export function checkName(value: string, field: string): string {
	if (!isCleanName(value)) throw invalidField(field, 'must contain visible characters and no control characters')
	return value
}

export const iso = (date: Date | number): string => (typeof date === 'number' ? new Date(date) : date).toISOString()
export const isoOrNull = (date: Date | number | null): string | null => (date === null ? null : iso(date))

