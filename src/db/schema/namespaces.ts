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

/**
 * A key for CI and robots: acts in one namespace with its role (never above its creator's, then or
 * now). Only the sha256 of its secret is kept; the secret is shown once.
 */
export const apiKeys = sqliteTable(
	'api_keys',
	{
		id: text('id').primaryKey(),
		namespaceId: text('namespace_id')
			.notNull()
			.references(() => namespaces.id, { onDelete: 'cascade' }),
		name: text('name').notNull(),
		role: text('role', { enum: ROLES }).notNull(),
		/** sha256 of the secret, hex. */
		secretHash: text('secret_hash').notNull().unique(),
		/** The secret's first characters, to tell keys apart in a list. */
		hint: text('hint').notNull(),
		createdBy: text('created_by')
			.notNull()
			.references(() => users.id, { onDelete: 'cascade' }),
		createdAt: integer('created_at', { mode: 'timestamp_ms' }).notNull(),
		lastUsedAt: integer('last_used_at', { mode: 'timestamp_ms' }),
		expiresAt: integer('expires_at', { mode: 'timestamp_ms' }),
		revokedAt: integer('revoked_at', { mode: 'timestamp_ms' }),
	},
	(table) => [index('api_keys_namespace_idx').on(table.namespaceId)],
)

/** A link that makes whoever signs in with it a member, with a role, a number of times, until it expires. */
export const invitations = sqliteTable(
	'invitations',
	{
		id: text('id').primaryKey(),
		namespaceId: text('namespace_id')
			.notNull()
			.references(() => namespaces.id, { onDelete: 'cascade' }),
		role: text('role', { enum: ROLES }).notNull(),
		/** sha256 of the token in the link, hex. */
		tokenHash: text('token_hash').notNull().unique(),
		createdBy: text('created_by').references(() => users.id, { onDelete: 'set null' }),
		createdAt: integer('created_at', { mode: 'timestamp_ms' }).notNull(),
		expiresAt: integer('expires_at', { mode: 'timestamp_ms' }).notNull(),
		maxUses: integer('max_uses').notNull(),
		uses: integer('uses').notNull().default(0),
		revokedAt: integer('revoked_at', { mode: 'timestamp_ms' }),
	},
	(table) => [index('invitations_namespace_idx').on(table.namespaceId)],
)

export type ApiKeyRow = typeof apiKeys.$inferSelect
export type InvitationRow = typeof invitations.$inferSelect
