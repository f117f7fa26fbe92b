import { madeByCaller, type Account } from '../auth/model'
import { parseRowId } from '../db/ids'
import type { DbMeter } from '../db/meter'
import type { EpisodeRow } from '../db/schema'
import { forbidden, gone, invalidField, notFound } from '../http/errors'
import { checkName, describedFields } from '../http/fields'
import type { Page } from '../http/paging'
import { mayRead, notAMember, type NamespaceAccess, type Reader, type ReadScope } from '../namespaces/access'
import type { NamespaceRef, Need } from '../namespaces/model'
import type { ProjectRef } from '../projects/repository'
import { projectNotFound, type ProjectService } from '../projects/service'
import { isProjectSlug, projectSlugOf } from '../projects/model'
import type { EpisodePatch, EpisodeUpsert } from './model'
import type { Key } from './filter'
import { EpisodeTable, type EpisodeColumnGroup } from './export'
import type { EpisodeChanges, EpisodeListing, EpisodeRef, EpisodeRepository, SummaryRow } from './repository'

/** A column of the list asked for by `columns=`: a parameter or a metric, answered under the text it was asked with. */
export interface ListColumn {
	label: string
	key: Key
}

export interface EpisodeSearch extends Omit<EpisodeListing, 'offset' | 'limit' | 'staleBefore'> {
	columns: ListColumn[]
}

export interface EpisodePage {
	rows: EpisodeRow[]
	total: number
	/** By episode id: the columns' values (only when columns were asked for). */
	values: Map<number, Record<string, unknown>>
}

/** A count of something under an episode that another feature keeps (logs, tracks, files). */
export type EpisodeCounter = (meter: DbMeter, episodeId: number) => number
export type EpisodeCounts = Record<'logCount' | 'trackCount' | 'fileCount', number>

export interface UpsertResult {
	episode: EpisodeRow
	project: ProjectRef
	namespace: NamespaceRef
	created: boolean
}

/** An episode with where it lives, for the answers: its project and namespace come from the data, never from the caller. */
export interface EpisodeDetail {
	episode: EpisodeRow
	project: ProjectRef
	namespace: NamespaceRef
	counts: EpisodeCounts
}

/** Where a live episode named by id lives, found through the access check of its namespace. */
interface EpisodePlace {
	ref: EpisodeRef
	project: ProjectRef
	namespace: NamespaceRef
}

/**
 * Episodes, and the check every route under one makes: an episode may be reached when it is live,
 * its project is live, and the access check lets the caller into the project's namespace. Anything
 * else is the same 404 as an id that never existed.
 */
/** The newest episodes whose keys a project's filter box is offered, and the most keys of each kind it gets. */
export const KEYS_FROM_EPISODES = 500
export const KEYS_MAX = 1000

export class EpisodeService {
	private readonly counters = new Map<keyof EpisodeCounts, EpisodeCounter>()
	private readonly columnGroups = new Map<string, EpisodeColumnGroup>()

	constructor(
		readonly repository: EpisodeRepository,
		private readonly projects: ProjectService,
		private readonly access: NamespaceAccess,
		/** STALE_AFTER: a running episode nothing was written to for this long is shown as stale. */
		private readonly staleAfterMs = 10 * 60_000,
		private readonly now: () => number = Date.now,
	) {}

	/** Running episodes silent since before this instant (epoch ms) are stale. */
	staleBefore(): number {
		return this.now() - this.staleAfterMs
	}

	/** Lets a feature that keeps data under episodes report its count in single reads. */
	addCounter(name: keyof EpisodeCounts, counter: EpisodeCounter): void {
		this.counters.set(name, counter)
	}

	/** Lets a feature that keeps values per episode add them to the episodes table export, as `<prefix>.<key>` columns. */
	addColumnGroup(prefix: string, group: EpisodeColumnGroup): void {
		this.columnGroups.set(prefix, group)
	}

