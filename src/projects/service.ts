import type { Account } from '../auth/repository'
import type { ProjectRow } from '../db/schema'
import type { DbMeter } from '../db/meter'
import { conflict, gone, notFound } from '../http/errors'
import { checkName, isCleanName, describedFields } from '../http/fields'
import type { Page } from '../http/paging'
import { ownNamespace } from '../namespaces/service'
import { isProjectSlug, projectSlugOf, slugForNewProject, type ProjectCreate, type ProjectPatch } from './model'
import { SlugTakenError, type NewProject, type ProjectChanges, type ProjectRef, type ProjectRepository } from './repository'

/** Projects: the caller's own, by namespace slug and project slug; knows nothing of HTTP. */
export class ProjectService {
	constructor(readonly repository: ProjectRepository) {}

	async create(meter: DbMeter, caller: Account, ns: string, body: ProjectCreate): Promise<ProjectRow> {
		const namespace = ownNamespace(caller, ns)
		const project: NewProject = { namespaceId: namespace.id, slug: slugForNewProject(body), ...projectChanges(body), name: checkName(body.name, 'name') }
		try {
			return await this.repository.create(meter, project)
		} catch (error) {
			if (!(error instanceof SlugTakenError)) throw error
			if (error.existing.deletedAt !== null) {
				throw conflict('project_deleted', `A deleted project has the slug "${project.slug}": restore it (POST …/projects/${project.slug}/restore) or purge it first.`)
			}
			throw conflict('project_exists', `A project with the slug "${project.slug}" already exists.`)
		}
	}

	list(meter: DbMeter, caller: Account, ns: string, page: Page, filters: { search?: string; deleted: boolean }) {
		const namespace = ownNamespace(caller, ns)
		return this.repository.list(meter, namespace.id, { ...filters, offset: page.offset, limit: page.pageSize })
	}

	/** A live project of the caller, or 404. */
	get(meter: DbMeter, caller: Account, ns: string, project: string): ProjectRow {
		const row = this.find(meter, caller, ns, project)
		if (!row || row.deletedAt !== null) throw projectNotFound(project)
		return row
	}

	async update(meter: DbMeter, caller: Account, ns: string, project: string, patch: ProjectPatch): Promise<ProjectRow> {
		const row = this.get(meter, caller, ns, project)
		if (patch.name !== undefined) checkName(patch.name, 'name')
		const changes = projectChanges(patch)
		if (Object.keys(changes).length === 0) return row
		return (await this.repository.update(meter, row.id, changes)) ?? notFoundAfterAll(project)
	}

	async remove(meter: DbMeter, caller: Account, ns: string, project: string): Promise<ProjectRow> {
		const row = this.get(meter, caller, ns, project)
		return (await this.repository.softDelete(meter, row)) ?? notFoundAfterAll(project)
	}

	async restore(meter: DbMeter, caller: Account, ns: string, project: string): Promise<ProjectRow> {
		const row = this.find(meter, caller, ns, project)
		if (!row || row.deletedAt === null) throw notFound('project_not_deleted', `No deleted project "${project}" to restore.`)
		return (await this.repository.restore(meter, row.id)) ?? notFoundAfterAll(project)
	}

	/** The ids of the live projects in the namespace. */
	liveIds(meter: DbMeter, namespaceId: string): number[] {
		return this.repository.liveIds(meter, namespaceId)
	}

	/** A live project by id if it is in the namespace: for the routes that name an episode by id. */
	liveRefIn(meter: DbMeter, namespaceId: string, id: number): ProjectRef | undefined {
		const ref = this.repository.liveRef(meter, id)
		return ref?.namespaceId === namespaceId ? ref : undefined
	}

	/**
	 * Inside a write job: the project a path segment names in the namespace, created (named after
	 * the segment) when missing. A deleted one answers 410, as a deleted episode's name does.
	 */
	ensureInJob(namespaceId: string, segment: string): ProjectRow {
		const slug = projectSlugOf(segment)
		if (!isProjectSlug(slug)) throw projectNotFound(segment)
		const name = segment.trim().slice(0, 100)
		const { project } = this.repository.insertOrFind({ namespaceId, slug, name: isCleanName(name) ? name : slug })
		if (project.deletedAt !== null) throw gone('project_deleted', `Project "${slug}" was deleted: restore it (POST …/projects/${slug}/restore) or purge it first.`)
		return project
	}

	/** A live project of the namespace by a path segment: from memory once known. */
	liveRefBySegment(meter: DbMeter, namespaceId: string, segment: string): ProjectRef | undefined {
		const slug = projectSlugOf(segment)
		return isProjectSlug(slug) ? this.repository.liveRefBySlug(meter, namespaceId, slug) : undefined
	}

	/** Keeps a live project that a write job found or created in memory, once that job has committed. */
	remember(project: ProjectRef): void {
		this.repository.remember(project)
	}

	/** The project a path segment names in the caller's namespace, live or deleted. */
	find(meter: DbMeter, caller: Account, ns: string, project: string): ProjectRow | undefined {
		const namespace = ownNamespace(caller, ns)
		const slug = projectSlugOf(project)
		return isProjectSlug(slug) ? this.repository.bySlug(meter, namespace.id, slug) : undefined
	}
}

export const projectNotFound = (project: string) =>
	notFound('project_not_found', project.length <= 100 ? `Project "${project}" not found.` : 'Project not found.')

/** A row read a moment ago was gone by the time the write ran (a concurrent delete). */
function notFoundAfterAll(project: string): never {
	throw projectNotFound(project)
}

/** The fields of a create or patch body that change a project, checked beyond the schema. */
function projectChanges(body: ProjectPatch): ProjectChanges {
	return { ...(body.name !== undefined && { name: body.name }), ...describedFields(body) }
}
