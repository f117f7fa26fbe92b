import { and, asc, count, eq, inArray, isNull, sql } from 'drizzle-orm'
import { BoundedMap } from '../bounded-map'
import type { Db } from '../db/client'
import { newUuid } from '../db/ids'
import { metered, type DbMeter } from '../db/meter'
import { namespaceMembers, namespaces, type MemberRow, type NamespaceRow, type Role } from '../db/schema'
import type { Tx, WriteQueue } from '../db/write-queue'
import type { NamespaceRef } from './model'
import { firstFreeSlug, isReservedSlug, suffixPrefix } from './slug'

/** What the access check needs of a live namespace: kept in memory by id and by slug. */
export interface NamespaceEntry extends NamespaceRef {
	kind: NamespaceRow['kind']
	/** A personal namespace's person; null for a team. */
	ownerId: string | null
}

/** A team's fields a PATCH may change; `undefined` leaves one as it is. */
export interface NamespaceChanges {
	slug?: string
	name?: string | null
	metadata?: Record<string, unknown>
}

export class SlugTakenError extends Error {}
export class LastOwnerError extends Error {}

const entryOf = (row: Pick<NamespaceRow, 'id' | 'slug' | 'kind' | 'ownerId'>): NamespaceEntry => ({ id: row.id, slug: row.slug, kind: row.kind, ownerId: row.ownerId })
const memberKey = (namespaceId: string, userId: string) => `${namespaceId}/${userId}`

/**
 * Namespaces and their members. A personal namespace is written with its person's account
 * (auth/repository.ts calls `personalOf`/`createPersonal` inside its write); reading an account
 * reads its namespace in the same statement, from there: the hottest lookup there is. Live
 * namespaces and members' roles stay in memory (a non-member too, as no role), so the access check
 * of a known caller in a known namespace sends no statement; every write here updates that memory
 * once it has committed, so a member removed is refused by the very next request.
 */
export class NamespaceRepository {
	private readonly q
	private readonly byId: BoundedMap<string, NamespaceEntry>
	private readonly bySlug: BoundedMap<string, NamespaceEntry>
	/** Role per namespace and user; null: known not to be a member. */
	private readonly roles: BoundedMap<string, Role | null>

	constructor(
		private readonly db: Db,
		private readonly writes: WriteQueue,
		{ cacheSize = 10_000 }: { cacheSize?: number } = {},
	) {
		this.byId = new BoundedMap(cacheSize)
		this.bySlug = new BoundedMap(cacheSize)
		this.roles = new BoundedMap(cacheSize)
		this.q = {
			personalOf: db
				.select({ id: namespaces.id, slug: namespaces.slug })
				.from(namespaces)
				.where(and(eq(namespaces.ownerId, sql.placeholder('ownerId')), eq(namespaces.kind, 'personal')))
				.prepare(),
			insertPersonal: db
				.insert(namespaces)
				.values({ id: sql.placeholder('id'), slug: sql.placeholder('slug'), ownerId: sql.placeholder('ownerId'), kind: 'personal', createdAt: sql.placeholder('now') })
				.onConflictDoNothing({ target: namespaces.slug })
				.returning({ id: namespaces.id, slug: namespaces.slug })
				.prepare(),
			slugsStartingWith: db
				.select({ slug: namespaces.slug })
				.from(namespaces)
				.where(sql`${namespaces.slug} GLOB ${sql.placeholder('pattern')}`)
				.prepare(),
			rowBySlug: db
				.select()
				.from(namespaces)
				.where(eq(namespaces.slug, sql.placeholder('slug')))
				.prepare(),
			rowById: db
				.select()
				.from(namespaces)
				.where(eq(namespaces.id, sql.placeholder('id')))
				.prepare(),
			role: db
				.select({ role: namespaceMembers.role })
				.from(namespaceMembers)
				.where(and(eq(namespaceMembers.namespaceId, sql.placeholder('namespaceId')), eq(namespaceMembers.userId, sql.placeholder('userId'))))
				.prepare(),
			owners: db
				.select({ n: count() })
				.from(namespaceMembers)
				.where(and(eq(namespaceMembers.namespaceId, sql.placeholder('namespaceId')), eq(namespaceMembers.role, 'owner')))
				.prepare(),
		}
	}

	/** The person's namespace, if they have one. */
	personalOf(_tx: Tx, ownerId: string): NamespaceRef | undefined {
		return this.q.personalOf.get({ ownerId })
	}

