import { ApiError } from './errors'

interface Bucket {
	tokens: number
	at: number
}

/**
 * A token bucket per key (a client address): `perMinute` requests a minute, in bursts of up to
 * `perMinute`. Memory stays bounded: full buckets are forgotten, and past `maxKeys` the oldest go.
 */
export class RateLimiter {
	private readonly buckets = new Map<string, Bucket>()
	private readonly refillPerMs: number

	constructor(
		private readonly perMinute: number,
		private readonly maxKeys = 100_000,
		private readonly now: () => number = Date.now,
	) {
		this.refillPerMs = perMinute / 60_000
	}

	/** Takes one request from `key`'s bucket; throws 429 (with Retry-After) when it is empty. */
	take(key: string): void {
		const now = this.now()
		const bucket = this.buckets.get(key)
		const tokens = bucket ? Math.min(this.perMinute, bucket.tokens + (now - bucket.at) * this.refillPerMs) : this.perMinute
		if (tokens < 1) {
			const retryAfter = Math.max(1, Math.ceil((1 - tokens) / this.refillPerMs / 1000))
			throw new ApiError(
				429,
				'rate_limited',
				`Too many login attempts from this address; try again in ${retryAfter} s.`,
				undefined,
				{ 'retry-after': String(retryAfter) },
			)
		}
		if (bucket) this.buckets.delete(key) // re-inserted below, so the Map's order stays oldest-first
		else if (this.buckets.size >= this.maxKeys) this.sweep(now)
		this.buckets.set(key, { tokens: tokens - 1, at: now })
	}

	private sweep(now: number): void {
		for (const [key, bucket] of this.buckets) {
			if (bucket.tokens + (now - bucket.at) * this.refillPerMs >= this.perMinute) this.buckets.delete(key)
		}
		// down to 90%: a sweep walks every bucket, so it must not run again for the very next new address
		const keep = Math.floor(this.maxKeys * 0.9)
		for (const key of this.buckets.keys()) {
			if (this.buckets.size <= keep) break
			this.buckets.delete(key)
		}
	}
}

/**
 * The client's address: the socket's, or with `trustedProxies` > 0 the X-Forwarded-For entry
 * that many hops from the right (entries further left are whatever the client claimed).
 */
export function clientAddress(request: Request, socketAddress: string | undefined, trustedProxies: number): string {
	if (trustedProxies > 0) {
		const hops = request.headers.get('x-forwarded-for')?.split(',').map((part) => part.trim()).filter(Boolean)
		if (hops && hops.length > 0) return hops[Math.max(0, hops.length - trustedProxies)]!
	}
	return socketAddress ?? 'unknown'
}
