import type { Account } from '../auth/repository'
import { parseRowId } from '../db/ids'
import type { DbMeter } from '../db/meter'
import type { EpisodeRow } from '../db/schema'
import { forbidden, gone, invalidField, notFound } from '../http/errors'
import { checkName, describedFields } from '../http/fields'
import type { Page } from '../http/paging'
import { ownNamespace } from '../namespaces/service'
import type { ProjectRef } from '../projects/repository'
import { projectNotFound, type ProjectService } from '../projects/service'
import { isProjectSlug, projectSlugOf } from '../projects/model'
import type { EpisodePatch, EpisodeUpsert } from './model'
import type { EpisodeChanges, EpisodeListing, EpisodeRef, EpisodeRepository } from './repository'

/** A count of something under an episode that another feature keeps (logs, tracks, files). */
export type EpisodeCounter = (meter: DbMeter, episodeId: number) => number
export type EpisodeCounts = Record<'logCount' | 'trackCount' | 'fileCount', number>

export interface UpsertResult {
	episode: EpisodeRow
	project: ProjectRef
	created: boolean
}

/**
 * Episodes, and the ownership check of every route under one: an episode is the caller's when
 * it is live, its project is live, and the project is in the caller's namespace. Anything else
 * is the same 404 as an id that never existed.
 */
export class EpisodeService {
	private readonly counters = new Map<keyof EpisodeCounts, EpisodeCounter>()

	constructor(
		readonly repository: EpisodeRepository,
		private readonly projects: ProjectService,
	) {}

	/** Lets a feature that keeps data under episodes report its count in single reads. */
	addCounter(name: keyof EpisodeCounts, counter: EpisodeCounter): void {
		this.counters.set(name, counter)
	}

	/**
	 * POST …/projects/{project}/episodes: the episode by name, created (with its project) when
	 * missing, else given the fields sent. An episode that exists and would not change costs one
	 * read and no write; once its project is known, that read is the only statement.
	 */
	async upsert(meter: DbMeter, caller: Account, ns: string, projectSegment: string, body: EpisodeUpsert): Promise<UpsertResult> {
		const namespace = ownNamespace(caller, ns)
		if (!isProjectSlug(projectSlugOf(projectSegment))) throw invalidField('project', 'needs a letter or digit (it names the project, in the path)')
		const name = checkName(body.name, 'name')
		const changes = episodeChanges(body)
		const project = this.projects.liveRefBySegment(meter, namespace.id, projectSegment)
		if (project) {
			const existing = this.repository.byName(meter, project.id, name)
			if (existing && existing.deletedAt === null && Object.keys(changedFields(existing, changes)).length === 0) {
				return { episode: existing, project, created: false }
			}
		}
		const result = await this.repository.write(meter, () => {
			const project = this.projects.ensureInJob(namespace.id, projectSegment)
			const projectRef = { id: project.id, namespaceId: project.namespaceId, slug: project.slug }
			const current = this.repository.byNameInJob(project.id, name)
			if (!current) return { episode: this.repository.insertInJob(project.id, name, changes), project: projectRef, created: true }
			if (current.deletedAt !== null) {
				throw gone('episode_deleted', `Episode "${name}" was deleted: restore it (POST /episodes/${current.id}/restore) or purge it first.`)
			}
			const changed = changedFields(current, changes)
			if (Object.keys(changed).length === 0) return { episode: current, project: projectRef, created: false }
			refuseIfProtected(current)
			return { episode: this.repository.updateInJob(current.id, changed)!, project: projectRef, created: false }
		})
		this.projects.remember(result.project) // committed now: the next open of this run finds its project in memory
		return result
	}

	/** The live episode the caller owns with this id (a path segment), or 404. From memory once known. */
	owned(meter: DbMeter, caller: Account, idSegment: string): EpisodeRef {
		const id = parseRowId(idSegment)
		const ref = id === undefined ? undefined : this.repository.liveRef(meter, id)
		if (!ref || !this.projects.liveRefIn(meter, caller.namespace.id, ref.projectId)) throw episodeNotFound()
		return ref
	}

	/** As `owned`, and 403 when the episode is write-protected: for every write under an episode. */
	writable(meter: DbMeter, caller: Account, idSegment: string): EpisodeRef {
		const ref = this.owned(meter, caller, idSegment)
		if (ref.writeProtected) throw writeProtected()
		return ref
	}

	/** GET /episodes/{id}: the episode, its project and the counts under it. */
	get(meter: DbMeter, caller: Account, idSegment: string) {
		const ref = this.owned(meter, caller, idSegment)
		const episode = this.repository.byId(meter, ref.id)
		if (!episode || episode.deletedAt !== null) throw episodeNotFound()
		return this.detail(meter, caller, episode)
	}

	/** GET …/episodes/{name}. */
	getByName(meter: DbMeter, caller: Account, ns: string, projectSegment: string, name: string) {
		return this.detail(meter, caller, this.liveByName(meter, caller, ns, projectSegment, name))
	}

	list(meter: DbMeter, caller: Account, ns: string, projectSegment: string, page: Page, filters: Omit<EpisodeListing, 'offset' | 'limit'>) {
		const namespace = ownNamespace(caller, ns)
		const project = this.projects.liveRefBySegment(meter, namespace.id, projectSegment)
		if (!project) throw projectNotFound(projectSegment)
		return { project, ...this.repository.list(meter, project.id, { ...filters, offset: page.offset, limit: page.pageSize }) }
	}

