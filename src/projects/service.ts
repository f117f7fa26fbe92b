import type { Account } from '../auth/model'
import type { ProjectRow, Visibility } from '../db/schema'
import type { DbMeter } from '../db/meter'
import type { Tx } from '../db/write-queue'
import { conflict, forbidden, gone, notFound, type ApiError } from '../http/errors'
import { checkName, isCleanName, describedFields } from '../http/fields'
import type { Page } from '../http/paging'
import { mayRead, type NamespaceAccess, type Reader, type ReadScope } from '../namespaces/access'
import { namespaceNotFound, type NamespaceRef, type Need } from '../namespaces/model'
import { isProjectSlug, projectSlugOf, slugForNewProject, type ProjectCreate, type ProjectPatch } from './model'
import { SlugTakenError, type NewProject, type ProjectChanges, type ProjectRef, type ProjectRepository } from './repository'

/** Projects, by namespace slug and project slug, where the access check lets the caller; knows nothing of HTTP. */
export class ProjectService {
	constructor(
		readonly repository: ProjectRepository,
		private readonly access: NamespaceAccess,
	) {}

	async create(meter: DbMeter, caller: Account, ns: string, body: ProjectCreate): Promise<ProjectRow> {
		// a member makes private projects; opening one to more readers is an admin's to say
		const namespace = this.access.bySlug(meter, caller, ns, body.visibility !== undefined && body.visibility !== 'private' ? 'admin' : 'write')
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

	/** The projects `reader` may read in the namespace: all of them for a member, a guest's visibilities else (and 404 when none: the namespace stays hidden). */
	list(meter: DbMeter, reader: Reader, ns: string, page: Page, filters: { search?: string; deleted: boolean }) {
		const scope = this.visibleScope(meter, reader, ns)
		// what was deleted is its members' to restore
		if (scope.role === null && filters.deleted) return { rows: [], total: 0 }
		return this.repository.list(meter, scope.id, { ...filters, visibilities: scope.role === null ? scope.sees : undefined, offset: page.offset, limit: page.pageSize })
	}

	/** The live projects `reader` may read in the namespace (a search across them), or 404 (401 for nobody signed in) when they see nothing there. */
	readable(meter: DbMeter, reader: Reader, ns: string): { scope: ReadScope; projects: { id: number; slug: string }[] } {
		const scope = this.visibleScope(meter, reader, ns)
		return { scope, projects: this.repository.liveSlugs(meter, scope.id, scope.role === null ? scope.sees : undefined) }
	}

	/** A live project `reader` may read, or 404 (401 for nobody signed in). */
	read(meter: DbMeter, reader: Reader, ns: string, project: string): ProjectRow {
		const scope = this.access.readScope(meter, reader, ns)
		const slug = projectSlugOf(project)
		const row = scope && isProjectSlug(slug) ? this.repository.bySlug(meter, scope.id, slug) : undefined
		if (!scope || !row || row.deletedAt !== null || !mayRead(scope, row.visibility)) throw this.notVisible(meter, reader, scope, ns, projectNotFound(project))
		return row
	}

	/**
	 * What a reader who may not see something in a namespace is told: the 404 of what was asked when
	 * they see the namespace (a member, or a guest of one of its projects), else the namespace's own
	 * 404, so nothing tells a namespace exists; the 401 that asks to sign in for nobody signed in.
	 */
	notVisible(meter: DbMeter, reader: Reader, scope: ReadScope | undefined, ns: string, asked: ApiError): ApiError {
		const seen = scope && (scope.role !== null || this.repository.liveIds(meter, scope.id, scope.sees).length > 0)
		return this.access.hidden(reader, seen ? asked : namespaceNotFound(ns))
	}

	/** The namespace a reader may see something of: a member's, or a guest's when it has a project they may read. */
	visibleScope(meter: DbMeter, reader: Reader, ns: string): ReadScope {
		const scope = this.access.readScope(meter, reader, ns)
		if (!scope || (scope.role === null && this.repository.liveIds(meter, scope.id, scope.sees).length === 0)) throw this.access.hidden(reader, namespaceNotFound(ns))
		return scope
	}

	/** A live project the caller may `need` in, or 404. */
	get(meter: DbMeter, caller: Account, ns: string, project: string, need: Need): ProjectRow {
		const row = this.find(meter, caller, ns, project, need)
		if (!row || row.deletedAt !== null) throw projectNotFound(project)
		return row
	}

	async update(meter: DbMeter, caller: Account, ns: string, project: string, patch: ProjectPatch): Promise<ProjectRow> {
		// who may read it is an admin's to say
		const row = this.get(meter, caller, ns, project, patch.visibility !== undefined ? 'admin' : 'write')
		if (patch.name !== undefined) checkName(patch.name, 'name')
		const changes = projectChanges(patch)
		if (Object.keys(changes).length === 0) return row
		return (await this.repository.update(meter, row.id, changes)) ?? notFoundAfterAll(project)
	}

	async remove(meter: DbMeter, caller: Account, ns: string, project: string): Promise<ProjectRow> {
		// a member writes in projects; removing one (with every run in it) is an admin's
		const row = this.get(meter, caller, ns, project, 'admin')
		return (await this.repository.softDelete(meter, row)) ?? notFoundAfterAll(project)
	}

	async restore(meter: DbMeter, caller: Account, ns: string, project: string): Promise<ProjectRow> {
		const row = this.find(meter, caller, ns, project, 'admin')
		if (!row || row.deletedAt === null) throw notFound('project_not_deleted', `No deleted project "${project}" to restore.`)
		return (await this.repository.restore(meter, row.id)) ?? notFoundAfterAll(project)
	}

	/** The ids of the live projects in a namespace the access check let the caller into (those a guest may read, for a guest). */
	liveIds(meter: DbMeter, scope: NamespaceRef & { role: unknown; sees?: readonly Visibility[] }): number[] {
		return this.repository.liveIds(meter, scope.id, scope.role === null ? scope.sees : undefined)
	}

	/** The namespaces where someone who sees projects of these visibilities sees one. */
	namespacesWith(meter: DbMeter, visibilities: readonly Visibility[]): string[] {
		return this.repository.namespacesWith(meter, visibilities)
	}

	/** A live project by id, wherever it is: for the routes that name an episode by id, which ask the access check of its namespace. */
	liveRef(meter: DbMeter, id: number): ProjectRef | undefined {
		return this.repository.liveRef(meter, id)
	}

	/**
	 * Inside a write: the project a path segment names in the namespace, created (named after the
	 * segment) when missing. A deleted one answers 410, as a deleted episode's name does.
	 */
	ensure(tx: Tx, namespace: NamespaceRef, segment: string): ProjectRow {
		const slug = projectSlugOf(segment)
		if (!isProjectSlug(slug)) throw projectNotFound(segment)
		const name = segment.trim().slice(0, 100)
		const { project } = this.repository.insertOrFind(tx, { namespaceId: namespace.id, slug, name: isCleanName(name) ? name : slug })
		if (project.deletedAt !== null) throw gone('project_deleted', `Project "${slug}" was deleted: restore it (POST …/projects/${slug}/restore) or purge it first.`)
		return project
	}

	/** A live project of a namespace the access check let the caller into, by a path segment: from memory once known. */
	liveRefBySegment(meter: DbMeter, namespace: NamespaceRef, segment: string): ProjectRef | undefined {
		const slug = projectSlugOf(segment)
		return isProjectSlug(slug) ? this.repository.liveRefBySlug(meter, namespace.id, slug) : undefined
	}

	/** The project a path segment names in a namespace the caller may `need` in, live or deleted. */
	private find(meter: DbMeter, caller: Account, ns: string, project: string, need: Need): ProjectRow | undefined {
		const slug = projectSlugOf(project)
		// a guest who reads here gets its 403 not_a_member from the access check
		const namespace = this.access.bySlug(meter, caller, ns, need)
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
	return { ...(body.name !== undefined && { name: body.name }), ...(body.visibility !== undefined && { visibility: body.visibility }), ...describedFields(body) }
}
