import { DbMeter } from '../db/meter'
import type { Logger } from '../log'
import { declaredBodyTooLarge, MAX_JSON_BODY_BYTES, payloadTooLarge } from './body'
import { errorBody } from './errors'

const SANE_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/
/** Request ids: a random prefix per process plus a counter, unique without a UUID per request. */
const PROCESS_PREFIX = crypto.randomUUID().slice(0, 8)
let sequence = 0

export interface OperationsOptions {
	log: Logger
	/** `serve --dev`: every response says so. */
	devMode?: boolean
	/** The largest upload body (`POST /episodes/{id}/files`): MAX_FILE_SIZE and room for its form fields. */
	maxUploadBytes?: number
}

/** The one route whose body may be larger than any JSON body: a file upload. */
const UPLOAD = /^\/episodes\/[^/]+\/files\/?$/

type Fetch = (request: Request) => Response | Promise<Response>

/**
 * What every request gets around the app, in one function rather than Elysia hooks (which cost
 * several µs a request, bun run bench): an `X-Request-Id` (the caller's when sane, else a new
 * one), `total;dur=<ms>` in `Server-Timing`, one log line (id, method, path, status, duration; never headers, query or body, so never
 * a token), and a 413 for a declared body over the largest any route takes, before a byte of it is read
 * (each route refuses what is over its own limit: http/body.ts).
 */
export function withOperations(appFetch: Fetch, { log, devMode = false, maxUploadBytes = MAX_JSON_BODY_BYTES }: OperationsOptions): (request: Request) => Promise<Response> {
	// a body over the smaller limit is looked at closer: an upload may be as large as its own limit, anything else as the JSON one
	const threshold = Math.min(MAX_JSON_BODY_BYTES, maxUploadBytes)
	const tooLargeFor = (request: Request, path: string): Response | undefined => {
		if (!declaredBodyTooLarge(request, threshold)) return undefined
		const limit = request.method === 'POST' && UPLOAD.test(path) ? maxUploadBytes : MAX_JSON_BODY_BYTES
		return declaredBodyTooLarge(request, limit) ? tooLarge(limit) : undefined
	}
	return async (request) => {
		const started = performance.now()
		const given = request.headers.get('x-request-id')
		const id = given !== null && SANE_REQUEST_ID.test(given) ? given : `${PROCESS_PREFIX}-${(++sequence).toString(36)}`
		const url = request.url
		const pathStart = url.indexOf('/', url.indexOf('//') + 2)
		const queryStart = url.indexOf('?', pathStart)
		const path = queryStart < 0 ? url.slice(pathStart) : url.slice(pathStart, queryStart)
		// Elysia looks for the path from the 12th character on, as if every host had 4 or more: with
		// `Host: api` every route was a 404. Such a request reaches it under a longer stand-in host.
		const routed = pathStart < 11 ? new Request(`http://short-host${url.slice(pathStart)}`, request) : request
		const response = tooLargeFor(request, path) || (await appFetch(routed))
		response.headers.set('x-request-id', id)
		if (devMode) response.headers.set('x-dreamlake-dev-mode', 'on')
		const ms = Math.round((performance.now() - started) * 1000) / 1000
		// the whole request as the server saw it, beside the database's share (a streamed body: until its Response was made)
		response.headers.append('server-timing', `total;dur=${ms}`)
		log.request(id, request.method, path, response.status, ms)
		return response
	}
}

function tooLarge(limit: number): Response {
	const error = payloadTooLarge(limit)
	return Response.json(errorBody(error), { status: error.status, headers: { ...error.headers, 'server-timing': new DbMeter().serverTiming() } })
}
