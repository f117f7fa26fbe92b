import { and, eq, inArray, sql } from 'drizzle-orm'
import { BoundedMap } from '../bounded-map'
import { sqliteErrorOf, type Db } from '../db/client'
import { newUuid } from '../db/ids'
import { metered, type DbMeter } from '../db/meter'
import type { ExternalWrites } from '../db/external-writes'
import type { Tx, WriteQueue } from '../db/write-queue'
import { namespaces, users, type UserRow } from '../db/schema'
import type { NamespaceRef } from '../namespaces/model'
import type { NamespaceRepository } from '../namespaces/repository'
import { personalNamespaceSlug } from '../namespaces/slug'
import type { Account, ProfileChanges } from './model'

/** The profile a new user starts with. */
export type NewUser = Pick<UserRow, 'id' | 'sub' | 'email' | 'name' | 'username' | 'givenName' | 'familyName' | 'picture' | 'emailVerified'> & {
	tokenVersion?: number
	/** Slug wanted for the personal namespace; the first free `slug-n` is taken when it is not free. */
	namespaceSlug: string
}

export class UsernameTakenError extends Error {
	constructor() {
		super('username taken')
	}
}

const USERNAME_INDEX = 'users_username_lower_unique'
const isUsernameConflict = (error: unknown) => {
	const cause = sqliteErrorOf(error)
	return cause?.code === 'SQLITE_CONSTRAINT_UNIQUE' && cause.message.includes(USERNAME_INDEX)
}

const isIdConflict = (error: unknown) => sqliteErrorOf(error)?.code === 'SQLITE_CONSTRAINT_PRIMARYKEY'

/**
 * The accounts this process last read or wrote, by sub, so a known caller costs no database
 * statement: GET /auth/me was spending a third of its time in SQLite (bun run bench). It is
 * coherent because one process serves a database (db/server-lock.ts) and every write goes
 * through this repository, which updates it. Bounded: the oldest-inserted entries go first.
 */
class AccountCache {
	private readonly entries: BoundedMap<string, Account>
	/** The sub of each user id kept, for the callers known by id (an API key names its creator's). */
	private readonly subs: BoundedMap<string, string>

	constructor(capacity: number) {
		this.entries = new BoundedMap(capacity)
		this.subs = new BoundedMap(capacity)
	}

	get(sub: string): Account | undefined {
		return this.entries.get(sub)
	}

	byId(id: string): Account | undefined {
		const sub = this.subs.get(id)
		return sub === undefined ? undefined : this.entries.get(sub)
	}

	set(account: Account): void {
		this.entries.set(account.user.sub, account)
		this.subs.set(account.user.id, account.user.sub)
	}

	/** A written user row: kept with the namespace already known, or dropped to be read again. */
	update(user: UserRow): void {
		const known = this.entries.get(user.sub)
		if (known) this.set({ user, namespace: known.namespace })
	}

	delete(sub: string): void {
		this.entries.delete(sub)
	}

	clear(): void {
		this.entries.clear()
		this.subs.clear()
	}
}

/**
 * Users in SQLite, read with their personal namespace. Reads are synchronous; writes go through the
 * group-commit queue and settle after their commit. Every statement is charged to the request's meter.
 */
export class AccountRepository {
	private readonly q: ReturnType<typeof prepareQueries>
	private readonly cache: AccountCache
	private readonly externalWrites: ExternalWrites | undefined

	constructor(
		private readonly db: Db,
		private readonly writes: WriteQueue,
		private readonly namespaces: NamespaceRepository,
		{ cacheSize = 10_000, externalWrites }: { cacheSize?: number; externalWrites?: ExternalWrites } = {},
	) {
		this.q = prepareQueries(db)
		this.cache = new AccountCache(cacheSize)
		this.externalWrites = externalWrites
	}

	/** A person by username, case-insensitively (to add them to a team). */
	userByUsername(meter: DbMeter, username: string): UserRow | undefined {
		return metered(meter, () => this.q.userByUsername.get({ username }))
	}

	/** The people with these ids (members and who added them). */
	usersByIds(meter: DbMeter, ids: string[]): UserRow[] {
		if (ids.length === 0) return []
		return metered(meter, () => this.db.select().from(users).where(inArray(users.id, ids)).all())
	}

	/** The account if this process has it in memory; no statement (but PRAGMA data_version when another process may write accounts). */
	cached(sub: string): Account | undefined {
		this.forgetIfWrittenElsewhere()
		return this.cache.get(sub)
	}

	/** Another process committed (IDENTITY=builtin's `user disable`): what is in memory may be stale, so it all goes. */
	private forgetIfWrittenElsewhere(): void {
		if (this.externalWrites?.changed()) this.cache.clear()
	}

	/** The user and their personal namespace (null if they have none): from the cache, else one statement. */
	findBySub(meter: DbMeter, sub: string): { user: UserRow; namespace: NamespaceRef | null } | undefined {
		return this.cache.get(sub) ?? this.readBySub(meter, sub)
	}

