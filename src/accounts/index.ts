import { Elysia, t } from 'elysia'
import { sessionCookie, type BrowserSessionOptions } from '../auth/browser-session'
import type { CallerGuard } from '../auth/guard'
import { profileJson } from '../auth/model'
import type { AuthService } from '../auth/service'
import { requireCsrfHeader } from '../auth/session'
import { decisionPage, html, readForm } from '../dev/device-page'
import { normalizeCode } from '../dev/device-flow'
import { ApiError, errorResponses } from '../http/errors'
import { jsonBody } from '../http/body'
import { clientAddress } from '../http/rate-limit'
import { serverTiming } from '../http/server-timing'
import { IDP_PREFIX, type ServerIdentityProvider } from '../idp'
import { linkGonePage, passwordApprovalPage, passwordSetPage, setPasswordPage } from './pages'
import { builtinSub, SET_PASSWORD_PATH, type PasswordAccounts } from './service'
import type { PasswordAccountRow } from '../db/schema'
import type { InvitationService } from '../namespaces/invitations'

const DEVICE_PAGE = `${IDP_PREFIX}/device`
const Password = t.String({ maxLength: 1024 })

const identityOf = (account: PasswordAccountRow) => ({ sub: builtinSub(account.id), username: account.username, email: null, name: null, givenName: null, familyName: null, picture: null, emailVerified: null })

/**
 * IDENTITY=builtin's pages and endpoints:
 * - GET/POST /idp/device: `dreamlake login`'s code approved with a username and password;
 * - GET/POST /idp/set-password: the one-time link of `user add` / `user reset-password`;
 * - POST /auth/password/sign-in: the dashboard's sign-in form, ending in the session cookie;
 * - POST /auth/password: a signed-in person changes their password;
 * - POST /invitations/:token/sign-up: a new person, holding an invitation, makes an account and joins.
 */