	/**
	 * POST …/projects/{project}/episodes: the episode by name, created (with its project) when
	 * missing, else given the fields sent. An episode that exists and would not change costs one
	 * read and no write; once its project is known, that read is the only statement.
	 */
	async upsert(meter: DbMeter, caller: Account, ns: string, projectSegment: string, body: EpisodeUpsert): Promise<UpsertResult> {
		const namespace = this.access.bySlug(meter, caller, ns, 'write')
		if (!isProjectSlug(projectSlugOf(projectSegment))) throw invalidField('project', 'needs a letter or digit (it names the project, in the path)')
		const name = checkName(body.name, 'name')
		const changes = episodeChanges(body)
		const project = this.projects.liveRefBySegment(meter, namespace, projectSegment)
		if (project) {
			const existing = this.repository.byName(meter, project.id, name)
			if (existing && existing.deletedAt === null && Object.keys(changedFields(existing, changes)).length === 0) {
				return { episode: existing, project, namespace, created: false }
			}
		}
		return this.repository.transaction(meter, (tx) => {
			const project = this.projects.ensure(tx, namespace, projectSegment)
			const projectRef = { id: project.id, namespaceId: project.namespaceId, slug: project.slug, visibility: project.visibility }
			const current = this.repository.currentByName(tx, project.id, name)
			if (!current) return { episode: this.repository.insert(tx, project.id, name, { ...changes, ...madeByCaller(caller) }), project: projectRef, namespace, created: true }
			if (current.deletedAt !== null) {
				throw gone('episode_deleted', `Episode "${name}" was deleted: restore it (POST /episodes/${current.id}/restore) or purge it first.`)
			}
			const changed = changedFields(current, changes)
			if (Object.keys(changed).length === 0) return { episode: current, project: projectRef, namespace, created: false }
			refuseIfProtected(current)
			return { episode: this.repository.applyChanges(tx, current.id, changed)!, project: projectRef, namespace, created: false }
		})
	}

	/** The live episode with this id (a path segment) if `reader` may read it, or 404 (401 for nobody signed in). From memory once known. */
	readable(meter: DbMeter, reader: Reader, idSegment: string): EpisodeRef {
		return this.readPlace(meter, reader, idSegment).ref
	}

	/** As `readable` for a caller who may write there, and 403 when the episode is write-protected: for every write under an episode. */
	writable(meter: DbMeter, caller: Account, idSegment: string): EpisodeRef {
		const { ref } = this.place(meter, caller, idSegment, 'write')
		if (ref.writeProtected) throw writeProtected()
		return ref
	}

	/** GET /episodes/{id}: the episode, its project and the counts under it. */
	get(meter: DbMeter, reader: Reader, idSegment: string): EpisodeDetail {
		const place = this.readPlace(meter, reader, idSegment)
		const episode = this.repository.byId(meter, place.ref.id)
		if (!episode || episode.deletedAt !== null) throw episodeNotFound()
		return this.detail(meter, episode, place)
	}

	/** GET …/episodes/{name}. */
	getByName(meter: DbMeter, reader: Reader, ns: string, projectSegment: string, name: string): EpisodeDetail {
		const scope = this.access.readScope(meter, reader, ns)
		const project = scope && this.projects.liveRefBySegment(meter, scope, projectSegment)
		const episode = project && mayRead(scope, project.visibility) ? this.repository.byName(meter, project.id, name) : undefined
		if (!scope || !project || !episode || episode.deletedAt !== null) throw this.projects.notVisible(meter, reader, scope, ns, episodeNotFound(name))
		return this.detail(meter, episode, { ref: episode, project, namespace: scope })
	}

	/** The live project whose episodes `reader` may list, with what they may read in its namespace; else 404 (401 for nobody signed in). */
	readableProject(meter: DbMeter, reader: Reader, ns: string, projectSegment: string): { project: ProjectRef; scope: ReadScope } {
		const scope = this.access.readScope(meter, reader, ns)
		const project = scope && this.projects.liveRefBySegment(meter, scope, projectSegment)
		if (!scope || !project || !mayRead(scope, project.visibility)) throw this.projects.notVisible(meter, reader, scope, ns, projectNotFound(projectSegment))
		return { project, scope }
	}

	/** GET …/projects/{project}/episodes: a page of the project's episodes that match, with the columns asked for. */
	list(meter: DbMeter, reader: Reader, ns: string, projectSegment: string, page: Page, search: EpisodeSearch): EpisodePage {
		const { project, scope } = this.readableProject(meter, reader, ns, projectSegment)
		return this.search(meter, scope, [project.id], page, search)
	}

	/** GET …/projects/{project}/keys: the parameter keys and metrics a filter over the project can name, from its newest episodes. */
	keys(meter: DbMeter, reader: Reader, ns: string, projectSegment: string): { params: string[]; metrics: { track: string; key: string }[] } {
		const { project } = this.readableProject(meter, reader, ns, projectSegment)
		return this.repository.keysOf(meter, project.id, KEYS_FROM_EPISODES, KEYS_MAX)
	}