	/** Creates the person's namespace at the preferred slug, else the first free `slug-n` (reserved slugs never). */
	createPersonal(_tx: Tx, ownerId: string, base: string): NamespaceRef {
		const insert = (slug: string) => this.q.insertPersonal.get({ id: newUuid(), slug, ownerId, now: new Date() })
		const direct = isReservedSlug(base) ? undefined : insert(base)
		if (direct) return direct
		const taken = new Set(this.q.slugsStartingWith.all({ pattern: `${suffixPrefix(base)}*` }).map((r) => r.slug))
		const created = insert(firstFreeSlug(base, taken))
		if (!created) throw new Error('no free namespace slug')
		return created
	}

	/** A live namespace by slug: from memory, else one statement. */
	liveBySlug(meter: DbMeter, slug: string): NamespaceEntry | undefined {
		const known = this.bySlug.get(slug)
		if (known) return known
		const row = metered(meter, () => this.q.rowBySlug.get({ slug }))
		return row && row.deletedAt === null ? this.remember(entryOf(row)) : undefined
	}

	/** A live namespace by id: from memory, else one statement. */
	liveById(meter: DbMeter, id: string): NamespaceEntry | undefined {
		const known = this.byId.get(id)
		if (known) return known
		const row = metered(meter, () => this.q.rowById.get({ id }))
		return row && row.deletedAt === null ? this.remember(entryOf(row)) : undefined
	}

	/** The row, live or deleted (for its answers, and to restore it). */
	row(meter: DbMeter, slug: string): NamespaceRow | undefined {
		return metered(meter, () => this.q.rowBySlug.get({ slug }))
	}

	/** The user's role in the namespace (a member's; a personal namespace's person is not one), or undefined: from memory once known. */
	roleOf(meter: DbMeter, namespaceId: string, userId: string): Role | undefined {
		const key = memberKey(namespaceId, userId)
		const known = this.roles.get(key)
		if (known !== undefined) return known ?? undefined
		const role = metered(meter, () => this.q.role.get({ namespaceId, userId }))?.role ?? null
		this.roles.set(key, role)
		return role ?? undefined
	}

	/** A team at `slug` with its creator as its owner; SlugTakenError when a person or a team holds the slug. */
	createTeam(meter: DbMeter, team: { slug: string; name: string | null; metadata: Record<string, unknown>; ownerId: string }): Promise<NamespaceRow> {
		return this.writes.run(meter, (tx) => {
			const now = new Date()
			const row = this.db
				.insert(namespaces)
				.values({ id: newUuid(), slug: team.slug, ownerId: null, kind: 'team', name: team.name, metadata: team.metadata, createdAt: now, updatedAt: now })
				.onConflictDoNothing({ target: namespaces.slug })
				.returning()
				.get()
			if (!row) throw new SlugTakenError()
			this.db.insert(namespaceMembers).values({ namespaceId: row.id, userId: team.ownerId, role: 'owner', addedBy: team.ownerId, createdAt: now, updatedAt: now }).run()
			tx.afterCommit(() => {
				this.remember(entryOf(row))
				this.roles.set(memberKey(row.id, team.ownerId), 'owner')
			})
			return row
		})
	}

	/** Changes a live namespace's slug, name or metadata; SlugTakenError for a slug held by another. */
	update(meter: DbMeter, id: string, changes: NamespaceChanges): Promise<NamespaceRow | undefined> {
		return this.writes.run(meter, (tx) => {
			if (changes.slug !== undefined) {
				const holder = this.q.rowBySlug.get({ slug: changes.slug })
				if (holder && holder.id !== id) throw new SlugTakenError()
			}
			const row = this.db
				.update(namespaces)
				.set({ ...changes, updatedAt: new Date() })
				.where(and(eq(namespaces.id, id), isNull(namespaces.deletedAt)))
				.returning()
				.get()
			if (row) tx.afterCommit(() => (this.forget(id), this.remember(entryOf(row))))
			return row
		})
	}

	/** Marks a live team deleted (everything in it vanishes with it); undefined when it is not live. */
	softDelete(meter: DbMeter, id: string): Promise<NamespaceRow | undefined> {
		this.forget(id) // before the write: no request may find it live once the delete is under way
		const now = new Date()
		return this.writes.run(meter, () =>
			this.db
				.update(namespaces)
				.set({ deletedAt: now, updatedAt: now })
				.where(and(eq(namespaces.id, id), isNull(namespaces.deletedAt), eq(namespaces.kind, 'team')))
				.returning()
				.get(),
		)
	}

