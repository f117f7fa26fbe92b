import { sql } from 'drizzle-orm'
import { integer, sqliteTable, text, uniqueIndex } from 'drizzle-orm/sqlite-core'

/** A person known to this server, keyed by their vuer-auth `sub`. */
export const users = sqliteTable(
	'users',
	{
		id: text('id').primaryKey(),
		sub: text('sub').notNull().unique(),
		email: text('email'),
		name: text('name'),
		username: text('username'),
		givenName: text('given_name'),
		familyName: text('family_name'),
		picture: text('picture'),
		emailVerified: integer('email_verified', { mode: 'boolean' }),
		metadata: text('metadata', { mode: 'json' })
			.$type<Record<string, unknown>>()
			.notNull()
			.default(sql`'{}'`),
		/** Carried in every dreamlake token; bumping it revokes them all. */
		tokenVersion: integer('token_version').notNull().default(0),
		createdAt: integer('created_at', { mode: 'timestamp_ms' }).notNull(),
		updatedAt: integer('updated_at', { mode: 'timestamp_ms' }).notNull(),
	},
	(table) => [uniqueIndex('users_username_lower_unique').on(sql`lower(${table.username})`)],
)

export type UserRow = typeof users.$inferSelect
