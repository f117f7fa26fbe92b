import { and, count, desc, eq, inArray, isNotNull, isNull, or, sql } from 'drizzle-orm'
import { sqliteErrorOf, type Db } from '../db/client'
import { newRowId } from '../db/ids'
import { DbMeter, metered } from '../db/meter'
import { files, type FileRow } from '../db/schema'
import type { Tx, WriteQueue } from '../db/write-queue'
import type { EpisodeActivity } from '../episodes/model'
import type { EventHub } from '../events/hub'
import { formatRowId } from '../db/ids'
import { pathOf, toFileResponse } from './model'

export interface NewFile {
	episodeId: number
	prefix: string
	filename: string
	description: string | null
	tags: string[]
	contentType: string
	sizeBytes: number
	checksum: string
	metadata: Record<string, unknown>
	createdBy: string | null
	createdByName: string | null
	createdByKey: string | null
	createdByKeyName: string | null
}

export interface FileChanges {
	description?: string | null
	tags?: string[]
	metadata?: Record<string, unknown>
}

export class PathTakenError extends Error {}

/** Which bytes rows point at, live or deleted: what the sweep of unreferenced bytes asks (reads only, so no write queue). */
export class FileReferences {
	constructor(private readonly db: Db) {}

	/** Whether a row points at these bytes (the sweep keeps them for it). */
	has(meter: DbMeter, checksum: string): boolean {
		return metered(meter, () => this.db.select({ id: files.id }).from(files).where(eq(files.checksum, checksum)).limit(1).get() !== undefined)
	}

	/** Every checksum a row points at. */
	all(meter: DbMeter): Set<string> {
		return metered(meter, () => new Set(this.db.selectDistinct({ checksum: files.checksum }).from(files).all().map((row) => row.checksum)))
	}
}

/** Files' rows; their bytes are the file store's (storage/store.ts), under their checksum. */
export class FileRepository {
	private readonly q
	readonly references: FileReferences

	constructor(
		private readonly db: Db,
		private readonly writes: WriteQueue,
		private readonly activity: EpisodeActivity,
		private readonly events: EventHub,
	) {
		this.references = new FileReferences(db)
		this.q = {
			byId: db
				.select()
				.from(files)
				.where(and(eq(files.id, sql.placeholder('id')), eq(files.episodeId, sql.placeholder('episodeId'))))
				.prepare(),
		}
	}

	/** The file of this episode with this id, live or deleted. */
	byId(meter: DbMeter, episodeId: number, id: number): FileRow | undefined {
		return metered(meter, () => this.q.byId.get({ id, episodeId }))
	}

	/**
	 * Stores the file's row in one transaction: the live file at the same path, if any, is deleted
	 * (an upload to the same prefix and name replaces it), then the new one is inserted.
	 */
	insert(meter: DbMeter, file: NewFile): Promise<FileRow> {
		const now = new Date()
		return this.writes.run(meter, (tx) => {
			this.activity.touch(tx, file.episodeId)
			const replaced = this.db
				.update(files)
				.set({ deletedAt: now, updatedAt: now })
				.where(and(eq(files.episodeId, file.episodeId), eq(files.prefix, file.prefix), eq(files.filename, file.filename), isNull(files.deletedAt)))
				.returning()
				.all()
			for (const row of replaced) this.removed(tx, row)
			for (;;) {
				try {
					return this.added(tx, this.db.insert(files).values({ id: newRowId(), ...file, uploadedAt: now, updatedAt: now }).returning().get())
				} catch (error) {
					if (sqliteErrorOf(error)?.code !== 'SQLITE_CONSTRAINT_PRIMARYKEY') throw error // an id taken after a clock step: draw again
				}
			}
		})
	}

