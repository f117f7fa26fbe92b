import { sql } from 'drizzle-orm'
import { boolean, pgTable, text, uniqueIndex } from 'drizzle-orm/pg-core'
import { at, int, jsonb } from './types'

/** PostgreSQL twin of schema/auth.ts users. */
export const users = pgTable(
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
		emailVerified: boolean('email_verified'),
		metadata: jsonb<Record<string, unknown>>('metadata').notNull().default({}),
		tokenVersion: int('token_version').notNull().default(0),
		createdAt: at('created_at').notNull(),
		updatedAt: at('updated_at').notNull(),
	},
	(table) => [uniqueIndex('users_username_lower_unique').on(sql`lower(${table.username})`)],
)
