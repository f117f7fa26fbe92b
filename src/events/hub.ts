import { formatRowId } from '../db/ids'
import type { Tx } from '../db/write-queue'

/** Where a stream's events go: its bounded queue (events/stream.ts). */
export interface Subscriber {
	/** Queues one serialized event; a subscriber past its bound ends itself (and leaves the channel). */
	send(chunk: Uint8Array): void
	/** Ends the stream with a last event (not counted against the bound). */
	end(last: Uint8Array): void
}

export interface ReplayLimits {
	/** Events kept per channel for a reconnect to replay. */
	events: number
	/** Their bytes at most, per channel. */
	bytes: number
	/** How long a channel (and its replay buffer) outlives its last subscriber: the time a client has to reconnect without loss. */
	lingerMs: number
}

export const DEFAULT_REPLAY: ReplayLimits = { events: 2048, bytes: 4 * 2 ** 20, lingerMs: 60_000 }

/** What a subscription starts from: `resumed` (the events after Last-Event-ID were replayed), `fresh` (none asked), or `reset` (an id this channel cannot resume from: the client must re-read). */
export type Start = 'fresh' | 'resumed' | 'reset'

const encoder = new TextEncoder()

/** One event in the wire format of text/event-stream; `data` is one line of JSON (JSON.stringify escapes newlines). */
export function serializeEvent(type: string, data: unknown, id?: string): Uint8Array {
	return encoder.encode(`${id === undefined ? '' : `id: ${id}\n`}event: ${type}\ndata: ${JSON.stringify(data)}\n\n`)
}

/** Ids never seen before in this process, nor by a process before it: a Last-Event-ID from before a restart (or an evicted channel) is known for what it is. */
const PROCESS_TOKEN = crypto.randomUUID().slice(0, 6)
let channels = 0

interface Buffered {
	seq: number
	chunk: Uint8Array
}

/** The events of one episode (or project): a sequence, the replay buffer, the subscribers. */
class Channel {
	/** Names this channel's lifetime in its event ids (`<token>-<seq>`). */
	readonly token = `${PROCESS_TOKEN}${(++channels).toString(36)}`
	seq = 0
	readonly buffer: Buffered[] = []
	/** Where the buffer starts (a ring kept as an array with a moving head: shift() is O(n)). */
	head = 0
	bytes = 0
	readonly subscribers = new Set<Subscriber>()
	linger: ReturnType<typeof setTimeout> | undefined

	idOf(seq: number): string {
		return `${this.token}-${seq}`
	}
}

/**
 * The events of one kind of thing (episodes, or projects), by its id. Nothing is kept for an id no
 * one watches: publishing to it is one Map lookup, its payload never built nor serialized. A
 * watched id keeps its recent events (bounded) for reconnects, and a while after its last
 * subscriber left. Everything runs on the one JavaScript thread, and events are published from
 * commit hooks in commit order, so an id's sequence is the order of its commits.
 */
export class Channels {
	private readonly open = new Map<number, Channel>()

	constructor(private readonly replay: ReplayLimits = DEFAULT_REPLAY) {}

	/** Whether anyone watches `id` (or did, a moment ago, and may reconnect). */
	watched(id: number): boolean {
		return this.open.has(id)
	}

	/** After `tx` commits, publishes what `data` makes, only if `id` is watched by then: nothing is built for an id no one watches. */
	afterCommit(tx: Tx, id: number, type: string, data: () => unknown): void {
		if (this.open.has(id)) tx.afterCommit(() => this.publish(id, type, data))
	}

	/** One event to every subscriber of `id`, and into its replay buffer. */
	publish(id: number, type: string, data: () => unknown): void {
		const channel = this.open.get(id)
		if (!channel) return
		const seq = ++channel.seq
		const chunk = serializeEvent(type, data(), channel.idOf(seq))
		channel.buffer.push({ seq, chunk })
		channel.bytes += chunk.byteLength
		while (channel.buffer.length - channel.head > this.replay.events || (channel.bytes > this.replay.bytes && channel.buffer.length - channel.head > 1)) {
			channel.bytes -= channel.buffer[channel.head]!.chunk.byteLength
			channel.head++
		}
		if (channel.head > 1024 && channel.head * 2 > channel.buffer.length) {
			channel.buffer.splice(0, channel.head)
			channel.head = 0
		}
		for (const subscriber of channel.subscribers) subscriber.send(chunk)
	}

	/**
	 * Adds a subscriber to `id`, with what it missed after `lastEventId` (`replay`, for the caller to
	 * send before returning to the event loop: no event can fall between the replay and the
	 * subscription). An id of another channel's lifetime (a restart, a channel forgotten) or older
	 * than the buffer is a `reset`. `position` is the id of the channel's last event now: a reconnect
	 * from it misses nothing.
	 */
	subscribe(id: number, subscriber: Subscriber, lastEventId: string | undefined): { start: Start; position: string; replay: Uint8Array[] } {
		let channel = this.open.get(id)
		if (!channel) this.open.set(id, (channel = new Channel()))
		if (channel.linger) clearTimeout(channel.linger)
		channel.linger = undefined
		let start: Start = 'fresh'
		const replay: Uint8Array[] = []
		if (lastEventId !== undefined) {
			const after = resumePoint(channel, lastEventId)
			if (after === undefined) start = 'reset'
			else {
				start = 'resumed'
				for (let i = channel.head; i < channel.buffer.length; i++) if (channel.buffer[i]!.seq > after) replay.push(channel.buffer[i]!.chunk)
			}
		}
		channel.subscribers.add(subscriber)
		return { start, position: channel.idOf(channel.seq), replay }
	}

