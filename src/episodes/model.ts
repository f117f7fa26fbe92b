import { t, type Static } from 'elysia'
import type { NamespaceRef } from '../namespaces/model'
import type { Tx } from '../db/write-queue'
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

/** What other features' writes tell episodes: that one was written to (its last activity moves once per group commit). */
export interface EpisodeActivity {
	touch(tx: Tx, episodeId: number): void
}


/** A status as answered: what is stored, or `stale` for a running episode nothing was written to for STALE_AFTER. */
const ShownStatus = t.Union([t.Literal('running'), t.Literal('stale'), t.Literal('completed'), t.Literal('failed'), t.Literal('cancelled'), t.Literal('archived')], {
	description: 'running, completed, failed, cancelled or archived as set; stale: running, but nothing written to it for STALE_AFTER (W&B calls it crashed)',
})

/** When anything last happened to the episode: its own fields changed, or something was written under it. */
export const lastActivityOf = (row: EpisodeRow): number => Math.max(row.updatedAt.getTime(), row.lastActivityAt?.getTime() ?? 0)

/** Running, but silent since before `staleBefore` (epoch ms): shown as stale, its stored status untouched. */
export const isStale = (row: EpisodeRow, staleBefore: number) => row.status === 'running' && lastActivityOf(row) < staleBefore

const Ref = t.Object({ id: t.String(), slug: t.String() })

const episodeFields = {
	id: t.String(),
	name: t.String(),
	description: t.Union([t.String(), t.Null()]),
	tags: t.Array(t.String()),
	status: ShownStatus,
	writeProtected: t.Boolean(),
	metadata: Metadata,
	createdBy: MadeBy,
	projectId: t.String(),
	projectNodeId: t.String({ description: 'Upstream’s name for projectId' }),
	createdAt: Timestamp,
	updatedAt: t.String({ description: 'When the episode’s own fields last changed (ISO 8601 UTC)' }),
	lastActivityAt: t.String({ description: 'When anything was last written to it or under it: logs, parameters, tracks, files, its own fields' }),
	deletedAt: t.Union([Timestamp, t.Null()]),
}

export const EpisodeFlat = t.Object(episodeFields)
export type EpisodeFlat = Static<typeof EpisodeFlat>

const ColumnValues = t.Record(t.String(), t.Unknown(), { description: 'With columns=: each column asked for, under the text it was asked with; null where the episode has none' })
/** A row of a project's episode list. */
export const EpisodeListItem = t.Object({ ...episodeFields, values: t.Optional(ColumnValues) })
/** A row of a namespace's episode list: the same, with its project. */
export const NamespaceEpisodeItem = t.Object({ ...episodeFields, project: Ref, values: t.Optional(ColumnValues) })

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

export const toEpisodeFlat = (row: EpisodeRow, staleBefore = -Infinity): EpisodeFlat => ({
	id: formatRowId(row.id),
	name: row.name,
	description: row.description,
	tags: row.tags,
	status: isStale(row, staleBefore) ? 'stale' : row.status,
	writeProtected: row.writeProtected,
	metadata: row.metadata,
	createdBy: toMadeBy(row),
	projectId: formatRowId(row.projectId),
	projectNodeId: formatRowId(row.projectId),
	createdAt: iso(row.createdAt),
	updatedAt: iso(row.updatedAt),
	lastActivityAt: iso(lastActivityOf(row)),
	deletedAt: isoOrNull(row.deletedAt),
})

export function toEpisodeResponse(row: EpisodeRow, project: ProjectRef, namespace: NamespaceRef, staleBefore = -Infinity): EpisodeResponse {
	const flat = toEpisodeFlat(row, staleBefore)
	const projectRef = { id: flat.projectId, slug: project.slug }
	return { ...flat, episode: flat, project: projectRef, workspace: projectRef, folder: null, namespace: { id: namespace.id, slug: namespace.slug } }
}

/**
 * The upsert's answer, serialized once per row: rows are replaced, never changed, and a row's
 * project and namespace never change, so the JSON stays true while the row is in memory. Building
 * and serializing it per request was a third of an unchanged upsert (bun run bench, --cpu-prof).
 */
const upsertBodies = new WeakMap<EpisodeRow, string>()
/** The same, for a row that has turned stale since (its status answers `stale`). */
const staleBodies = new WeakMap<EpisodeRow, string>()

export function episodeJson(row: EpisodeRow, project: ProjectRef, namespace: NamespaceRef, staleBefore = -Infinity): string {
	const bodies = isStale(row, staleBefore) ? staleBodies : upsertBodies
	let body = bodies.get(row)
	if (body === undefined) bodies.set(row, (body = JSON.stringify(toEpisodeResponse(row, project, namespace, staleBefore))))
	return body
}