	/** GET /namespaces/{ns}/episodes: the same across every project of the namespace the reader may read. */
	listInNamespace(meter: DbMeter, reader: Reader, ns: string, page: Page, search: EpisodeSearch): EpisodePage & { projects: Map<number, string> } {
		const { scope, projects } = this.projects.readable(meter, reader, ns)
		return { ...this.search(meter, scope, projects.map((p) => p.id), page, search), projects: new Map(projects.map((p) => [p.id, p.slug])) }
	}

	/** The search itself, within `projectIds`: the caller's scope, found by the access check before any episode is read. */
	private search(meter: DbMeter, scope: ReadScope, projectIds: number[], page: Page, { columns, ...listing }: EpisodeSearch): EpisodePage {
		// what was deleted is its members' to restore
		if (scope.role === null && listing.deleted) return { rows: [], total: 0, values: new Map() }
		const found = this.repository.list(meter, projectIds, { ...listing, staleBefore: this.staleBefore(), offset: page.offset, limit: page.pageSize })
		return { ...found, values: this.columnValues(meter, found.rows, columns) }
	}

	/** Per episode, the value of each column (null where it has none), keyed as the column was asked for. */
	private columnValues(meter: DbMeter, rows: EpisodeRow[], columns: ListColumn[]): Map<number, Record<string, unknown>> {
		const values = new Map<number, Record<string, unknown>>()
		if (columns.length === 0) return values
		const ids = rows.map((row) => row.id)
		const params = columns.flatMap((c) => (c.key.kind === 'param' ? [c.key.key] : []))
		const metrics = columns.flatMap((c) => (c.key.kind === 'metric' ? [c.key] : []))
		const paramValues = this.repository.parameterValues(meter, ids, params)
		const summaries = new Map<string, SummaryRow>()
		for (const row of this.repository.metricSummaries(meter, ids, [...new Set(metrics.map((m) => m.track))], [...new Set(metrics.map((m) => m.key))])) {
			summaries.set(JSON.stringify([row.episodeId, row.track, row.key]), row)
		}
		for (const row of rows) {
			const cells: Record<string, unknown> = {}
			for (const { label, key } of columns) {
				if (key.kind === 'param') cells[label] = paramValues.get(row.id)?.get(key.key) ?? null
				else if (key.kind === 'metric') cells[label] = summaries.get(JSON.stringify([row.id, key.track, key.key]))?.[key.stat] ?? null
			}
			values.set(row.id, cells)
		}
		return values
	}

	/**
	 * GET …/projects/{project}/episodes/export: the episodes `list` gives for these filters, every
	 * page of them (its filter and order), as a table with the column groups features added
	 * (parameters) and the `columns=` asked for (metric summaries among them). The access check is
	 * made now (a 404 before anything is streamed) and again with each page.
	 */
	exportTable(meter: DbMeter, reader: Reader, ns: string, projectSegment: string, search: EpisodeSearch): EpisodeTable {
		const page = (page: Page) => this.list(meter, reader, ns, projectSegment, page, search)
		page({ page: 1, pageSize: 1, offset: 0 })
		return new EpisodeTable(meter, page, this.columnGroups, search.columns.map((c) => c.label), this.staleBefore())
	}

	/** PATCH /episodes/{id}. */
	async update(meter: DbMeter, caller: Account, idSegment: string, patch: EpisodePatch): Promise<EpisodeDetail> {
		return this.applyPatch(meter, this.place(meter, caller, idSegment, 'write'), patch)
	}

	/** PATCH …/episodes/{name}. */
	async updateByName(meter: DbMeter, caller: Account, ns: string, projectSegment: string, name: string, patch: EpisodePatch): Promise<EpisodeDetail> {
		return this.applyPatch(meter, this.liveByName(meter, caller, ns, projectSegment, name, 'write').place, patch)
	}

	/** DELETE /episodes/{id}: soft; 403 while write-protected. */
	async remove(meter: DbMeter, caller: Account, idSegment: string): Promise<EpisodeRow> {
		const { ref } = this.place(meter, caller, idSegment, 'write')
		return (await this.repository.softDelete(meter, ref.id, refuseIfProtected)) ?? episodeNotFoundAfterAll()
	}

