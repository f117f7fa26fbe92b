import type { Account } from '../auth/model'
import type { DbMeter } from '../db/meter'
import { namespaceNotFound, type NamespaceRef, type Need } from './model'

/**
 * The one question every feature asks before it touches a namespace's data: may this caller read,
 * write or administer there? A namespace the caller may not see is the same 404 as one that does
 * not exist, by slug and by id, so nothing tells what is there. Today every namespace is one
 * person's own and its person may do everything in it; roles are answered here, and only here.
 * A known caller costs no statement (`meter` is for the lookups a shared namespace will need).
 */
export class NamespaceAccess {
	/** The namespace a path segment names (`/namespaces/{ns}/…`) if the caller may `need` there, else 404. Slugs are lower-case, so `Alice` finds `alice`. */
	bySlug(_meter: DbMeter, caller: Account, slug: string | null | undefined, need: Need): NamespaceRef {
		const namespace = typeof slug === 'string' ? this.reachable(caller, (own) => own.slug === slug || own.slug === slug.toLowerCase(), need) : undefined
		if (!namespace) throw namespaceNotFound(slug)
		return namespace
	}

	/**
	 * The namespace with this id (a project's, for the routes that name an episode by id) if the
	 * caller may `need` there; `undefined` when not, and the route answers its own 404 (the episode,
	 * not the namespace, is what was asked for).
	 */
	byId(_meter: DbMeter, caller: Account, namespaceId: string, need: Need): NamespaceRef | undefined {
		return this.reachable(caller, (own) => own.id === namespaceId, need)
	}

	private reachable(caller: Account, names: (namespace: NamespaceRef) => boolean, _need: Need): NamespaceRef | undefined {
		// a person's own namespace: every need
		return names(caller.namespace) ? caller.namespace : undefined
	}
}
