import type { Account } from '../auth/model'
import type { AccountRepository } from '../auth/repository'
import type { DbMeter } from '../db/meter'
import type { NamespaceRow, Role, Visibility } from '../db/schema'
import { conflict, forbidden, invalidField, notFound } from '../http/errors'
import { checkMetadata, checkName } from '../http/fields'
import type { NamespaceAccess, Reached } from './access'
import { isTeamSlug, memberNotFound, NAMESPACE_SLUG_RULE, namespaceNotFound, type MemberAdd, type NamespacePatch, type TeamCreate } from './model'
import { LastOwnerError, SlugTakenError, type NamespaceChanges, type NamespaceRepository } from './repository'

/** People as members see them: by username. */
type People = Pick<AccountRepository, 'userByUsername' | 'usersByIds'>

/**
 * Namespaces: teams (create, change, delete, restore) and the members of any namespace. Every
 * check of what the caller may do is the access check's; this decides what an action means.
 */
export class NamespaceService {
	constructor(
		private readonly repository: NamespaceRepository,
		private readonly access: NamespaceAccess,
		private readonly people: People,
	) {}

	/** POST /namespaces: a team, with the caller as its owner. */
	async createTeam(meter: DbMeter, caller: Account, body: TeamCreate): Promise<{ row: NamespaceRow; role: Role }> {
		// a key acts in its namespace only: a team is a person's to make
		if (caller.key) throw forbidden('person_required', 'A team is made by a person, signed in with a dreamlake token, not by an API key.')
		const slug = teamSlug(body.slug)
		if (body.name !== undefined) checkName(body.name, 'name')
		if (body.metadata !== undefined) checkMetadata(body.metadata)
		try {
			return { row: await this.repository.createTeam(meter, { slug, name: body.name ?? null, metadata: body.metadata ?? {}, ownerId: caller.user.id }), role: 'owner' }
		} catch (error) {
			if (error instanceof SlugTakenError) throw slugTaken(slug)
			throw error
		}
	}

	/**
	 * GET /auth/namespaces: every namespace with something `reader` may see: their own and their
	 * teams' (with their role), and those with a project open to them (public; internal too when
	 * signed in), role null. A key sees its namespace only.
	 */
	visibleTo(meter: DbMeter, reader: Account | null, guestNamespaces: (visibilities: readonly Visibility[]) => string[]): { row: NamespaceRow; role: Role | null }[] {
		const roles = new Map<string, Role | null>()
		if (reader?.key) roles.set(reader.key.namespaceId, reader.key.role)
		else {
			for (const id of guestNamespaces(reader === null ? ['public'] : ['internal', 'public'])) roles.set(id, null)
			if (reader) {
				roles.set(reader.namespace.id, 'owner')
				for (const { namespaceId, role } of this.repository.membershipsOf(meter, reader.user.id)) roles.set(namespaceId, role)
			}
		}
		return this.repository.liveRows(meter, [...roles.keys()]).map((row) => ({ row, role: roles.get(row.id) ?? null }))
	}

	/** The namespace's row, for a namespace the access check let the caller see. */
	row(meter: DbMeter, slug: string): NamespaceRow {
		const row = this.repository.row(meter, slug)
		if (!row || row.deletedAt !== null) throw namespaceNotFound(slug)
		return row
	}

	/** PATCH /namespaces/{ns}: owners and admins change its slug (teams only), name or metadata. */
	async update(meter: DbMeter, caller: Account, slug: string, patch: NamespacePatch): Promise<{ row: NamespaceRow; role: Role }> {
		const reached = this.access.bySlug(meter, caller, slug, 'admin')
		const changes: NamespaceChanges = {}
		if (patch.slug !== undefined && patch.slug !== reached.slug) {
			// a personal namespace's slug is its person's address: their account and tokens name it
			if (reached.kind === 'personal') throw invalidField('slug', 'of a personal namespace cannot change (it follows its person); a team\'s can')
			changes.slug = teamSlug(patch.slug)
		}
		if (patch.name !== undefined) changes.name = patch.name === null ? null : checkName(patch.name, 'name')
		if (patch.metadata !== undefined) {
			checkMetadata(patch.metadata)
			changes.metadata = patch.metadata
		}
		try {
			const row = Object.keys(changes).length === 0 ? this.repository.row(meter, reached.slug) : await this.repository.update(meter, reached.id, changes)
			if (!row) throw namespaceNotFound(slug)
			return { row, role: reached.role }
		} catch (error) {
			if (error instanceof SlugTakenError) throw slugTaken(changes.slug!)
			throw error
		}
	}

	/** DELETE /namespaces/{ns}: owners delete a team, softly (restorable until purged); a personal namespace stays. */
	async remove(meter: DbMeter, caller: Account, slug: string): Promise<NamespaceRow> {
		const reached = this.access.bySlug(meter, caller, slug, 'own')
		if (reached.kind === 'personal') throw conflict('personal_namespace', 'A personal namespace belongs to its person and cannot be deleted; delete its projects instead.')
		return (await this.repository.softDelete(meter, reached.id)) ?? namespaceNotFoundAfterAll(slug)
	}