	/** Live files of the episode under `prefix` (itself and below), with any of `tags`, newest first. */
	list(meter: DbMeter, episodeId: number, { prefix, tags, offset, limit }: { prefix: string; tags: string[]; offset: number; limit: number }) {
		const under = prefix === '/' ? undefined : or(eq(files.prefix, prefix), sql`substr(${files.prefix}, 1, ${prefix.length + 1}) = ${`${prefix}/`}`)
		const where = and(
			eq(files.episodeId, episodeId),
			isNull(files.deletedAt),
			under,
			tags.length > 0 ? sql`EXISTS (SELECT 1 FROM json_each(${files.tags}) WHERE json_each.value IN ${tags})` : undefined,
		)
		return metered(meter, () => ({
			rows: this.db.select().from(files).where(where).orderBy(desc(files.uploadedAt), desc(files.id)).limit(limit).offset(offset).all(),
			total: this.db.select({ n: count() }).from(files).where(where).get()!.n,
		}))
	}

	/** Live files of these episodes. */
	countLive(meter: DbMeter, episodeIds: number[]): number {
		if (episodeIds.length === 0) return 0
		return metered(meter, () => this.db.select({ n: count() }).from(files).where(and(inArray(files.episodeId, episodeIds), isNull(files.deletedAt))).get()!.n)
	}

	update(meter: DbMeter, id: number, changes: FileChanges): Promise<FileRow | undefined> {
		return this.writes.run(meter, (tx) =>
			this.changed(
				tx,
				this.db
					.update(files)
					.set({ ...changes, updatedAt: new Date() })
					.where(and(eq(files.id, id), isNull(files.deletedAt)))
					.returning()
					.get(),
			),
		)
	}

	/** A file row a write changed: its episode's last activity moves, and its watchers are told once it commits. */
	private changed(tx: Tx, row: FileRow | undefined): FileRow | undefined {
		if (!row) return row
		this.activity.touch(tx, row.episodeId)
		this.events.episodes.afterCommit(tx, row.episodeId, 'file.changed', () => toFileResponse(row))
		return row
	}

	/** A live file row a write made (an upload, a restore). */
	private added(tx: Tx, row: FileRow): FileRow {
		this.events.episodes.afterCommit(tx, row.episodeId, 'file.added', () => toFileResponse(row))
		this.countsChanged(tx, row.episodeId)
		return row
	}

	/** A file row a write deleted (or an upload to its path replaced). */
	private removed(tx: Tx, row: FileRow): FileRow {
		this.events.episodes.afterCommit(tx, row.episodeId, 'file.removed', () => ({ id: formatRowId(row.id), path: pathOf(row.prefix, row.filename), deletedAt: row.deletedAt?.toISOString() ?? null }))
		this.countsChanged(tx, row.episodeId)
		return row
	}

	private countsChanged(tx: Tx, episodeId: number): void {
		this.events.episodes.afterCommit(tx, episodeId, 'counts', () => ({ fileCount: this.countLive(new DbMeter(), [episodeId]) }))
	}

	softDelete(meter: DbMeter, id: number): Promise<FileRow | undefined> {
		const now = new Date()
		return this.writes.run(meter, (tx) => {
			const row = this.db
				.update(files)
				.set({ deletedAt: now, updatedAt: now })
				.where(and(eq(files.id, id), isNull(files.deletedAt)))
				.returning()
				.get()
			if (!row) return row
			this.activity.touch(tx, row.episodeId)
			return this.removed(tx, row)
		})
	}

	/** Brings a deleted file back; PathTakenError when a live file has its path now. */
	restore(meter: DbMeter, id: number): Promise<FileRow | undefined> {
		return this.writes.run(meter, (tx) => {
			try {
				const row = this.db
					.update(files)
					.set({ deletedAt: null, updatedAt: new Date() })
					.where(and(eq(files.id, id), isNotNull(files.deletedAt)))
					.returning()
					.get()
				if (!row) return row
				this.activity.touch(tx, row.episodeId)
				return this.added(tx, row)
			} catch (error) {
				if (sqliteErrorOf(error)?.code === 'SQLITE_CONSTRAINT_UNIQUE') throw new PathTakenError()
				throw error
			}
		})
	}
}
