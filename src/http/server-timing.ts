import { Elysia } from 'elysia'
import { DbMeter } from '../db/meter'

/**
 * Gives every request a DbMeter and reports it in `Server-Timing` (the error handler reports it
 * for failed requests), so anyone can count a request's database statements from outside.
 */
export const serverTiming = new Elysia({ name: 'server-timing' })
	.derive({ as: 'global' }, () => ({ meter: new DbMeter() }))
	.onAfterHandle({ as: 'global' }, ({ meter, set }) => {
		set.headers['server-timing'] = meter.serverTiming()
	})
