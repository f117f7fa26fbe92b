import type { Account, NamespaceRef } from '../auth/repository'
import { notFound } from '../http/errors'

/**
 * The namespace a path names, if the caller may see it: today only their personal one (teams
 * come later). Anything else is the same 404 as a namespace that does not exist. Slugs are
 * lower-case, so `Alice` finds `alice`.
 */
export function ownNamespace(caller: Account, slug: string | null | undefined): NamespaceRef {
	const own = caller.namespace
	if (slug === own.slug || (typeof slug === 'string' && slug.toLowerCase() === own.slug)) return own
	throw namespaceNotFound(slug)
}

export const namespaceNotFound = (slug: string | null | undefined) =>
	notFound('namespace_not_found', typeof slug === 'string' && slug.length <= 100 ? `Namespace "${slug}" not found.` : 'Namespace not found.')
