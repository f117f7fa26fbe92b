import { Elysia, t } from 'elysia'
import type { CallerGuard } from '../auth/guard'
import { errorResponses } from '../http/errors'
import { clientAddress } from '../http/rate-limit'
import type { EventService, StreamRequest } from './service'

const tags = ['Events']
const ResumeQuery = t.Object({ after: t.Optional(t.String({ description: 'The id of the last event received, for a client that cannot send Last-Event-ID (curl): the stream resumes after it' })) })
const responses = { 200: t.Any({ description: 'text/event-stream: one event per line of `event:` and `data:` (JSON), with `id:` to resume from' }), ...errorResponses(401, 404, 429) }

/** Server-sent events: an episode's live changes, and a project's episodes table. */
export const eventRoutes = (events: EventService, guard: CallerGuard, trustProxy: number) => {
	const opening = (caller: StreamRequest['reader'], request: Request, after: string | undefined, server: { requestIP(request: Request): { address: string } | null; timeout(request: Request, seconds: number): void } | null): StreamRequest => {
		// the stream is silent between events and heartbeats: Bun's idle timeout (10 s) must not cut it
		server?.timeout(request, 0)
		const lastEventId = request.headers.get('last-event-id') ?? (after || undefined)
		return { reader: caller, request, lastEventId: lastEventId ?? undefined, who: caller ? (caller.key ? `key:${caller.key.id}` : `user:${caller.user.id}`) : `address:${clientAddress(request, server?.requestIP(request)?.address, trustProxy)}` }
	}
	return new Elysia()
		.use(guard)
		.get('/episodes/:id/events', ({ caller, meter, params, query, request, server }) => events.episodeStream(meter, opening(caller, request, query.after, server), params.id), {
			reader: true,
			params: t.Object({ id: t.String() }),
			query: ResumeQuery,
			response: responses,
			detail: {
				summary: "An episode's changes as they commit (server-sent events)",
				description:
					'Log lines, track points, parameter versions, files and the episode\'s own fields, each once its write has committed. Resume with Last-Event-ID (or ?after=): none lost, none repeated; `reset` when the id is no longer kept. A heartbeat comment every 15 s. Ends (`end`) when the episode is deleted or the caller loses access.',
				tags,
			},
		})
		.get('/namespaces/:ns/projects/:project/events', ({ caller, meter, params, query, request, server }) => events.projectStream(meter, opening(caller, request, query.after, server), params.ns, params.project), {
			reader: true,
			params: t.Object({ ns: t.String(), project: t.String() }),
			query: ResumeQuery,
			response: responses,
			detail: {
				summary: "A project's episodes table as it changes (server-sent events)",
				description: 'Episodes created, changed (status, last activity: at most four times a second per episode) and deleted. Resume and limits as for an episode\'s events.',
				tags,
			},
		})
}
