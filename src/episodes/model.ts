import { t, type Static } from 'elysia'
import type { NamespaceRef } from '../namespaces/model'
import { formatRowId } from '../db/ids'
import { EPISODE_STATUSES, type EpisodeRow } from '../db/schema'
import { Description, iso, isoOrNull, MadeBy, Metadata, Tags, Timestamp, toMadeBy } from '../http/fields'
import type { ProjectRef } from '../projects/repository'

export const EPISODE_NAME_MAX_LENGTH = 255

const EpisodeName = t.String({ minLength: 1, maxLength: EPISODE_NAME_MAX_LENGTH, error: `must be a string of 1 to ${EPISODE_NAME_MAX_LENGTH} characters` })
// a union of literals, not t.UnionEnum (http/fields.ts, oneOf), spelled out so its type is the five
const Status = t.Union([t.Literal('running'), t.Literal('completed'), t.Literal('failed'), t.Literal('cancelled'), t.Literal('archived')], {
	error: `must be one of ${EPISODE_STATUSES.join(', ')}`,
})
const WriteProtected = t.Boolean({ error: 'must be true or false' })

/** POST …/episodes: an upsert by name; fields left out keep their stored value. */
export const EpisodeUpsert = t.Object(
	{
		name: EpisodeName,
		description: t.Optional(Description),
		tags: t.Optional(Tags),
		status: t.Optional(Status),
		writeProtected: t.Optional(WriteProtected),
		metadata: t.Optional(Metadata),
	},
	{ additionalProperties: false },
)
export type EpisodeUpsert = Static<typeof EpisodeUpsert>

export const EpisodePatch = t.Object(
	{
		description: t.Optional(Description),
		tags: t.Optional(Tags),
		status: t.Optional(Status),
		writeProtected: t.Optional(t.Boolean({ error: 'must be true or false', description: 'Only `false` lifts write protection' })),
		metadata: t.Optional(Metadata),
	},
	{ additionalProperties: false },
)
export type EpisodePatch = Static<typeof EpisodePatch>

const Ref = t.Object({ id: t.String(), slug: t.String() })

const episodeFields = {
	id: t.String(),
	name: t.String(),
	description: t.Union([t.String(), t.Null()]),
	tags: t.Array(t.String()),
	status: Status,
	writeProtected: t.Boolean(),
	metadata: Metadata,
	createdBy: MadeBy,
	projectId: t.String(),
	projectNodeId: t.String({ description: 'Upstream’s name for projectId' }),
	createdAt: Timestamp,
	updatedAt: Timestamp,
	deletedAt: t.Union([Timestamp, t.Null()]),
}

export const EpisodeFlat = t.Object(episodeFields)
export type EpisodeFlat = Static<typeof EpisodeFlat>

/** What the SDK reads (`response["id"]`) plus upstream's envelope around the same episode. */
export const EpisodeResponse = t.Object({
	...episodeFields,
	episode: EpisodeFlat,
	project: Ref,
	workspace: t.Object({ id: t.String(), slug: t.String() }, { description: 'Upstream’s name for the project' }),
	folder: t.Null(),
	namespace: Ref,
})
export type EpisodeResponse = Static<typeof EpisodeResponse>

export const EpisodeDetailResponse = t.Object({
	...EpisodeResponse.properties,
	logCount: t.Number(),
	trackCount: t.Number(),
	fileCount: t.Number(),
})

export const EPISODE_ORDERS = { createdAt: 'createdAt', updatedAt: 'updatedAt', name: 'name' } as const
export type EpisodeOrder = keyof typeof EPISODE_ORDERS

export const toEpisodeFlat = (row: EpisodeRow): EpisodeFlat => ({
	id: formatRowId(row.id),
	name: row.name,
	description: row.description,
	tags: row.tags,
	status: row.status,
	writeProtected: row.writeProtected,
	metadata: row.metadata,
	createdBy: toMadeBy(row),
	projectId: formatRowId(row.projectId),
	projectNodeId: formatRowId(row.projectId),
	createdAt: iso(row.createdAt),
	updatedAt: iso(row.updatedAt),
	deletedAt: isoOrNull(row.deletedAt),
})

export function toEpisodeResponse(row: EpisodeRow, project: ProjectRef, namespace: NamespaceRef): EpisodeResponse {
	const flat = toEpisodeFlat(row)
	const projectRef = { id: flat.projectId, slug: project.slug }
	return { ...flat, episode: flat, project: projectRef, workspace: projectRef, folder: null, namespace: { id: namespace.id, slug: namespace.slug } }
}

/**
 * The upsert's answer, serialized once per row: rows are replaced, never changed, and a row's
 * project and namespace never change, so the JSON stays true while the row is in memory. Building
 * and serializing it per request was a third of an unchanged upsert (bun run bench, --cpu-prof).
 */
const upsertBodies = new WeakMap<EpisodeRow, string>()

export function episodeJson(row: EpisodeRow, project: ProjectRef, namespace: NamespaceRef): string {
	let body = upsertBodies.get(row)
	if (body === undefined) upsertBodies.set(row, (body = JSON.stringify(toEpisodeResponse(row, project, namespace))))
	return body
}
