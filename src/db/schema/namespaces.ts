import { sql } from 'drizzle-orm'
import { index, integer, sqliteTable, text, uniqueIndex } from 'drizzle-orm/sqlite-core'
import { users } from './auth'

/** A place data lives under (`/<slug>/...`); every user owns one personal namespace. */
export const namespaces = sqliteTable(
	'namespaces',
	{
		id: text('id').primaryKey(),
		slug: text('slug').notNull().unique(),
		ownerId: text('owner_id')
			.notNull()
			.references(() => users.id, { onDelete: 'cascade' }),
		kind: text('kind', { enum: ['personal'] }).notNull().default('personal'),
		createdAt: integer('created_at', { mode: 'timestamp_ms' }).notNull(),
	},
	(table) => [
		uniqueIndex('namespaces_personal_owner_unique')
			.on(table.ownerId)
			.where(sql`${table.kind} = 'personal'`),
		index('namespaces_owner_idx').on(table.ownerId),
	],
)

export type NamespaceRow = typeof namespaces.$inferSelect
