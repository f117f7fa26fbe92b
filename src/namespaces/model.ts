import { t } from 'elysia'
import { notFound } from '../http/errors'

/** A namespace as the rest of the server names it: where data lives, `/namespaces/<slug>/…`. */
export interface NamespaceRef {
	id: string
	slug: string
}

export const NamespaceRefSchema = t.Object({ id: t.String(), slug: t.String() })

/** What a caller asks to do in a namespace: read its data, write it, or administer it (its settings, later its members). */
export type Need = 'read' | 'write' | 'admin'

export const NamespaceOverview = t.Object({
	id: t.String(),
	slug: t.String(),
	metadata: t.Null(),
	projects: t.Number({ description: 'Live projects' }),
	episodes: t.Number({ description: 'Live episodes in live projects' }),
	files: t.Number({ description: 'Live files of live episodes' }),
})

export const namespaceNotFound = (slug: string | null | undefined) =>
	notFound('namespace_not_found', typeof slug === 'string' && slug.length <= 100 ? `Namespace "${slug}" not found.` : 'Namespace not found.')
