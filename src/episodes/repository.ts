import { and, count, eq, getTableColumns, inArray, isNotNull, isNull, or, sql, type SQL } from 'drizzle-orm'
import { BoundedMap } from '../bounded-map'
import { sqliteErrorOf, type Db } from '../db/client'
import { formatRowId, newRowId } from '../db/ids'
import { metered, type DbMeter } from '../db/meter'
import { episodes, type EpisodeRow, type EpisodeStatus } from '../db/schema'
import { likeAnywhere } from '../db/sql'
import type { Tx, WriteQueue } from '../db/write-queue'
import { toEpisodeFlat } from './model'
import type { EventHub } from '../events/hub'
import type { Filter, Key } from './filter'
import { filterSql, orderSql } from './search'
import type { MadeByColumns } from '../http/fields'

/** What the ownership check of an episode route needs: kept in memory for live episodes. */
export interface EpisodeRef {
	id: number
	projectId: number
	writeProtected: boolean
}

/** The fields an upsert or PATCH may change; `undefined` leaves a field as it is. */
export interface EpisodeChanges {
	description?: string | null
	tags?: string[]
	status?: EpisodeStatus
	writeProtected?: boolean
	metadata?: Record<string, unknown>
}

export interface EpisodeListing {
	status?: EpisodeStatus | 'stale'
	/** When running episodes count as stale: silent since before this (epoch ms). */
	staleBefore: number
	tags: string[]
	search?: string
	deleted: boolean
	/** episodes/filter.ts: `filter=` */
	filter?: Filter
	/** An attribute, a parameter or a metric; episodes without it come last either way. */
	order: Key
	dir: 'asc' | 'desc'
	offset: number
	limit: number
}

const refOf = (row: EpisodeRow): EpisodeRef => ({ id: row.id, projectId: row.projectId, writeProtected: row.writeProtected })

/** A parameter's value as stored in parameter_values: numbers and text as such, anything else the JSON in a blob. */
type StoredValue = number | string | Uint8Array | null

const decoder = new TextDecoder()
const valueOf = (stored: StoredValue): unknown => (stored instanceof Uint8Array ? JSON.parse(decoder.decode(stored)) : stored)

/** A metric summary's row as `columns` reads it. */
export interface SummaryRow {
	episodeId: number
	track: string
	key: string
	last: number
	min: number
	max: number
	count: number
	minStep: number | null
	maxStep: number | null
	minIndex: number | null
	maxIndex: number | null
}

const ROW = getTableColumns(episodes)

/**
 * Episodes in SQLite. Live episodes' refs stay in memory by id, so an append to a known episode
 * sends no statement but its own write; only live ones, so a purge from another process (which
 * removes deleted rows only) cannot leave this cache wrong.
 */
export class EpisodeRepository {
	private readonly refs: BoundedMap<number, EpisodeRef>
	/**
	 * Live episodes' rows by project and name (`nameKey`), for the upsert every `Episode.open()` sends:
	 * the read was most of an unchanged upsert's time (bun run bench, --cpu-prof), SQLite's file
	 * locks for a statement outside a transaction included. Rows with large fields are not kept.
	 */
	private readonly rows: BoundedMap<string, EpisodeRow>
	/** The name key of each id whose row is in `rows`. */
	private readonly names: BoundedMap<number, string>
	private readonly now: () => number
	/** When this process last wrote each episode's last activity. */
	private readonly activityWritten: BoundedMap<number, number>
	/** Episodes written to since the group commit began (`touch`). */
	private readonly active = new Set<number>()
	private readonly q

