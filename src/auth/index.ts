import { Elysia } from 'elysia'
import { readJsonBody } from '../http/body'
import { serverTiming } from '../http/server-timing'
import { bearerToken } from './bearer'
import {
	ErrorResponse,
	ExchangeResponse,
	ProfilePatch,
	ProfileResponse,
	ProfileUpdateResponse,
	toExchangeResponse,
	toProfileResponse,
	toProfileUpdateResponse,
} from './model'
import type { AccountRepository } from './repository'
import type { AuthService } from './service'

const errors = (...statuses: number[]) => Object.fromEntries(statuses.map((s) => [s, ErrorResponse]))

/** The Auth API: /auth/exchange, /auth/me (GET, PATCH). */
export const authRoutes = (service: AuthService, accounts: AccountRepository) =>
	new Elysia({ prefix: '/auth' })
		.use(serverTiming)
		.derive(({ meter }) => ({ accounts: accounts.withMeter(meter) }))
		.parser('limitedJson', ({ request }) => readJsonBody(request))
		.macro({
			/** Requires a dreamlake token and hands the handler its verified claims as `caller`. */
			dreamlakeToken: {
				async resolve({ headers }) {
					return { caller: await service.authenticate(bearerToken(headers.authorization)) }
				},
			},
		})
		.post(
			'/exchange',
			async ({ headers, accounts }) => {
				const { token, account, isNewUser } = await service.exchangeVuerToken(accounts, bearerToken(headers.authorization))
				return toExchangeResponse(account, token, isNewUser)
			},
			{
				response: { 200: ExchangeResponse, ...errors(400, 401, 429, 500, 503) },
				detail: {
					summary: 'Exchange a vuer-auth token for a dreamlake token',
					description: 'Send the vuer-auth token as `Authorization: Bearer <token>`, no body. Creates the user and their personal namespace on first login.',
					tags: ['Auth'],
					security: [{ vuerAuthToken: [] }],
				},
			},
		)
		.get('/me', ({ caller, accounts }) => toProfileResponse(service.currentAccount(accounts, caller)), {
			dreamlakeToken: true,
			response: { 200: ProfileResponse, ...errors(401, 500) },
			detail: { summary: "The caller's profile and personal namespace", tags: ['Auth'], security: [{ dreamlakeToken: [] }] },
		})
		.patch('/me', ({ caller, accounts, body }) => toProfileUpdateResponse(service.updateProfile(accounts, caller, body)), {
			dreamlakeToken: true,
			// 'json' never runs (limitedJson answers or throws); it tells the OpenAPI document the body is JSON
			parse: ['limitedJson', 'json'],
			body: ProfilePatch,
			response: { 200: ProfileUpdateResponse, ...errors(400, 401, 404, 409, 413, 415, 422, 500) },
			detail: { summary: "Update the caller's profile; only the fields sent change", tags: ['Auth'], security: [{ dreamlakeToken: [] }] },
		})
