import type { Account } from '../auth/model'
import type { DbMeter } from '../db/meter'
import type { Role } from '../db/schema'
import { missingAuthorization } from '../auth/bearer'
import type { Visibility } from '../db/schema'
import { forbidden, type ApiError } from '../http/errors'
import { namespaceNotFound, type NamespaceRef, type Need } from './model'
import type { NamespaceEntry, NamespaceRepository } from './repository'

/** The least role each need takes. */
const LEAST: Record<Need, Role> = { read: 'viewer', write: 'member', admin: 'admin', own: 'owner' }
export const RANK: Record<Role, number> = { viewer: 1, member: 2, admin: 3, owner: 4 }

/** A namespace the caller reached, with the role they have there. */
export interface Reached extends NamespaceRef {
	kind: NamespaceEntry['kind']
	role: Role
}

/** Who reads: a person or a key (an Account), or nobody signed in (null), for the routes public projects open to anyone. */
export type Reader = Account | null

/** What a reader may read in a namespace: every project (a member), else only those of some visibilities. */
export interface ReadScope extends NamespaceRef {
	kind: NamespaceEntry['kind']
	/** null: not a member, a guest who sees only `sees`. */
	role: Role | null
	sees: readonly Visibility[]
}

const EVERY: readonly Visibility[] = ['private', 'internal', 'public']
/** A signed-in person of this server sees internal and public projects anywhere; anyone at all, public ones; a key, nothing outside its namespace. */
const GUEST_SEES = { person: ['internal', 'public'], anonymous: ['public'], key: [] } as const satisfies Record<string, readonly Visibility[]>

/**
 * The one question every feature asks before it touches a namespace's data: may this caller read,
 * write, administer or own there? A namespace the caller may not see is the same 404 as one that
 * does not exist, by slug and by id, so nothing tells what is there; one they see but may not do
 * this in is a 403 naming their role. A personal namespace's person is its owner; anyone else has
 * the role a membership gives (owner, admin, member, viewer). A known caller in a known namespace
 * costs no statement: namespaces and roles are kept in memory, and every change to them updates it.
 */
export class NamespaceAccess {
	constructor(
		private readonly namespaces: NamespaceRepository,
		/** Whether the namespace has a live project of these visibilities (projects/repository.ts): what a guest sees there. */
		private readonly opensTo: (meter: DbMeter, namespaceId: string, visibilities: readonly Visibility[]) => boolean,
	) {}

	/**
	 * The namespace a path segment names (`/namespaces/{ns}/…`) if the caller may `need` there; else
	 * 404, or 403: `insufficient_role` for a member whose role is too low, `not_a_member` for a guest
	 * who sees the namespace through a project open to them. Slugs are lower-case, so `Alice` finds `alice`.
	 */
	bySlug(meter: DbMeter, caller: Account, slug: string | null | undefined, need: Need): Reached {
		const reached = typeof slug === 'string' ? this.reach(meter, caller, slug.toLowerCase() === caller.namespace.slug ? caller.namespace.id : undefined, slug.toLowerCase()) : undefined
		if (reached) return this.allowed(reached, need)
		const scope = typeof slug === 'string' ? this.readScope(meter, caller, slug) : undefined
		if (scope && scope.sees.length > 0 && this.opensTo(meter, scope.id, scope.sees)) throw notAMember(scope.slug)
		throw namespaceNotFound(slug)
	}

	/**
	 * The namespace with this id (a project's, for the routes that name an episode by id) if the
	 * caller may `need` there; `undefined` when they may not see it, and the route answers its own
	 * 404 (the episode, not the namespace, is what was asked for); a 403 when they see it but may not.
	 */
	byId(meter: DbMeter, caller: Account, namespaceId: string, need: Need): Reached | undefined {
		const reached = this.reach(meter, caller, namespaceId, undefined)
		return reached && this.allowed(reached, need)
	}