	constructor(
		private readonly db: Db,
		private readonly writes: WriteQueue,
		private readonly events: EventHub,
		{ cacheSize = 10_000, clock = Date.now }: { cacheSize?: number; clock?: () => number } = {},
	) {
		this.now = clock
		this.refs = new BoundedMap(cacheSize)
		this.rows = new BoundedMap(cacheSize)
		this.names = new BoundedMap(cacheSize)
		this.activityWritten = new BoundedMap(cacheSize)
		this.q = {
			// raw, and charged to no request: one statement for the whole group
			touch: db.$client.prepare<never, [number, string]>('UPDATE episodes SET last_activity_at = ?1 WHERE id IN (SELECT value FROM json_each(?2))'),
			byId: db
				.select()
				.from(episodes)
				.where(eq(episodes.id, sql.placeholder('id')))
				.prepare(),
			byName: db
				.select()
				.from(episodes)
				.where(and(eq(episodes.projectId, sql.placeholder('projectId')), eq(episodes.name, sql.placeholder('name'))))
				.prepare(),
		}
	}

	/** A live episode's ref: from memory, else one statement. */
	liveRef(meter: DbMeter, id: number): EpisodeRef | undefined {
		const cached = this.refs.get(id)
		if (cached) return cached
		const row = this.byId(meter, id)
		return row && row.deletedAt === null ? refOf(row) : undefined
	}

	/** The episode, live or deleted (one statement). */
	byId(meter: DbMeter, id: number): EpisodeRow | undefined {
		return this.remembered(metered(meter, () => this.q.byId.get({ id })))
	}

	/** The episode with this name in the project, live or deleted (names stay taken until purged): from memory when live and known. */
	byName(meter: DbMeter, projectId: number, name: string): EpisodeRow | undefined {
		return this.rows.get(nameKey(projectId, name)) ?? this.remembered(metered(meter, () => this.q.byName.get({ projectId, name })))
	}

	/**
	 * A page of the episodes of these projects (the caller's scope, never wider) that match, and how
	 * many match: one statement (the count rides along as a window), a second only for a page past the end.
	 */
	list(meter: DbMeter, projectIds: number[], { status, staleBefore, tags, search, deleted, filter, order, dir, offset, limit }: EpisodeListing): { rows: EpisodeRow[]; total: number } {
		if (projectIds.length === 0) return { rows: [], total: 0 }
		const scope = { projectIds, staleBefore }
		// stale: running, and nothing written to it since staleBefore; running: the others that run
		const active = sql`max(${episodes.updatedAt}, coalesce(${episodes.lastActivityAt}, 0))`
		const byStatus =
			status === 'stale' ? and(eq(episodes.status, 'running'), sql`${active} < ${staleBefore}`) : status === 'running' ? and(eq(episodes.status, 'running'), sql`${active} >= ${staleBefore}`) : status ? eq(episodes.status, status) : undefined
		const where = and(
			projectIds.length === 1 ? eq(episodes.projectId, projectIds[0]!) : inArray(episodes.projectId, projectIds),
			deleted ? isNotNull(episodes.deletedAt) : isNull(episodes.deletedAt),
			byStatus,
			tags.length > 0 ? sql`EXISTS (SELECT 1 FROM json_each(${episodes.tags}) WHERE json_each.value IN ${tags})` : undefined,
			search ? or(likeAnywhere(episodes.name, search), likeAnywhere(episodes.description, search)) : undefined,
			filter ? filterSql(filter, scope) : undefined,
		)
		const by: SQL = dir === 'asc' ? sql`ASC` : sql`DESC`
		// a column every row has sorts by its index and stops at the page; anything else may be NULL, and goes last
		const indexed = order.kind === 'attribute' && (order.name === 'createdAt' || order.name === 'updatedAt' || order.name === 'name')
		const orderBy = [indexed ? sql`${orderSql(order, scope)} ${by}` : sql`${orderSql(order, scope)} ${by} NULLS LAST`, sql`${episodes.id} ${by}`]
		const countAll = () => this.db.select({ n: count() }).from(episodes).where(where).get()!.n
		return metered(meter, () => {
			if (indexed && !filter) {
				// the page by the index, then a count by it: cheaper than a window over every row (12.8 against 16.7 ms for 10,000)
				return { rows: this.db.select().from(episodes).where(where).orderBy(...orderBy).limit(limit).offset(offset).all(), total: countAll() }
			}
			// a search visits every match anyway: the total rides along as a window, in the same pass
			const found = this.db
				.select({ ...ROW, total: sql<number>`count(*) OVER ()` })
				.from(episodes)
				.where(where)
				.orderBy(...orderBy)
				.limit(limit)
				.offset(offset)
				.all()
			const total = found[0]?.total ?? (offset === 0 ? 0 : countAll())
			return { rows: found.map(({ total: _, ...row }) => row), total }
		})
	}

