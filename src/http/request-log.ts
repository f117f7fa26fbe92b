import { Elysia } from 'elysia'
import type { Logger } from '../log'

const SANE_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/

/**
 * One log line per request (id, method, path, status, duration; never headers, query or body, so
 * never a token), and an `X-Request-Id` on every response: the caller's when sane, else a new one.
 */
export const requestLog = (log: Logger) => {
	const started = new WeakMap<Request, { id: string; at: number }>()
	return new Elysia({ name: 'request-log' })
		.onRequest(({ request, set }) => {
			const given = request.headers.get('x-request-id')
			const id = given !== null && SANE_REQUEST_ID.test(given) ? given : Bun.randomUUIDv7()
			started.set(request, { id, at: performance.now() })
			set.headers['x-request-id'] = id
		})
		.onAfterResponse({ as: 'global' }, ({ request, set, path }) => {
			const start = started.get(request)
			if (!start) return
			log.info('request', {
				id: start.id,
				method: request.method,
				path,
				status: typeof set.status === 'number' ? set.status : 200,
				ms: Number((performance.now() - start.at).toFixed(3)),
			})
		})
}
