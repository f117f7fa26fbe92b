import { ValueErrorType } from '@sinclair/typebox/errors'
import { Elysia, ValidationError } from 'elysia'
import { isDiskFull } from '../db/client'
import { DbMeter } from '../db/meter'
import { isDatabaseUnavailable } from '../db/postgres-errors'
import { describeError, type Logger } from '../log'
import { StorageUnavailableError } from '../storage/store'
import { ApiError, databaseUnavailable, errorBody, insufficientStorage, invalidField, invalidQuery, storageUnavailable } from './errors'

/**
 * The one place failures become responses: every error body is `{success:false,error,code}`.
 * A full disk met anywhere (SQLITE_FULL, PostgreSQL's 53100, ENOSPC) is a 507, the file store or the
 * database unreachable a 503, each
 * logged for the operator as a warning.
 * Anything else unexpected is a generic 500, logged here without stack, SQL or request data.
 */
export const errorHandler = (log: Logger) =>
	new Elysia({ name: 'error-handler' }).onError({ as: 'global' }, (context) => {
		const { code, error, request, set } = context
		const meter = 'meter' in context && context.meter instanceof DbMeter ? context.meter : new DbMeter()
		set.headers['server-timing'] = meter.serverTiming()

		const path = new URL(request.url).pathname
		/** A refusal the operator is told of as a warning: the client gets `refusal` with its headers. */
		const refuse = (refusal: ApiError, warning: string, fields: Record<string, unknown>) => {
			log.warn(warning, { method: request.method, path, ...fields })
			Object.assign(set.headers, refusal.headers)
			set.status = refusal.status
			return errorBody(refusal)
		}
		if (isDiskFull(error)) return refuse(insufficientStorage(), 'the disk is full: a write was refused', describeError(error))
		if (error instanceof StorageUnavailableError) return refuse(storageUnavailable(), 'the file storage is unavailable: a request was refused', { reason: error.message })
		if (isDatabaseUnavailable(error)) return refuse(databaseUnavailable(), 'the database is unavailable: a request was refused', describeError(error))
		const known = toApiError(code, error, request)
		if (known) {
			Object.assign(set.headers, known.headers)
			set.status = known.status
			return errorBody(known)
		}
		log.error('unexpected error', { method: request.method, path, ...describeError(error) })
		set.status = 500
		return { success: false, error: 'Something went wrong on the server; it has been logged.', code: 'internal_error' }
	})

function toApiError(code: string | number, error: unknown, request: Request): ApiError | undefined {
	if (error instanceof ApiError) return error
	if (code === 'PARSE') {
		const cause = (error as Error).cause
		return cause instanceof ApiError ? cause : new ApiError(400, 'invalid_json', 'Request body is not valid JSON.')
	}
	if (error instanceof ValidationError) return fromValidation(error)
	if (code === 'NOT_FOUND') {
		return new ApiError(404, 'not_found', `No such endpoint: ${request.method} ${new URL(request.url).pathname}.`)
	}
	return undefined
}

/** Names the first offending field (or query parameter), in the schema's own words where it gives them. */
function fromValidation(error: ValidationError): ApiError {
	const issue = error.valueError
	const field = issue?.path.replace(/^\//, '').replaceAll('/', '.') || 'body'
	const custom = (issue?.schema as { error?: unknown } | undefined)?.error
	const message = typeof custom === 'string' ? custom : (issue?.message ?? 'is invalid').replace(/^Expected/, 'must be')
	if (error.type === 'query') return invalidQuery(field, message)
	// a path segment that breaks its rule names nothing there is
	if (error.type === 'params') return new ApiError(404, 'not_found', 'Not found.')
	if (issue?.message === 'Unexpected property') return invalidField(field, 'is not a field that can be changed')
	// a missing required field is a 400 (the request is incomplete), a bad value a 422 (README, API)
	if (issue?.type === ValueErrorType.ObjectRequiredProperty) return new ApiError(400, 'missing_field', `Invalid request body: "${field}" is required.`, { field })
	if (field === 'body') return new ApiError(422, 'validation_failed', 'Invalid request body: "body" must be a JSON object.', { field })
	return invalidField(field, message)
}
