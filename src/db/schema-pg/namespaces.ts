import { sql } from 'drizzle-orm'
import { index, pgTable, primaryKey, text, uniqueIndex } from 'drizzle-orm/pg-core'
import { NAMESPACE_KINDS, ROLES } from '../schema/namespaces'
import { users } from './auth'
import { at, int, jsonb } from './types'

/** PostgreSQL twin of schema/namespaces.ts namespaces. */
export const namespaces = pgTable(
	'namespaces',
	{
		id: text('id').primaryKey(),
		slug: text('slug').notNull().unique(),
		ownerId: text('owner_id').references(() => users.id, { onDelete: 'cascade' }),
		kind: text('kind', { enum: NAMESPACE_KINDS }).notNull().default('personal'),
		name: text('name'),
		metadata: jsonb<Record<string, unknown>>('metadata').notNull().default({}),
		createdAt: at('created_at').notNull(),
		updatedAt: at('updated_at'),
		deletedAt: at('deleted_at'),
	},
	(table) => [
		uniqueIndex('namespaces_personal_owner_unique')
			.on(table.ownerId)
			.where(sql`${table.kind} = 'personal'`),
		index('namespaces_owner_idx').on(table.ownerId),
	],
)

export const namespaceMembers = pgTable(
	'namespace_members',
	{
		namespaceId: text('namespace_id')
			.notNull()
			.references(() => namespaces.id, { onDelete: 'cascade' }),
		userId: text('user_id')
			.notNull()
			.references(() => users.id, { onDelete: 'cascade' }),
		role: text('role', { enum: ROLES }).notNull(),
		addedBy: text('added_by').references(() => users.id, { onDelete: 'set null' }),
		createdAt: at('created_at').notNull(),
		updatedAt: at('updated_at').notNull(),
	},
	(table) => [primaryKey({ columns: [table.namespaceId, table.userId] }), index('namespace_members_user_idx').on(table.userId)],
)

export const apiKeys = pgTable(
	'api_keys',
	{
		id: text('id').primaryKey(),
		namespaceId: text('namespace_id')
			.notNull()
			.references(() => namespaces.id, { onDelete: 'cascade' }),
		name: text('name').notNull(),
		role: text('role', { enum: ROLES }).notNull(),
		secretHash: text('secret_hash').notNull().unique(),
		hint: text('hint').notNull(),
		createdBy: text('created_by')
			.notNull()
			.references(() => users.id, { onDelete: 'cascade' }),
		createdAt: at('created_at').notNull(),
		lastUsedAt: at('last_used_at'),
		expiresAt: at('expires_at'),
		revokedAt: at('revoked_at'),
	},
	(table) => [index('api_keys_namespace_idx').on(table.namespaceId)],
)

export const invitations = pgTable(
	'invitations',
	{
		id: text('id').primaryKey(),
		namespaceId: text('namespace_id')
			.notNull()
			.references(() => namespaces.id, { onDelete: 'cascade' }),
		role: text('role', { enum: ROLES }).notNull(),
		tokenHash: text('token_hash').notNull().unique(),
		createdBy: text('created_by').references(() => users.id, { onDelete: 'set null' }),
		createdAt: at('created_at').notNull(),
		expiresAt: at('expires_at').notNull(),
		maxUses: int('max_uses').notNull(),
		uses: int('uses').notNull().default(0),
		revokedAt: at('revoked_at'),
	},
	(table) => [index('invitations_namespace_idx').on(table.namespaceId)],
)
