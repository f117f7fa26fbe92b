import { SQL } from 'bun'
import type { PgTx } from './postgres-write-queue'

/** The one channel every server process of a database listens on. */
export const INVALIDATION_CHANNEL = 'dreamlake_invalidate'

/** `key` changed in `topic` (an account, a token, a membership); `null`: anything in it may have, drop it all. */
export type InvalidationHandler = (key: string | null) => void

export interface PostgresInvalidationsOptions {
	/** How often the listener proves it still hears: a ping it does not hear back by the next one drops every cache and listens again. */
	pingMs?: number
}

/**
 * What keeps the caches of several server processes on one PostgreSQL in step. A write that
 * changes what another process may hold in memory announces it from its job; the announcement is
 * a `pg_notify` in the group's transaction, so PostgreSQL delivers it exactly when the write
 * commits, and never when it rolls back. Every process listens on one channel; a process ignores
 * its own announcements (its caches follow its writes through `afterCommit` already). A listener
 * that stops hearing (the database restarted, the connection dropped: notifications meanwhile
 * are lost) is found by its own ping within two intervals: every cache it serves is dropped whole
 * and it listens again on a new connection.
 */
export class PostgresInvalidations {
	/** This process among the database's servers: its announcements carry it. */
	readonly instance = crypto.randomUUID().slice(0, 8)
	private readonly handlers = new Map<string, Set<InvalidationHandler>>()
	private readonly pingMs: number
	private listener: SQL | undefined
	private timer: ReturnType<typeof setInterval> | undefined
	private pingsSent = 0
	private pingsHeard = 0
	private resets = 0
	private ticking = false
	private closed = false

	constructor(
		private readonly url: string,
		options: PostgresInvalidationsOptions = {},
	) {
		this.pingMs = options.pingMs ?? 1_000
	}

	/** Listens; resolves once the channel is subscribed (throws when the database cannot be reached). */
	async start(): Promise<void> {
		await this.listen()
		this.timer = setInterval(() => void this.ping(), this.pingMs)
		this.timer.unref?.()
	}

	/** Runs `handler` when another process commits a change in `topic`. */
	on(topic: string, handler: InvalidationHandler): void {
		let set = this.handlers.get(topic)
		if (!set) this.handlers.set(topic, (set = new Set()))
		set.add(handler)
	}

	/** Tells the other processes, when this write commits, that `key` of `topic` changed (once per group, however many writes say it). */
	announce(tx: PgTx, topic: string, key: string): void {
		if (topic.includes(' ')) throw new Error(`an invalidation topic has no space: ${topic}`)
		const payload = `${this.instance} ${topic} ${key}`
		tx.beforeCommit(`invalidate ${topic} ${key}`, async () => void (await tx.sql`SELECT pg_notify(${INVALIDATION_CHANNEL}, ${payload})`))
	}

	/** How many times the listener was found deaf and every cache dropped. */
	get resetCount(): number {
		return this.resets
	}

	async close(): Promise<void> {
		this.closed = true
		clearInterval(this.timer)
		await this.listener?.close({ timeout: 0 }).catch(() => {})
		this.listener = undefined
	}

	private async listen(): Promise<void> {
		const listener = new SQL(this.url, { max: 1, connectionTimeout: 5 })
		try {
			await listener.listen(INVALIDATION_CHANNEL, (payload) => this.heard(payload))
		} catch (error) {
			await listener.close({ timeout: 0 }).catch(() => {})
			throw error
		}
		const old = this.listener
		this.listener = listener
		await old?.close({ timeout: 0 }).catch(() => {})
	}

	private heard(payload: string): void {
		const first = payload.indexOf(' ')
		const second = payload.indexOf(' ', first + 1)
		if (first < 0 || second < 0) return
		const instance = payload.slice(0, first)
		const topic = payload.slice(first + 1, second)
		const key = payload.slice(second + 1)
		if (instance === this.instance) {
			if (topic === '~ping') this.pingsHeard = Math.max(this.pingsHeard, Number(key))
			return
		}
		for (const handler of this.handlers.get(topic) ?? []) handler(key)
	}

	private async ping(): Promise<void> {
		if (this.closed || this.ticking) return
		this.ticking = true
		try {
			if (this.pingsHeard < this.pingsSent) return await this.reset()
			const n = ++this.pingsSent
			await this.listener?.unsafe(`SELECT pg_notify($1, $2)`, [INVALIDATION_CHANNEL, `${this.instance} ~ping ${n}`])
		} catch {
			// unheard: the next tick resets
		} finally {
			this.ticking = false
		}
	}

	/**
	 * The listener missed its own ping: what was announced meanwhile is lost. Listen again first,
	 * then drop every cache: what is read after that is fresh, and every change after it is heard.
	 */
	private async reset(): Promise<void> {
		this.resets++
		try {
			await this.listen()
			this.pingsHeard = this.pingsSent
		} finally {
			// still down or not, nothing cached may be trusted; while down the next tick tries again
			for (const handlers of this.handlers.values()) for (const handler of handlers) handler(null)
		}
	}
}
