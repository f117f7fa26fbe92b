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
 * One open text/event-stream, as one of Bun's direct streams: each event is written into the
 * response's own buffer and flushed to the socket at once (a ReadableStream's queue and its
 * promises cost a stream some more kilobytes, times thousands of subscribers). A write that the
 * socket cannot take at once answers a promise, settled when the buffer has drained; the bytes
 * written meanwhile are what the reader has not taken, and past `queueBytes` the stream ends with
 * an `overflow` event telling the client to reconnect, and never holds more. What is sent before
 * the response starts (the opening event, a replay) waits in a list, counted the same way.
 */
export class EventStream implements Subscriber {
	readonly body: ReadableStream<Uint8Array>
	private controller: ReadableStreamDirectController | undefined
	private early: Uint8Array[] | undefined = [RETRY]
	/** Bytes written that the socket has not taken yet (0 while it keeps up). */
	private backlog = 0
	private closed = false
	private readonly onClose: (() => void)[] = []
	private release: (() => void) | undefined

	constructor(
		private readonly queueBytes: number,
		/** Says why the caller may no longer read (a reason for the `end` event), or nothing when they still may. */
		private readonly recheck: () => Promise<string | undefined>,
		signal?: AbortSignal,
	) {
		this.body = new ReadableStream({
			type: 'direct',
			pull: (controller) => {
				if (this.closed && !this.early) return
				this.controller = controller
				const early = this.early ?? []
				this.early = undefined
				this.backlog = 0
				for (const chunk of early) this.write(chunk)
				if (this.closed) return this.close()
				// the stream stays open until it ends (pull's promise settles)
				return new Promise<void>((resolve) => (this.release = resolve))
			},
			cancel: () => this.finish(),
		})
		signal?.addEventListener('abort', () => this.finish(), { once: true })
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
		this.write(chunk)
		if (this.backlog > this.queueBytes) this.end(serializeEvent('overflow', { reason: 'slow_reader', error: 'This stream fell too far behind; reconnect (with Last-Event-ID) to resume from the last event received.' }))
	}

	/** A comment line, so proxies and clients see the stream alive (the service's clock calls it). */
	heartbeat(): void {
		this.send(HEARTBEAT)
	}

	end(last: Uint8Array): void {
		if (this.closed) return
		this.write(last)
		this.finish()
		if (this.controller) this.close()
	}

	/** Ends the stream when the caller may no longer read (the service's clock calls it). */
	async checkAccess(): Promise<void> {
		if (this.closed) return
		const lost = await this.recheck()
		if (lost !== undefined) this.end(serializeEvent('end', { reason: lost }))
	}

	private write(chunk: Uint8Array): void {
		const controller = this.controller
		if (!controller) {
			if (this.early) {
				this.early.push(chunk)
				this.backlog += chunk.byteLength
			}
			return
		}
		try {
			const written = controller.write(chunk)
			controller.flush()
			if (typeof written === 'number') return
			// the socket did not take it all: counted until the buffer has drained
			if (this.backlog === 0) written.then(() => (this.backlog = 0), () => {})
			this.backlog += chunk.byteLength
		} catch {
			// the reader is already gone
			this.finish()
		}
	}

	private close(): void {
		try {
			this.controller?.close()
		} catch {
			// the reader is already gone
		}
		this.release?.()
	}

	private finish(): void {
		if (this.closed) return
		this.closed = true
		for (const fn of this.onClose.splice(0)) fn()
		if (!this.controller) return
		this.release?.()
	}
}
