import { DatabaseUnavailableError } from './postgres-errors'

export interface PgReadGateOptions {
	/** Reads in flight at most: the pool's size less the connection the write queue holds, so writes always have theirs. */
	slots: number
	/** Reads waiting for a slot at most; past them a read is refused at once. */
	maxWaiting?: number
	/** How long a read may wait for a slot before it is refused. */
	waitMs?: number
}

/**
 * The bound in front of PostgreSQL's pool for reads. Bun's pool queues without limit, and a pool
 * whose every connection a slow reader holds would starve the group commit too (its connection is
 * reserved from the same pool): reads here take at most `slots` connections, wait in a bounded
 * line for a bounded time, and past either answer 503 `database_unavailable`, while writes go on.
 */
export class PgReadGate {
	private inFlight = 0
	private readonly waiting: { grant: () => void; timer: ReturnType<typeof setTimeout> }[] = []
	private readonly maxWaiting: number
	private readonly waitMs: number

	constructor(private readonly options: PgReadGateOptions) {
		if (options.slots < 1) throw new RangeError('a read gate needs a slot')
		this.maxWaiting = options.maxWaiting ?? 1_000
		this.waitMs = options.waitMs ?? 5_000
	}

	/** Runs `read` once a slot is free. */
	async run<T>(read: () => Promise<T>): Promise<T> {
		await this.acquire()
		try {
			return await read()
		} finally {
			this.release()
		}
	}

	/** Reads running and waiting now. */
	get load(): { inFlight: number; waiting: number } {
		return { inFlight: this.inFlight, waiting: this.waiting.length }
	}

	private acquire(): Promise<void> {
		if (this.inFlight < this.options.slots) {
			this.inFlight++
			return Promise.resolve()
		}
		if (this.waiting.length >= this.maxWaiting) return Promise.reject(new DatabaseUnavailableError(`${this.maxWaiting} reads are already waiting for a database connection`))
		return new Promise<void>((resolve, reject) => {
			const entry = {
				grant: () => {
					clearTimeout(entry.timer)
					resolve()
				},
				timer: setTimeout(() => {
					this.waiting.splice(this.waiting.indexOf(entry), 1)
					reject(new DatabaseUnavailableError(`no database connection came free within ${this.waitMs} ms`))
				}, this.waitMs),
			}
			this.waiting.push(entry)
		})
	}

	private release(): void {
		const next = this.waiting.shift()
		// the slot passes straight to the next in line: inFlight stays as it is
		if (next) next.grant()
		else this.inFlight--
	}
}