	/** PATCH /episodes/{id}. */
	async update(meter: DbMeter, caller: Account, idSegment: string, patch: EpisodePatch) {
		const ref = this.owned(meter, caller, idSegment)
		return this.applyPatch(meter, caller, ref.id, patch)
	}

	/** PATCH …/episodes/{name}. */
	async updateByName(meter: DbMeter, caller: Account, ns: string, projectSegment: string, name: string, patch: EpisodePatch) {
		const episode = this.liveByName(meter, caller, ns, projectSegment, name)
		return this.applyPatch(meter, caller, episode.id, patch)
	}

	/** DELETE /episodes/{id}: soft; 403 while write-protected. */
	async remove(meter: DbMeter, caller: Account, idSegment: string): Promise<EpisodeRow> {
		const ref = this.owned(meter, caller, idSegment)
		return (await this.repository.softDelete(meter, ref.id, refuseIfProtected)) ?? episodeNotFoundAfterAll()
	}

	/** POST /episodes/{id}/restore: a deleted episode of the caller's, in a live project. */
	async restore(meter: DbMeter, caller: Account, idSegment: string) {
		const id = parseRowId(idSegment)
		const row = id === undefined ? undefined : this.repository.byId(meter, id)
		if (!row || row.deletedAt === null || !this.projects.liveRefIn(meter, caller.namespace.id, row.projectId)) {
			throw notFound('episode_not_deleted', 'No deleted episode with this id to restore.')
		}
		const restored = (await this.repository.restore(meter, row.id)) ?? episodeNotFoundAfterAll()
		return this.detail(meter, caller, restored)
	}

	/** The ids of the live episodes of these projects. */
	liveIdsIn(meter: DbMeter, projectIds: number[]): number[] {
		return this.repository.liveIdsIn(meter, projectIds)
	}

	/** Per project, its live episodes and when the newest change to one was (a project's `episodeCount` and `lastEpisodeAt`). */
	liveSummaries(meter: DbMeter, projectIds: number[]): Map<number, { count: number; lastUpdatedAt: Date }> {
		return this.repository.liveSummaries(meter, projectIds)
	}

	private async applyPatch(meter: DbMeter, caller: Account, id: number, patch: EpisodePatch) {
		const changes = episodeChanges(patch)
		const episode = await this.repository.update(meter, id, (current) => {
			const changed = changedFields(current, changes)
			// only a PATCH that lifts the protection may change a protected episode
			if (current.writeProtected && patch.writeProtected !== false && Object.keys(changed).length > 0) throw writeProtected()
			return changed
		})
		return this.detail(meter, caller, episode ?? episodeNotFoundAfterAll())
	}

	private liveByName(meter: DbMeter, caller: Account, ns: string, projectSegment: string, name: string): EpisodeRow {
		const namespace = ownNamespace(caller, ns)
		const project = this.projects.liveRefBySegment(meter, namespace.id, projectSegment)
		const episode = project && this.repository.byName(meter, project.id, name)
		if (!episode || episode.deletedAt !== null) throw episodeNotFound(name)
		return episode
	}

	private detail(meter: DbMeter, caller: Account, episode: EpisodeRow) {
		const project = this.projects.liveRefIn(meter, caller.namespace.id, episode.projectId)
		if (!project) throw episodeNotFound()
		const counts: EpisodeCounts = { logCount: 0, trackCount: 0, fileCount: 0 }
		for (const [name, counter] of this.counters) counts[name] = counter(meter, episode.id)
		return { episode, project, counts }
	}
}

export const episodeNotFound = (name?: string) =>
	notFound('episode_not_found', name !== undefined && name.length <= 100 ? `Episode "${name}" not found.` : 'Episode not found.')

const writeProtected = () => forbidden('episode_write_protected', 'The episode is write-protected; PATCH it with {"writeProtected": false} first.')

function refuseIfProtected(episode: EpisodeRow): void {
	if (episode.writeProtected) throw writeProtected()
}

function episodeNotFoundAfterAll(): never {
	throw episodeNotFound()
}

/** The fields of an upsert or patch body, checked beyond the schema. */
function episodeChanges(body: EpisodePatch | EpisodeUpsert): EpisodeChanges {
	const changes: EpisodeChanges = describedFields(body)
	if (body.status !== undefined) changes.status = body.status
	if (body.writeProtected !== undefined) changes.writeProtected = body.writeProtected
	return changes
}

/** The changes that differ from what the episode holds. */
function changedFields(current: EpisodeRow, changes: EpisodeChanges): EpisodeChanges {
	const changed: EpisodeChanges = {}
	if (changes.description !== undefined && changes.description !== current.description) changed.description = changes.description
	if (changes.tags !== undefined && !sameJson(changes.tags, current.tags)) changed.tags = changes.tags
	if (changes.status !== undefined && changes.status !== current.status) changed.status = changes.status
	if (changes.writeProtected !== undefined && changes.writeProtected !== current.writeProtected) changed.writeProtected = changes.writeProtected
	if (changes.metadata !== undefined && !sameJson(changes.metadata, current.metadata)) changed.metadata = changes.metadata
	return changed
}

const sameJson = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b)
