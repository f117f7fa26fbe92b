import { serverTiming, type Harness, type Reply } from './harness'

/** One server-sent event as a client parses it (the text/event-stream format, by hand: no EventSource in Bun). */
export interface ReceivedEvent {
	id: string | undefined
	event: string
	data: any
}

/**
 * Reads a text/event-stream incrementally from a real HTTP response: events in order, comment lines
 * (heartbeats) counted, and the end of the stream seen. `next` waits for the next event of a type.
 */
export class EventReader {
	readonly events: ReceivedEvent[] = []
	comments = 0
	ended = false
	/** The last id received, as an EventSource keeps it for Last-Event-ID. */
	lastEventId: string | undefined
	private taken = 0
	private waiters: (() => void)[] = []
	private readonly reader: ReadableStreamDefaultReader<Uint8Array>
	private readonly done: Promise<void>

	constructor(readonly response: Response) {
		this.reader = response.body!.getReader() as ReadableStreamDefaultReader<Uint8Array>
		this.done = this.pump()
	}

	/** Opens `path` on a real server at `base` (GET, with a bearer token, Last-Event-ID or other headers). */
	static async open(base: string, path: string, { token, headers = {} }: { token?: string; headers?: Record<string, string> } = {}): Promise<EventReader> {
		const response = await fetch(`${base}${path}`, { headers: { ...(token && { authorization: `Bearer ${token}` }), ...headers } })
		if (response.status !== 200) throw new Error(`${path}: ${response.status} ${await response.text()}`)
		return new EventReader(response)
	}

	private async pump(): Promise<void> {
		const decoder = new TextDecoder()
		let text = ''
		try {
			for (;;) {
				const { value, done } = await this.reader.read()
				if (done) break
				text += decoder.decode(value, { stream: true })
				let end: number
				while ((end = text.indexOf('\n\n')) >= 0) {
					this.parse(text.slice(0, end))
					text = text.slice(end + 2)
				}
				this.wake()
			}
		} catch {
			// cancelled by close()
		}
		this.ended = true
		this.wake()
	}

	private parse(block: string): void {
		let id: string | undefined
		let event = 'message'
		const data: string[] = []
		for (const line of block.split('\n')) {
			if (line.startsWith(':')) this.comments++
			else if (line.startsWith('id: ')) id = line.slice(4)
			else if (line.startsWith('event: ')) event = line.slice(7)
			else if (line.startsWith('data: ')) data.push(line.slice(6))
		}
		if (data.length === 0) return
		if (id !== undefined) this.lastEventId = id
		this.events.push({ id, event, data: JSON.parse(data.join('\n')) })
	}

	private wake(): void {
		for (const wake of this.waiters.splice(0)) wake()
	}

	/** The next event not taken yet that `match` accepts (events before it are skipped), within `timeoutMs`. */
	async next(match: string | ((e: ReceivedEvent) => boolean), timeoutMs = 5000): Promise<ReceivedEvent> {
		const accepts = typeof match === 'string' ? (e: ReceivedEvent) => e.event === match : match
		const deadline = Date.now() + timeoutMs
		for (;;) {
			while (this.taken < this.events.length) {
				const e = this.events[this.taken++]!
				if (accepts(e)) return e
			}
			if (this.ended) throw new Error(`the stream ended before the event (${this.events.map((e) => e.event).join(', ')})`)
			const left = deadline - Date.now()
			if (left <= 0) throw new Error(`no such event within ${timeoutMs} ms (got ${this.events.map((e) => e.event).join(', ')})`)
			await new Promise<void>((resolve) => {
				const timer = setTimeout(resolve, left)
				this.waiters.push(() => {
					clearTimeout(timer)
					resolve()
				})
			})
		}
	}

	/** Waits until the server ends the stream. */
	async closed(timeoutMs = 5000): Promise<void> {
		await Promise.race([this.done, Bun.sleep(timeoutMs).then(() => Promise.reject(new Error(`the stream did not end within ${timeoutMs} ms`)))])
	}

	/** Every event of a type received so far. */
	all(type: string): ReceivedEvent[] {
		return this.events.filter((e) => e.event === type)
	}

	async close(): Promise<void> {
		await this.reader.cancel().catch(() => {})
		await this.done
	}
}

/**
 * Opens a stream in process and reads it only up to its opening event (`ready` or `reset`), then lets
 * it go: a reply the access tables check like any other (a refusal is the error body, as JSON).
 */
export async function openStreamOnce(h: Harness, path: string, token: string | undefined): Promise<Reply> {
	const response = await h.fetch(new Request(`http://dreamlake.test${path}`, { headers: token === undefined ? {} : { authorization: `Bearer ${token}` } }))
	if (!response.headers.get('content-type')?.startsWith('text/event-stream')) {
		const text = await response.text()
		return { status: response.status, body: text ? JSON.parse(text) : null, headers: response.headers, db: serverTiming(response.headers) }
	}
	const reader = response.body!.getReader()
	let text = ''
	while (!/event: (ready|reset)\n/.test(text)) {
		const { value, done } = await reader.read()
		if (done) break
		text += new TextDecoder().decode(value)
	}
	await reader.cancel()
	return { status: response.status, body: text, headers: response.headers, db: serverTiming(response.headers) }
}

/** The harness's app behind a real Bun.serve on a free port (the stream over real HTTP); stop() it after. */
export function serveHarness(h: Harness) {
	return Bun.serve({ port: 0, hostname: '127.0.0.1', fetch: (request) => h.fetch(request) })
}