	/** The caller's role in a live namespace, found by id or slug; undefined when they have none (or it is gone). */
	private reach(meter: DbMeter, caller: Account, id: string | undefined, slug: string | undefined): Reached | undefined {
		// their own: every need, no lookup (a key acts in its own namespace only, below)
		if (id === caller.namespace.id && !caller.key) return { id: caller.namespace.id, slug: caller.namespace.slug, kind: 'personal', role: 'owner' }
		const namespace = id !== undefined ? this.namespaces.liveById(meter, id) : slug !== undefined ? this.namespaces.liveBySlug(meter, slug) : undefined
		if (!namespace || (caller.key && caller.key.namespaceId !== namespace.id)) return undefined
		const personal = namespace.kind === 'personal' && namespace.ownerId === caller.user.id
		const role = personal ? 'owner' : this.namespaces.roleOf(meter, namespace.id, caller.user.id)
		// a key: its own role, capped by its creator's now
		const acting = caller.key && role ? (RANK[caller.key.role] <= RANK[role] ? caller.key.role : role) : role
		return acting && { id: namespace.id, slug: namespace.slug, kind: namespace.kind, role: acting }
	}

	/**
	 * What `reader` may read in the namespace a path segment names: everything when a member, else the
	 * projects of the visibilities a guest sees (`mayRead`). Undefined when it does not exist; whether a
	 * guest sees anything there is the caller's to say (a namespace with nothing visible is hidden too).
	 */
	readScope(meter: DbMeter, reader: Reader, slug: string): ReadScope | undefined {
		const lower = slug.toLowerCase()
		if (reader) {
			const reached = this.reach(meter, reader, lower === reader.namespace.slug ? reader.namespace.id : undefined, lower)
			if (reached) return { ...reached, sees: EVERY }
		}
		const namespace = this.namespaces.liveBySlug(meter, lower)
		return namespace && { id: namespace.id, slug: namespace.slug, kind: namespace.kind, role: null, sees: guestSees(reader) }
	}

	/** The same, for a namespace named by id (a project's, for the routes that name an episode by id). */
	readScopeById(meter: DbMeter, reader: Reader, namespaceId: string): ReadScope | undefined {
		if (reader) {
			const reached = this.reach(meter, reader, namespaceId, undefined)
			if (reached) return { ...reached, sees: EVERY }
		}
		const namespace = this.namespaces.liveById(meter, namespaceId)
		return namespace && { id: namespace.id, slug: namespace.slug, kind: namespace.kind, role: null, sees: guestSees(reader) }
	}

	/**
	 * What to answer for something a reader may not see: the 404 it would get for what does not exist
	 * (`notFound`), or, for nobody signed in, the 401 that asks them to (nothing is told either way).
	 */
	hidden(reader: Reader, notFound: ApiError): ApiError {
		return reader === null ? missingAuthorization() : notFound
	}

	private allowed(reached: Reached, need: Need): Reached {
		if (RANK[reached.role] >= RANK[LEAST[need]]) return reached
		throw forbidden('insufficient_role', `Your role in "${reached.slug}" is ${reached.role}, which cannot ${DOES[need]}; ask one of its owners${need === 'own' ? '' : ' or admins'}.`)
	}
}

const DOES: Record<Need, string> = {
	read: 'read it',
	write: 'write here (members, admins and owners can)',
	admin: 'manage its members, settings and projects (admins and owners can)',
	own: 'do this (only an owner can)',
}

/** What a guest reader gets for anything but reading: they see the namespace, but are no member of it. */
export const notAMember = (slug: string) => forbidden('not_a_member', `You may read this, but only members of "${slug}" do anything else in it; ask one of its owners or admins to add you.`)

/** Whether a project of `visibility` may be read within `scope`. */
export const mayRead = (scope: ReadScope, visibility: Visibility) => scope.sees.includes(visibility)

const guestSees = (reader: Reader): readonly Visibility[] => (reader === null ? GUEST_SEES.anonymous : reader.key ? GUEST_SEES.key : GUEST_SEES.person)