	/** Per episode, the value of each parameter asked for that it has (one statement). */
	parameterValues(meter: DbMeter, episodeIds: number[], keys: string[]): Map<number, Map<string, unknown>> {
		const out = new Map<number, Map<string, unknown>>()
		if (episodeIds.length === 0 || keys.length === 0) return out
		const rows = metered(meter, () =>
			this.db.all<{ episodeId: number; key: string; value: StoredValue }>(
				sql`SELECT episode_id AS episodeId, key, value FROM parameter_values WHERE episode_id IN (SELECT value FROM json_each(${JSON.stringify(episodeIds)})) AND key IN (SELECT value FROM json_each(${JSON.stringify(keys)}))`,
			),
		)
		for (const row of rows) {
			let values = out.get(row.episodeId)
			if (!values) out.set(row.episodeId, (values = new Map()))
			values.set(row.key, valueOf(row.value))
		}
		return out
	}

	/** The live metric summaries of these episodes' tracks and keys (one statement; the pairs asked for are the caller's to pick). */
	metricSummaries(meter: DbMeter, episodeIds: number[], tracks: string[], keys: string[]): SummaryRow[] {
		if (episodeIds.length === 0 || tracks.length === 0) return []
		return metered(meter, () =>
			this.db.all<SummaryRow>(
				sql`SELECT episode_id AS episodeId, track_name AS track, key, "last", "min", "max", "count", min_step AS minStep, max_step AS maxStep, min_index AS minIndex, max_index AS maxIndex
				FROM metric_summaries WHERE episode_id IN (SELECT value FROM json_each(${JSON.stringify(episodeIds)}))
				AND track_name IN (SELECT value FROM json_each(${JSON.stringify(tracks)})) AND key IN (SELECT value FROM json_each(${JSON.stringify(keys)})) AND deleted = 0`,
			),
		)
	}

	/** The distinct parameter keys and metric (track, key) pairs of the project's `recent` newest live episodes: what a filter box offers (bounded: primary-key reads of those episodes only). */
	keysOf(meter: DbMeter, projectId: number, recent: number, limit: number): { params: string[]; metrics: { track: string; key: string }[] } {
		return metered(meter, () => {
			const newest = sql`SELECT id FROM episodes WHERE project_id = ${projectId} AND deleted_at IS NULL ORDER BY created_at DESC LIMIT ${recent}`
			const params = this.db.all<{ key: string }>(sql`SELECT DISTINCT key FROM parameter_values WHERE episode_id IN (${newest}) ORDER BY key LIMIT ${limit}`)
			const metrics = this.db.all<{ track: string; key: string }>(sql`SELECT DISTINCT track_name AS track, key FROM metric_summaries WHERE episode_id IN (${newest}) AND deleted = 0 ORDER BY track_name, key LIMIT ${limit}`)
			return { params: params.map((row) => row.key), metrics }
		})
	}

	/** The ids of the live episodes of these projects. */
	liveIdsIn(meter: DbMeter, projectIds: number[]): number[] {
		if (projectIds.length === 0) return []
		return metered(meter, () =>
			this.db
				.select({ id: episodes.id })
				.from(episodes)
				.where(and(inArray(episodes.projectId, projectIds), isNull(episodes.deletedAt)))
				.all()
				.map((row) => row.id),
		)
	}

	/** Live episodes per project, for the projects given. */
	liveSummaries(meter: DbMeter, projectIds: number[]): Map<number, { count: number; lastUpdatedAt: Date }> {
		if (projectIds.length === 0) return new Map()
		const rows = metered(meter, () =>
			this.db
				.select({ projectId: episodes.projectId, n: count(), last: sql<number>`max(${episodes.updatedAt})` })
				.from(episodes)
				.where(and(inArray(episodes.projectId, projectIds), isNull(episodes.deletedAt)))
				.groupBy(episodes.projectId)
				.all(),
		)
		return new Map(rows.map((r) => [r.projectId, { count: r.n, lastUpdatedAt: new Date(r.last) }]))
	}