	unsubscribe(id: number, subscriber: Subscriber): void {
		const channel = this.open.get(id)
		if (!channel || !channel.subscribers.delete(subscriber) || channel.subscribers.size > 0) return
		channel.linger = setTimeout(() => {
			if (channel.subscribers.size === 0 && this.open.get(id) === channel) this.open.delete(id)
		}, this.replay.lingerMs)
		channel.linger.unref?.()
	}

	/** Ends every stream of `id` with a last event (the episode was deleted) and forgets it: a reconnect finds it gone. */
	end(id: number, type: string, data: unknown): void {
		const channel = this.open.get(id)
		if (!channel) return
		this.open.delete(id)
		if (channel.linger) clearTimeout(channel.linger)
		const last = serializeEvent(type, data)
		for (const subscriber of [...channel.subscribers]) subscriber.end(last)
		channel.subscribers.clear()
	}

	/** Subscribers of `id` now (tests, the bench). */
	subscribers(id: number): number {
		return this.open.get(id)?.subscribers.size ?? 0
	}
}

/** The sequence to replay after, when `lastEventId` names a point this channel's buffer still covers; undefined otherwise. */
function resumePoint(channel: Channel, lastEventId: string): number | undefined {
	const dash = lastEventId.lastIndexOf('-')
	if (dash < 0 || lastEventId.slice(0, dash) !== channel.token) return undefined
	const seq = Number(lastEventId.slice(dash + 1))
	if (!Number.isSafeInteger(seq) || seq < 0 || seq > channel.seq) return undefined
	// the event right after it must still be buffered (or not happened yet)
	const oldest = channel.buffer.length > channel.head ? channel.buffer[channel.head]!.seq : channel.seq + 1
	return seq + 1 >= oldest ? seq : undefined
}

/**
 * Changes to a project's episodes, merged per episode and sent at most once per `everyMs`: a run
 * that writes all the time moves its row a few times a second, not once a write. Other features
 * (metric summaries) add their fields to an episode's row through `changed`.
 */
class ProjectChanges {
	private readonly pending = new Map<number, Map<number, Record<string, unknown>>>()
	private timer: ReturnType<typeof setTimeout> | undefined

	constructor(
		private readonly projects: Channels,
		private readonly everyMs: number,
	) {}

	changed(projectId: number, episodeId: number, fields: Record<string, unknown>): void {
		if (!this.projects.watched(projectId)) return
		let episodes = this.pending.get(projectId)
		if (!episodes) this.pending.set(projectId, (episodes = new Map()))
		episodes.set(episodeId, { ...episodes.get(episodeId), ...fields })
		this.timer ??= setTimeout(() => this.flush(), this.everyMs)
	}

	/** What is pending for the episode goes first: a deleted episode's last change is not sent after its deletion. */
	drop(projectId: number, episodeId: number): void {
		this.pending.get(projectId)?.delete(episodeId)
	}

	private flush(): void {
		this.timer = undefined
		const pending = [...this.pending]
		this.pending.clear()
		for (const [projectId, episodes] of pending) for (const fields of episodes.values()) this.projects.publish(projectId, 'episode.changed', () => fields)
	}
}

/**
 * The one in-process event hub (the composition root makes it and hands it to the features that
 * write): events of episodes (`GET /episodes/{id}/events`) and of projects' episode tables
 * (`GET …/projects/{project}/events`), published once their write has committed.
 */
export class EventHub {
	readonly episodes: Channels
	readonly projects: Channels
	private readonly projectChanges: ProjectChanges

	constructor({ replay = DEFAULT_REPLAY, projectDebounceMs = 250 }: { replay?: ReplayLimits; projectDebounceMs?: number } = {}) {
		this.episodes = new Channels(replay)
		this.projects = new Channels(replay)
		this.projectChanges = new ProjectChanges(this.projects, projectDebounceMs)
	}

	/**
	 * Fields of an episode's row in its project's table changed (status, last activity; metric
	 * summaries will call this too): merged and sent debounced as `episode.changed` with `id`.
	 */
	episodeChanged(projectId: number, episodeId: number, fields: Record<string, unknown>): void {
		this.projectChanges.changed(projectId, episodeId, { id: formatRowId(episodeId), ...fields })
	}

	/** An episode left its project's table (deleted): what was pending for it is dropped, then `episode.deleted` goes at once. */
	episodeRemoved(projectId: number, episodeId: number, data: unknown): void {
		this.projectChanges.drop(projectId, episodeId)
		this.projects.publish(projectId, 'episode.deleted', () => data)
	}
}
