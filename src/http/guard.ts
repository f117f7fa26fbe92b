import { Elysia } from 'elysia'
import type { AccountRepository } from '../auth/repository'
import type { AuthService } from '../auth/service'
import { credentials } from '../auth/session'
import { serverTiming } from './server-timing'

/**
 * The one caller check of every authenticated route, as two macros:
 * - `caller: true` hands the handler `caller`, the account behind a dreamlake token whose
 *   signature, algorithm, issuer, audience and expiry pass and which no logout has revoked (the
 *   check of GET /auth/me). A known caller costs no statement: tokens and accounts are cached.
 * - `dreamlakeToken: true` hands over only the verified `claims`, for the few routes that check
 *   revocation inside their own write (PATCH /auth/me, logout: `WHERE token_version = ?`).
 * The token comes from `Authorization: Bearer`, or from the dashboard's session cookie (auth/session.ts:
 * a write with the cookie needs the CSRF header, else 403). Anything wrong is a 401 with the error body. Ownership (404 for what is not the caller's) is
 * each feature's service's job, with the account this resolves.
 */
export const callerGuard = (auth: AuthService, accounts: AccountRepository) =>
	new Elysia({ name: 'caller-guard' }).use(serverTiming).macro({
		caller: {
			detail: { security: [{ dreamlakeToken: [] }] },
			async resolve({ request, meter }) {
				const claims = await auth.authenticate(credentials(request))
				return { caller: await auth.currentAccount(accounts.withMeter(meter), claims) }
			},
		},
		dreamlakeToken: {
			detail: { security: [{ dreamlakeToken: [] }] },
			async resolve({ request }) {
				return { claims: await auth.authenticate(credentials(request)) }
			},
		},
	})