	/** POST /episodes/{id}/restore: a deleted episode, in a live project the caller may write in. */
	async restore(meter: DbMeter, caller: Account, idSegment: string): Promise<EpisodeDetail> {
		const id = parseRowId(idSegment)
		const row = id === undefined ? undefined : this.repository.byId(meter, id)
		const project = row && row.deletedAt !== null ? this.projects.liveRef(meter, row.projectId) : undefined
		const namespace = project && this.access.byId(meter, caller, project.namespaceId, 'write')
		if (!row || !project || !namespace) {
			// a guest who reads that project is told what a guest is told of any write
			const scope = project && this.access.readScopeById(meter, caller, project.namespaceId)
			if (scope && mayRead(scope, project.visibility)) throw notAMember(scope.slug)
			throw notFound('episode_not_deleted', 'No deleted episode with this id to restore.')
		}
		const restored = (await this.repository.restore(meter, row.id)) ?? episodeNotFoundAfterAll()
		return this.detail(meter, restored, { ref: restored, project, namespace })
	}

	/** The ids of the live episodes of these projects. */
	liveIdsIn(meter: DbMeter, projectIds: number[]): number[] {
		return this.repository.liveIdsIn(meter, projectIds)
	}

	/** Per project, its live episodes and when the newest change to one was (a project's `episodeCount` and `lastEpisodeAt`). */
	liveSummaries(meter: DbMeter, projectIds: number[]): Map<number, { count: number; lastUpdatedAt: Date }> {
		return this.repository.liveSummaries(meter, projectIds)
	}

	private async applyPatch(meter: DbMeter, place: EpisodePlace, patch: EpisodePatch): Promise<EpisodeDetail> {
		const changes = episodeChanges(patch)
		const episode = await this.repository.update(meter, place.ref.id, (current) => {
			const changed = changedFields(current, changes)
			// only a PATCH that lifts the protection may change a protected episode
			if (current.writeProtected && patch.writeProtected !== false && Object.keys(changed).length > 0) throw writeProtected()
			return changed
		})
		return this.detail(meter, episode ?? episodeNotFoundAfterAll(), place)
	}

	/**
	 * A live episode by id, with its live project and namespace, if the access check lets the caller
	 * `need` there; else 404, or 403 for one they may read (a public project) but are no member of.
	 */
	private place(meter: DbMeter, caller: Account, idSegment: string, need: Need): EpisodePlace {
		const id = parseRowId(idSegment)
		const ref = id === undefined ? undefined : this.repository.liveRef(meter, id)
		const project = ref && this.projects.liveRef(meter, ref.projectId)
		const namespace = project && this.access.byId(meter, caller, project.namespaceId, need)
		if (ref && project && namespace) return { ref, project, namespace }
		const scope = project && this.access.readScopeById(meter, caller, project.namespaceId)
		if (scope && mayRead(scope, project.visibility)) throw notAMember(scope.slug)
		throw episodeNotFound()
	}

	/** A live episode by id, with its live project and namespace, if `reader` may read it; else 404 (401 for nobody signed in). */
	private readPlace(meter: DbMeter, reader: Reader, idSegment: string): EpisodePlace {
		const id = parseRowId(idSegment)
		const ref = id === undefined ? undefined : this.repository.liveRef(meter, id)
		const project = ref && this.projects.liveRef(meter, ref.projectId)
		const scope = project && this.access.readScopeById(meter, reader, project.namespaceId)
		if (!ref || !project || !scope || !mayRead(scope, project.visibility)) throw this.access.hidden(reader, episodeNotFound())
		return { ref, project, namespace: scope }
	}

	private liveByName(meter: DbMeter, caller: Account, ns: string, projectSegment: string, name: string, need: Need): { episode: EpisodeRow; place: EpisodePlace } {
		const namespace = this.access.bySlug(meter, caller, ns, need)
		const project = this.projects.liveRefBySegment(meter, namespace, projectSegment)
		const episode = project && this.repository.byName(meter, project.id, name)
		if (!project || !episode || episode.deletedAt !== null) throw episodeNotFound(name)
		return { episode, place: { ref: episode, project, namespace } }
	}

	private detail(meter: DbMeter, episode: EpisodeRow, place: EpisodePlace): EpisodeDetail {
		const counts: EpisodeCounts = { logCount: 0, trackCount: 0, fileCount: 0 }
		for (const [name, counter] of this.counters) counts[name] = counter(meter, episode.id)
		return { episode, project: place.project, namespace: place.namespace, counts }
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
