import { Elysia } from 'elysia'
import { ApiError } from '../http/errors'
import { serverTiming } from '../http/server-timing'
import type { DbMeter } from '../db/meter'
import type { Account } from './model'
import type { AuthService } from './service'
import { credentials } from './session'
import { API_KEY_PREFIX } from '../namespaces/api-keys'

const apiKeySecret = (authorization: string | null) => (authorization?.startsWith(`Bearer ${API_KEY_PREFIX}`) ? authorization.slice('Bearer '.length).trim() : undefined)

/**
 * Who reads: the account behind the request's credentials, or null when it names none (bad ones are
 * a 401). Exported for the event streams, which ask again while they stay open.
 */
export async function readerOf(auth: AuthService, request: Request, meter: DbMeter): Promise<Account | null> {
	const authorization = credentials(request)
	if (authorization === null) return null
	const key = apiKeySecret(authorization)
	if (key !== undefined) return auth.keyAccount(meter, key)
	try {
		const claims = await auth.authenticate(authorization)
		return await auth.currentAccount(meter, claims)
	} catch (error) {
		// a dashboard cookie gone stale (expired, revoked) reads as nobody: public projects stay readable; a bad header is still a 401
		if (request.headers.get('authorization') === null && error instanceof ApiError && error.status === 401) return null
		throw error
	}
}

/**
 * The one caller check of every authenticated route, as two macros:
 * - `caller: true` hands the handler `caller`, the account behind a dreamlake token whose
 *   signature, algorithm, issuer, audience and expiry pass and which no logout has revoked (the
 *   check of GET /auth/me), or behind a live API key (its creator's, marked with the key). A known
 *   caller costs no statement: tokens, keys and accounts are cached.
 * - `dreamlakeToken: true` hands over only the verified `claims`, for the few routes that check
 *   revocation inside their own write (PATCH /auth/me, logout: `WHERE token_version = ?`).
 * The token comes from `Authorization: Bearer`, or from the dashboard's session cookie (auth/session.ts:
 * a write with the cookie needs the CSRF header, else 403). Anything wrong is a 401 with the error body. What the
 * caller may do where (404 for what they may not see) is the access check's (namespaces/access.ts), with the account this resolves.
 */
export const callerGuard = (auth: AuthService) =>
	new Elysia({ name: 'caller-guard' }).use(serverTiming).macro({
		caller: {
			detail: { security: [{ dreamlakeToken: [] }, { apiKey: [] }] },
			async resolve({ request, meter }) {
				const authorization = credentials(request)
				// an API key (`Bearer dlk_…`, what CI sets as DREAMLAKE_API_KEY) acts for its creator, in its namespace only
				const key = apiKeySecret(authorization)
				if (key !== undefined) return { caller: auth.keyAccount(meter, key) }
				const claims = await auth.authenticate(authorization)
				return { caller: await auth.currentAccount(meter, claims) }
			},
		},
		// the reads public projects open to anyone: `caller` is null when the request names no credentials
		// (bad ones are still a 401), and the access check decides what such a reader sees
		reader: {
			detail: { security: [{}, { dreamlakeToken: [] }, { apiKey: [] }] },
			async resolve({ request, meter }) {
				return { caller: await readerOf(auth, request, meter) }
			},
		},
		dreamlakeToken: {
			detail: { security: [{ dreamlakeToken: [] }] },
			async resolve({ request }) {
				return { claims: await auth.authenticate(credentials(request)) }
			},
		},
	})

export type CallerGuard = ReturnType<typeof callerGuard>
