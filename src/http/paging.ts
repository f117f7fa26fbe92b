import { t, type TSchema } from 'elysia'
import type { TArray, TNumber } from '@sinclair/typebox'
import { invalidQuery } from './errors'

/** One page of a list: `page` counts from 1. */
export interface Page {
	page: number
	pageSize: number
	offset: number
}

export interface Paged {
	page: number
	pageSize: number
	total: number
	totalPages: number
}

/** `page` and `pageSize` in a route's query schema (strings: parsed and checked by `pageOf`). */
export const PageQuery = {
	page: t.Optional(t.String({ description: 'Page number, from 1 (default 1)' })),
	pageSize: t.Optional(t.String({ description: 'Items per page (default 50, at most 200)' })),
}

/** Query parameters of a list; unknown ones are ignored (a browser's cache-buster, say). */
export const ListQuery = <T extends Record<string, ReturnType<typeof t.Optional>>>(fields: T) => t.Object({ ...PageQuery, ...fields }, { additionalProperties: true })

/** The page asked for, or a 422 naming the parameter. */
export function pageOf(query: { page?: string; pageSize?: string }, { defaultSize = 50, maxSize = 200 } = {}): Page {
	const page = wholeNumber('page', query.page, 1, 1, 1_000_000)
	const pageSize = wholeNumber('pageSize', query.pageSize, defaultSize, 1, maxSize)
	return { page, pageSize, offset: (page - 1) * pageSize }
}

/** The schema of a list's answer: `{<key>: Item[], page, pageSize, total, totalPages}`, upstream's list shape, the same for every list. */
export const PagedResponse = <K extends string, I extends TSchema>(key: K, item: I) =>
	t.Object({ [key]: t.Array(item), page: t.Number(), pageSize: t.Number(), total: t.Number(), totalPages: t.Number() } as { [P in K]: TArray<I> } & { page: TNumber; pageSize: TNumber; total: TNumber; totalPages: TNumber })

/** `{<key>: items, page, pageSize, total, totalPages}`, upstream's list shape. */
export function paged<K extends string, T>(key: K, items: T[], total: number, { page, pageSize }: Page): Record<K, T[]> & Paged {
	return { [key]: items, page, pageSize, total, totalPages: Math.ceil(total / pageSize) } as Record<K, T[]> & Paged
}

/** An optional whole-number query parameter within [min, max]; `fallback` when absent. */
export function wholeNumber(name: string, raw: string | undefined, fallback: number, min: number, max: number): number
/** An optional parameter: undefined when absent or empty. */
export function wholeNumber(name: string, raw: string | undefined, fallback: undefined, min: number, max: number): number | undefined
export function wholeNumber(name: string, raw: string | undefined, fallback: number | undefined, min: number, max: number): number | undefined {
	if (raw === undefined || raw === '') return fallback
	const value = Number(raw)
	if (!/^-?\d+$/.test(raw) || !Number.isSafeInteger(value) || value < min || value > max) {
		throw invalidQuery(name, `must be a whole number from ${min} to ${max.toLocaleString('en-US')}`)
	}
	return value
}

/** A comma-separated list parameter (`tags=a,b`), blanks dropped; `[]` when absent. */
export const listParam = (raw: string | undefined): string[] => (raw === undefined ? [] : raw.split(',').map((s) => s.trim()).filter((s) => s !== ''))

/** `dir=asc|desc`, else a 422. */
export function dirParam(raw: string | undefined, fallback: 'asc' | 'desc' = 'desc'): 'asc' | 'desc' {
	if (raw === undefined || raw === '') return fallback
	if (raw !== 'asc' && raw !== 'desc') throw invalidQuery('dir', 'must be asc or desc')
	return raw
}
