import { sql } from 'drizzle-orm'
import { index, integer, sqliteTable, text, uniqueIndex } from 'drizzle-orm/sqlite-core'

/**
 * An account of the server's own (IDENTITY=builtin): a username and an argon2id password hash.
 * Its person signs in as the user whose `sub` is `builtin|<id>` (users, created at the first exchange).
 */
export const passwordAccounts = sqliteTable(
	'password_accounts',
	{
		id: text('id').primaryKey(),
		username: text('username').notNull(),
		/** `Bun.password` (argon2id, PHC string); null until the person follows their set-password link. */
		passwordHash: text('password_hash'),
		isAdmin: integer('is_admin', { mode: 'boolean' }).notNull().default(false),
		/** Set by `user disable`: no sign-in, and the user's dreamlake tokens stop working. */
		disabledAt: integer('disabled_at', { mode: 'timestamp_ms' }),
		/** Wrong passwords in a row; reset by a right one. */
		failedAttempts: integer('failed_attempts').notNull().default(0),
		lockedUntil: integer('locked_until', { mode: 'timestamp_ms' }),
		createdAt: integer('created_at', { mode: 'timestamp_ms' }).notNull(),
		updatedAt: integer('updated_at', { mode: 'timestamp_ms' }).notNull(),
	},
	(table) => [uniqueIndex('password_accounts_username_lower_unique').on(sql`lower(${table.username})`)],
)

/** A one-time link to set a password (`user add`, `user reset-password`, an invitation): only its sha256 is kept. */
export const passwordLinks = sqliteTable(
	'password_links',
	{
		tokenHash: text('token_hash').primaryKey(),
		accountId: text('account_id')
			.notNull()
			.references(() => passwordAccounts.id, { onDelete: 'cascade' }),
		expiresAt: integer('expires_at', { mode: 'timestamp_ms' }).notNull(),
		createdAt: integer('created_at', { mode: 'timestamp_ms' }).notNull(),
	},
	(table) => [index('password_links_account_idx').on(table.accountId)],
)

export type PasswordAccountRow = typeof passwordAccounts.$inferSelect
