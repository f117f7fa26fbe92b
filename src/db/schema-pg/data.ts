import { sql } from 'drizzle-orm'
import { boolean, doublePrecision, index, pgTable, primaryKey, text, uniqueIndex } from 'drizzle-orm/pg-core'
import { EPISODE_STATUSES, VISIBILITIES } from '../schema/data'
import { users } from './auth'
import { namespaces } from './namespaces'
import { at, bytea, int, jsonb } from './types'

const stringList = (name: string) => jsonb<string[]>(name).notNull().default([])
const jsonObject = (name: string) => jsonb<Record<string, unknown>>(name).notNull().default({})

const madeBy = () => ({
	createdBy: text('created_by').references(() => users.id, { onDelete: 'set null' }),
	createdByName: text('created_by_name'),
	createdByKey: text('created_by_key'),
	createdByKeyName: text('created_by_key_name'),
})

/** PostgreSQL twins of schema/data.ts, table for table; the comments there hold for these. */
export const projects = pgTable(
	'projects',
	{
		id: int('id').primaryKey(),
		namespaceId: text('namespace_id')
			.notNull()
			.references(() => namespaces.id, { onDelete: 'cascade' }),
		name: text('name').notNull(),
		slug: text('slug').notNull(),
		description: text('description'),
		tags: stringList('tags'),
		metadata: jsonObject('metadata'),
		visibility: text('visibility', { enum: VISIBILITIES }).notNull().default('private'),
		createdAt: at('created_at').notNull(),
		updatedAt: at('updated_at').notNull(),
		deletedAt: at('deleted_at'),
	},
	(table) => [uniqueIndex('projects_namespace_slug_unique').on(table.namespaceId, table.slug), index('projects_namespace_created_idx').on(table.namespaceId, table.createdAt)],
)

export const episodes = pgTable(
	'episodes',
	{
		id: int('id').primaryKey(),
		projectId: int('project_id')
			.notNull()
			.references(() => projects.id, { onDelete: 'cascade' }),
		name: text('name').notNull(),
		description: text('description'),
		tags: stringList('tags'),
		status: text('status', { enum: EPISODE_STATUSES }).notNull().default('running'),
		writeProtected: boolean('write_protected').notNull().default(false),
		metadata: jsonObject('metadata'),
		...madeBy(),
		createdAt: at('created_at').notNull(),
		updatedAt: at('updated_at').notNull(),
		lastActivityAt: at('last_activity_at'),
		deletedAt: at('deleted_at'),
	},
	(table) => [uniqueIndex('episodes_project_name_unique').on(table.projectId, table.name), index('episodes_project_created_idx').on(table.projectId, table.createdAt)],
)

/**
 * No WITHOUT ROWID here: a PostgreSQL table is a heap beside its primary key's index whatever is
 * declared. The summary trigger is a statement trigger over the inserted rows (migration 0001).
 */
export const logEntries = pgTable(
	'log_entries',
	{
		episodeId: int('episode_id')
			.notNull()
			.references(() => episodes.id, { onDelete: 'cascade' }),
		sequence: int('sequence').notNull(),
		timestamp: int('timestamp').notNull(),
		level: int('level').notNull(),
		message: text('message').notNull(),
		metadata: text('metadata'),
		closesBatch: int('closes_batch'),
	},
	(table) => [primaryKey({ columns: [table.episodeId, table.sequence] })],
)

export const logSummaries = pgTable('log_summaries', {
	episodeId: int('episode_id')
		.primaryKey()
		.references(() => episodes.id, { onDelete: 'cascade' }),
	total: int('total').notNull().default(0),
	debug: int('debug').notNull().default(0),
	info: int('info').notNull().default(0),
	warn: int('warn').notNull().default(0),
	error: int('error').notNull().default(0),
	fatal: int('fatal').notNull().default(0),
	firstAt: int('first_at'),
	lastAt: int('last_at'),
})

export const parameters = pgTable('parameters', {
	episodeId: int('episode_id')
		.primaryKey()
		.references(() => episodes.id, { onDelete: 'cascade' }),
	id: int('id').notNull().unique(),
	data: jsonb<Record<string, unknown>>('data').notNull(),
	version: int('version').notNull(),
	createdAt: at('created_at').notNull(),
	updatedAt: at('updated_at').notNull(),
})

export const parameterEntries = pgTable(
	'parameter_entries',
	{
		episodeId: int('episode_id')
			.notNull()
			.references(() => episodes.id, { onDelete: 'cascade' }),
		version: int('version').notNull(),
		patch: jsonb<Record<string, unknown>>('patch').notNull(),
		createdAt: at('created_at').notNull(),
		...madeBy(),
	},
	(table) => [primaryKey({ columns: [table.episodeId, table.version] })],
)

