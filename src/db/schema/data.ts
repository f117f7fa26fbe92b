import { sql } from 'drizzle-orm'
import { blob, index, integer, primaryKey, real, sqliteTable, text, uniqueIndex } from 'drizzle-orm/sqlite-core'
import { users } from './auth'
import { namespaces } from './namespaces'

/**
 * Ids of everything under a namespace are time-ordered 53-bit integers (db/ids.ts), written as
 * decimal strings in JSON: eight bytes in every child row instead of a 36-character UUID, and new
 * rows land at the right edge of each index.
 */
const json = <T>(name: string) => text(name, { mode: 'json' }).$type<T>()
const at = (name: string) => integer(name, { mode: 'timestamp_ms' })
/** A JSON array of strings (tags, keys), `[]` when not given. */
const stringList = (name: string) => json<string[]>(name).notNull().default(sql`'[]'`)
/** A JSON object (metadata), `{}` when not given. */
const jsonObject = (name: string) => json<Record<string, unknown>>(name).notNull().default(sql`'{}'`)

/**
 * Who made a row: a person (their id, and their username then, so the answer needs no lookup), or
 * an API key acting for its creator (its id and name besides). Kept when the person is gone.
 */
const madeBy = () => ({
	createdBy: text('created_by').references(() => users.id, { onDelete: 'set null' }),
	createdByName: text('created_by_name'),
	createdByKey: text('created_by_key'),
	createdByKeyName: text('created_by_key_name'),
})

export const VISIBILITIES = ['private', 'internal', 'public'] as const
export type Visibility = (typeof VISIBILITIES)[number]

/** A project (upstream's "space"/"workspace") in a namespace; episodes live in it. */
export const projects = sqliteTable(
	'projects',
	{
		id: integer('id').primaryKey(),
		namespaceId: text('namespace_id')
			.notNull()
			.references(() => namespaces.id, { onDelete: 'cascade' }),
		name: text('name').notNull(),
		slug: text('slug').notNull(),
		description: text('description'),
		tags: stringList('tags'),
		metadata: jsonObject('metadata'),
		/** Who may read it: the namespace's members (`private`), any signed-in person of this server (`internal`), anyone (`public`). */
		visibility: text('visibility', { enum: VISIBILITIES }).notNull().default('private'),
		createdAt: at('created_at').notNull(),
		updatedAt: at('updated_at').notNull(),
		/** Soft delete: hidden everywhere (with everything under it) until restored or purged. */
		deletedAt: at('deleted_at'),
	},
	(table) => [uniqueIndex('projects_namespace_slug_unique').on(table.namespaceId, table.slug), index('projects_namespace_created_idx').on(table.namespaceId, table.createdAt)],
)

export const EPISODE_STATUSES = ['running', 'completed', 'failed', 'cancelled', 'archived'] as const
export type EpisodeStatus = (typeof EPISODE_STATUSES)[number]

/** One run of an experiment, unique by name within its project (deleted ones keep their name). */
export const episodes = sqliteTable(
	'episodes',
	{
		id: integer('id').primaryKey(),
		projectId: integer('project_id')
			.notNull()
			.references(() => projects.id, { onDelete: 'cascade' }),
		name: text('name').notNull(),
		description: text('description'),
		tags: stringList('tags'),
		status: text('status', { enum: EPISODE_STATUSES }).notNull().default('running'),
		writeProtected: integer('write_protected', { mode: 'boolean' }).notNull().default(false),
		metadata: jsonObject('metadata'),
		...madeBy(),
		createdAt: at('created_at').notNull(),
		/** When the episode's own fields last changed. */
		updatedAt: at('updated_at').notNull(),
		/** When anything was last written to it or under it (logs, parameters, tracks, files); null: never since it was made. */
		lastActivityAt: at('last_activity_at'),
		deletedAt: at('deleted_at'),
	},
	(table) => [uniqueIndex('episodes_project_name_unique').on(table.projectId, table.name), index('episodes_project_created_idx').on(table.projectId, table.createdAt)],
)

/**
 * One log line. Migration 0002 rebuilds this table WITHOUT ROWID, clustered by (episode, sequence),
 * which drizzle cannot declare: one B-tree per insert instead of two (bun run bench). A later
 * migration that alters it must keep that clause (drizzle-kit would rebuild it without).
 */
