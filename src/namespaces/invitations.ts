import { and, desc, eq, isNull, sql } from 'drizzle-orm'
import type { Account } from '../auth/model'
import type { Db } from '../db/client'
import { newUuid } from '../db/ids'
import { metered, type DbMeter } from '../db/meter'
import { invitations, namespaceMembers, type InvitationRow, type Role } from '../db/schema'
import type { WriteQueue } from '../db/write-queue'
import { forbidden, gone, notFound } from '../http/errors'
import { RANK, type NamespaceAccess } from './access'
import { sha256 } from './api-keys'
import type { NamespaceRef } from './model'
import type { NamespaceRepository } from './repository'

/** What every invitation token starts with. */
export const INVITATION_PREFIX = 'dli_'

export class InvitationSpentError extends Error {
	constructor(readonly why: 'expired' | 'used_up') {
		super(why)
	}
}

/** Invitations' rows: only the sha256 of a token is kept. */
export class InvitationRepository {
	private readonly q

	constructor(
		private readonly db: Db,
		private readonly writes: WriteQueue,
		private readonly namespaces: NamespaceRepository,
	) {
		this.q = {
			byToken: db
				.select()
				.from(invitations)
				.where(eq(invitations.tokenHash, sql.placeholder('hash')))
				.prepare(),
		}
	}

	create(meter: DbMeter, invitation: Omit<InvitationRow, 'id' | 'uses' | 'revokedAt'>): Promise<InvitationRow> {
		return this.writes.run(meter, () => this.db.insert(invitations).values({ id: newUuid(), ...invitation }).returning().get())
	}

	byToken(meter: DbMeter, token: string): InvitationRow | undefined {
		return metered(meter, () => this.q.byToken.get({ hash: sha256(token) }))
	}

	list(meter: DbMeter, namespaceId: string): InvitationRow[] {
		return metered(meter, () => this.db.select().from(invitations).where(eq(invitations.namespaceId, namespaceId)).orderBy(desc(invitations.createdAt)).all())
	}

	byId(meter: DbMeter, namespaceId: string, id: string): InvitationRow | undefined {
		return metered(meter, () => this.db.select().from(invitations).where(and(eq(invitations.namespaceId, namespaceId), eq(invitations.id, id))).get())
	}

	revoke(meter: DbMeter, id: string): Promise<InvitationRow | undefined> {
		return this.writes.run(meter, () => this.db.update(invitations).set({ revokedAt: new Date() }).where(and(eq(invitations.id, id), isNull(invitations.revokedAt))).returning().get())
	}

	/**
	 * Spends one use of the invitation on `userId`, in one transaction with their membership: a new
	 * member gets its role, a member with a lower one is raised to it, a member with a higher one keeps
	 * theirs (and no use is spent). Throws InvitationSpentError when it expired or ran out meanwhile.
	 */
	accept(meter: DbMeter, id: string, userId: string): Promise<{ role: Role; joined: boolean }> {
		return this.writes.run(meter, (tx) => {
			const invitation = this.db.select().from(invitations).where(eq(invitations.id, id)).get()
			if (!invitation || invitation.revokedAt !== null) throw new InvitationSpentError('expired')
			if (invitation.expiresAt.getTime() <= Date.now()) throw new InvitationSpentError('expired')
			const current = this.db
				.select({ role: namespaceMembers.role })
				.from(namespaceMembers)
				.where(and(eq(namespaceMembers.namespaceId, invitation.namespaceId), eq(namespaceMembers.userId, userId)))
				.get()?.role
			if (current && RANK[current] >= RANK[invitation.role]) return { role: current, joined: false }
			if (invitation.uses >= invitation.maxUses) throw new InvitationSpentError('used_up')
			this.db.update(invitations).set({ uses: invitation.uses + 1 }).where(eq(invitations.id, id)).run()
			const now = new Date()
			this.db
				.insert(namespaceMembers)
				.values({ namespaceId: invitation.namespaceId, userId, role: invitation.role, addedBy: invitation.createdBy, createdAt: now, updatedAt: now })
				.onConflictDoUpdate({ target: [namespaceMembers.namespaceId, namespaceMembers.userId], set: { role: invitation.role, updatedAt: now } })
				.run()
			this.namespaces.rememberRole(tx, invitation.namespaceId, userId, invitation.role)
			return { role: invitation.role, joined: true }
		})
	}
}