	/** Brings a deleted team back; undefined when it is not deleted. */
	restore(meter: DbMeter, id: string): Promise<NamespaceRow | undefined> {
		return this.writes.run(meter, (tx) => {
			const row = this.db
				.update(namespaces)
				.set({ deletedAt: null, updatedAt: new Date() })
				.where(and(eq(namespaces.id, id), sql`${namespaces.deletedAt} IS NOT NULL`))
				.returning()
				.get()
			if (row) tx.afterCommit(() => this.remember(entryOf(row)))
			return row
		})
	}

	/** The namespaces the user is a member of, with their role there. */
	membershipsOf(meter: DbMeter, userId: string): { namespaceId: string; role: Role }[] {
		return metered(meter, () => this.db.select({ namespaceId: namespaceMembers.namespaceId, role: namespaceMembers.role }).from(namespaceMembers).where(eq(namespaceMembers.userId, userId)).all())
	}

	/** Live namespaces' rows by id, by slug. */
	liveRows(meter: DbMeter, ids: string[]): NamespaceRow[] {
		if (ids.length === 0) return []
		return metered(meter, () => this.db.select().from(namespaces).where(and(inArray(namespaces.id, ids), isNull(namespaces.deletedAt))).orderBy(asc(namespaces.slug)).all())
	}

	/** The namespace's members, owners first, then by when they joined. */
	members(meter: DbMeter, namespaceId: string): MemberRow[] {
		return metered(meter, () =>
			this.db
				.select()
				.from(namespaceMembers)
				.where(eq(namespaceMembers.namespaceId, namespaceId))
				.orderBy(sql`CASE ${namespaceMembers.role} WHEN 'owner' THEN 0 WHEN 'admin' THEN 1 WHEN 'member' THEN 2 ELSE 3 END`, asc(namespaceMembers.createdAt))
				.all(),
		)
	}

	/**
	 * Adds the user with `role`, or, when `replace`, gives a member that role. `undefined`: already a
	 * member and not `replace`. Throws LastOwnerError when that would leave a team without an owner.
	 */
	setMember(meter: DbMeter, member: { namespaceId: string; userId: string; role: Role; addedBy: string | null }, { replace }: { replace: boolean }): Promise<MemberRow | undefined> {
		return this.writes.run(meter, (tx) => {
			const now = new Date()
			const current = this.q.role.get({ namespaceId: member.namespaceId, userId: member.userId })
			if (current && !replace) return undefined
			if (!current && replace) return undefined
			if (current?.role === 'owner' && member.role !== 'owner') this.keepAnOwner(member.namespaceId)
			const row = current
				? this.db
						.update(namespaceMembers)
						.set({ role: member.role, updatedAt: now })
						.where(and(eq(namespaceMembers.namespaceId, member.namespaceId), eq(namespaceMembers.userId, member.userId)))
						.returning()
						.get()
				: this.db
						.insert(namespaceMembers)
						.values({ ...member, createdAt: now, updatedAt: now })
						.returning()
						.get()
			tx.afterCommit(() => this.roles.set(memberKey(member.namespaceId, member.userId), row!.role))
			return row
		})
	}

	/** Removes a member; false when they were none. Throws LastOwnerError for a team's last owner. */
	removeMember(meter: DbMeter, namespaceId: string, userId: string): Promise<boolean> {
		// before the write too: a member being removed gets nothing more from memory meanwhile
		this.roles.delete(memberKey(namespaceId, userId))
		return this.writes.run(meter, (tx) => {
			const current = this.q.role.get({ namespaceId, userId })
			if (!current) return false
			if (current.role === 'owner') this.keepAnOwner(namespaceId)
			this.db.delete(namespaceMembers).where(and(eq(namespaceMembers.namespaceId, namespaceId), eq(namespaceMembers.userId, userId))).run()
			tx.afterCommit(() => this.roles.set(memberKey(namespaceId, userId), null))
			return true
		})
	}

	/** Inside a write that made someone a member (an invitation accepted): memory follows once committed. */
	rememberRole(tx: Tx, namespaceId: string, userId: string, role: Role): void {
		tx.afterCommit(() => this.roles.set(memberKey(namespaceId, userId), role))
	}

	/** Inside a write that takes an owner away: refuses when it is a team's last one. */
	private keepAnOwner(namespaceId: string): void {
		const row = this.q.rowById.get({ id: namespaceId })
		if (row?.kind === 'team' && this.q.owners.get({ namespaceId })!.n <= 1) throw new LastOwnerError()
	}

	private remember(entry: NamespaceEntry): NamespaceEntry {
		this.byId.set(entry.id, entry)
		this.bySlug.set(entry.slug, entry)
		return entry
	}

	private forget(id: string): void {
		const known = this.byId.get(id)
		this.byId.delete(id)
		if (known) this.bySlug.delete(known.slug)
	}
}
