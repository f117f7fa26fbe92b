import { and, asc, eq, sql } from 'drizzle-orm'
import { sqliteErrorOf, type Db } from '../db/client'
import { metered, type DbMeter } from '../db/meter'
import type { Tx, WriteQueue } from '../db/write-queue'
import { passwordAccounts, passwordLinks, type PasswordAccountRow } from '../db/schema'

export class AccountNameTakenError extends Error {
	constructor() {
		super('username taken')
	}
}

const isNameConflict = (error: unknown) => {
	const cause = sqliteErrorOf(error)
	return cause?.code === 'SQLITE_CONSTRAINT_UNIQUE' && cause.message.includes('password_accounts_username_lower_unique')
}

/**
 * Built-in accounts (IDENTITY=builtin) and their one-time set-password links, in SQLite. Nothing is
 * cached: a sign-in is rare, and `dreamlake-server user …` writes from another process.
 */
export class PasswordAccountRepository {
	private readonly q: ReturnType<typeof prepareQueries>

	constructor(
		db: Db,
		private readonly writes: WriteQueue,
	) {
		this.q = prepareQueries(db)
	}

	byUsername(meter: DbMeter, username: string): PasswordAccountRow | undefined {
		return metered(meter, () => this.q.byUsername.get({ username }))
	}

	byId(meter: DbMeter, id: string): PasswordAccountRow | undefined {
		return metered(meter, () => this.q.byId.get({ id }))
	}

	list(meter: DbMeter): PasswordAccountRow[] {
		return metered(meter, () => this.q.list.all())
	}

	/** A new account without a password, and its set-password link (one transaction). */
	add(meter: DbMeter, account: { id: string; username: string; isAdmin: boolean }, link: { tokenHash: string; expiresAt: Date }): Promise<PasswordAccountRow> {
		return this.writes.run(meter, () => {
			const now = new Date()
			let row: PasswordAccountRow
			try {
				row = this.q.insert.get({ ...account, isAdmin: account.isAdmin ? 1 : 0, now })!
			} catch (error) {
				if (isNameConflict(error)) throw new AccountNameTakenError()
				throw error
			}
			this.replaceLink(row.id, link)
			return row
		})
	}

	/** A new account with its password already set (a sign-up with an invitation). */
	addWithPassword(meter: DbMeter, account: { id: string; username: string; passwordHash: string }): Promise<PasswordAccountRow> {
		return this.writes.run(meter, () => {
			let row: PasswordAccountRow
			try {
				row = this.q.insert.get({ id: account.id, username: account.username, isAdmin: 0, now: new Date() })!
			} catch (error) {
				if (isNameConflict(error)) throw new AccountNameTakenError()
				throw error
			}
			return this.q.setPassword.get({ id: row.id, passwordHash: account.passwordHash, nowMs: Date.now() })!
		})
	}

	/** A new set-password link for the account; any earlier one stops working. */
	newLink(meter: DbMeter, accountId: string, link: { tokenHash: string; expiresAt: Date }): Promise<void> {
		return this.writes.run(meter, () => this.replaceLink(accountId, link))
	}

	/** Inside a write job only (the queue's transaction). */
	private replaceLink(accountId: string, link: { tokenHash: string; expiresAt: Date }): void {
		this.q.deleteLinks.run({ accountId })
		this.q.insertLink.run({ accountId, tokenHash: link.tokenHash, expiresAt: link.expiresAt, now: new Date() })
	}

	/** The account a live link names (no write: the page shows the form first). */
	linkAccount(meter: DbMeter, tokenHash: string, nowMs: number): PasswordAccountRow | undefined {
		return metered(meter, () => this.q.linkAccount.get({ tokenHash, nowMs })?.account)
	}

	/** Uses the link once: sets the password and deletes the link, in one transaction; undefined when the link is unknown, used or expired. */
	setPasswordWithLink(meter: DbMeter, tokenHash: string, passwordHash: string, nowMs: number): Promise<PasswordAccountRow | undefined> {
		return this.writes.run(meter, () => {
			const account = this.q.linkAccount.get({ tokenHash, nowMs })?.account
			if (!account) return undefined
			this.q.deleteLinks.run({ accountId: account.id })
			return this.q.setPassword.get({ id: account.id, passwordHash, nowMs: Date.now() })
		})
	}

