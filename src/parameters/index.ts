import { Elysia, t } from 'elysia'
import { jsonBody } from '../http/body'
import { errorResponses } from '../http/errors'
import type { CallerGuard } from '../auth/guard'
import { wholeNumber } from '../http/paging'
import { ParametersHistory, ParametersMerge, ParametersResponse, toParametersResponse } from './model'
import type { ParameterService } from './service'

const tags = ['Parameters']
const IdPath = t.Object({ id: t.String() })

/** An episode's parameters: merge, read, and the history of writes. */
export const parameterRoutes = (parameters: ParameterService, guard: CallerGuard) =>
	new Elysia()
		.use(guard)
		.use(jsonBody)
		.post('/episodes/:id/parameters', async ({ caller, meter, params, body }) => toParametersResponse(await parameters.merge(meter, caller, params.id, body)), {
			caller: true,
			params: IdPath,
			parse: ['json1MiB', 'json'],
			body: ParametersMerge,
			response: { 200: ParametersResponse, ...errorResponses(400, 401, 403, 404, 413, 415, 422) },
			detail: {
				summary: 'Merge parameters, key by key',
				description: 'Nested objects are flattened to dot keys; a merge never removes a key; each merge that changes something is one version.',
				tags,
			},
		})
		.get('/episodes/:id/parameters', ({ caller, meter, params }) => toParametersResponse(parameters.get(meter, caller, params.id)), {
			reader: true,
			params: IdPath,
			response: { 200: ParametersResponse, ...errorResponses(401, 404) },
			detail: { summary: 'The parameters (404 parameters_not_found when none were ever set)', tags },
		})
		.get(
			'/episodes/:id/parameters/history',
			({ caller, meter, params, query }) =>
				parameters.history(meter, caller, params.id, wholeNumber('afterVersion', query.afterVersion, 0, 0, Number.MAX_SAFE_INTEGER), wholeNumber('limit', query.limit, 100, 1, 1000)),
			{
				reader: true,
				params: IdPath,
				query: t.Object(
					{
						afterVersion: t.Optional(t.String({ description: 'Entries after this version (default 0: from the first)' })),
						limit: t.Optional(t.String({ description: 'Entries per page (default 100, at most 1,000)' })),
					},
					{ additionalProperties: true },
				),
				response: { 200: ParametersHistory, ...errorResponses(401, 404, 422) },
				detail: { summary: 'The journal of parameter writes: what each changed, and who wrote it', tags },
			},
		)
