import { sql } from 'drizzle-orm'
import { boolean, index, pgTable, text, uniqueIndex } from 'drizzle-orm/pg-core'
import { at, int } from './types'

/** PostgreSQL twin of schema/identity.ts passwordAccounts. */
export const passwordAccounts = pgTable(
	'password_accounts',
	{
		id: text('id').primaryKey(),
		username: text('username').notNull(),
		passwordHash: text('password_hash'),
		isAdmin: boolean('is_admin').notNull().default(false),
		disabledAt: at('disabled_at'),
		failedAttempts: int('failed_attempts').notNull().default(0),
		lockedUntil: at('locked_until'),
		createdAt: at('created_at').notNull(),
		updatedAt: at('updated_at').notNull(),
	},
	(table) => [uniqueIndex('password_accounts_username_lower_unique').on(sql`lower(${table.username})`)],
)

/** PostgreSQL twin of schema/identity.ts passwordLinks. */
export const passwordLinks = pgTable(
	'password_links',
	{
		tokenHash: text('token_hash').primaryKey(),
		accountId: text('account_id')
			.notNull()
			.references(() => passwordAccounts.id, { onDelete: 'cascade' }),
		expiresAt: at('expires_at').notNull(),
		createdAt: at('created_at').notNull(),
	},
	(table) => [index('password_links_account_idx').on(table.accountId)],
)
