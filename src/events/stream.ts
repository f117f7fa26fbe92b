import { serializeEvent, type Subscriber } from './hub'

export interface StreamTimings {
	/** Bytes a stream may hold that its reader has not taken; past it the reader is dropped (an `overflow` event). */
	queueBytes: number
	/** A comment line this often, so proxies and clients see the stream alive. */
	heartbeatMs: number
	/** The caller's access is checked again this often; the stream ends when it is lost. */
	recheckMs: number
}

const HEARTBEAT = new TextEncoder().encode(': heartbeat\n\n')
/** The first bytes: how long an EventSource waits before it reconnects. */
const RETRY = new TextEncoder().encode('retry: 2000\n\n')

/**
 * One open text/event-stream: a ReadableStream whose queue is counted in bytes. Bun takes from it
 * only as fast as the socket drains (its desiredSize goes below zero behind a reader that does not
 * read), so the queue is exactly what the reader has not taken: past `queueBytes` the stream ends
 * with an `overflow` event telling the client to reconnect, and never holds more.
 */
export class EventStream implements Subscriber {
	readonly body: ReadableStream<Uint8Array>
	private controller!: ReadableStreamDefaultController<Uint8Array>
	private closed = false
	private readonly timers: ReturnType<typeof setInterval>[] = []
	private readonly onClose: (() => void)[] = []

	constructor(
		private readonly timings: StreamTimings,
		/** Says why the caller may no longer read (a reason for the `end` event), or nothing when they still may. */
		private readonly recheck: () => Promise<string | undefined>,
		signal?: AbortSignal,
	) {
		this.body = new ReadableStream<Uint8Array>(
			{
				start: (controller) => {
					this.controller = controller
					controller.enqueue(RETRY)
				},
				cancel: () => this.finish(),
			},
			{ highWaterMark: timings.queueBytes, size: (chunk) => chunk?.byteLength ?? 0 },
		)
		signal?.addEventListener('abort', () => this.finish(), { once: true })
		this.timers.push(setInterval(() => this.send(HEARTBEAT), timings.heartbeatMs))
		this.timers.push(setInterval(() => void this.checkAccess(), timings.recheckMs))
	}

	get open(): boolean {
		return !this.closed
	}

	/** Runs `fn` once the stream is over, however it ends (its end, the reader gone, a drop). */
	whenClosed(fn: () => void): void {
		if (this.closed) fn()
		else this.onClose.push(fn)
	}

	send(chunk: Uint8Array): void {
		if (this.closed) return
		this.controller.enqueue(chunk)
		if ((this.controller.desiredSize ?? 0) < 0) this.end(serializeEvent('overflow', { reason: 'slow_reader', error: 'This stream fell too far behind; reconnect (with Last-Event-ID) to resume from the last event received.' }))
	}

	end(last: Uint8Array): void {
		if (this.closed) return
		try {
			this.controller.enqueue(last)
			this.controller.close()
		} catch {
			// the reader is already gone
		}
		this.finish()
	}

	private async checkAccess(): Promise<void> {
		if (this.closed) return
		const lost = await this.recheck()
		if (lost !== undefined) this.end(serializeEvent('end', { reason: lost }))
	}

	private finish(): void {
		if (this.closed) return
		this.closed = true
		for (const timer of this.timers) clearInterval(timer)
		for (const fn of this.onClose.splice(0)) fn()
	}
}
