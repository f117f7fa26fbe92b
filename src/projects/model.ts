import { t, type Static } from 'elysia'
import { VISIBILITIES, type ProjectRow } from '../db/schema'
import { formatRowId } from '../db/ids'
import { invalidField } from '../http/errors'
import { Description, iso, isoOrNull, Metadata, oneOf, Tags, Timestamp } from '../http/fields'

export const PROJECT_NAME_MAX_LENGTH = 100
export const PROJECT_SLUG_MAX_LENGTH = 100
export const PROJECT_SLUG_PATTERN = `^[a-z0-9][a-z0-9_-]{0,${PROJECT_SLUG_MAX_LENGTH - 1}}$`
export const PROJECT_SLUG_RULE = `must be 1 to ${PROJECT_SLUG_MAX_LENGTH} lower-case letters, digits, "_" or "-", starting with a letter or digit`
const SLUG = new RegExp(PROJECT_SLUG_PATTERN)

/**
 * The slug a name or a path segment stands for: lower-cased, runs of anything but `[a-z0-9_-]`
 * turned into `-`, dashes trimmed, at most 100 characters; `''` when nothing is left. A slug maps
 * to itself, so `My Project` and `my-project` in a path name the same project.
 */
export function projectSlugOf(text: string): string {
	return text
		.toLowerCase()
		.replace(/[^a-z0-9_-]+/g, '-')
		.replace(/^[-_]+|-+$/g, '')
		.slice(0, PROJECT_SLUG_MAX_LENGTH)
		.replace(/-+$/, '')
}

export const isProjectSlug = (value: string) => SLUG.test(value)

const VisibilitySchema = oneOf(VISIBILITIES, { description: 'private (members only, the default), internal (any signed-in person of this server), public (anyone, signed in or not)' })

const ProjectName = t.String({ minLength: 1, maxLength: PROJECT_NAME_MAX_LENGTH, error: `must be a string of 1 to ${PROJECT_NAME_MAX_LENGTH} characters` })

export const ProjectCreate = t.Object(
	{
		name: ProjectName,
		slug: t.Optional(t.String({ pattern: PROJECT_SLUG_PATTERN, error: PROJECT_SLUG_RULE, description: 'Derived from the name when absent' })),
		description: t.Optional(Description),
		tags: t.Optional(Tags),
		metadata: t.Optional(Metadata),
		visibility: t.Optional(VisibilitySchema),
	},
	{ additionalProperties: false },
)
export type ProjectCreate = Static<typeof ProjectCreate>

export const ProjectPatch = t.Object(
	{
		name: t.Optional(ProjectName),
		description: t.Optional(Description),
		tags: t.Optional(Tags),
		metadata: t.Optional(Metadata),
		visibility: t.Optional(VisibilitySchema),
	},
	{ additionalProperties: false },
)
export type ProjectPatch = Static<typeof ProjectPatch>

export const ProjectResponse = t.Object({
	id: t.String(),
	namespaceId: t.String(),
	name: t.String(),
	slug: t.String(),
	description: t.Union([t.String(), t.Null()]),
	tags: t.Array(t.String()),
	metadata: Metadata,
	visibility: t.String({ description: 'private (members only), internal (any signed-in person of this server) or public (anyone)' }),
	episodeCount: t.Number({ description: 'Live episodes in the project' }),
	createdAt: Timestamp,
	updatedAt: Timestamp,
	lastEpisodeAt: t.Union([Timestamp, t.Null()], { description: 'When a live episode of the project was last created or changed; null without one' }),
	deletedAt: t.Union([Timestamp, t.Null()]),
})
export type ProjectResponse = Static<typeof ProjectResponse>

/** The slug a new project gets: the one sent, else one made from its name (a 422 when the name has no letter or digit). */
export function slugForNewProject(body: ProjectCreate): string {
	if (body.slug !== undefined) return body.slug
	const slug = projectSlugOf(body.name)
	if (!isProjectSlug(slug)) throw invalidField('name', 'needs a letter or digit to make a slug from (or send "slug")')
	return slug
}

export const toProjectResponse = (row: ProjectRow, episodes: { count: number; lastUpdatedAt: Date } | undefined): ProjectResponse => ({
	id: formatRowId(row.id),
	namespaceId: row.namespaceId,
	name: row.name,
	slug: row.slug,
	description: row.description,
	tags: row.tags,
	metadata: row.metadata,
	visibility: row.visibility,
	episodeCount: episodes?.count ?? 0,
	createdAt: iso(row.createdAt),
	updatedAt: iso(row.updatedAt),
	lastEpisodeAt: episodes ? iso(episodes.lastUpdatedAt) : null,
	deletedAt: isoOrNull(row.deletedAt),
})