	/**
	 * Notes a write to the episode or under it (logs, parameters, tracks, files): its `lastActivityAt`
	 * moves once per group commit, in one statement for every episode the group wrote to, charged to
	 * no request (a write costs no extra statement).
	 */
	touch(tx: Tx, episodeId: number): void {
		// written at most once a second an episode: a run logging hundreds of times a second would
		// otherwise rewrite its row in every group commit, for a time read against minutes (STALE_AFTER)
		const written = this.activityWritten.get(episodeId)
		if (written !== undefined && this.now() - written < ACTIVITY_EVERY_MS) return
		this.active.add(episodeId)
		tx.beforeCommit('episodes.lastActivityAt', (afterCommit) => {
			const ids = [...this.active]
			this.active.clear()
			const now = this.now()
			this.q.touch.run(now, JSON.stringify(ids))
			afterCommit(() => {
				for (const id of ids) {
					this.activityWritten.set(id, now)
					this.activityChanged(id, new Date(now))
					this.activityToWatchers(id)
				}
			})
		})
	}

	/** Runs `work` in the next group transaction (the upsert's: its project, then its episode). */
	transaction<T>(meter: DbMeter, work: (tx: Tx) => T): Promise<T> {
		return this.writes.run(meter, work)
	}

	/** The episode by name, as the transaction sees it. */
	currentByName(tx: Tx, projectId: number, name: string): EpisodeRow | undefined {
		return this.rememberedAfter(tx, this.q.byName.get({ projectId, name }))
	}

	/** A new episode. */
	insert(tx: Tx, projectId: number, name: string, fields: EpisodeChanges & Partial<MadeByColumns>): EpisodeRow {
		const now = new Date()
		for (;;) {
			try {
				return this.added(tx, this.rememberedAfter(tx, this.db.insert(episodes).values({ id: newRowId(), projectId, name, ...fields, createdAt: now, updatedAt: now }).returning().get())!)
			} catch (error) {
				if (sqliteErrorOf(error)?.code !== 'SQLITE_CONSTRAINT_PRIMARYKEY') throw error // an id taken after a clock step: draw again
			}
		}
	}

	/** Applies the changes to a live episode; `undefined` when it is not live. */
	applyChanges(tx: Tx, id: number, changes: EpisodeChanges): EpisodeRow | undefined {
		return this.changedAfter(tx, this.rememberedAfter(
			tx,
			this.db
				.update(episodes)
				.set({ ...changes, updatedAt: new Date() })
				.where(and(eq(episodes.id, id), isNull(episodes.deletedAt)))
				.returning()
				.get(),
		))
	}

	/**
	 * Applies to a live episode what `decide` makes of its current row (throwing refuses); nothing is
	 * written when that is nothing. `undefined` when the episode is not live.
	 */
	async update(meter: DbMeter, id: number, decide: (row: EpisodeRow) => EpisodeChanges): Promise<EpisodeRow | undefined> {
		return this.writes.run(meter, (tx) => {
			const current = this.rememberedAfter(tx, this.q.byId.get({ id }))
			if (!current || current.deletedAt !== null) return undefined
			const changes = decide(current)
			return Object.keys(changes).length === 0 ? current : this.applyChanges(tx, id, changes)
		})
	}

	/** Marks a live episode deleted; `undefined` when it is not live. `guard` may refuse (write protection). */
	async softDelete(meter: DbMeter, id: number, guard: (row: EpisodeRow) => void): Promise<EpisodeRow | undefined> {
		const now = new Date()
		return this.writes.run(meter, (tx) => {
			const current = this.q.byId.get({ id })
			if (!current || current.deletedAt !== null) return undefined
			guard(current)
			tx.afterCommit(() => {
				this.events.episodes.end(id, 'end', { reason: 'episode_deleted' })
				this.events.episodeRemoved(current.projectId, id, { id: toEpisodeFlat(current).id })
			})
			return this.rememberedAfter(tx, this.db.update(episodes).set({ deletedAt: now, updatedAt: now }).where(eq(episodes.id, id)).returning().get())
		})
	}

