import { Elysia, t } from 'elysia'
import { BoundedMap } from '../bounded-map'
import { describeError, type Logger } from '../log'
import { ApiError, errorResponses, forbidden, gone, notFound } from '../http/errors'
import { clientAddress, RateLimiter } from '../http/rate-limit'
import { serverTiming } from '../http/server-timing'
import { DeviceAuthorityError, type DeviceAuthority } from './device-authority'
import { profileJson } from './model'
import type { AuthService } from './service'
import { clearCookie, cookieValue, LOGIN_COOKIE, overTls, requireCsrfHeader, SESSION_COOKIE, setCookie } from './session'

export interface BrowserSessionOptions {
	/** Proxies whose X-Forwarded-Proto (and X-Forwarded-For) is believed (TRUST_PROXY): `Secure` cookies behind a TLS proxy. */
	trustProxy: number
	/** Sign-ins started per minute per client address (RATE_LIMIT_EXCHANGE: each one calls vuer-auth); 0: unlimited. */
	perMinute: number
	/** The session cookie's lifetime: the dreamlake token's (JWT_EXPIRATION); null: 400 days, the most a browser keeps one. */
	sessionSeconds: number | null
}

interface PendingLogin {
	deviceSecretHash: string
	expiresAt: number
}

const LOGIN_PATH = '/auth/device'
const MAX_COOKIE_SECONDS = 400 * 24 * 3600
const DeviceStartResponse = t.Object({
	userCode: t.String(),
	verificationUri: t.String(),
	verificationUriComplete: t.String(),
	expiresIn: t.Number(),
	interval: t.Number(),
})
const DevicePollResponse = t.Object({
	status: t.Union([t.Literal('pending'), t.Literal('signed_in')]),
	interval: t.Optional(t.Number({ description: 'Seconds to wait before the next poll (pending)' })),
	user: t.Optional(t.Unknown({ description: "The signed-in user's profile, as GET /auth/me" })),
})

/**
 * The dashboard's sign-in: vuer-auth's device flow, proxied, ending in the session cookie.
 * - `POST /auth/device/start` starts a flow with a fresh device secret the server keeps; the browser
 *   gets the code and link to show, and a cookie naming the flow (never the secret).
 * - `POST /auth/device/poll` asks the provider once; on approval it exchanges the vuer-auth token
 *   for a dreamlake token, as POST /auth/exchange does, and puts it in the session cookie.
 * Both need the CSRF header, so another site cannot start or finish a sign-in in the person's browser.
 * Signing out is POST /auth/logout, which also clears the cookie.
 */
