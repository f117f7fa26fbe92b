import { openapi } from '@elysiajs/openapi'
import { Elysia } from 'elysia'
import { authRoutes, type ExchangeLimits } from './auth'
import type { DreamlakeTokens } from './auth/dreamlake-token'
import { AccountRepository } from './auth/repository'
import { AuthService } from './auth/service'
import type { VuerAuthVerifier } from './auth/vuer-auth'
import type { Db } from './db/client'
import type { DevIdentityProvider } from './dev-idp'
import { errorHandler } from './http/error-handler'
import { health } from './http/health'
import { serverTiming } from './http/server-timing'
import type { Logger } from './log'
import { VERSION } from './version'

export interface AppDeps {
	db: Db
	vuerAuth: VuerAuthVerifier
	tokens: DreamlakeTokens
	log: Logger
	/** POST /auth/exchange rate limit; off when absent. */
	exchangeLimits?: ExchangeLimits
	/** Present only under `serve --dev`. */
	devIdp?: DevIdentityProvider
	/** Accounts kept in memory (CACHE_SIZE); 10,000 when absent. */
	accountCacheSize?: number
}

const bearer = (description: string) => ({ type: 'http' as const, scheme: 'bearer', bearerFormat: 'JWT', description })

/**
 * Builds the HTTP application; it never listens. Requests reach it through `withOperations`
 * (http/operations.ts), from Bun.serve in the server and directly in the tests.
 */
export function createApp({ db, vuerAuth, tokens, log, exchangeLimits = { perMinute: 0, trustProxy: 0 }, devIdp, accountCacheSize }: AppDeps) {
	const service = new AuthService(vuerAuth, tokens, log)
	return (
		// normalize: false, so a body with unknown fields is refused instead of silently trimmed
		new Elysia({ normalize: false })
			.use(errorHandler(log))
			.use(serverTiming)
			.use(
				openapi({
					provider: null, // no UI: it would load from a CDN, and the document must work offline
					specPath: '/openapi.json',
					documentation: {
						info: { title: 'DreamLake API', version: VERSION, description: 'Auth via vuer-auth token exchange. Every error body is {"success": false, "error", "code"}.' },
						components: {
							securitySchemes: {
								vuerAuthToken: bearer('A vuer-auth token (POST /auth/exchange only)'),
								dreamlakeToken: bearer('A dreamlake token from POST /auth/exchange'),
							},
						},
					},
				}),
			)
			.use(health(db))
			.use(authRoutes(service, AccountRepository.open(db, { cacheSize: accountCacheSize }), exchangeLimits))
			.use(devIdp ? devIdp.routes() : new Elysia())
	)
}

export type App = ReturnType<typeof createApp>
