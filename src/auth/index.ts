import { Elysia, t } from 'elysia'
import { jsonBody } from '../http/body'
import { errorResponses } from '../http/errors'
import type { CallerGuard } from './guard'
import { clientAddress, RateLimiter } from '../http/rate-limit'
import { jsonResponse, serverTiming } from '../http/server-timing'
import { bearerToken } from './bearer'
import { endSessionCookie } from './browser-session'
import { cookieValue, SESSION_COOKIE } from './session'
import { ExchangeResponse, ProfilePatch, ProfileResponse, ProfileUpdateResponse, toExchangeResponse, profileJson, toProfileUpdateResponse } from './model'
import type { AuthService } from './service'

export interface ExchangeLimits {
	/** Exchanges per minute per client address; 0: unlimited. */
	perMinute: number
	/** Proxies in front whose X-Forwarded-For entries are trusted. */
	trustProxy: number
}

/** How this server signs people in (IDENTITY), for the dashboard's sign-in page. */
export interface SignInMethod {
	identity: 'vuer-auth' | 'oidc' | 'builtin'
	/** IDENTITY=oidc: the provider's host, to name it on the button. */
	provider: string | null
}

/** The Auth API: /auth/exchange, /auth/me (GET, PATCH), /auth/logout, /auth/identity. */
export const authRoutes = (service: AuthService, guard: CallerGuard, limits: ExchangeLimits, signIn: SignInMethod = { identity: 'vuer-auth', provider: null }) => {
	const limiter = limits.perMinute > 0 ? new RateLimiter(limits.perMinute) : undefined
	return new Elysia({ prefix: '/auth' })
		.use(serverTiming)
		.use(guard)
		.use(jsonBody)
		.post(
			'/exchange',
			async ({ request, meter }) => {
				const { token, account, isNewUser } = await service.exchangeVuerToken(meter, bearerToken(request.headers.get('authorization')))
				return toExchangeResponse(account, token, isNewUser)
			},
			{
				// before any verification work, so a flood costs a Map lookup per request
				beforeHandle: limiter && (({ request, server }) => limiter.take(clientAddress(request, server?.requestIP(request)?.address, limits.trustProxy))),
				response: { 200: ExchangeResponse, ...errorResponses(400, 401, 429, 500, 503) },
				detail: {
					summary: 'Exchange a vuer-auth token for a dreamlake token',
					description: 'Send the vuer-auth token as `Authorization: Bearer <token>`, no body. Creates the user and their personal namespace on first login.',
					tags: ['Auth'],
					security: [{ vuerAuthToken: [] }],
				},
			},
		)
		.get('/identity', () => signIn, {
			response: { 200: t.Object({ identity: t.String(), provider: t.Union([t.String(), t.Null()]) }) },
			detail: { summary: 'How this server signs people in (IDENTITY): vuer-auth, oidc or builtin', description: 'No caller needed: the dashboard asks before it shows its sign-in.', tags: ['Auth'] },
		})
		.get('/me', ({ caller, meter }) => jsonResponse(profileJson(caller), meter), {
			caller: true,
			response: { 200: ProfileResponse, ...errorResponses(401, 500) },
			detail: { summary: "The caller's profile and personal namespace", tags: ['Auth'] },
		})
		.patch('/me', async ({ claims, meter, body }) => toProfileUpdateResponse(await service.updateProfile(meter, claims, body)), {
			dreamlakeToken: true,
			parse: ['json64KiB', 'json'],
			body: ProfilePatch,
			response: { 200: ProfileUpdateResponse, ...errorResponses(400, 401, 404, 409, 413, 415, 422, 500) },
			detail: { summary: "Update the caller's profile; only the fields sent change", tags: ['Auth'] },
		})
		.post(
			'/logout',
			async ({ claims, meter, request, set }) => {
				await service.logout(meter, claims)
				if (cookieValue(request.headers.get('cookie'), SESSION_COOKIE) !== undefined) set.headers['set-cookie'] = endSessionCookie(request, limits.trustProxy)
				return { success: true as const }
			},
			{
				dreamlakeToken: true,
				response: { 200: t.Object({ success: t.Literal(true) }), ...errorResponses(401, 404, 500) },
				detail: {
					summary: 'Revoke every dreamlake token of the caller',
					description: 'Tokens issued before this call get 401 from then on; a new exchange issues a working one. Sent with the dashboard\'s session cookie (and `X-DreamLake-CSRF: 1`), it also clears the cookie.',
					tags: ['Auth'],
				},
			},
		)
}
