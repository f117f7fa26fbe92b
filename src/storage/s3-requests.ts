import { StorageUnavailableError } from './store'

/** Where a bucket is and who signs for it: FILE_STORAGE's bucket and the S3_* settings. */
export interface S3Location {
	endpoint: string
	region: string
	bucket: string
	accessKeyId: string
	secretAccessKey: string
	/** The bucket in the host name (`https://bucket.s3…`; the endpoint names it then) rather than in the path. */
	virtualHostedStyle: boolean
}

/** An answer of the store that says no (4xx): the request reached it and was refused (to the client, the store is unavailable all the same). */
export class S3RequestError extends StorageUnavailableError {
	constructor(
		readonly status: number,
		readonly code: string,
		message: string,
	) {
		super(message)
		this.name = 'S3RequestError'
	}
}

const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'

/**
 * The few S3 calls Bun's client does not make (its writer completes a multipart upload at `end()`,
 * and it has no copy and no listing of multipart uploads), as requests signed with AWS Signature
 * Version 4. Bodies are sent unsigned (`UNSIGNED-PAYLOAD`, as AWS's own SDKs do): hashing every
 * part again would cost a second sha256 of the whole upload; the upload's own sha256 checks it.
 */
export class S3Requests {
	/** The endpoint requests go to: S3_ENDPOINT, with the bucket in front of its host name when virtual-hosted. */
	readonly endpoint: string

	constructor(
		private readonly location: S3Location,
		/** A request that takes longer is abandoned: the store counts as unavailable. */
		private readonly timeoutMs: number,
	) {
		const endpoint = new URL(location.endpoint)
		if (location.virtualHostedStyle && !endpoint.hostname.startsWith(`${location.bucket}.`)) endpoint.hostname = `${location.bucket}.${endpoint.hostname}`
		this.endpoint = endpoint.href.replace(/\/+$/, '')
	}

	/** The URL of `key`, or of the bucket for '' (path-style: endpoint/bucket/key; virtual-hosted: the endpoint is the bucket's). */
	url(key: string, query: Record<string, string> = {}): URL {
		const bucket = this.location.virtualHostedStyle ? '' : `/${encodeRfc3986(this.location.bucket)}`
		const path = key === '' ? (bucket === '' ? '/' : bucket) : `${bucket}/${key.split('/').map(encodeRfc3986).join('/')}`
		const url = new URL(`${this.endpoint}${path}`)
		for (const [name, value] of Object.entries(query)) url.searchParams.set(name, value)
		return url
	}

	/** `x-amz-copy-source` of `key`: bucket and key, whatever the addressing. */
	copySource(key: string): string {
		return `/${encodeRfc3986(this.location.bucket)}/${key.split('/').map(encodeRfc3986).join('/')}`
	}

	/** One signed request; a network failure, a timeout or a 5xx throws StorageUnavailableError, a 4xx S3RequestError. */
	async send(method: string, url: URL, options: { headers?: Record<string, string>; body?: Uint8Array | string | ReadableStream<Uint8Array>; timeoutMs?: number } = {}): Promise<Response> {
		const headers = this.sign(method, url, options.headers ?? {}, options.body === undefined ? EMPTY_SHA256 : 'UNSIGNED-PAYLOAD')
		let response: Response
		// the time limit is on the answer's head: a body (a download) streams for as long as it takes
		const controller = new AbortController()
		const timer = setTimeout(() => controller.abort(new DOMException('the object store did not answer in time', 'TimeoutError')), options.timeoutMs ?? this.timeoutMs)
		try {
			// a stream body goes with the Content-Length of the headers (S3 takes no chunked upload), not chunked
			response = await fetch(url, { method, headers, body: options.body, signal: controller.signal, redirect: 'manual', ...(options.body instanceof ReadableStream && { duplex: 'half' }) } as RequestInit)
		} catch (error) {
			throw new StorageUnavailableError(describeFailure(error), { cause: error })
		} finally {
			clearTimeout(timer)
		}
		if (response.status < 300) return response
		const text = await response.text().catch(() => '')
		const code = /<Code>([^<]*)<\/Code>/.exec(text)?.[1] ?? `HTTP ${response.status}`
		if (response.status >= 500) throw new StorageUnavailableError(`the object store answered ${response.status} (${code})`)
		throw new S3RequestError(response.status, code, `${method} ${url.pathname}: ${response.status} ${code}`)
	}

	/** The headers of a request signed with SigV4 (host, x-amz-date, x-amz-content-sha256, authorization). */
	private sign(method: string, url: URL, headers: Record<string, string>, payloadHash: string): Record<string, string> {
		const amzDate = amzDateOf(new Date())
		const all: Record<string, string> = { ...lowerCased(headers), host: url.host, 'x-amz-date': amzDate, 'x-amz-content-sha256': payloadHash }
		const { scope, signedHeaders, signature } = this.signature(method, url, all, payloadHash, amzDate)
		return { ...all, authorization: `AWS4-HMAC-SHA256 Credential=${this.location.accessKeyId}/${scope}, SignedHeaders=${signedHeaders}, Signature=${signature}` }
	}