	/** The account of a user id (an API key's creator): from memory, else one statement. */
	findById(meter: DbMeter, id: string): Account | undefined {
		this.forgetIfWrittenElsewhere()
		const known = this.cache.byId(id)
		if (known) return known
		const row = metered(meter, () => this.q.accountById.get({ id }))
		if (!row || row.namespaceId === null || row.namespaceSlug === null) return undefined
		const account = { user: row.user, namespace: { id: row.namespaceId, slug: row.namespaceSlug } }
		this.cache.set(account)
		return account
	}

	/** The database's answer, whatever the cache holds (for the rare paths that must not trust it). */
	readBySub(meter: DbMeter, sub: string): { user: UserRow; namespace: NamespaceRef | null } | undefined {
		const found = metered(meter, () => this.accountBySub(sub))
		if (found?.namespace) this.cache.set(found as Account) // the same object: per-account memos (model.ts) key on it
		else this.cache.delete(sub)
		return found
	}

	private accountBySub(sub: string): { user: UserRow; namespace: NamespaceRef | null } | undefined {
		const row = this.q.accountBySub.get({ sub })
		if (!row) return undefined
		return { user: row.user, namespace: row.namespaceId === null || row.namespaceSlug === null ? null : { id: row.namespaceId, slug: row.namespaceSlug } }
	}

	/**
	 * The cached account, else the user found or created with their personal namespace in one write
	 * transaction, which looks the sub up first. A miss skips a read of its own: outside a
	 * transaction every statement pays for SQLite's file locks (two fcntl and an fstat, about 6 µs
	 * here), inside the group commit it shares them.
	 */
	async findOrCreate(meter: DbMeter, sub: string, newUser: () => NewUser): Promise<{ account: Account; created: boolean }> {
		const cached = this.cache.get(sub)
		if (cached) return { account: cached, created: false }
		return this.writes.run(meter, (tx) => {
			const existing = this.accountBySub(sub)
			let result: { account: Account; created: boolean }
			if (existing) result = { account: { user: existing.user, namespace: existing.namespace ?? this.ensurePersonalNamespace(tx, existing.user) }, created: false }
			else {
				const profile = newUser()
				const user = this.insertUser(profile)
				result = { account: { user, namespace: this.namespaces.createPersonal(tx, user.id, profile.namespaceSlug) }, created: true }
			}
			tx.afterCommit(() => this.cache.set(result.account))
			return result
		})
	}

	/**
	 * Applies the changes in one `UPDATE … RETURNING` (one statement); an empty change set only reads.
	 * `undefined`: no user with this sub and token version.
	 */
	async updateProfile(meter: DbMeter, sub: string, tokenVersion: number, changes: ProfileChanges): Promise<UserRow | undefined> {
		if (Object.keys(changes).length === 0) {
			const found = this.findBySub(meter, sub)?.user
			return found?.tokenVersion === tokenVersion ? found : undefined
		}
		return this.writes.run(meter, (tx) => {
			let updated: UserRow | undefined
			try {
				updated = this.q.updateProfile(changes).get({
					sub,
					tokenVersion,
					nowMs: Date.now(),
					...changes,
					...(changes.metadata !== undefined && { metadata: JSON.stringify(changes.metadata) }),
				})
			} catch (error) {
				if (isUsernameConflict(error)) throw new UsernameTakenError()
				throw error
			}
			if (updated) tx.afterCommit(() => this.cache.update(updated))
			return updated
		})
	}

	/**
	 * Bumps the user's token version, so every dreamlake token signed before dies (one statement).
	 * `undefined`: no user with this sub and token version.
	 */
	async revokeTokens(meter: DbMeter, sub: string, tokenVersion: number): Promise<UserRow | undefined> {
		return this.writes.run(meter, (tx) => {
			const updated = this.q.revokeTokens.get({ sub, tokenVersion, nowMs: Date.now() })
			if (updated) tx.afterCommit(() => this.cache.update(updated))
			return updated
		})
	}

	/** Every dreamlake token of the user with this sub stops working (`user disable`), inside the caller's transaction. */
	revokeEveryToken(tx: Tx, sub: string): void {
		this.q.revokeEveryToken.run({ sub, nowMs: Date.now() })
		tx.afterCommit(() => this.cache.delete(sub))
	}

	/**
	 * The new user row. A username another user holds is left unset rather than failing the
	 * login; an id already in use is replaced by a fresh one.
	 */
	private insertUser(profile: NewUser): UserRow {
		const { namespaceSlug: _, ...row } = profile
		const now = new Date()
		const emailVerified = row.emailVerified === null ? null : row.emailVerified ? 1 : 0
		const insert = (username: string | null) => this.q.insertUser.get({ ...row, emailVerified, tokenVersion: row.tokenVersion ?? 0, username, now })
		try {
			return insert(profile.username)
		} catch (error) {
			if (isIdConflict(error)) return this.insertUser({ ...profile, id: newUuid() })
			if (isUsernameConflict(error)) return insert(null)
			throw error
		}
	}

