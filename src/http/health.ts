import { Elysia, t } from 'elysia'

/** Liveness: answers whenever the process serves HTTP (the DreamLake CLI probes it to find a server). */
export const health = new Elysia({ name: 'health' }).get('/health', () => ({ status: 'ok' as const }), {
	response: t.Object({ status: t.Literal('ok') }),
	detail: { summary: 'Liveness probe', tags: ['Operations'] },
})