	/** POST /namespaces/{ns}/restore: an owner of a deleted team brings it back. */
	async restore(meter: DbMeter, caller: Account, slug: string): Promise<{ row: NamespaceRow; role: Role }> {
		const row = this.repository.row(meter, slug.toLowerCase())
		// a deleted team is the access check's to see as any other, but it is not live: its owners are asked directly
		const role = row && row.deletedAt !== null ? this.repository.roleOf(meter, row.id, caller.user.id) : undefined
		if (!row || !role) throw notFound('namespace_not_deleted', 'No deleted team of that name to restore.')
		if (role !== 'owner') throw forbidden('insufficient_role', `Your role in "${row.slug}" is ${role}, which cannot do this (only an owner can); ask one of its owners.`)
		return { row: (await this.repository.restore(meter, row.id)) ?? namespaceNotFoundAfterAll(slug), role }
	}

	/** GET /namespaces/{ns}/members: anyone who may read there sees who else is. */
	members(meter: DbMeter, caller: Account, slug: string) {
		const reached = this.access.bySlug(meter, caller, slug, 'read')
		const rows = this.repository.members(meter, reached.id)
		const ids = new Set(rows.flatMap((row) => (row.addedBy === null ? [row.userId] : [row.userId, row.addedBy])))
		const people = new Map(this.people.usersByIds(meter, [...ids]).map((user) => [user.id, user]))
		return { rows, people }
	}

	/** POST /namespaces/{ns}/members {username, role}: owners and admins add a person; only owners make owners. */
	async addMember(meter: DbMeter, caller: Account, slug: string, body: MemberAdd) {
		const reached = this.access.bySlug(meter, caller, slug, body.role === 'owner' ? 'own' : 'admin')
		if (body.role === 'owner' && reached.kind === 'personal') throw invalidField('role', 'cannot be owner in a personal namespace (it stays its person\'s); give admin, member or viewer')
		const person = this.people.userByUsername(meter, body.username)
		if (!person) throw notFound('user_not_found', `Nobody with the username "${body.username.slice(0, 39)}" has signed in to this server yet.`)
		if (reached.kind === 'personal' && this.isPersonOf(meter, reached, person.id)) throw conflict('member_exists', 'That is the namespace\'s own person.')
		const row = await this.repository.setMember(meter, { namespaceId: reached.id, userId: person.id, role: body.role, addedBy: caller.user.id }, { replace: false })
		if (!row) throw conflict('member_exists', `"${person.username}" is already a member; change their role with PATCH …/members/${person.username}.`)
		return { row, people: new Map([[person.id, person], [caller.user.id, caller.user]]) }
	}

	/** PATCH /namespaces/{ns}/members/{username} {role}: owners and admins change a role; only owners give or take owner. */
	async changeRole(meter: DbMeter, caller: Account, slug: string, username: string, role: Role) {
		const { reached, person, current } = this.member(meter, caller, slug, username, 'admin')
		if ((role === 'owner' || current === 'owner') && reached.role !== 'owner') this.access.bySlug(meter, caller, slug, 'own')
		if (role === 'owner' && reached.kind === 'personal') throw invalidField('role', 'cannot be owner in a personal namespace (it stays its person\'s)')
		const row = await this.lastOwnerKept(() => this.repository.setMember(meter, { namespaceId: reached.id, userId: person.id, role, addedBy: null }, { replace: true }))
		if (!row) throw memberNotFound(username)
		const people = new Map(this.people.usersByIds(meter, [person.id, ...(row.addedBy ? [row.addedBy] : [])]).map((user) => [user.id, user]))
		return { row, people }
	}

	/** DELETE /namespaces/{ns}/members/{username}: owners and admins remove a member (only owners an owner); anyone may leave. */
	async removeMember(meter: DbMeter, caller: Account, slug: string, username: string): Promise<void> {
		const leaving = caller.user.username !== null && caller.user.username.toLowerCase() === username.toLowerCase()
		const { reached, person, current } = this.member(meter, caller, slug, username, leaving ? 'read' : 'admin')
		if (!leaving && current === 'owner' && reached.role !== 'owner') this.access.bySlug(meter, caller, slug, 'own')
		if (!(await this.lastOwnerKept(() => this.repository.removeMember(meter, reached.id, person.id)))) throw memberNotFound(username)
	}

	/** A member of a namespace the caller may `need` in, or 404. */
	private member(meter: DbMeter, caller: Account, slug: string, username: string, need: 'read' | 'admin') {
		const reached = this.access.bySlug(meter, caller, slug, need)
		const person = this.people.userByUsername(meter, username)
		const current = person && this.repository.roleOf(meter, reached.id, person.id)
		if (!person || !current) throw memberNotFound(username)
		return { reached, person, current }
	}

	private isPersonOf(meter: DbMeter, namespace: Reached, userId: string): boolean {
		return this.repository.liveById(meter, namespace.id)?.ownerId === userId
	}

	private async lastOwnerKept<T>(write: () => Promise<T>): Promise<T> {
		try {
			return await write()
		} catch (error) {
			if (error instanceof LastOwnerError) throw conflict('last_owner', 'A team keeps at least one owner: make someone else an owner first.')
			throw error
		}
	}
}

/** A team's slug as sent: lower-case, the rules of every namespace's slug; else a 422. */
function teamSlug(slug: string): string {
	if (!isTeamSlug(slug)) throw invalidField('slug', NAMESPACE_SLUG_RULE)
	return slug
}

const slugTaken = (slug: string) => conflict('namespace_exists', `The namespace "${slug}" is taken (by a person or a team); choose another slug.`)

function namespaceNotFoundAfterAll(slug: string): never {
	throw namespaceNotFound(slug)
}
