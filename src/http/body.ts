import { Elysia } from 'elysia'
import { ApiError } from './errors'

/** Largest request body accepted; PATCH /auth/me needs at most ~17 KiB (16 KiB of metadata plus fields). */
export const MAX_BODY_BYTES = 64 * 1024

// `Connection: close`: the unread rest of the body must not hold the connection (or a graceful stop) open
export const payloadTooLarge = () =>
	new ApiError(413, 'payload_too_large', `Request body is larger than ${MAX_BODY_BYTES / 1024} KiB.`, undefined, { connection: 'close' })

/** A declared Content-Length over the limit: refused before a byte of the body is read. */
export function declaredBodyTooLarge(request: Request): boolean {
	const declared = request.headers.get('content-length')
	return declared !== null && Number(declared) > MAX_BODY_BYTES
}

/**
 * Reads a JSON body, stopping as soon as it passes MAX_BODY_BYTES (a chunked upload has no
 * Content-Length to refuse it by). Accepts `application/json`, `+json` types, or no content type.
 */
export async function readJsonBody(request: Request): Promise<unknown> {
	const type = request.headers.get('content-type')?.split(';')[0]?.trim().toLowerCase()
	if (type && type !== 'application/json' && !type.endsWith('+json')) {
		throw new ApiError(415, 'unsupported_media_type', `Request body must be JSON (Content-Type: application/json), not ${type}.`)
	}
	const text = await readLimited(request)
	try {
		return JSON.parse(text)
	} catch {
		throw new ApiError(400, 'invalid_json', 'Request body is not valid JSON.')
	}
}

async function readLimited(request: Request): Promise<string> {
	// With a Content-Length (already checked against the limit) the runtime reads it natively, far
	// faster than pulling the stream chunk by chunk (a third of a PATCH's time, bun run bench).
	// Checked before `request.body`: merely touching that makes Bun build a stream (about 1 µs).
	if (request.headers.get('content-length') !== null) return request.text()
	if (!request.body) return ''
	const chunks: Uint8Array[] = []
	let size = 0
	for await (const chunk of request.body) {
		size += chunk.byteLength
		if (size > MAX_BODY_BYTES) {
			await request.body.cancel().catch(() => {})
			throw payloadTooLarge()
		}
		chunks.push(chunk)
	}
	return new TextDecoder('utf-8', { fatal: false }).decode(Buffer.concat(chunks))
}

/**
 * The `limitedJson` body parser: routes name it with `parse: ['limitedJson', 'json']` (the second
 * never runs; it tells the OpenAPI document the body is JSON).
 */
export const jsonBody = new Elysia({ name: 'json-body' }).parser('limitedJson', ({ request }) => readJsonBody(request))
