import { Elysia, t } from 'elysia'
import { sessionCookie, type BrowserSessionOptions } from '../auth/browser-session'
import type { AuthService } from '../auth/service'
import { cookieValue, overTls } from '../auth/session'
import { normalizeCode } from '../dev/device-flow'
import { decisionPage, escapeHtml, html, page, readForm } from '../dev/device-page'
import { ApiError } from '../http/errors'
import { serverTiming } from '../http/server-timing'
import { describeError, type Logger } from '../log'
import { IDP_PREFIX, type ServerIdentityProvider } from '.'
import { OidcProviderError, type OidcClient } from './oidc'

export type SignInPurpose = { kind: 'device'; userCode: string } | { kind: 'dashboard'; next: string }

const DEVICE_PAGE = `${IDP_PREFIX}/device`
export const CALLBACK_PATH = `${IDP_PREFIX}/callback`
/** The browser's half of `state`: a sign-in finishes only in the browser that started it. Lax: it must ride the provider's redirect back. */
const STATE_COOKIE = 'dreamlake_oidc'

/** Only a path of the dashboard: never another site. */
const dashboardPath = (next: string | undefined) => (next && next.startsWith('/ui/') && !next.startsWith('//') && !next.includes('\\') ? next : '/ui/')

function problemPage(title: string, problem: string, status: number): Response {
	return html(page(title, `<h1>${escapeHtml(title)}</h1><p class="error" role="alert">${escapeHtml(problem)}</p>`), status)
}

/**
 * IDENTITY=oidc's pages: the authorization-code flow with PKCE, `state` (bound to this browser by a
 * cookie) and `nonce`, whose one redirect URI is `<PUBLIC_URL>/idp/callback`. It signs in the
 * dashboard (GET /auth/oidc/start) and, when the provider has no device grant, approves
 * `dreamlake login`'s code (GET/POST /idp/device) with the provider's ID token.
 */
