import { and, desc, eq, isNull, sql } from 'drizzle-orm'
import { BoundedMap } from '../bounded-map'
import type { Account } from '../auth/model'
import type { Db } from '../db/client'
import { newUuid } from '../db/ids'
import { DbMeter, metered } from '../db/meter'
import { apiKeys, type ApiKeyRow, type Role } from '../db/schema'
import type { WriteQueue } from '../db/write-queue'
import { forbidden, notFound } from '../http/errors'
import { checkName } from '../http/fields'
import { RANK, type NamespaceAccess } from './access'
import type { ApiKeyCreate, NamespaceRef } from './model'
import type { NamespaceRepository } from './repository'

/** What every key's secret starts with, so the guard tells a key from a dreamlake token at a glance. */
export const API_KEY_PREFIX = 'dlk_'
/** A key's last use is written at most this often: a write per request would cost every CI call a transaction. */
const LAST_USED_EVERY_MS = 60_000

export const sha256 = (text: string) => new Bun.CryptoHasher('sha256').update(text).digest('hex')

/** API keys' rows; live keys by the hash of their secret in memory, so a known key costs no statement. */
export class ApiKeyRepository {
	private readonly live: BoundedMap<string, ApiKeyRow>
	private readonly q

	constructor(
		private readonly db: Db,
		private readonly writes: WriteQueue,
		{ cacheSize = 10_000 }: { cacheSize?: number } = {},
	) {
		this.live = new BoundedMap(cacheSize)
		this.q = {
			bySecret: db
				.select()
				.from(apiKeys)
				.where(eq(apiKeys.secretHash, sql.placeholder('hash')))
				.prepare(),
		}
	}

	/** The live (not revoked) key whose secret hashes to `hash`; expiry is the caller's to check. */
	bySecretHash(meter: DbMeter, hash: string): ApiKeyRow | undefined {
		const known = this.live.get(hash)
		if (known) return known
		const row = metered(meter, () => this.q.bySecret.get({ hash }))
		if (!row || row.revokedAt !== null) return undefined
		this.live.set(hash, row)
		return row
	}

	create(meter: DbMeter, key: Omit<ApiKeyRow, 'id' | 'createdAt' | 'lastUsedAt' | 'revokedAt'>): Promise<ApiKeyRow> {
		return this.writes.run(meter, () => this.db.insert(apiKeys).values({ id: newUuid(), ...key, createdAt: new Date() }).returning().get())
	}

	/** A namespace's keys, live and revoked, newest first; only `createdBy`'s when given. */
	list(meter: DbMeter, namespaceId: string, createdBy?: string): ApiKeyRow[] {
		return metered(meter, () =>
			this.db
				.select()
				.from(apiKeys)
				.where(and(eq(apiKeys.namespaceId, namespaceId), createdBy === undefined ? undefined : eq(apiKeys.createdBy, createdBy)))
				.orderBy(desc(apiKeys.createdAt))
				.all(),
		)
	}

	byId(meter: DbMeter, namespaceId: string, id: string): ApiKeyRow | undefined {
		return metered(meter, () => this.db.select().from(apiKeys).where(and(eq(apiKeys.namespaceId, namespaceId), eq(apiKeys.id, id))).get())
	}

	/** Revokes a live key: refused from the very next request. */
	revoke(meter: DbMeter, row: ApiKeyRow): Promise<ApiKeyRow | undefined> {
		this.live.delete(row.secretHash) // before the write: nothing gets in on it meanwhile
		return this.writes.run(meter, (tx) => {
			const revoked = this.db
				.update(apiKeys)
				.set({ revokedAt: new Date() })
				.where(and(eq(apiKeys.id, row.id), isNull(apiKeys.revokedAt)))
				.returning()
				.get()
			tx.afterCommit(() => this.live.delete(row.secretHash))
			return revoked
		})
	}

	/** Notes a use; written at most once a minute per key, off the request's own meter. */
	used(row: ApiKeyRow, now = Date.now()): void {
		if (row.lastUsedAt !== null && now - row.lastUsedAt.getTime() < LAST_USED_EVERY_MS) return
		row.lastUsedAt = new Date(now) // the cached row: the next request within the minute writes nothing
		this.writes
			.run(new DbMeter(), () => this.db.update(apiKeys).set({ lastUsedAt: new Date(now) }).where(eq(apiKeys.id, row.id)).run())
			.catch(() => {}) // a lost "last used" is no reason to fail anything
	}
}

