import { and, count, desc, eq, inArray, isNotNull, isNull, or, sql } from 'drizzle-orm'
import { BoundedMap } from '../bounded-map'
import { sqliteErrorOf, type Db } from '../db/client'
import { newRowId } from '../db/ids'
import { metered, type DbMeter } from '../db/meter'
import { projects, type ProjectRow, type Visibility } from '../db/schema'
import { likeAnywhere } from '../db/sql'
import type { Tx, WriteQueue } from '../db/write-queue'

/** What an ownership check needs of a live project. */
export interface ProjectRef {
	id: number
	namespaceId: string
	slug: string
	visibility: Visibility
}

export interface NewProject {
	namespaceId: string
	name: string
	slug: string
	description?: string | null
	tags?: string[]
	metadata?: Record<string, unknown>
}

export interface ProjectChanges {
	visibility?: Visibility
	name?: string
	description?: string | null
	tags?: string[]
	metadata?: Record<string, unknown>
}

export interface ProjectListing {
	/** Only these (a guest's); every project when absent. */
	visibilities?: readonly Visibility[]
	search?: string
	deleted: boolean
	offset: number
	limit: number
}

export class SlugTakenError extends Error {
	constructor(readonly existing: ProjectRow) {
		super('project slug taken')
	}
}

const refOf = (row: ProjectRow): ProjectRef => ({ id: row.id, namespaceId: row.namespaceId, slug: row.slug, visibility: row.visibility })

/**
 * Projects in SQLite. Live projects' refs stay in memory by id, so the ownership check of every
 * episode route costs no statement; only live ones, so a purge from another process (which removes
 * deleted rows only) can never leave this cache wrong.
 */
export class ProjectRepository {
	private readonly refs: BoundedMap<number, ProjectRef>
	/** The same refs by namespace and slug (`slugKey`), for the paths that name a project. */
	private readonly bySlugs: BoundedMap<string, ProjectRef>
	private readonly q

	constructor(
		private readonly db: Db,
		private readonly writes: WriteQueue,
		{ cacheSize = 10_000 }: { cacheSize?: number } = {},
	) {
		this.refs = new BoundedMap(cacheSize)
		this.bySlugs = new BoundedMap(cacheSize)
		this.q = {
			bySlug: db
				.select()
				.from(projects)
				.where(and(eq(projects.namespaceId, sql.placeholder('namespaceId')), eq(projects.slug, sql.placeholder('slug'))))
				.prepare(),
			liveRef: db
				.select({ id: projects.id, namespaceId: projects.namespaceId, slug: projects.slug, visibility: projects.visibility })
				.from(projects)
				.where(and(eq(projects.id, sql.placeholder('id')), isNull(projects.deletedAt)))
				.prepare(),
		}
	}

	/** The project with this slug in the namespace, live or deleted (slugs stay taken until purged). */
	bySlug(meter: DbMeter, namespaceId: string, slug: string): ProjectRow | undefined {
		const row = metered(meter, () => this.q.bySlug.get({ namespaceId, slug }))
		if (row && row.deletedAt === null) this.remember(refOf(row))
		return row
	}

	/** A live project by namespace and slug: from memory, else one statement. */
	liveRefBySlug(meter: DbMeter, namespaceId: string, slug: string): ProjectRef | undefined {
		const cached = this.bySlugs.get(slugKey(namespaceId, slug))
		if (cached) return cached
		const row = this.bySlug(meter, namespaceId, slug)
		return row && row.deletedAt === null ? refOf(row) : undefined
	}

	/** A live project by id: from memory, else one statement. */
	liveRef(meter: DbMeter, id: number): ProjectRef | undefined {
		const cached = this.refs.get(id)
		if (cached) return cached
		const row = metered(meter, () => this.q.liveRef.get({ id }))
		if (row) this.remember(row)
		return row
	}

	list(meter: DbMeter, namespaceId: string, { visibilities, search, deleted, offset, limit }: ProjectListing): { rows: ProjectRow[]; total: number } {
		const where = and(
			eq(projects.namespaceId, namespaceId),
			visibilities ? inArray(projects.visibility, [...visibilities]) : undefined,
			deleted ? isNotNull(projects.deletedAt) : isNull(projects.deletedAt),
			search ? or(likeAnywhere(projects.name, search), likeAnywhere(projects.slug, search)) : undefined,
		)
		return metered(meter, () => ({
			rows: this.db.select().from(projects).where(where).orderBy(desc(projects.createdAt), desc(projects.id)).limit(limit).offset(offset).all(),
			total: this.db.select({ n: count() }).from(projects).where(where).get()!.n,
		}))
	}

	/** The ids of the namespace's live projects (of these visibilities only, when given). */
	liveIds(meter: DbMeter, namespaceId: string, visibilities?: readonly Visibility[]): number[] {
		return metered(meter, () =>
			this.db
				.select({ id: projects.id })
				.from(projects)
				.where(and(eq(projects.namespaceId, namespaceId), isNull(projects.deletedAt), visibilities ? inArray(projects.visibility, [...visibilities]) : undefined))
				.all()
				.map((row) => row.id),
		)
	}