export const tracks = pgTable(
	'tracks',
	{
		id: int('id').primaryKey(),
		episodeId: int('episode_id')
			.notNull()
			.references(() => episodes.id, { onDelete: 'cascade' }),
		name: text('name').notNull(),
		description: text('description'),
		tags: stringList('tags'),
		metadata: jsonObject('metadata'),
		keys: stringList('keys'),
		total: int('total').notNull().default(0),
		chunks: int('chunks').notNull().default(0),
		firstDataAt: at('first_data_at'),
		lastDataAt: at('last_data_at'),
		createdAt: at('created_at').notNull(),
		updatedAt: at('updated_at').notNull(),
		deletedAt: at('deleted_at'),
	},
	(table) => [uniqueIndex('tracks_episode_name_unique').on(table.episodeId, table.name)],
)

/**
 * parameter_values' twin. SQLite's `value` holds a number, text, or a blob of the JSON of anything
 * else, in one column; here it is that value as jsonb (a number, a string, or the JSON itself), one
 * type that keeps which of them it was, so `migrate-data` copies it exactly (migration 0004) and
 * jsonb's btree order still puts numbers with numbers and strings with strings.
 */
export const parameterValues = pgTable(
	'parameter_values',
	{
		episodeId: int('episode_id')
			.notNull()
			.references(() => episodes.id, { onDelete: 'cascade' }),
		projectId: int('project_id').notNull(),
		key: text('key').notNull(),
		value: jsonb<unknown>('value'),
	},
	(table) => [primaryKey({ columns: [table.episodeId, table.key] }), index('parameter_values_project_key_value_idx').on(table.projectId, table.key, table.value)],
)

export const metricSummaries = pgTable(
	'metric_summaries',
	{
		episodeId: int('episode_id')
			.notNull()
			.references(() => episodes.id, { onDelete: 'cascade' }),
		projectId: int('project_id').notNull(),
		trackId: int('track_id')
			.notNull()
			.references(() => tracks.id, { onDelete: 'cascade' }),
		trackName: text('track_name').notNull(),
		key: text('key').notNull(),
		count: int('count').notNull(),
		last: doublePrecision('last').notNull(),
		lastIndex: int('last_index').notNull(),
		min: doublePrecision('min').notNull(),
		minIndex: int('min_index'),
		minStep: doublePrecision('min_step'),
		max: doublePrecision('max').notNull(),
		maxIndex: int('max_index'),
		maxStep: doublePrecision('max_step'),
		deleted: boolean('deleted').notNull().default(false),
	},
	(table) => [primaryKey({ columns: [table.episodeId, table.trackName, table.key] }), index('metric_summaries_track_idx').on(table.trackId)],
)

export const trackChunks = pgTable(
	'track_chunks',
	{
		trackId: int('track_id')
			.notNull()
			.references(() => tracks.id, { onDelete: 'cascade' }),
		startIndex: int('start_index').notNull(),
		count: int('count').notNull(),
		minTs: doublePrecision('min_ts'),
		maxTs: doublePrecision('max_ts'),
		summary: jsonb<Record<string, { count: number; min: number; max: number; sum: number; last: number }>>('summary').notNull(),
		createdAt: at('created_at').notNull(),
		blocks: bytea('blocks').notNull(),
		data: bytea('data').notNull(),
	},
	(table) => [primaryKey({ columns: [table.trackId, table.startIndex] })],
)

export const files = pgTable(
	'files',
	{
		id: int('id').primaryKey(),
		episodeId: int('episode_id')
			.notNull()
			.references(() => episodes.id, { onDelete: 'cascade' }),
		prefix: text('prefix').notNull(),
		filename: text('filename').notNull(),
		description: text('description'),
		tags: stringList('tags'),
		contentType: text('content_type').notNull(),
		sizeBytes: int('size_bytes').notNull(),
		checksum: text('checksum').notNull(),
		metadata: jsonObject('metadata'),
		...madeBy(),
		uploadedAt: at('uploaded_at').notNull(),
		updatedAt: at('updated_at').notNull(),
		deletedAt: at('deleted_at'),
	},
	(table) => [
		uniqueIndex('files_live_path_unique')
			.on(table.episodeId, table.prefix, table.filename)
			.where(sql`${table.deletedAt} IS NULL`),
		index('files_episode_prefix_idx').on(table.episodeId, table.prefix),
		index('files_checksum_idx').on(table.checksum),
	],
)