	setPassword(meter: DbMeter, id: string, passwordHash: string): Promise<PasswordAccountRow | undefined> {
		return this.writes.run(meter, () => this.q.setPassword.get({ id, passwordHash, nowMs: Date.now() }))
	}

	/** A wrong password: the count in a row, and the lock it earned (null: none yet). */
	recordFailure(meter: DbMeter, id: string, failedAttempts: number, lockedUntil: Date | null): Promise<void> {
		return this.writes.run(meter, () => void this.q.recordFailure.run({ id, failedAttempts, lockedUntil: lockedUntil?.getTime() ?? null, nowMs: Date.now() }))
	}

	clearFailures(meter: DbMeter, id: string): Promise<void> {
		return this.writes.run(meter, () => void this.q.clearFailures.run({ id, nowMs: Date.now() }))
	}

	/** Disables the account and deletes its links; `alsoInTx` runs in the same transaction (the user's tokens revoked). */
	disable(meter: DbMeter, id: string, alsoInTx: (tx: Tx) => void): Promise<PasswordAccountRow | undefined> {
		return this.writes.run(meter, (tx) => {
			const row = this.q.disable.get({ id, nowMs: Date.now() })
			if (row) {
				this.q.deleteLinks.run({ accountId: id })
				alsoInTx(tx)
			}
			return row
		})
	}
}

function prepareQueries(db: Db) {
	const byLowerName = sql`lower(${passwordAccounts.username}) = lower(${sql.placeholder('username')})`
	return {
		byUsername: db.select().from(passwordAccounts).where(byLowerName).prepare(),
		byId: db.select().from(passwordAccounts).where(eq(passwordAccounts.id, sql.placeholder('id'))).prepare(),
		list: db.select().from(passwordAccounts).orderBy(asc(passwordAccounts.username)).prepare(),
		insert: db
			.insert(passwordAccounts)
			.values({ id: sql.placeholder('id'), username: sql.placeholder('username'), isAdmin: sql`${sql.placeholder('isAdmin')}`, createdAt: sql.placeholder('now'), updatedAt: sql.placeholder('now') })
			.returning()
			.prepare(),
		deleteLinks: db.delete(passwordLinks).where(eq(passwordLinks.accountId, sql.placeholder('accountId'))).prepare(),
		insertLink: db
			.insert(passwordLinks)
			.values({ tokenHash: sql.placeholder('tokenHash'), accountId: sql.placeholder('accountId'), expiresAt: sql.placeholder('expiresAt'), createdAt: sql.placeholder('now') })
			.prepare(),
		linkAccount: db
			.select({ account: passwordAccounts })
			.from(passwordLinks)
			.innerJoin(passwordAccounts, eq(passwordAccounts.id, passwordLinks.accountId))
			.where(and(eq(passwordLinks.tokenHash, sql.placeholder('tokenHash')), sql`${passwordLinks.expiresAt} > ${sql.placeholder('nowMs')}`, sql`${passwordAccounts.disabledAt} IS NULL`))
			.prepare(),
		setPassword: db
			.update(passwordAccounts)
			.set({ passwordHash: sql`${sql.placeholder('passwordHash')}`, failedAttempts: 0, lockedUntil: null, updatedAt: sql`${sql.placeholder('nowMs')}` })
			.where(eq(passwordAccounts.id, sql.placeholder('id')))
			.returning()
			.prepare(),
		recordFailure: db
			.update(passwordAccounts)
			.set({ failedAttempts: sql`${sql.placeholder('failedAttempts')}`, lockedUntil: sql`${sql.placeholder('lockedUntil')}`, updatedAt: sql`${sql.placeholder('nowMs')}` })
			.where(eq(passwordAccounts.id, sql.placeholder('id')))
			.prepare(),
		clearFailures: db
			.update(passwordAccounts)
			.set({ failedAttempts: 0, lockedUntil: null, updatedAt: sql`${sql.placeholder('nowMs')}` })
			.where(eq(passwordAccounts.id, sql.placeholder('id')))
			.prepare(),
		disable: db
			.update(passwordAccounts)
			.set({ disabledAt: sql`coalesce(${passwordAccounts.disabledAt}, ${sql.placeholder('nowMs')})`, updatedAt: sql`${sql.placeholder('nowMs')}` })
			.where(eq(passwordAccounts.id, sql.placeholder('id')))
			.returning()
			.prepare(),
	}
}