export const browserSessionRoutes = (service: AuthService, authority: DeviceAuthority, options: BrowserSessionOptions, log: Logger) => {
	const pending = new BoundedMap<string, PendingLogin>(10_000)
	const limiter = options.perMinute > 0 ? new RateLimiter(options.perMinute) : undefined
	const unreachable = (error: unknown) => {
		log.warn('identity provider failed during a dashboard sign-in', describeError(error))
		return new ApiError(502, 'identity_provider_unavailable', 'The identity provider (vuer-auth) could not be reached or gave an unreadable answer; try again.')
	}
	/** A call to the provider; its failure is the route's 502. */
	const ask = async <T>(call: () => Promise<T>): Promise<T> => {
		try {
			return await call()
		} catch (error) {
			throw error instanceof DeviceAuthorityError ? unreachable(error) : error
		}
	}
	/** The login is over (used, denied, expired): forgotten, and `error` to throw. */
	const end = (loginId: string, error: ApiError) => {
		pending.delete(loginId)
		return error
	}
	const expired = () => gone('login_expired', 'The code expired before it was approved; start again.')
	const json = (body: string, cookies: string[]) => {
		const headers = new Headers({ 'content-type': 'application/json', 'cache-control': 'no-store' })
		for (const cookie of cookies) headers.append('set-cookie', cookie)
		return new Response(body, { headers })
	}
	return new Elysia({ prefix: LOGIN_PATH })
		.use(serverTiming)
		.post(
			'/start',
			async ({ request }) => {
				requireCsrfHeader(request)
				const deviceSecretHash = new Bun.CryptoHasher('sha256').update(crypto.getRandomValues(new Uint8Array(32))).digest('hex')
				const flow = await ask(() => authority.start(deviceSecretHash, new URL(request.url).origin))
				const loginId = Buffer.from(crypto.getRandomValues(new Uint8Array(24))).toString('base64url')
				pending.set(loginId, { deviceSecretHash, expiresAt: Date.now() + flow.expiresIn * 1000 })
				const { userCode, verificationUri, verificationUriComplete, expiresIn, interval } = flow // never the device code
				return json(JSON.stringify({ userCode, verificationUri, verificationUriComplete, expiresIn, interval }), [setCookie(LOGIN_COOKIE, loginId, { path: LOGIN_PATH, maxAge: flow.expiresIn, secure: overTls(request, options.trustProxy) })])
			},
			{
				beforeHandle: limiter && (({ request, server }) => limiter.take(clientAddress(request, server?.requestIP(request)?.address, options.trustProxy))),
				parse: 'none',
				response: { 200: DeviceStartResponse, ...errorResponses(403, 429, 502) },
				detail: {
					summary: 'Dashboard sign-in: start a device login with vuer-auth',
					description: 'Answers the code and link to show the person, and sets a cookie naming this login. Needs `X-DreamLake-CSRF: 1`.',
					tags: ['Auth'],
				},
			},
		)
		.post(
			'/poll',
			async ({ request, meter }) => {
				requireCsrfHeader(request)
				const secure = overTls(request, options.trustProxy)
				const loginId = cookieValue(request.headers.get('cookie'), LOGIN_COOKIE)
				const login = loginId === undefined ? undefined : pending.get(loginId)
				if (loginId === undefined || login === undefined) throw notFound('login_not_found', 'No sign-in is waiting in this browser; start again.')
				if (Date.now() >= login.expiresAt) throw end(loginId, expired())
				const outcome = await ask(() => authority.poll(login.deviceSecretHash))
				if ('error' in outcome) {
					switch (outcome.error) {
						case 'authorization_pending':
							return json('{"status":"pending","interval":5}', [])
						case 'slow_down':
							return json('{"status":"pending","interval":10}', [])
						case 'access_denied':
							throw end(loginId, forbidden('access_denied', 'The sign-in was denied.'))
						case 'expired_token':
							throw end(loginId, expired())
						default:
							throw end(loginId, unreachable(new DeviceAuthorityError(`vuer-auth answered the poll with "${outcome.error}"`)))
					}
				}
				pending.delete(loginId)
				const { token, account } = await service.exchangeVuerToken(meter, outcome.accessToken)
				return json(`{"status":"signed_in","user":${profileJson(account)}}`, [sessionCookie(request, token, options), clearCookie(LOGIN_COOKIE, LOGIN_PATH, secure)])
			},
			{
				parse: 'none',
				response: { 200: DevicePollResponse, ...errorResponses(401, 403, 404, 410, 502) },
				detail: {
					summary: 'Dashboard sign-in: has the person approved yet?',
					description: 'Pending: `{status: "pending", interval}`. Approved: the session cookie is set and the answer is `{status: "signed_in", user}`. 403 denied, 410 expired, 404 no sign-in waiting. Needs `X-DreamLake-CSRF: 1`.',
					tags: ['Auth'],
				},
			},
		)
}

/** The cookie that carries a new session's dreamlake token (every dashboard sign-in ends with it). */
export const sessionCookie = (request: Request, token: string, options: Pick<BrowserSessionOptions, 'trustProxy' | 'sessionSeconds'>) =>
	setCookie(SESSION_COOKIE, token, { maxAge: Math.min(options.sessionSeconds ?? MAX_COOKIE_SECONDS, MAX_COOKIE_SECONDS), secure: overTls(request, options.trustProxy) })

/** The cookie that ends a session (POST /auth/logout sends it when the session cookie came). */
export const endSessionCookie = (request: Request, trustProxy: number) => clearCookie(SESSION_COOKIE, '/', overTls(request, trustProxy))
