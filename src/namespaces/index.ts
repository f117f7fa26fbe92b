import { Elysia, t } from 'elysia'
import type { CallerGuard } from '../auth/guard'
import type { EpisodeService } from '../episodes/service'
import type { FileService } from '../files/service'
import { jsonBody } from '../http/body'
import { errorResponses } from '../http/errors'
import { DeletedResponse, iso, Timestamp } from '../http/fields'
import { ListQuery, paged, PagedResponse, pageOf } from '../http/paging'
import type { ProjectService } from '../projects/service'
import { ApiKeyCreate, ApiKeyCreated, ApiKeyResponse, InvitationAccepted, InvitationCreate, InvitationCreated, InvitationPreview, InvitationResponse, toApiKeyResponse, toInvitationResponse, MemberAdd, MemberPatch, MemberResponse, NamespaceOverview, NamespacePatch, NamespaceResponse, TeamCreate, toMemberResponse, toNamespaceResponse } from './model'
import type { NamespaceService } from './service'
import type { ApiKeyService } from './api-keys'
import type { InvitationService } from './invitations'
import { duration } from '../config'
import { invalidField } from '../http/errors'

const tags = ['Namespaces']
const NamespacePath = t.Object({ ns: t.String() })
const MemberPath = t.Object({ ns: t.String(), username: t.String() })