export const logEntries = sqliteTable(
	'log_entries',
	{
		episodeId: integer('episode_id')
			.notNull()
			.references(() => episodes.id, { onDelete: 'cascade' }),
		sequence: integer('sequence').notNull(),
		/** Microseconds since the epoch, UTC: the SDK sends microseconds and reads them back. */
		timestamp: integer('timestamp').notNull(),
		/** logs/model.ts LEVELS: 0 debug, 1 info, 2 warn, 3 error, 4 fatal. */
		level: integer('level').notNull(),
		message: text('message').notNull(),
		metadata: text('metadata'),
		/**
		 * Set on the last line of each INSERT only: the sequence number of that statement's first line.
		 * The summary trigger runs for that line alone and counts the statement's lines in one range
		 * read, instead of updating the summary once per line (a quarter of a 100-line append).
		 */
		closesBatch: integer('closes_batch'),
	},
	(table) => [primaryKey({ columns: [table.episodeId, table.sequence] })],
)

/**
 * What GET …/logs/stats answers without a scan, kept by a trigger on log_entries (migration 0002)
 * inside the insert statement itself. `total` is also the next sequence number: sequences are gapless.
 */
export const logSummaries = sqliteTable('log_summaries', {
	episodeId: integer('episode_id')
		.primaryKey()
		.references(() => episodes.id, { onDelete: 'cascade' }),
	total: integer('total').notNull().default(0),
	debug: integer('debug').notNull().default(0),
	info: integer('info').notNull().default(0),
	warn: integer('warn').notNull().default(0),
	error: integer('error').notNull().default(0),
	fatal: integer('fatal').notNull().default(0),
	firstAt: integer('first_at'),
	lastAt: integer('last_at'),
})

/** An episode's parameters, merged and flattened to dot keys; `version` counts the writes. */
export const parameters = sqliteTable('parameters', {
	episodeId: integer('episode_id')
		.primaryKey()
		.references(() => episodes.id, { onDelete: 'cascade' }),
	id: integer('id').notNull().unique(),
	data: json<Record<string, unknown>>('data').notNull(),
	version: integer('version').notNull(),
	createdAt: at('created_at').notNull(),
	updatedAt: at('updated_at').notNull(),
})

/** The journal: what each parameters write changed, and who wrote it. */
export const parameterEntries = sqliteTable(
	'parameter_entries',
	{
		episodeId: integer('episode_id')
			.notNull()
			.references(() => episodes.id, { onDelete: 'cascade' }),
		version: integer('version').notNull(),
		patch: json<Record<string, unknown>>('patch').notNull(),
		createdAt: at('created_at').notNull(),
		...madeBy(),
	},
	(table) => [primaryKey({ columns: [table.episodeId, table.version] })],
)

/** A named time series under an episode (`robot/pose`), created by its first append. */
export const tracks = sqliteTable(
	'tracks',
	{
		id: integer('id').primaryKey(),
		episodeId: integer('episode_id')
			.notNull()
			.references(() => episodes.id, { onDelete: 'cascade' }),
		name: text('name').notNull(),
		description: text('description'),
		tags: stringList('tags'),
		metadata: jsonObject('metadata'),
		/** Every key any point has had, in first-seen order. */
		keys: stringList('keys'),
		/** Points stored; also the next point's index (indexes are gapless from 0). */
		total: integer('total').notNull().default(0),
		chunks: integer('chunks').notNull().default(0),
		firstDataAt: at('first_data_at'),
		lastDataAt: at('last_data_at'),
		createdAt: at('created_at').notNull(),
		updatedAt: at('updated_at').notNull(),
		deletedAt: at('deleted_at'),
	},
	(table) => [uniqueIndex('tracks_episode_name_unique').on(table.episodeId, table.name)],
)

/**
 * An episode's parameters again, one row per flattened key, kept by every merge beside the JSON set:
 * what a filter or sort on a parameter reads through an index instead of parsing each episode's
 * set (a JSON scan of 10,000 episodes took 35 ms). `value` keeps SQLite's own types, so numbers sort
 * and compare as numbers: numbers, text, and anything else (true, false, null, a list) as a blob of
 * its JSON. Its project is copied in so a search starts from the project's rows alone. WITHOUT
 * ROWID (migration 0011, by hand; drizzle cannot declare it): the (project, key, value) index then
 * holds the episode id, and a search reads the index alone. A later migration that rebuilds this
 * table must keep that clause, as for log_entries.
 */
export const parameterValues = sqliteTable(
	'parameter_values',
	{
		episodeId: integer('episode_id')
			.notNull()
			.references(() => episodes.id, { onDelete: 'cascade' }),
		projectId: integer('project_id').notNull(),
		key: text('key').notNull(),
		value: blob('value'),
	},
	(table) => [primaryKey({ columns: [table.episodeId, table.key] }), index('parameter_values_project_key_value_idx').on(table.projectId, table.key, table.value)],
)

