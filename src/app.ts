import { Elysia } from 'elysia'
import { authRoutes } from './auth'
import type { DreamlakeTokens } from './auth/dreamlake-token'
import { AccountRepository } from './auth/repository'
import { AuthService } from './auth/service'
import type { VuerAuthVerifier } from './auth/vuer-auth'
import type { Db } from './db/client'
import { declaredBodyTooLarge, payloadTooLarge } from './http/body'
import { errorHandler } from './http/error-handler'
import { health } from './http/health'
import { serverTiming } from './http/server-timing'
import type { Logger } from './log'

export interface AppDeps {
	db: Db
	vuerAuth: VuerAuthVerifier
	tokens: DreamlakeTokens
	log: Logger
}

/** Builds the HTTP application; it never listens (tests call `app.handle`, the server calls `listen`). */
export function createApp({ db, vuerAuth, tokens, log }: AppDeps) {
	const service = new AuthService(vuerAuth, tokens, log)
	return (
		// normalize: false, so a body with unknown fields is refused instead of silently trimmed
		new Elysia({ normalize: false })
			.use(errorHandler(log))
			.use(serverTiming)
			.onRequest(({ request }) => {
				if (declaredBodyTooLarge(request)) throw payloadTooLarge()
			})
			.use(health)
			.use(authRoutes(service, AccountRepository.open(db)))
	)
}

export type App = ReturnType<typeof createApp>
