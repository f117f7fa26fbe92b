import { sql } from 'drizzle-orm'
import { index, integer, primaryKey, sqliteTable, text, uniqueIndex } from 'drizzle-orm/sqlite-core'
import { users } from './auth'

export const NAMESPACE_KINDS = ['personal', 'team'] as const
export type NamespaceKind = (typeof NAMESPACE_KINDS)[number]

/** What a member may do in a namespace, from most to least. */
export const ROLES = ['owner', 'admin', 'member', 'viewer'] as const
export type Role = (typeof ROLES)[number]

/**
 * A place data lives under (`/<slug>/...`): every user owns one personal namespace, and any number
 * of people share a team's. Slugs are unique across both.
 */
export const namespaces = sqliteTable(
	'namespaces',
	{
		id: text('id').primaryKey(),
		slug: text('slug').notNull().unique(),
		/** A personal namespace's person; null for a team (its owners are members with the role `owner`). */
		ownerId: text('owner_id').references(() => users.id, { onDelete: 'cascade' }),
		kind: text('kind', { enum: NAMESPACE_KINDS }).notNull().default('personal'),
		name: text('name'),
		metadata: text('metadata', { mode: 'json' })
			.$type<Record<string, unknown>>()
			.notNull()
			.default(sql`'{}'`),
		createdAt: integer('created_at', { mode: 'timestamp_ms' }).notNull(),
		updatedAt: integer('updated_at', { mode: 'timestamp_ms' }),
		/** Soft delete (teams only): hidden with everything in it until restored or purged. */
		deletedAt: integer('deleted_at', { mode: 'timestamp_ms' }),
	},
	(table) => [
		uniqueIndex('namespaces_personal_owner_unique')
			.on(table.ownerId)
			.where(sql`${table.kind} = 'personal'`),
		index('namespaces_owner_idx').on(table.ownerId),
	],
)

/** Who may do what in a namespace besides a personal namespace's own person. */
export const namespaceMembers = sqliteTable(
	'namespace_members',
	{
		namespaceId: text('namespace_id')
			.notNull()
			.references(() => namespaces.id, { onDelete: 'cascade' }),
		userId: text('user_id')
			.notNull()
			.references(() => users.id, { onDelete: 'cascade' }),
		role: text('role', { enum: ROLES }).notNull(),
		/** Who added them (by username, or an invitation's creator); kept when that person is gone. */
		addedBy: text('added_by').references(() => users.id, { onDelete: 'set null' }),
		createdAt: integer('created_at', { mode: 'timestamp_ms' }).notNull(),
		updatedAt: integer('updated_at', { mode: 'timestamp_ms' }).notNull(),
	},
	(table) => [primaryKey({ columns: [table.namespaceId, table.userId] }), index('namespace_members_user_idx').on(table.userId)],
)

export type NamespaceRow = typeof namespaces.$inferSelect
export type MemberRow = typeof namespaceMembers.$inferSelect
