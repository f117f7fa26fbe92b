import { t, type Static } from 'elysia'
import { ROLES, type ApiKeyRow, type InvitationRow, type MemberRow, type NamespaceRow, type Role } from '../db/schema'
import { notFound } from '../http/errors'
import { iso, isoOrNull, Metadata, oneOf, Timestamp } from '../http/fields'
import { isReservedSlug, SLUG_MAX_LENGTH } from './slug'

/** A namespace as the rest of the server names it: where data lives, `/namespaces/<slug>/…`. */
export interface NamespaceRef {
	id: string
	slug: string
}

export const NamespaceRefSchema = t.Object({ id: t.String(), slug: t.String() })

/** What a caller asks to do in a namespace: read its data, write it, administer it (members, settings, projects), or own it (delete it, make owners). */
export type Need = 'read' | 'write' | 'admin' | 'own'

export const NAMESPACE_SLUG_PATTERN = `^[a-z0-9][a-z0-9_-]{0,${SLUG_MAX_LENGTH - 1}}$`
const SLUG = new RegExp(NAMESPACE_SLUG_PATTERN)
export const NAMESPACE_SLUG_RULE = `must be 1 to ${SLUG_MAX_LENGTH} of a-z, 0-9, "_" and "-", starting with a letter or digit, and not a reserved word (auth, api, admin, me, …)`
export const isTeamSlug = (slug: string) => SLUG.test(slug) && !isReservedSlug(slug)

const Slug = t.String({ minLength: 1, maxLength: SLUG_MAX_LENGTH, error: NAMESPACE_SLUG_RULE })
const Name = t.String({ minLength: 1, maxLength: 100, error: 'must be 1 to 100 characters' })
const RoleSchema = oneOf(ROLES)

export const TeamCreate = t.Object({ slug: Slug, name: t.Optional(Name), metadata: t.Optional(Metadata) }, { additionalProperties: false })
export type TeamCreate = Static<typeof TeamCreate>
export const NamespacePatch = t.Object({ slug: t.Optional(Slug), name: t.Optional(t.Union([Name, t.Null()])), metadata: t.Optional(Metadata) }, { additionalProperties: false })
export type NamespacePatch = Static<typeof NamespacePatch>

export const MemberAdd = t.Object({ username: t.String({ minLength: 1, maxLength: 39, error: 'must be the username of a person who has signed in here' }), role: RoleSchema }, { additionalProperties: false })
export type MemberAdd = Static<typeof MemberAdd>
export const MemberPatch = t.Object({ role: RoleSchema }, { additionalProperties: false })

export const NamespaceOverview = t.Object({
	id: t.String(),
	slug: t.String(),
	kind: oneOf(['personal', 'team']),
	name: t.Union([t.String(), t.Null()]),
	metadata: Metadata,
	role: t.Union([t.String(), t.Null()], { description: 'The caller\'s role here: owner, admin, member or viewer; null for a guest, who sees its public (and, signed in, internal) projects only' }),
	projects: t.Number({ description: 'Live projects (a guest: those they may read)' }),
	episodes: t.Number({ description: 'Live episodes in live projects' }),
	files: t.Number({ description: 'Live files of live episodes' }),
	createdAt: Timestamp,
})

export const NamespaceResponse = t.Object({
	id: t.String(),
	slug: t.String(),
	kind: oneOf(['personal', 'team']),
	name: t.Union([t.String(), t.Null()]),
	metadata: Metadata,
	role: t.String({ description: 'The caller\'s role here' }),
	createdAt: Timestamp,
	updatedAt: t.Union([Timestamp, t.Null()]),
	deletedAt: t.Union([Timestamp, t.Null()]),
})

export const toNamespaceResponse = (row: NamespaceRow, role: Role) => ({
	id: row.id,
	slug: row.slug,
	kind: row.kind,
	name: row.name,
	metadata: row.metadata,
	role,
	createdAt: iso(row.createdAt),
	updatedAt: isoOrNull(row.updatedAt),
	deletedAt: isoOrNull(row.deletedAt),
})

export const MemberResponse = t.Object({
	username: t.Union([t.String(), t.Null()]),
	name: t.Union([t.String(), t.Null()]),
	role: t.String(),
	addedAt: Timestamp,
	addedBy: t.Union([t.String({ description: 'The username of who added them' }), t.Null()]),
})

