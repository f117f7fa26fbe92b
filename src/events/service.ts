import { readerOf } from '../auth/guard'
import type { AuthService } from '../auth/service'
import { formatRowId } from '../db/ids'
import { DbMeter } from '../db/meter'
import { toEpisodeFlat } from '../episodes/model'
import type { EpisodeService } from '../episodes/service'
import { ApiError } from '../http/errors'
import type { Reader } from '../namespaces/access'
import { serializeEvent, type Channels, type EventHub, type Start } from './hub'
import { EventStream, type StreamTimings } from './stream'

export interface StreamLimits extends StreamTimings {
	/** Open streams in all (EVENTS_MAX_STREAMS). */
	maxStreams: number
	/** Open streams per person or key, or per client address for nobody signed in (EVENTS_MAX_STREAMS_PER_USER). */
	maxStreamsPerUser: number
}

export const DEFAULT_STREAM_LIMITS: StreamLimits = { maxStreams: 10_000, maxStreamsPerUser: 100, queueBytes: 256 * 1024, heartbeatMs: 15_000, recheckMs: 5_000 }

/** What opens a stream: who reads, and what the request says of where to resume. */
export interface StreamRequest {
	reader: Reader
	request: Request
	/** Last-Event-ID (an EventSource's reconnect), else `?after=`. */
	lastEventId: string | undefined
	/** Whom the per-user limit counts this against: the person or key, or the client address. */
	who: string
}

/**
 * Event streams: an episode's (`GET /episodes/{id}/events`) and a project's episodes table
 * (`GET …/projects/{project}/events`), under the same access rules as reading them. Access is
 * checked again every `recheckMs` (the check is in memory: no statement for a known caller), so
 * a stream ends within that of a logout, a revoked key, a removed membership or a visibility
 * changed; a deleted episode ends its streams at once, from its commit.
 */
export class EventService {
	private total = 0
	private readonly perUser = new Map<string, number>()
	/** Every open stream, for one heartbeat timer and one access timer between them all (two timers a stream cost thousands of them a megabyte or two). */
	private readonly streams = new Set<EventStream>()
	private timers: ReturnType<typeof setInterval>[] = []

	constructor(
		private readonly hub: EventHub,
		private readonly episodes: EpisodeService,
		private readonly auth: AuthService,
		private readonly limits: StreamLimits = DEFAULT_STREAM_LIMITS,
	) {}

	/** GET /episodes/{id}/events. */
	episodeStream(meter: DbMeter, { reader, request, lastEventId, who }: StreamRequest, idSegment: string): Response {
		const detail = this.episodes.get(meter, reader, idSegment)
		const { episode, counts } = detail
		const flat = toEpisodeFlat(episode, this.episodes.staleBefore())
		const snapshot = () => ({ episode: { id: flat.id, status: flat.status, lastActivityAt: flat.lastActivityAt, updatedAt: flat.updatedAt, ...counts } })
		return this.open(this.hub.episodes, episode.id, { reader, request, lastEventId, who }, snapshot, async (now) => {
			this.episodes.readable(new DbMeter(), now, idSegment)
		})
	}

	/** GET /namespaces/{ns}/projects/{project}/events. */
	projectStream(meter: DbMeter, { reader, request, lastEventId, who }: StreamRequest, ns: string, projectSegment: string): Response {
		const { project } = this.episodes.readableProject(meter, reader, ns, projectSegment)
		const snapshot = () => ({ project: { id: formatRowId(project.id), slug: project.slug } })
		return this.open(this.hub.projects, project.id, { reader, request, lastEventId, who }, snapshot, async (now) => {
			this.episodes.readableProject(new DbMeter(), now, ns, projectSegment)
		})
	}

	/** Streams open now (tests, the bench). */
	get openStreams(): number {
		return this.total
	}

	private track(stream: EventStream): void {
		this.streams.add(stream)
		if (this.timers.length > 0) return
		const every = (ms: number, fn: (stream: EventStream) => void) => {
			const timer = setInterval(() => {
				for (const stream of this.streams) fn(stream)
			}, ms)
			timer.unref?.()
			return timer
		}
		this.timers = [every(this.limits.heartbeatMs, (stream) => stream.heartbeat()), every(this.limits.recheckMs, (stream) => void stream.checkAccess())]
	}

	private untrack(stream: EventStream): void {
		this.streams.delete(stream)
		if (this.streams.size > 0) return
		for (const timer of this.timers) clearInterval(timer)
		this.timers = []
	}

	private open(channels: Channels, id: number, { request, lastEventId, who }: StreamRequest, snapshot: () => Record<string, unknown>, mayStillRead: (reader: Reader) => Promise<void>): Response {
		const mine = this.perUser.get(who) ?? 0
		if (mine >= this.limits.maxStreamsPerUser) throw tooManyStreams(`You have ${mine} event streams open, the most one may; close one (a tab) first.`)
		if (this.total >= this.limits.maxStreams) throw tooManyStreams('The server has as many event streams open as it serves; try again later.')
		const stream = new EventStream(
			this.limits.queueBytes,
			async () => {
				try {
					await mayStillRead(await readerOf(this.auth, request, new DbMeter()))
					return undefined
				} catch (error) {
					if (error instanceof ApiError) return 'access_lost'
					return undefined // a failure of the server's own is no lost access: checked again next time
				}
			},
			request.signal,
		)
		this.total++
		this.perUser.set(who, mine + 1)
		this.track(stream)
		stream.whenClosed(() => {
			channels.unsubscribe(id, stream)
			this.untrack(stream)
			this.total--
			const left = (this.perUser.get(who) ?? 1) - 1
			if (left > 0) this.perUser.set(who, left)
			else this.perUser.delete(who)
		})
		// synchronously from here: the opening event, the replay, then whatever commits next
		const { start, position, replay } = channels.subscribe(id, stream, lastEventId)
		stream.send(opening(start, position, snapshot()))
		for (const chunk of replay) stream.send(chunk)
		return new Response(stream.body, { headers: { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache, no-transform', 'x-accel-buffering': 'no' } })
	}
}

/** `ready` (what the stream holds from now on), or `reset` (an id it cannot resume from: re-read, then follow); a resumed stream's carries no id, so the client's stays the last one it received. */
function opening(start: Start, position: string, snapshot: Record<string, unknown>): Uint8Array {
	if (start === 'reset') return serializeEvent('reset', { reason: 'unknown_event_id', error: 'The events after the id you resumed from are no longer kept (the server restarted, or you were away too long); read the current state again.', ...snapshot }, position)
	return serializeEvent('ready', { resumed: start === 'resumed', ...snapshot }, start === 'resumed' ? undefined : position)
}

const tooManyStreams = (message: string) => new ApiError(429, 'too_many_streams', message, undefined, { 'retry-after': '5' })