	/** Brings a deleted episode back; `undefined` when it is not deleted. */
	async restore(meter: DbMeter, id: number): Promise<EpisodeRow | undefined> {
		return this.writes.run(meter, (tx) =>
			this.addedAfter(tx, this.rememberedAfter(
				tx,
				this.db
					.update(episodes)
					.set({ deletedAt: null, updatedAt: new Date() })
					.where(and(eq(episodes.id, id), isNotNull(episodes.deletedAt)))
					.returning()
					.get(),
			)),
		)
	}

	/** A row its project's table gains (made, or restored): to the project's watchers once committed. */
	private added(tx: Tx, row: EpisodeRow): EpisodeRow {
		this.events.projects.afterCommit(tx, row.projectId, 'episode.created', () => toEpisodeFlat(row))
		return row
	}

	private addedAfter(tx: Tx, row: EpisodeRow | undefined): EpisodeRow | undefined {
		return row && this.added(tx, row)
	}

	/** A row whose own fields a write changed: to the episode's watchers, and (debounced) its project's. */
	private changedAfter(tx: Tx, row: EpisodeRow | undefined): EpisodeRow | undefined {
		if (!row) return row
		this.events.episodes.afterCommit(tx, row.id, 'episode', () => toEpisodeFlat(row))
		if (this.events.projects.watched(row.projectId)) tx.afterCommit(() => this.events.episodeChanged(row.projectId, row.id, toEpisodeFlat(row)))
		return row
	}

	/** An episode's new last activity, to its watchers and its project's (read only when someone watches; at most once a second an episode: `touch`). */
	private activityToWatchers(id: number): void {
		const projectId = this.refs.get(id)?.projectId
		if (!this.events.episodes.watched(id) && (projectId === undefined || !this.events.projects.watched(projectId))) return
		const row = this.q.byId.get({ id })
		if (!row || row.deletedAt !== null) return
		const { status, lastActivityAt } = toEpisodeFlat(row)
		this.events.episodes.publish(id, 'episode', () => ({ id: formatRowId(id), status, lastActivityAt }))
		this.events.episodeChanged(row.projectId, id, { status, lastActivityAt })
	}

	/** A row a write read or wrote, kept in memory (or dropped, when deleted) once that write has committed: a rolled-back write leaves memory as it was. */
	private rememberedAfter(tx: Tx, row: EpisodeRow | undefined): EpisodeRow | undefined {
		if (row) tx.afterCommit(() => this.remembered(row))
		return row
	}

	/** Keeps a live row (its ref, and the row when small) and drops a deleted one: every read and write passes here. */
	private remembered(row: EpisodeRow | undefined): EpisodeRow | undefined {
		if (!row) return row
		const key = nameKey(row.projectId, row.name)
		if (row.deletedAt === null) {
			this.refs.set(row.id, refOf(row))
			if (isSmall(row)) {
				this.rows.set(key, row)
				this.names.set(row.id, key)
			} else this.rows.delete(key)
		} else {
			this.refs.delete(row.id)
			this.rows.delete(key)
		}
		return row
	}

	/** A row in memory gets its new last activity as a new object: answers memoized per row (model.ts) are built again. */
	private activityChanged(id: number, at: Date): void {
		const key = this.names.get(id)
		const row = key === undefined ? undefined : this.rows.get(key)
		if (row && row.id === id) this.rows.set(key!, { ...row, lastActivityAt: at })
	}
}

/** An episode's last activity is kept to the second. */
const ACTIVITY_EVERY_MS = 1000

const nameKey = (projectId: number, name: string) => `${projectId}/${name}`

/** Rows kept in memory by name hold at most ~4 KB of text: a full cache stays around 40 MB at most. */
const isSmall = (row: EpisodeRow) => (row.description?.length ?? 0) + JSON.stringify(row.metadata).length + JSON.stringify(row.tags).length <= 4096