	/**
	 * A URL anyone may GET `url` at for `seconds` without credentials: SigV4 in the query string
	 * (X-Amz-Algorithm, X-Amz-Credential, X-Amz-Date, X-Amz-Expires, X-Amz-SignedHeaders=host,
	 * X-Amz-Signature; the body unsigned). `url`'s own query (e.g. response-content-disposition) is signed with it.
	 */
	presign(url: URL, seconds: number, now = new Date()): URL {
		const amzDate = amzDateOf(now)
		const signed = new URL(url)
		signed.searchParams.set('X-Amz-Algorithm', 'AWS4-HMAC-SHA256')
		signed.searchParams.set('X-Amz-Credential', `${this.location.accessKeyId}/${amzDate.slice(0, 8)}/${this.location.region}/s3/aws4_request`)
		signed.searchParams.set('X-Amz-Date', amzDate)
		signed.searchParams.set('X-Amz-Expires', String(seconds))
		signed.searchParams.set('X-Amz-SignedHeaders', 'host')
		const { signature } = this.signature('GET', signed, { host: signed.host }, 'UNSIGNED-PAYLOAD', amzDate)
		signed.searchParams.set('X-Amz-Signature', signature)
		// URLSearchParams writes a space as '+', which a store may read as '+': the signed encoding instead
		signed.search = canonicalQuery(signed)
		return signed
	}

	/** SigV4's signature of a request: its canonical form (the given headers signed, all of them) signed with the day's key. */
	private signature(method: string, url: URL, headers: Record<string, string>, payloadHash: string, amzDate: string): { scope: string; signedHeaders: string; signature: string } {
		const { region, secretAccessKey } = this.location
		const day = amzDate.slice(0, 8)
		const names = Object.keys(headers).sort()
		const canonical = [method, url.pathname, canonicalQuery(url), ...names.map((name) => `${name}:${headers[name]!.trim()}`), '', names.join(';'), payloadHash].join('\n')
		const scope = `${day}/${region}/s3/aws4_request`
		const toSign = ['AWS4-HMAC-SHA256', amzDate, scope, sha256Hex(canonical)].join('\n')
		let key: Uint8Array | string = `AWS4${secretAccessKey}`
		for (const part of [day, region, 's3', 'aws4_request']) key = hmac(key, part)
		return { scope, signedHeaders: names.join(';'), signature: new Bun.CryptoHasher('sha256', key).update(toSign).digest('hex') }
	}
}

/** The query string as SigV4 signs it: names and values percent-encoded, sorted by name then value. */
function canonicalQuery(url: URL): string {
	return [...url.searchParams]
		.map(([name, value]) => [encodeRfc3986(name), encodeRfc3986(value)] as const)
		.sort(([a, x], [b, y]) => (a === b ? (x < y ? -1 : 1) : a < b ? -1 : 1))
		.map(([name, value]) => `${name}=${value}`)
		.join('&')
}

/** `20261203T163119Z`: SigV4's time stamp. */
const amzDateOf = (date: Date) => date.toISOString().replace(/[-:]|\.\d{3}/g, '')

/** Percent-encoding as SigV4 wants it: everything but A-Z a-z 0-9 - _ . ~ */
function encodeRfc3986(text: string): string {
	return encodeURIComponent(text).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)
}

const lowerCased = (headers: Record<string, string>) => Object.fromEntries(Object.entries(headers).map(([name, value]) => [name.toLowerCase(), value]))
const sha256Hex = (text: string) => new Bun.CryptoHasher('sha256').update(text).digest('hex')
const hmac = (key: Uint8Array | string, data: string) => new Uint8Array(new Bun.CryptoHasher('sha256', key).update(data).digest())

/** One line on why a request did not get an answer: never the request itself (its URL may carry a signature). */
export function describeFailure(error: unknown): string {
	const name = (error as { name?: unknown }).name
	const code = (error as { code?: unknown }).code
	if (name === 'TimeoutError' || name === 'AbortError') return 'the object store did not answer in time'
	if (typeof code === 'string' && code !== '') return `the object store could not be reached (${code})`
	return 'the object store could not be reached'
}

/** The text of the first `<name>` element of an XML answer, entities decoded; undefined when there is none. */
export function xmlValue(xml: string, name: string): string | undefined {
	const match = new RegExp(`<${name}>([^<]*)</${name}>`).exec(xml)
	return match ? decodeXml(match[1]!) : undefined
}

/** Every `<name>…</name>` block of an XML answer, as text. */
export function xmlBlocks(xml: string, name: string): string[] {
	return [...xml.matchAll(new RegExp(`<${name}>([\\s\\S]*?)</${name}>`, 'g'))].map((match) => match[1]!)
}

const decodeXml = (text: string) =>
	text.replace(/&(lt|gt|quot|apos|amp|#\d+|#x[0-9a-f]+);/gi, (_, entity: string) => {
		const named: Record<string, string> = { lt: '<', gt: '>', quot: '"', apos: "'", amp: '&' }
		if (entity in named) return named[entity]!
		return String.fromCodePoint(entity[1] === 'x' || entity[1] === 'X' ? Number.parseInt(entity.slice(2), 16) : Number(entity.slice(1)))
	})

export const xmlEscape = (text: string) => text.replace(/[<>&'"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', "'": '&apos;', '"': '&quot;' })[c]!)