/**
 * Per episode, track and numeric key: the last, smallest and largest value, how many, and where the
 * smallest and largest were (index, and `step` when the points have one), kept by every append in
 * its own write, so a search or sort on a metric never reads a point. `deleted` follows the track's
 * soft delete (such rows drop out of every search and come back with a restore). WITHOUT ROWID, as
 * parameter_values: a search's lookup by (episode, track, key) reads one B-tree, not an index and
 * then the table (a namespace-wide search took half the time, bun run bench --only find).
 */
export const metricSummaries = sqliteTable(
	'metric_summaries',
	{
		episodeId: integer('episode_id')
			.notNull()
			.references(() => episodes.id, { onDelete: 'cascade' }),
		projectId: integer('project_id').notNull(),
		trackId: integer('track_id')
			.notNull()
			.references(() => tracks.id, { onDelete: 'cascade' }),
		trackName: text('track_name').notNull(),
		key: text('key').notNull(),
		count: integer('count').notNull(),
		last: real('last').notNull(),
		lastIndex: integer('last_index').notNull(),
		min: real('min').notNull(),
		minIndex: integer('min_index'),
		minStep: real('min_step'),
		max: real('max').notNull(),
		maxIndex: integer('max_index'),
		maxStep: real('max_step'),
		deleted: integer('deleted', { mode: 'boolean' }).notNull().default(false),
	},
	(table) => [primaryKey({ columns: [table.episodeId, table.trackName, table.key] }), index('metric_summaries_track_idx').on(table.trackId)],
)

/**
 * A track's points, in chunks: one row holds up to 4,096 consecutive points as columns
 * (tracks/codec.ts), with the range of their `_ts`, per-key summaries and block summaries, so reads
 * seek by index or time and chart reads over wide windows decode no point at all.
 */
export const trackChunks = sqliteTable(
	'track_chunks',
	{
		trackId: integer('track_id')
			.notNull()
			.references(() => tracks.id, { onDelete: 'cascade' }),
		startIndex: integer('start_index').notNull(),
		count: integer('count').notNull(),
		minTs: real('min_ts'),
		maxTs: real('max_ts'),
		/** Per key: count, min, max, sum and last of its numbers (in chunks written before block summaries version 2, only of keys holding nothing else). */
		summary: json<Record<string, { count: number; min: number; max: number; sum: number; last: number }>>('summary').notNull(),
		createdAt: at('created_at').notNull(),
		/**
		 * The same per run of 64 points (tracks/codec.ts, encodeBlocks): what wide chart reads fold.
		 * Before `data` in the row, so reading it never walks the points' overflow pages.
		 */
		blocks: blob('blocks', { mode: 'buffer' }).notNull(),
		data: blob('data', { mode: 'buffer' }).notNull(),
	},
	(table) => [primaryKey({ columns: [table.trackId, table.startIndex] })],
)

/**
 * A file of an episode. Its bytes live in the file store (the data folder's `files/`), named by
 * their sha256 (storage/store.ts), so identical uploads share them; a row only points at them.
 */
export const files = sqliteTable(
	'files',
	{
		id: integer('id').primaryKey(),
		episodeId: integer('episode_id')
			.notNull()
			.references(() => episodes.id, { onDelete: 'cascade' }),
		/** `/`, or `/a/b`: segments of `[A-Za-z0-9_-]`. */
		prefix: text('prefix').notNull(),
		filename: text('filename').notNull(),
		description: text('description'),
		tags: stringList('tags'),
		contentType: text('content_type').notNull(),
		sizeBytes: integer('size_bytes').notNull(),
		/** sha256 of the bytes, lower-case hex: also where they are stored. */
		checksum: text('checksum').notNull(),
		metadata: jsonObject('metadata'),
		...madeBy(),
		uploadedAt: at('uploaded_at').notNull(),
		updatedAt: at('updated_at').notNull(),
		deletedAt: at('deleted_at'),
	},
	(table) => [
		// one live file per path: uploading the same prefix and name again replaces it
		uniqueIndex('files_live_path_unique')
			.on(table.episodeId, table.prefix, table.filename)
			.where(sql`${table.deletedAt} IS NULL`),
		index('files_episode_prefix_idx').on(table.episodeId, table.prefix),
		index('files_checksum_idx').on(table.checksum),
	],
)

export type ProjectRow = typeof projects.$inferSelect
export type EpisodeRow = typeof episodes.$inferSelect
export type LogSummaryRow = typeof logSummaries.$inferSelect
export type ParametersRow = typeof parameters.$inferSelect
export type TrackRow = typeof tracks.$inferSelect
export type FileRow = typeof files.$inferSelect
export type MetricSummaryRow = typeof metricSummaries.$inferSelect
