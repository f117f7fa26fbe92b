import { t } from 'elysia'

/**
 * A failure the client should hear about, with the HTTP status it maps to and a stable
 * snake_case `code`. The `message` is a sentence shown to people: never put a token,
 * secret, SQL or stack trace in it.
 */
export class ApiError extends Error {
	constructor(
		readonly status: number,
		readonly code: string,
		message: string,
		readonly extra?: Record<string, unknown>,
		readonly headers?: Record<string, string>,
	) {
		super(message)
		this.name = 'ApiError'
	}
}

export const badRequest = (code: string, message: string) => new ApiError(400, code, message)
export const unauthorized = (code: string, message: string) =>
	new ApiError(401, code, message, undefined, { 'www-authenticate': 'Bearer' })
export const notFound = (code: string, message: string) => new ApiError(404, code, message)
export const conflict = (code: string, message: string) => new ApiError(409, code, message)
export const invalidField = (field: string, message: string) =>
	new ApiError(422, 'validation_failed', `Invalid request body: "${field}" ${message}.`, { field })
export const invalidQuery = (parameter: string, message: string) =>
	new ApiError(422, 'validation_failed', `Invalid query parameter: "${parameter}" ${message}.`, { field: parameter })
export const notImplemented = (message: string) => new ApiError(501, 'not_implemented', message)
export const forbidden = (code: string, message: string) => new ApiError(403, code, message)
export const gone = (code: string, message: string) => new ApiError(410, code, message)
export const internal = (code: string, message: string) => new ApiError(500, code, message)
export const unavailable = (code: string, message: string) => new ApiError(503, code, message)
/** The file store (an object store) is down, unreachable or refusing us: error-handler.ts maps StorageUnavailableError here. */
export const storageUnavailable = () =>
	new ApiError(503, 'storage_unavailable', "The server's file storage cannot be reached right now, so no file was stored or read; try again in a moment.", undefined, { 'retry-after': '5' })
/** The database (PostgreSQL) cannot be reached or gave up: error-handler.ts maps DatabaseUnavailableError and a lost connection here. */
export const databaseUnavailable = () =>
	new ApiError(503, 'database_unavailable', "The server's database cannot be reached right now, so this request was not carried out; try again in a moment.", undefined, { 'retry-after': '5' })
/** A write met a full disk (error-handler.ts maps SQLITE_FULL and ENOSPC here, from any route). */
export const insufficientStorage = () => new ApiError(507, 'insufficient_storage', "The server's disk is full, so nothing was stored; try again once room has been freed.")

/** The one body every error response carries. */
export interface ErrorBody {
	success: false
	error: string
	code: string
	[extra: string]: unknown
}

export const errorBody = (error: ApiError): ErrorBody => ({
	success: false,
	error: error.message,
	code: error.code,
	...error.extra,
})

/** The error body's schema, for the OpenAPI document. */
export const ErrorResponse = t.Object({
	success: t.Literal(false),
	error: t.String({ description: 'A sentence for people' }),
	code: t.String({ description: 'Stable snake_case identifier' }),
	field: t.Optional(t.String({ description: 'The offending body field or query parameter (422 only)' })),
})

/** `response` entries for a route's error statuses: `{ 200: Thing, ...errorResponses(401, 404) }`. */
export const errorResponses = (...statuses: number[]): Record<number, typeof ErrorResponse> => Object.fromEntries(statuses.map((s) => [s, ErrorResponse]))
