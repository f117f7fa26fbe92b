import { t, type Static } from 'elysia'
import type { Role, UserRow } from '../db/schema'
import { invalidField } from '../http/errors'
import { checkMetadata, hasControlCharacters, iso, Metadata } from '../http/fields'
import { NamespaceRefSchema, type NamespaceRef } from '../namespaces/model'

/** The caller: a user with their personal namespace, as the caller guard (auth/guard.ts) hands it to every route. */
export interface Account {
	user: UserRow
	namespace: NamespaceRef
	/** Set when the caller is an API key acting for `user`, its creator: in its namespace only (then `namespace`), with at most that role. */
	key?: { id: string; name: string; namespaceId: string; role: Role }
}

/** The columns that record who made a row (http/fields.ts, MadeBy): the caller, and the key acting for them. */
export const madeByCaller = (caller: Account) => ({
	createdBy: caller.user.id,
	createdByName: caller.user.username,
	createdByKey: caller.key?.id ?? null,
	createdByKeyName: caller.key?.name ?? null,
})

/** The fields PATCH /auth/me may change; `undefined` leaves a field as it is. */
export interface ProfileChanges {
	name?: string
	username?: string
	picture?: string | null
	metadata?: Record<string, unknown>
}

const { Nullable } = t

export const USERNAME_PATTERN = '^[A-Za-z0-9][A-Za-z0-9_.-]{0,38}$'
export const USERNAME_RULE = 'must be 1 to 39 letters, digits, "_", "." or "-", starting with a letter or digit'
const USERNAME = new RegExp(USERNAME_PATTERN)
export const isValidUsername = (value: string) => USERNAME.test(value)
export const Username = t.String({ pattern: USERNAME_PATTERN, error: USERNAME_RULE })
export const NAME_MAX_LENGTH = 100
export const PICTURE_MAX_LENGTH = 2048

export const ExchangeResponse = t.Object({
	success: t.Literal(true),
	dreamlake_token: t.String(),
	user: t.Object({
		sub: t.String(),
		email: Nullable(t.String()),
		name: Nullable(t.String()),
		username: Nullable(t.String()),
		id: t.String(),
		isNewUser: t.Boolean(),
	}),
	namespace: NamespaceRefSchema,
})

export const ProfileResponse = t.Object({
	id: t.String(),
	sub: t.String(),
	email: Nullable(t.String()),
	name: Nullable(t.String()),
	username: Nullable(t.String()),
	given_name: Nullable(t.String()),
	family_name: Nullable(t.String()),
	picture: Nullable(t.String()),
	email_verified: Nullable(t.Boolean()),
	namespace: NamespaceRefSchema,
	metadata: Metadata,
	createdAt: t.String({ description: 'ISO 8601 UTC with milliseconds' }),
	updatedAt: t.String({ description: 'ISO 8601 UTC with milliseconds' }),
})

export const ProfileUpdateResponse = t.Object({
	id: t.String(),
	name: Nullable(t.String()),
	username: Nullable(t.String()),
	picture: Nullable(t.String()),
	metadata: Metadata,
	updatedAt: t.String({ description: 'ISO 8601 UTC with milliseconds' }),
})

/** PATCH /auth/me: every field optional; anything else in the body is refused, not dropped. */
export const ProfilePatch = t.Object(
	{
		name: t.Optional(t.String({ minLength: 1, maxLength: NAME_MAX_LENGTH, error: `must be a string of 1 to ${NAME_MAX_LENGTH} characters` })),
		username: t.Optional(Username),
		picture: t.Optional(
			t.Union([t.String({ maxLength: PICTURE_MAX_LENGTH }), t.Null()], { error: `must be an http(s) URL of at most ${PICTURE_MAX_LENGTH} characters, or null` }),
		),
		metadata: t.Optional(t.Record(t.String(), t.Unknown(), { error: 'must be a JSON object' })),
	},
	{ additionalProperties: false },
)
export type ProfilePatch = Static<typeof ProfilePatch>

/** The checks a schema cannot express; throws a 422 naming the field. */
export function profileChanges(body: ProfilePatch): ProfileChanges {
	if (body.name !== undefined && (hasControlCharacters(body.name) || body.name.trim() === '')) {
		throw invalidField('name', 'must contain visible characters and no control characters')
	}
	if (typeof body.picture === 'string' && !isHttpUrl(body.picture)) {
		throw invalidField('picture', `must be an http(s) URL of at most ${PICTURE_MAX_LENGTH} characters, or null`)
	}
	if (body.metadata !== undefined) checkMetadata(body.metadata)
	return body
}

function isHttpUrl(value: string): boolean {
	try {
		const url = new URL(value)
		return (url.protocol === 'http:' || url.protocol === 'https:') && url.hostname !== ''
	} catch {
		return false
	}
}

export const toExchangeResponse = (account: Account, token: string, isNewUser: boolean): Static<typeof ExchangeResponse> => ({
	success: true,
	dreamlake_token: token,
	user: {
		sub: account.user.sub,
		email: account.user.email,
		name: account.user.name,
		username: account.user.username,
		id: account.user.id,
		isNewUser,
	},
	namespace: namespaceRef(account.namespace),
})

/**
 * GET /auth/me's body, serialized once per account: accounts are replaced, never changed, so the
 * JSON stays true for as long as the cache holds the account. Serializing it per request was a
 * fifth of the route's time (bun run bench, --cpu-prof).
 */
const profileBodies = new WeakMap<Account, string>()

export function profileJson(account: Account): string {
	let body = profileBodies.get(account)
	if (body === undefined) profileBodies.set(account, (body = JSON.stringify(toProfileResponse(account))))
	return body
}

export const toProfileResponse = ({ user, namespace }: Account): Static<typeof ProfileResponse> => ({
	id: user.id,
	sub: user.sub,
	email: user.email,
	name: user.name,
	username: user.username,
	given_name: user.givenName,
	family_name: user.familyName,
	picture: user.picture,
	email_verified: user.emailVerified,
	namespace: namespaceRef(namespace),
	metadata: user.metadata,
	createdAt: iso(user.createdAt),
	updatedAt: iso(user.updatedAt),
})

export const toProfileUpdateResponse = (user: UserRow): Static<typeof ProfileUpdateResponse> => ({
	id: user.id,
	name: user.name,
	username: user.username,
	picture: user.picture,
	metadata: user.metadata,
	updatedAt: iso(user.updatedAt),
})

const namespaceRef = ({ id, slug }: NamespaceRef): NamespaceRef => ({ id, slug })
