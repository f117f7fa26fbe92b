import { Elysia } from 'elysia'
import { DbMeter } from '../db/meter'

/**
 * Gives every request a DbMeter and reports it in `Server-Timing` (the error handler reports it
 * for failed requests), so anyone can count a request's database statements from outside.
 */
export const serverTiming = new Elysia({ name: 'server-timing' })
	.derive({ as: 'global' }, () => ({ meter: new DbMeter() }))
	.onAfterHandle({ as: 'global' }, ({ meter, set, responseValue }) => {
		if (!(responseValue instanceof Response)) set.headers['server-timing'] = meter.serverTiming()
		// a finished Response (jsonResponse) carries its own; anything in set.headers would make Elysia copy it whole
		else if (!responseValue.headers.has('server-timing')) responseValue.headers.set('server-timing', meter.serverTiming())
	})

/**
 * A 200 with a body serialized ahead of time (a memoized profile), finished here with its
 * `Server-Timing`, so Elysia neither serializes nor copies it. Such a route's `response` schema
 * documents it but is not checked per request: Elysia skips Response objects.
 */
export const jsonResponse = (json: string, meter: DbMeter, status = 200): Response =>
	new Response(json, { status, headers: { 'content-type': 'application/json;charset=utf-8', 'server-timing': meter.serverTiming() } })