export function oidcRoutes(oidc: OidcClient<SignInPurpose>, idp: ServerIdentityProvider, auth: AuthService, options: Pick<BrowserSessionOptions, 'trustProxy' | 'sessionSeconds'> & { publicUrl: string }, log: Logger) {
	const redirectUri = `${options.publicUrl}${CALLBACK_PATH}`
	const providerName = new URL(oidc.endpoints.issuer).host
	/** A 303 to the provider, with the cookie holding `state`. */
	const toProvider = (request: Request, purpose: SignInPurpose) => {
		const { url, state } = oidc.authorize(redirectUri, purpose)
		const cookie = [`${STATE_COOKIE}=${state}`, `Path=${CALLBACK_PATH}`, 'HttpOnly', 'SameSite=Lax', 'Max-Age=600', ...(overTls(request, options.trustProxy) ? ['Secure'] : [])].join('; ')
		return new Response(null, { status: 303, headers: { location: url, 'set-cookie': cookie, 'cache-control': 'no-store' } })
	}
	const approvalPage = (code: string, problem?: string) =>
		page(
			'Approve a DreamLake login',
			`<h1>Approve a DreamLake login</h1>
${problem ? `<p class="error" role="alert">${escapeHtml(problem)}</p>` : ''}
<p>Approve only a code your own <code>dreamlake login</code> shows: you sign in at <strong>${escapeHtml(providerName)}</strong>, and the terminal that shows this code gets your access.</p>
<form method="post" action="${DEVICE_PAGE}">
<label for="code">Code shown by <code>dreamlake login</code></label>
<input id="code" name="code" value="${escapeHtml(code.length === 8 ? `${code.slice(0, 4)}-${code.slice(4)}` : code)}" autocomplete="off" spellcheck="false" required>
<div class="buttons"><button type="submit" name="action" value="approve">Sign in at ${escapeHtml(providerName)}</button><button type="submit" name="action" value="deny">Deny</button></div>
</form>`,
		)
	return new Elysia()
		.use(serverTiming)
		.get(DEVICE_PAGE, ({ query }) => html(approvalPage(normalizeCode(query.code ?? ''))), {
			query: t.Object({ code: t.Optional(t.String()) }, { additionalProperties: true }),
			detail: { summary: 'The page where a person approves a `dreamlake login` by signing in at the OpenID provider', tags: ['Identity'] },
		})
		.post(
			DEVICE_PAGE,
			async ({ request }) => {
				const form = await readForm(request)
				const code = normalizeCode(form.get('code') ?? '')
				const waiting = idp.devices.pending(code)
				if ('problem' in waiting) return html(approvalPage(code, waiting.problem), 400)
				if (form.get('action') === 'deny') {
					idp.devices.decide(code, { deny: true })
					return html(decisionPage(false, waiting.from))
				}
				return toProvider(request, { kind: 'device', userCode: code })
			},
			{ parse: 'none', detail: { summary: 'Approve (through the provider’s sign-in) or deny a `dreamlake login`', tags: ['Identity'] } },
		)
		.get('/auth/oidc/start', ({ request, query }) => toProvider(request, { kind: 'dashboard', next: dashboardPath(query.next) }), {
			query: t.Object({ next: t.Optional(t.String()) }, { additionalProperties: true }),
			detail: { summary: 'Dashboard sign-in (IDENTITY=oidc): off to the provider', description: 'A 303 to the provider’s authorization endpoint (code flow, PKCE S256, state, nonce); it comes back to /idp/callback, which sets the session cookie.', tags: ['Auth'] },
		})
		.get(
			CALLBACK_PATH,
			async ({ request, query, meter }) => {
				const pending = oidc.take(query.state ?? '', cookieValue(request.headers.get('cookie'), STATE_COOKIE))
				const clearState = [`${STATE_COOKIE}=`, `Path=${CALLBACK_PATH}`, 'HttpOnly', 'SameSite=Lax', 'Max-Age=0'].join('; ')
				const done = (response: Response) => (response.headers.append('set-cookie', clearState), response)
				if (!pending) return done(problemPage('Sign-in not recognised', 'This sign-in is unknown, expired, or was started in another browser; start again.', 400))
				const { purpose } = pending
				if (query.error !== undefined || query.code === undefined) {
					if (purpose.kind === 'device') idp.devices.decide(purpose.userCode, { deny: true })
					return done(problemPage('Sign-in refused', `The identity provider did not sign you in${query.error ? ` (${query.error.slice(0, 100)})` : ''}; nothing was approved.`, 403))
				}
				let redeemed: { idToken: string; username: string | null }
				try {
					redeemed = await oidc.redeem(pending, query.code)
				} catch (error) {
					if (!(error instanceof OidcProviderError) && !(error instanceof ApiError)) throw error
					log.warn('OpenID Connect sign-in failed', describeError(error))
					return done(problemPage('Sign-in failed', 'The identity provider’s answer could not be used; start again.', 502))
				}
				if (purpose.kind === 'device') {
					const flow = idp.devices.decide(purpose.userCode, { approve: { token: redeemed.idToken, username: redeemed.username ?? 'you' } })
					if ('problem' in flow) return done(problemPage('Login not approved', flow.problem, 400))
					return done(html(decisionPage(true, flow.from, redeemed.username ?? undefined)))
				}
				const { token, account } = await auth.exchangeVuerToken(meter, redeemed.idToken)
				// a page of this site moves on, not a redirect: a SameSite=Strict cookie set in a chain that began at the provider would not be sent
				const next = escapeHtml(purpose.next)
				const response = html(page('Signed in', `<meta http-equiv="refresh" content="0;url=${next}"><h1>Signed in</h1><p class="ok" role="status">Signed in as <strong>${escapeHtml(account.user.username ?? account.namespace.slug)}</strong>. <a href="${next}">Continue to the dashboard</a>.</p>`))
				response.headers.append('set-cookie', sessionCookie(request, token, options))
				return done(response)
			},
			{
				query: t.Object({ code: t.Optional(t.String()), state: t.Optional(t.String()), error: t.Optional(t.String()) }, { additionalProperties: true }),
				detail: { summary: 'Where the OpenID provider sends the person back (the redirect URI to register: <PUBLIC_URL>/idp/callback)', tags: ['Identity'] },
			},
		)
}