	/** The user's personal namespace, created when missing (a user from before namespaces existed). */
	private ensurePersonalNamespace(tx: Tx, user: UserRow): NamespaceRef {
		return this.namespaces.personalOf(tx, user.id) ?? this.namespaces.createPersonal(tx, user.id, personalNamespaceSlug({ username: user.username, email: user.email, userId: user.id }))
	}
}

/**
 * A column of the personal namespace of the outer query's `users` row. Spelled out with table
 * names: drizzle leaves columns unqualified in a single-table select, and inside the subquery an
 * unqualified "id" would be the namespace's own.
 */
const personalNamespace = (column: 'id' | 'slug') =>
	sql<string | null>`(SELECT ${namespaces}.${sql.identifier(column)} FROM ${namespaces} WHERE ${namespaces}.${sql.identifier(namespaces.ownerId.name)} = ${users}.${sql.identifier(users.id.name)} AND ${namespaces}.${sql.identifier(namespaces.kind.name)} = 'personal')`

/** The caller's row, only while the token's version is current: a revoked token changes nothing. */
const isCallersRow = and(eq(users.sub, sql.placeholder('sub')), eq(users.tokenVersion, sql.placeholder('tokenVersion')))
/** `updated_at` from the `nowMs` placeholder, raw epoch milliseconds. */
const touchedAt = sql`${sql.placeholder('nowMs')}`

const PROFILE_FIELDS = ['name', 'username', 'picture', 'metadata'] as const satisfies (keyof ProfileChanges)[]

/**
 * One prepared `UPDATE … RETURNING` per set of changed fields (16 at most, prepared on first use):
 * a statement that also rewrote unchanged columns would make SQLite maintain the username index
 * on every update.
 */
function profileUpdates(db: Db) {
	const prepared = new Map<string, ReturnType<typeof prepare>>()
	const prepare = (fields: (typeof PROFILE_FIELDS)[number][]) =>
		db
			.update(users)
			.set({
				// raw placeholders: metadata arrives already serialized
				...Object.fromEntries(fields.map((field) => [field, sql`${sql.placeholder(field)}`])),
				updatedAt: touchedAt,
			})
			.where(isCallersRow)
			.returning()
			.prepare()
	return (changes: ProfileChanges) => {
		const fields = PROFILE_FIELDS.filter((field) => changes[field] !== undefined)
		const key = fields.join(',')
		let statement = prepared.get(key)
		if (!statement) prepared.set(key, (statement = prepare(fields)))
		return statement
	}
}

function prepareQueries(db: Db) {
	return {
		// Scalar subqueries, not a LEFT JOIN: SQLite ran the join form of this point lookup about twice as
		// slowly (17 µs against 7.5 µs on a file, 10 µs against 1 µs in memory), the hottest statement there is.
		userByUsername: db
			.select()
			.from(users)
			.where(sql`lower(${users.username}) = lower(${sql.placeholder('username')})`)
			.prepare(),
		accountById: db
			.select({ user: users, namespaceId: personalNamespace('id'), namespaceSlug: personalNamespace('slug') })
			.from(users)
			.where(eq(users.id, sql.placeholder('id')))
			.prepare(),
		accountBySub: db
			.select({ user: users, namespaceId: personalNamespace('id'), namespaceSlug: personalNamespace('slug') })
			.from(users)
			.where(eq(users.sub, sql.placeholder('sub')))
			.prepare(),
		updateProfile: profileUpdates(db),
		insertUser: db
			.insert(users)
			.values({
				id: sql.placeholder('id'),
				sub: sql.placeholder('sub'),
				email: sql.placeholder('email'),
				name: sql.placeholder('name'),
				username: sql.placeholder('username'),
				givenName: sql.placeholder('givenName'),
				familyName: sql.placeholder('familyName'),
				picture: sql.placeholder('picture'),
				// raw, not through the boolean column's encoder, which would store null as false
				emailVerified: sql`${sql.placeholder('emailVerified')}`,
				tokenVersion: sql.placeholder('tokenVersion'),
				createdAt: sql.placeholder('now'),
				updatedAt: sql.placeholder('now'),
			})
			.returning()
			.prepare(),
		revokeEveryToken: db
			.update(users)
			.set({ tokenVersion: sql`${users.tokenVersion} + 1`, updatedAt: touchedAt })
			.where(eq(users.sub, sql.placeholder('sub')))
			.prepare(),
		revokeTokens: db
			.update(users)
			.set({ tokenVersion: sql`${users.tokenVersion} + 1`, updatedAt: touchedAt })
			.where(isCallersRow)
			.returning()
			.prepare(),
	}
}