export const passwordRoutes = (passwords: PasswordAccounts, idp: ServerIdentityProvider, auth: AuthService, invitations: InvitationService, guard: CallerGuard, options: Pick<BrowserSessionOptions, 'trustProxy' | 'sessionSeconds'>) => {
	const addressOf = (request: Request, server: { requestIP(request: Request): { address: string } | null } | null) => clientAddress(request, server?.requestIP(request)?.address, options.trustProxy)
	return new Elysia()
		.use(serverTiming)
		.use(guard)
		.use(jsonBody)
		.get(DEVICE_PAGE, ({ query }) => html(passwordApprovalPage(DEVICE_PAGE, normalizeCode(query.code ?? ''))), {
			query: t.Object({ code: t.Optional(t.String()) }, { additionalProperties: true }),
			detail: { summary: 'The page where a person approves a `dreamlake login` with their password', tags: ['Identity'] },
		})
		.post(
			DEVICE_PAGE,
			async ({ request, server, meter }) => {
				const form = await readForm(request)
				const code = normalizeCode(form.get('code') ?? '')
				const username = (form.get('username') ?? '').trim()
				const again = (problem: string, status = 400) => html(passwordApprovalPage(DEVICE_PAGE, code, problem, username), status)
				const waiting = idp.devices.pending(code)
				if ('problem' in waiting) return again(waiting.problem)
				if (form.get('action') === 'deny') {
					idp.devices.decide(code, { deny: true })
					return html(decisionPage(false, waiting.from))
				}
				let account: PasswordAccountRow
				try {
					account = await passwords.signIn(meter, username, form.get('password') ?? '', addressOf(request, server))
				} catch (error) {
					if (error instanceof ApiError) return again(error.message, error.status)
					throw error
				}
				const flow = idp.devices.decide(code, { approve: { sub: builtinSub(account.id), username: account.username } })
				return 'problem' in flow ? again(flow.problem) : html(decisionPage(true, flow.from, account.username))
			},
			{ parse: 'none', detail: { summary: 'Approve or deny a `dreamlake login` (the page’s form: code, username, password)', tags: ['Identity'] } },
		)
		.get(
			SET_PASSWORD_PATH,
			({ query, meter }) => {
				const token = query.token ?? ''
				try {
					return html(setPasswordPage(SET_PASSWORD_PATH, token, passwords.linkAccount(meter, token).username))
				} catch (error) {
					if (error instanceof ApiError) return html(linkGonePage(error.message), error.status)
					throw error
				}
			},
			{
				query: t.Object({ token: t.Optional(t.String()) }, { additionalProperties: true }),
				detail: { summary: 'The page a one-time set-password link opens', tags: ['Identity'] },
			},
		)
		.post(
			SET_PASSWORD_PATH,
			async ({ request, meter }) => {
				const form = await readForm(request)
				const token = form.get('token') ?? ''
				let username: string
				try {
					username = passwords.linkAccount(meter, token).username
				} catch (error) {
					if (error instanceof ApiError) return html(linkGonePage(error.message), error.status)
					throw error
				}
				const password = form.get('password') ?? ''
				if (password !== form.get('confirm')) return html(setPasswordPage(SET_PASSWORD_PATH, token, username, 'The two passwords differ; type the same one twice.'), 400)
				try {
					await passwords.setPasswordWithLink(meter, token, password)
				} catch (error) {
					if (!(error instanceof ApiError)) throw error
					return html(error.status === 410 ? linkGonePage(error.message) : setPasswordPage(SET_PASSWORD_PATH, token, username, error.message), error.status)
				}
				return html(passwordSetPage(username))
			},
			{ parse: 'none', detail: { summary: 'Set a password with a one-time link (the page’s form)', tags: ['Identity'] } },
		)
		.post(
			'/auth/password/sign-in',
			async ({ request, server, meter, body }) => {
				requireCsrfHeader(request)
				const account = await passwords.signIn(meter, body.username, body.password, addressOf(request, server))
				const { token, account: signedIn } = await auth.signIn(meter, identityOf(account))
				return new Response(`{"status":"signed_in","user":${profileJson(signedIn)}}`, {
					headers: { 'content-type': 'application/json', 'cache-control': 'no-store', 'set-cookie': sessionCookie(request, token, options) },
				})
			},
			{
				parse: ['json64KiB', 'json'],
				body: t.Object({ username: t.String({ maxLength: 100 }), password: Password }, { additionalProperties: false }),
				response: { 200: t.Object({ status: t.Literal('signed_in'), user: t.Unknown() }), ...errorResponses(400, 401, 403, 429) },
				detail: {
					summary: 'Dashboard sign-in with a built-in account (IDENTITY=builtin)',
					description: 'Sets the session cookie. A wrong username and a wrong password answer alike (401); too many tries answer 429 (per address, and per account: the sentence says when it unlocks). Needs `X-DreamLake-CSRF: 1`.',
					tags: ['Auth'],
				},
			},
		)
		.post(
			'/invitations/:token/sign-up',
			async ({ request, server, meter, params, body }) => {
				requireCsrfHeader(request)
				invitations.preview(meter, params.token) // 404 or 410 before an account is made
				const made = await passwords.signUp(meter, body.username, body.password, addressOf(request, server))
				const { token, account } = await auth.signIn(meter, identityOf(made))
				const joined = await invitations.accept(meter, account, params.token)
				return new Response(JSON.stringify({ status: 'signed_in', user: JSON.parse(profileJson(account)), namespace: { slug: joined.namespace.slug }, role: joined.role }), {
					headers: { 'content-type': 'application/json', 'cache-control': 'no-store', 'set-cookie': sessionCookie(request, token, options) },
				})
			},
			{
				parse: ['json64KiB', 'json'],
				params: t.Object({ token: t.String() }),
				body: t.Object({ username: t.String({ maxLength: 100 }), password: Password }, { additionalProperties: false }),
				response: { 200: t.Object({ status: t.Literal('signed_in'), user: t.Unknown(), namespace: t.Object({ slug: t.String() }), role: t.String() }), ...errorResponses(400, 403, 404, 409, 410, 429) },
				detail: {
					summary: 'A new person makes a built-in account with an invitation link, and joins (IDENTITY=builtin)',
					description: 'Sets the session cookie. The invitation is checked first (404, 410) and used up as an accept does. Needs `X-DreamLake-CSRF: 1`.',
					tags: ['Auth'],
				},
			},
		)
		.post(
			'/auth/password',
			async ({ request, server, meter, caller, body }) => {
				await passwords.changePassword(meter, caller.user.sub, body.currentPassword, body.newPassword, addressOf(request, server))
				return { success: true as const }
			},
			{
				caller: true,
				parse: ['json64KiB', 'json'],
				body: t.Object({ currentPassword: Password, newPassword: Password }, { additionalProperties: false }),
				response: { 200: t.Object({ success: t.Literal(true) }), ...errorResponses(400, 401, 404, 429) },
				detail: { summary: "Change the caller's built-in password (IDENTITY=builtin)", description: 'The current password is checked as a sign-in is (same limits).', tags: ['Auth'] },
			},
		)
}