	/** The id and slug of each of the namespace's live projects of these visibilities (all, when not given). */
	liveSlugs(meter: DbMeter, namespaceId: string, visibilities?: readonly Visibility[]): { id: number; slug: string }[] {
		return metered(meter, () =>
			this.db
				.select({ id: projects.id, slug: projects.slug })
				.from(projects)
				.where(and(eq(projects.namespaceId, namespaceId), isNull(projects.deletedAt), visibilities ? inArray(projects.visibility, [...visibilities]) : undefined))
				.all(),
		)
	}

	/** Creates the project, or throws SlugTakenError with the project (live or deleted) holding the slug. */
	async create(meter: DbMeter, project: NewProject): Promise<ProjectRow> {
		const row = await this.writes.run(meter, (tx) => this.insertOrFind(tx, project))
		if (!row.created) throw new SlugTakenError(row.project)
		return row.project
	}

	/**
	 * The project with this slug, created when missing; inside a write (`create`'s, or the episode
	 * upsert's), so it shares that transaction and savepoint. A live one is kept in memory once the
	 * write has committed: a rolled-back project must not be found there.
	 */
	insertOrFind(tx: Tx, project: NewProject): { project: ProjectRow; created: boolean } {
		const now = new Date()
		for (;;) {
			try {
				const inserted = this.db
					.insert(projects)
					.values({ id: newRowId(), ...project, createdAt: now, updatedAt: now })
					.onConflictDoNothing({ target: [projects.namespaceId, projects.slug] })
					.returning()
					.get()
				const row = inserted ?? this.q.bySlug.get({ namespaceId: project.namespaceId, slug: project.slug })!
				if (row.deletedAt === null) tx.afterCommit(() => this.remember(refOf(row)))
				return { project: row, created: inserted !== undefined }
			} catch (error) {
				if (sqliteErrorOf(error)?.code !== 'SQLITE_CONSTRAINT_PRIMARYKEY') throw error // an id taken after a clock step: draw again
			}
		}
	}

	/** Applies the changes to a live project; `undefined` when it is gone. */
	async update(meter: DbMeter, id: number, changes: ProjectChanges): Promise<ProjectRow | undefined> {
		return this.writes.run(meter, (tx) => {
			const row = this.db
				.update(projects)
				.set({ ...changes, updatedAt: new Date() })
				.where(and(eq(projects.id, id), isNull(projects.deletedAt)))
				.returning()
				.get()
			// its visibility is in memory with it: who may read it changes from the next request
			if (row) tx.afterCommit(() => this.remember(refOf(row)))
			return row
		})
	}

	/** The namespaces with a live project of these visibilities (what a guest may see somewhere). */
	namespacesWith(meter: DbMeter, visibilities: readonly Visibility[]): string[] {
		if (visibilities.length === 0) return []
		return metered(meter, () =>
			this.db
				.selectDistinct({ namespaceId: projects.namespaceId })
				.from(projects)
				.where(and(isNull(projects.deletedAt), inArray(projects.visibility, [...visibilities])))
				.all()
				.map((row) => row.namespaceId),
		)
	}

	/** Marks a live project deleted (its episodes vanish with it); `undefined` when it is not live. */
	async softDelete(meter: DbMeter, project: ProjectRef): Promise<ProjectRow | undefined> {
		this.forget(project) // before the write: no request may find it live once the delete is under way
		const { id } = project
		const now = new Date()
		return this.writes.run(meter, () =>
			this.db
				.update(projects)
				.set({ deletedAt: now, updatedAt: now })
				.where(and(eq(projects.id, id), isNull(projects.deletedAt)))
				.returning()
				.get(),
		)
	}

	/** Brings a deleted project back, with everything that was deleted with it; `undefined` when it is not deleted. */
	async restore(meter: DbMeter, id: number): Promise<ProjectRow | undefined> {
		return this.writes.run(meter, (tx) => {
			const row = this.db
				.update(projects)
				.set({ deletedAt: null, updatedAt: new Date() })
				.where(and(eq(projects.id, id), isNotNull(projects.deletedAt)))
				.returning()
				.get()
			if (row) tx.afterCommit(() => this.remember(refOf(row)))
			return row
		})
	}

	/** Keeps a live project's ref in memory (a read found it, or a write that made or found it has committed). */
	private remember(ref: ProjectRef): void {
		this.refs.set(ref.id, ref)
		this.bySlugs.set(slugKey(ref.namespaceId, ref.slug), ref)
	}

	private forget({ id, namespaceId, slug }: ProjectRef): void {
		this.refs.delete(id)
		this.bySlugs.delete(slugKey(namespaceId, slug))
	}
}

const slugKey = (namespaceId: string, slug: string) => `${namespaceId}/${slug}`