export const toMemberResponse = (row: MemberRow, people: Map<string, { username: string | null; name: string | null }>) => ({
	username: people.get(row.userId)?.username ?? null,
	name: people.get(row.userId)?.name ?? null,
	role: row.role,
	addedAt: iso(row.createdAt),
	addedBy: row.addedBy === null ? null : (people.get(row.addedBy)?.username ?? null),
})

export const namespaceNotFound = (slug: string | null | undefined) =>
	notFound('namespace_not_found', typeof slug === 'string' && slug.length <= 100 ? `Namespace "${slug}" not found.` : 'Namespace not found.')

export const memberNotFound = (username: string) => notFound('member_not_found', username.length <= 100 ? `"${username}" is not a member here.` : 'Not a member here.')

export const ApiKeyCreate = t.Object(
	{
		name: Name,
		role: RoleSchema,
		expiresIn: t.Optional(t.Union([t.String({ description: 'A duration: 3600, 90s, 15m, 12h, 30d, 2w' }), t.Null()], { error: 'must be a duration such as 30d, 12h or 3600, or null for a key that does not expire' })),
	},
	{ additionalProperties: false },
)
export type ApiKeyCreate = Static<typeof ApiKeyCreate>

export const ApiKeyResponse = t.Object({
	id: t.String(),
	name: t.String(),
	role: t.String(),
	hint: t.String({ description: 'The first characters of the secret, to tell keys apart' }),
	createdBy: t.Union([t.String({ description: 'The username of its creator' }), t.Null()]),
	createdAt: Timestamp,
	lastUsedAt: t.Union([Timestamp, t.Null()]),
	expiresAt: t.Union([Timestamp, t.Null()]),
	revokedAt: t.Union([Timestamp, t.Null()]),
})
export const ApiKeyCreated = t.Object({ ...ApiKeyResponse.properties, secret: t.String({ description: 'Shown this once: use it as DREAMLAKE_API_KEY' }) })

export const toApiKeyResponse = (row: ApiKeyRow, creator: string | null) => ({
	id: row.id,
	name: row.name,
	role: row.role,
	hint: row.hint,
	createdBy: creator,
	createdAt: iso(row.createdAt),
	lastUsedAt: isoOrNull(row.lastUsedAt),
	expiresAt: isoOrNull(row.expiresAt),
	revokedAt: isoOrNull(row.revokedAt),
})

export const InvitationCreate = t.Object(
	{
		role: RoleSchema,
		expiresIn: t.Optional(t.String({ description: 'A duration: 12h, 7d (the default), 2w', error: 'must be a duration such as 12h, 7d or 2w' })),
		maxUses: t.Optional(t.Integer({ minimum: 1, maximum: 1000, error: 'must be a whole number from 1 to 1000' })),
	},
	{ additionalProperties: false },
)
export type InvitationCreate = Static<typeof InvitationCreate>

export const InvitationResponse = t.Object({
	id: t.String(),
	role: t.String(),
	expiresAt: Timestamp,
	maxUses: t.Number(),
	uses: t.Number(),
	createdAt: Timestamp,
	revokedAt: t.Union([Timestamp, t.Null()]),
})
export const InvitationCreated = t.Object({
	...InvitationResponse.properties,
	token: t.String({ description: 'Shown this once' }),
	url: t.String({ description: 'The dashboard page that accepts it: send this to the person you invite' }),
})
export const InvitationPreview = t.Object({
	namespace: t.Object({ slug: t.String(), name: t.Union([t.String(), t.Null()]), kind: t.String() }),
	role: t.String(),
	expiresAt: Timestamp,
})
export const InvitationAccepted = t.Object({ namespace: NamespaceRefSchema, role: t.String(), joined: t.Boolean({ description: 'false when you already had this role or a higher one' }) })

export const toInvitationResponse = (row: InvitationRow) => ({
	id: row.id,
	role: row.role,
	expiresAt: iso(row.expiresAt),
	maxUses: row.maxUses,
	uses: row.uses,
	createdAt: iso(row.createdAt),
	revokedAt: isoOrNull(row.revokedAt),
})