/** Namespaces: teams (create, GET, PATCH, delete, restore) and the members of any namespace. */
export const namespaceRoutes = (namespaces: NamespaceService, keys: ApiKeyService, invitations: InvitationService, projects: ProjectService, episodes: EpisodeService, files: FileService, guard: CallerGuard) =>
	new Elysia()
		.use(guard)
		.use(jsonBody)
		.get(
			'/auth/namespaces',
			({ caller, meter }) => ({
				namespaces: namespaces.visibleTo(meter, caller, (visibilities) => projects.namespacesWith(meter, visibilities)).map(({ row, role }) => ({ id: row.id, slug: row.slug, kind: row.kind, name: row.name, role })),
			}),
			{
				reader: true,
				response: { 200: t.Object({ namespaces: t.Array(t.Object({ id: t.String(), slug: t.String(), kind: t.String(), name: t.Union([t.String(), t.Null()]), role: t.Union([t.String(), t.Null()]) })) }), ...errorResponses(401) },
				detail: { summary: 'The namespaces with something you may see: without a token those with public projects; with one, also yours and your teams’ (with your role) and those with internal projects', tags },
			},
		)
		.post(
			'/namespaces',
			async ({ caller, meter, body, set }) => {
				const { row, role } = await namespaces.createTeam(meter, caller, body)
				set.status = 201
				return toNamespaceResponse(row, role)
			},
			{
				caller: true,
				parse: ['json64KiB', 'json'],
				body: TeamCreate,
				response: { 201: NamespaceResponse, ...errorResponses(400, 401, 409, 413, 415, 422) },
				detail: { summary: 'Create a team namespace, with you as its owner (409 namespace_exists when a person or a team has the slug)', tags },
			},
		)
		.get(
			'/namespaces/:ns',
			({ caller, meter, params }) => {
				// a guest (no member) sees a namespace with a project they may read, and counts only those
				const scope = projects.visibleScope(meter, caller, params.ns)
				const row = namespaces.row(meter, scope.slug)
				const projectIds = projects.liveIds(meter, scope)
				const episodeIds = episodes.liveIdsIn(meter, projectIds)
				return {
					id: row.id,
					slug: row.slug,
					kind: row.kind,
					name: row.name,
					metadata: row.metadata,
					role: scope.role,
					projects: projectIds.length,
					episodes: episodeIds.length,
					files: files.countLive(meter, episodeIds),
					createdAt: iso(row.createdAt),
				}
			},
			{
				reader: true,
				params: NamespacePath,
				response: { 200: NamespaceOverview, ...errorResponses(401, 404) },
				detail: { summary: 'A namespace you are in (or whose public or internal projects you may read), your role there, and how much it holds', tags },
			},
		)
		.patch(
			'/namespaces/:ns',
			async ({ caller, meter, params, body }) => {
				const { row, role } = await namespaces.update(meter, caller, params.ns, body)
				return toNamespaceResponse(row, role)
			},
			{
				caller: true,
				params: NamespacePath,
				parse: ['json64KiB', 'json'],
				body: NamespacePatch,
				response: { 200: NamespaceResponse, ...errorResponses(400, 401, 403, 404, 409, 413, 415, 422) },
				detail: { summary: 'Change a namespace’s slug (teams), name or metadata (owners and admins)', tags },
			},
		)
		.delete(
			'/namespaces/:ns',
			async ({ caller, meter, params }) => {
				const row = await namespaces.remove(meter, caller, params.ns)
				return { id: row.id, deletedAt: iso(row.deletedAt!) }
			},
			{
				caller: true,
				params: NamespacePath,
				response: { 200: DeletedResponse, ...errorResponses(401, 403, 404, 409) },
				detail: { summary: 'Delete a team (owners; soft: restore it until it is purged)', tags },
			},
		)
		.post(
			'/namespaces/:ns/restore',
			async ({ caller, meter, params }) => {
				const { row, role } = await namespaces.restore(meter, caller, params.ns)
				return toNamespaceResponse(row, role)
			},
			{
				caller: true,
				params: NamespacePath,
				response: { 200: NamespaceResponse, ...errorResponses(401, 403, 404) },
				detail: { summary: 'Restore a deleted team (owners)', tags },
			},
		)
		.get(
			'/namespaces/:ns/members',
			({ caller, meter, params, query }) => {
				const page = pageOf(query, { defaultSize: 200, maxSize: 200 })
				const { rows, people } = namespaces.members(meter, caller, params.ns)
				return paged('members', rows.slice(page.offset, page.offset + page.pageSize).map((row) => toMemberResponse(row, people)), rows.length, page)
			},
			{
				caller: true,
				params: NamespacePath,
				query: ListQuery({}),
				response: { 200: PagedResponse('members', MemberResponse), ...errorResponses(401, 404, 422) },
				detail: { summary: 'The members of a namespace and their roles (a personal namespace’s person is its owner, not listed)', tags },
			},
		)
		.post(
			'/namespaces/:ns/members',
			async ({ caller, meter, params, body, set }) => {
				const { row, people } = await namespaces.addMember(meter, caller, params.ns, body)
				set.status = 201
				return toMemberResponse(row, people)
			},
			{
				caller: true,
				params: NamespacePath,
				parse: ['json64KiB', 'json'],
				body: MemberAdd,
				response: { 201: MemberResponse, ...errorResponses(400, 401, 403, 404, 409, 413, 415, 422) },
				detail: { summary: 'Add a person who has signed in here, by username, with a role (owners and admins; only owners add owners)', tags },
			},
		)
		.patch(
			'/namespaces/:ns/members/:username',
			async ({ caller, meter, params, body }) => {
				const { row, people } = await namespaces.changeRole(meter, caller, params.ns, params.username, body.role)
				return toMemberResponse(row, people)
			},
			{
				caller: true,
				params: MemberPath,
				parse: ['json64KiB', 'json'],
				body: MemberPatch,
				response: { 200: MemberResponse, ...errorResponses(400, 401, 403, 404, 409, 413, 415, 422) },
				detail: { summary: 'Change a member’s role (owners and admins; only owners give or take owner; a team keeps an owner)', tags },
			},
		)
		.post(
			'/namespaces/:ns/api-keys',
			async ({ caller, meter, params, body, set }) => {
				const { row, secret, creator } = await keys.create(meter, caller, params.ns, body, expiresInSeconds(body.expiresIn))
				set.status = 201
				return { ...toApiKeyResponse(row, creator), secret }
			},
			{
				caller: true,
				params: NamespacePath,
				parse: ['json64KiB', 'json'],
				body: ApiKeyCreate,
				response: { 201: ApiKeyCreated, ...errorResponses(400, 401, 403, 404, 413, 415, 422) },
				detail: { summary: 'Create an API key for CI and robots: a role no higher than yours, in this namespace only; the secret is shown once', tags },
			},
		)
		.get(
			'/namespaces/:ns/api-keys',
			({ caller, meter, params, query }) => {
				const page = pageOf(query, { defaultSize: 200, maxSize: 200 })
				const rows = keys.list(meter, caller, params.ns)
				return paged('apiKeys', rows.slice(page.offset, page.offset + page.pageSize).map(({ row, creator }) => toApiKeyResponse(row, creator)), rows.length, page)
			},
			{
				caller: true,
				params: NamespacePath,
				query: ListQuery({}),
				response: { 200: PagedResponse('apiKeys', ApiKeyResponse), ...errorResponses(401, 403, 404, 422) },
				detail: { summary: 'The namespace’s API keys, never their secrets (owners and admins see all, others their own)', tags },
			},
		)
		.delete(
			'/namespaces/:ns/api-keys/:id',
			async ({ caller, meter, params }) => {
				const { row, creator } = await keys.revoke(meter, caller, params.ns, params.id)
				return toApiKeyResponse(row, creator)
			},
			{
				caller: true,
				params: t.Object({ ns: t.String(), id: t.String() }),
				response: { 200: ApiKeyResponse, ...errorResponses(401, 403, 404) },
				detail: { summary: 'Revoke an API key (its creator, owners and admins): refused from the next request', tags },
			},
		)
		.post(
			'/namespaces/:ns/invitations',
			async ({ caller, meter, params, body, set, request }) => {
				const { row, token } = await invitations.create(meter, caller, params.ns, body, invitationSeconds(body.expiresIn))
				set.status = 201
				return { ...toInvitationResponse(row), token, url: `${new URL(request.url).origin}/ui/invitations/${token}` }
			},
			{
				caller: true,
				params: NamespacePath,
				parse: ['json64KiB', 'json'],
				body: InvitationCreate,
				response: { 201: InvitationCreated, ...errorResponses(400, 401, 403, 404, 413, 415, 422) },
				detail: { summary: 'Invite people with a link, for a role, some uses, until it expires (owners and admins; only owners invite owners)', tags },
			},
		)
		.get(
			'/namespaces/:ns/invitations',
			({ caller, meter, params, query }) => {
				const page = pageOf(query, { defaultSize: 200, maxSize: 200 })
				const { rows } = invitations.list(meter, caller, params.ns)
				return paged('invitations', rows.slice(page.offset, page.offset + page.pageSize).map(toInvitationResponse), rows.length, page)
			},
			{
				caller: true,
				params: NamespacePath,
				query: ListQuery({}),
				response: { 200: PagedResponse('invitations', InvitationResponse), ...errorResponses(401, 403, 404, 422) },
				detail: { summary: 'The namespace’s invitations, never their tokens (owners and admins)', tags },
			},
		)
		.delete(
			'/namespaces/:ns/invitations/:id',
			async ({ caller, meter, params }) => toInvitationResponse(await invitations.revoke(meter, caller, params.ns, params.id)),
			{
				caller: true,
				params: t.Object({ ns: t.String(), id: t.String() }),
				response: { 200: InvitationResponse, ...errorResponses(401, 403, 404) },
				detail: { summary: 'Revoke an invitation (owners and admins): its link stops working at once', tags },
			},
		)
		.get(
			'/invitations/:token',
			({ meter, params }) => {
				const preview = invitations.preview(meter, params.token)
				return { ...preview, expiresAt: iso(preview.expiresAt) }
			},
			{
				params: t.Object({ token: t.String() }),
				response: { 200: InvitationPreview, ...errorResponses(404, 410) },
				detail: { summary: 'What an invitation invites to (no sign-in needed: the link is the secret)', tags },
			},
		)
		.post(
			'/invitations/:token/accept',
			async ({ caller, meter, params }) => invitations.accept(meter, caller, params.token),
			{
				caller: true,
				params: t.Object({ token: t.String() }),
				response: { 200: InvitationAccepted, ...errorResponses(401, 403, 404, 410) },
				detail: { summary: 'Accept an invitation: you join the namespace with its role (or are raised to it)', tags },
			},
		)
		.delete(
			'/namespaces/:ns/members/:username',
			async ({ caller, meter, params }) => {
				await namespaces.removeMember(meter, caller, params.ns, params.username)
				return { username: params.username, removedAt: new Date().toISOString() }
			},
			{
				caller: true,
				params: MemberPath,
				response: { 200: t.Object({ username: t.String(), removedAt: Timestamp }), ...errorResponses(401, 403, 404, 409) },
				detail: { summary: 'Remove a member (owners and admins; only owners remove an owner; anyone may leave; a team keeps an owner)', tags },
			},
		)

/** `expiresIn` of a key: a duration (`30d`), or null/absent for one that does not expire. */
function expiresInSeconds(raw: string | null | undefined): number | null {
	if (raw === undefined || raw === null) return null
	try {
		const seconds = duration('expiresIn', raw.trim())
		if (seconds !== null) return seconds
	} catch {}
	throw invalidField('expiresIn', 'must be a duration such as 30d, 12h or 3600, or null for a key that does not expire')
}

/** `expiresIn` of an invitation: a duration, 7 days when absent, at most 90 days. */
function invitationSeconds(raw: string | undefined): number {
	if (raw === undefined) return 7 * 86_400
	let seconds: number | null = null
	try {
		seconds = duration('expiresIn', raw.trim())
	} catch {}
	if (seconds === null || seconds > 90 * 86_400) throw invalidField('expiresIn', 'must be a duration such as 12h, 7d or 2w, at most 90d')
	return seconds
}