/**
 * Invitations: an owner or admin makes a link for a role, good for some uses until it expires; a
 * person who signs in and opens it becomes a member. Listed and revoked by owners and admins; the
 * token is shown once and only its hash is kept.
 */
export class InvitationService {
	constructor(
		private readonly repository: InvitationRepository,
		private readonly access: NamespaceAccess,
		private readonly namespaces: NamespaceRepository,
	) {}

	async create(meter: DbMeter, caller: Account, slug: string, body: { role: Role; maxUses?: number }, expiresInSeconds: number) {
		if (caller.key) throw forbidden('person_required', 'Invitations are made by people, signed in with a dreamlake token, not by an API key.')
		const reached = this.access.bySlug(meter, caller, slug, body.role === 'owner' ? 'own' : 'admin')
		const token = `${INVITATION_PREFIX}${Buffer.from(crypto.getRandomValues(new Uint8Array(24))).toString('base64url')}`
		const now = Date.now()
		const row = await this.repository.create(meter, {
			namespaceId: reached.id,
			role: body.role,
			tokenHash: sha256(token),
			createdBy: caller.user.id,
			createdAt: new Date(now),
			expiresAt: new Date(now + expiresInSeconds * 1000),
			maxUses: body.maxUses ?? 1,
		})
		return { row, token, namespace: reached }
	}

	list(meter: DbMeter, caller: Account, slug: string): { rows: InvitationRow[]; namespace: NamespaceRef } {
		const reached = this.access.bySlug(meter, caller, slug, 'admin')
		return { rows: this.repository.list(meter, reached.id), namespace: reached }
	}

	async revoke(meter: DbMeter, caller: Account, slug: string, id: string): Promise<InvitationRow> {
		const reached = this.access.bySlug(meter, caller, slug, 'admin')
		const row = this.repository.byId(meter, reached.id, id)
		if (!row || row.revokedAt !== null) throw notFound('invitation_not_found', 'No live invitation with this id here.')
		return (await this.repository.revoke(meter, row.id)) ?? row
	}

	/** GET /invitations/{token}: what it invites to, for the page that accepts it (anyone holding the link may read this). */
	preview(meter: DbMeter, token: string) {
		const { row, namespace } = this.usable(meter, token)
		return { namespace: { slug: namespace.slug, name: namespace.name, kind: namespace.kind }, role: row.role, expiresAt: row.expiresAt }
	}

	/** POST /invitations/{token}/accept: the signed-in caller joins (or is raised to its role). */
	async accept(meter: DbMeter, caller: Account, token: string) {
		if (caller.key) throw forbidden('person_required', 'An invitation is accepted by a person, signed in with a dreamlake token, not by an API key.')
		const { row, namespace } = this.usable(meter, token)
		try {
			const outcome = await this.repository.accept(meter, row.id, caller.user.id)
			return { namespace: { id: namespace.id, slug: namespace.slug }, ...outcome }
		} catch (error) {
			if (error instanceof InvitationSpentError) throw spent(error.why)
			throw error
		}
	}

	/** A live, unexpired invitation with uses left, and its live namespace; 404 or 410 else. */
	private usable(meter: DbMeter, token: string) {
		const row = token.startsWith(INVITATION_PREFIX) && token.length <= 100 ? this.repository.byToken(meter, token) : undefined
		const namespace = row && this.namespaces.row(meter, this.namespaces.liveById(meter, row.namespaceId)?.slug ?? '')
		if (!row || row.revokedAt !== null || !namespace || namespace.deletedAt !== null) throw notFound('invitation_not_found', 'This invitation does not exist or was revoked; ask for a new one.')
		if (row.expiresAt.getTime() <= Date.now()) throw spent('expired')
		if (row.uses >= row.maxUses) throw spent('used_up')
		return { row, namespace }
	}
}

const spent = (why: 'expired' | 'used_up') =>
	why === 'expired' ? gone('invitation_expired', 'This invitation has expired; ask for a new one.') : gone('invitation_used_up', 'This invitation has been used as many times as it may; ask for a new one.')