/**
 * API keys for CI and robots: created by a person in a namespace with a role no higher than their
 * own, shown once, listed without their secret, revoked at once. A key acts in its namespace only,
 * with the lower of its role and its creator's role there now, so a creator who is demoted or
 * leaves takes their keys' powers with them.
 */
export class ApiKeyService {
	constructor(
		private readonly repository: ApiKeyRepository,
		private readonly access: NamespaceAccess,
		private readonly namespaces: NamespaceRepository,
		private readonly people: { usersByIds(meter: DbMeter, ids: string[]): { id: string; username: string | null }[] },
	) {}

	/** The key behind a bearer secret, if it is one, live and unexpired, with its namespace (live too). */
	verify(meter: DbMeter, secret: string): { row: ApiKeyRow; namespace: NamespaceRef } | undefined {
		if (!secret.startsWith(API_KEY_PREFIX) || secret.length > 200) return undefined
		const row = this.repository.bySecretHash(meter, sha256(secret))
		if (!row || (row.expiresAt !== null && row.expiresAt.getTime() <= Date.now())) return undefined
		const namespace = this.namespaces.liveById(meter, row.namespaceId)
		if (!namespace) return undefined
		this.repository.used(row)
		return { row, namespace: { id: namespace.id, slug: namespace.slug } }
	}

	/** POST /namespaces/{ns}/api-keys: a new key, its secret returned this once. */
	async create(meter: DbMeter, caller: Account, slug: string, body: ApiKeyCreate, expiresInSeconds: number | null) {
		personOnly(caller)
		const reached = this.access.bySlug(meter, caller, slug, 'read')
		if (RANK[body.role] > RANK[reached.role]) throw forbidden('insufficient_role', `A key cannot have more than your own role here (${reached.role}).`)
		checkName(body.name, 'name')
		const secret = `${API_KEY_PREFIX}${Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString('base64url')}`
		const row = await this.repository.create(meter, {
			namespaceId: reached.id,
			name: body.name,
			role: body.role,
			secretHash: sha256(secret),
			hint: secret.slice(0, API_KEY_PREFIX.length + 6),
			createdBy: caller.user.id,
			expiresAt: expiresInSeconds === null ? null : new Date(Date.now() + expiresInSeconds * 1000),
		})
		return { row, secret, creator: caller.user.username }
	}

	/** GET /namespaces/{ns}/api-keys: owners and admins see every key, anyone else their own. */
	list(meter: DbMeter, caller: Account, slug: string) {
		personOnly(caller)
		const reached = this.access.bySlug(meter, caller, slug, 'read')
		const rows = this.repository.list(meter, reached.id, RANK[reached.role] >= RANK.admin ? undefined : caller.user.id)
		const usernames = new Map(this.people.usersByIds(meter, [...new Set(rows.map((row) => row.createdBy))]).map((user) => [user.id, user.username]))
		return rows.map((row) => ({ row, creator: usernames.get(row.createdBy) ?? null }))
	}

	/** DELETE /namespaces/{ns}/api-keys/{id}: its creator, or an owner or admin, revokes a key. */
	async revoke(meter: DbMeter, caller: Account, slug: string, id: string) {
		personOnly(caller)
		const reached = this.access.bySlug(meter, caller, slug, 'read')
		const row = this.repository.byId(meter, reached.id, id)
		const mayRevoke = row && (row.createdBy === caller.user.id || RANK[reached.role] >= RANK.admin)
		if (!row || !mayRevoke || row.revokedAt !== null) throw notFound('api_key_not_found', 'No live API key with this id here.')
		const creator = this.people.usersByIds(meter, [row.createdBy])[0]?.username ?? null
		return { row: (await this.repository.revoke(meter, row)) ?? row, creator }
	}
}

/** Keys are made, listed and revoked by people: a key cannot mint another. */
function personOnly(caller: Account): void {
	if (caller.key) throw forbidden('person_required', 'API keys are managed by people, signed in with a dreamlake token, not by another key.')
}
