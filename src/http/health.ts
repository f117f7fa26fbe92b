import { Elysia, t } from 'elysia'
import { sql } from 'drizzle-orm'
import type { Db } from '../db/client'
import { ApiError } from './errors'

/**
 * Liveness (`/health`: the process serves HTTP; the DreamLake CLI probes it to find a server) and
 * readiness (`/ready`: the database answers a query).
 */
export const health = (db: Db) =>
	new Elysia({ name: 'health' })
		.get('/health', () => ({ status: 'ok' as const }), {
			response: t.Object({ status: t.Literal('ok') }),
			detail: { summary: 'Liveness: the process serves HTTP', tags: ['Operations'] },
		})
		.get(
			'/ready',
			() => {
				try {
					db.run(sql`SELECT 1 FROM users LIMIT 1`)
				} catch {
					throw new ApiError(503, 'not_ready', 'The database is not answering queries.')
				}
				return { status: 'ready' as const }
			},
			{
				response: t.Object({ status: t.Literal('ready') }),
				detail: { summary: 'Readiness: the database answers a query (503 otherwise)', tags: ['Operations'] },
			},
		)
