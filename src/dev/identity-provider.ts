import { Elysia, t } from 'elysia'
import type { JWK } from 'jose'
import type { DeviceAuthority } from '../auth/device-authority'
import { isValidUsername, Username, USERNAME_RULE } from '../auth/model'
import { BODY_LIMITS, jsonBody, readJsonBody } from '../http/body'
import { hasControlCharacters } from '../http/fields'
import { deviceApiRoutes } from '../idp/device-api'
import { LocalSigningKey } from '../idp/signing-key'
import { DeviceFlows, displayCode, normalizeCode, POLL_INTERVAL_S, type FlowOrigin } from './device-flow'
import { approvalPage, decisionPage, html, readForm } from './device-page'

export const DEV_ISSUER = 'dreamlake-dev-idp'
export const DEV_KEY_FILE = 'dev-idp-key.json'
const DEV_TOKEN_LIFETIME_SECONDS = 3600

export class InvalidDevUsername extends Error {
	constructor(username: string) {
		super(`"${username}" is not a username: it ${USERNAME_RULE}.`)
	}
}

/**
 * `serve --dev`: a local stand-in for vuer-auth, so the whole exchange → me → patch flow runs
 * offline. Its Ed25519 key lives in the data folder (mode 0600), shared with `dev-token`.
 * Anyone who can read that file can mint identities: development only, loopback only.
 */
export class DevIdentityProvider {
	/** `dreamlake login`'s device flow, served under /dev/vuer-auth/api/device/… and /dev/vuer-auth/device. */
	readonly devices: DeviceFlows

	private constructor(
		private readonly key: LocalSigningKey,
		options: DevIdentityOptions = {},
	) {
		this.devices = new DeviceFlows(options.codeTtlMs)
	}

	get publicJwk(): JWK {
		return this.key.publicJwk
	}

	/** Loads the key from `folder`, creating it on first use; `null` keeps a throwaway key in memory. */
	static async open(folder: string | null, options: DevIdentityOptions = {}): Promise<DevIdentityProvider> {
		return new DevIdentityProvider(await LocalSigningKey.open(folder, DEV_KEY_FILE, 'dev'), options)
	}

	/** A vuer-auth-shaped token for `username` (sub `dev|<username>`), valid for an hour. */
	mint(username: string, profile: { name?: string; email?: string } = {}): Promise<string> {
		if (!isValidUsername(username)) throw new InvalidDevUsername(username)
		return this.key.sign({ username, name: profile.name || username, email: profile.email || `${username}@example.com`, email_verified: true }, { subject: `dev|${username}`, issuer: DEV_ISSUER, lifetimeSeconds: DEV_TOKEN_LIFETIME_SECONDS })
	}

	/** The device flow in-process, for the dashboard's sign-in (auth/browser-session.ts) under --dev; its HTTP routes (`dreamlake login`'s) answer the same. */
	deviceAuthority(from: FlowOrigin = 'dashboard'): DeviceAuthority {
		return {
			start: async (deviceSecretHash, origin) => {
				const flow = this.devices.start(deviceSecretHash, from)
				const page = `${origin}${DEV_PREFIX}/device`
				return { deviceCode: flow.deviceCode, userCode: displayCode(flow.userCode), verificationUri: page, verificationUriComplete: `${page}?code=${flow.userCode}`, expiresIn: Math.round((flow.expiresAt - Date.now()) / 1000), interval: POLL_INTERVAL_S }
			},
			poll: async (deviceSecretHash) => {
				const outcome = this.devices.poll(deviceSecretHash)
				if ('error' in outcome) return outcome
				const { username, name, email } = outcome.approval
				return { accessToken: await this.mint(username, { name, email }), expiresIn: DEV_TOKEN_LIFETIME_SECONDS }
			},
		}
	}

	/**
	 * GET /dev/vuer-auth/jwks, POST /dev/vuer-auth/token {"username"}, and the device flow of
	 * `dreamlake login` (VUER_AUTH_URL=<server>/dev/vuer-auth): POST …/api/device/start and
	 * …/api/device/poll, which answer in RFC 8628's terms (`{error: "authorization_pending"}`) as
	 * vuer-auth does, and the approval page GET/POST …/device.
	 */
	routes() {
		const pagePath = `${DEV_PREFIX}/device`
		const authority = this.deviceAuthority('cli')
		return new Elysia({ prefix: DEV_PREFIX })
			.use(jsonBody)
			.parser('curlJson64KiB', ({ request }) => readJsonBody(curlFormAsJson(request), BODY_LIMITS.json64KiB))
			.use(deviceApiRoutes('', authority, { tag: 'Development', what: 'Development only' }))
			.get('/jwks', () => ({ keys: [this.publicJwk] }), { detail: { summary: 'Development only: the stand-in provider\'s key set', tags: ['Development'] } })
			.post('/token', async ({ body }) => ({ token: await this.mint(body.username), expires_in: DEV_TOKEN_LIFETIME_SECONDS }), {
				parse: ['curlJson64KiB', 'json'],
				body: t.Object({ username: Username }, { additionalProperties: false }),
				detail: { summary: 'Development only: mint a vuer-auth token for a username', tags: ['Development'] },
			})
			.get('/device', ({ query }) => html(approvalPage(pagePath, normalizeCode(query.code ?? ''))), {
				query: t.Object({ code: t.Optional(t.String()) }, { additionalProperties: true }),
				detail: { summary: 'Development only: the page where a person approves a login', tags: ['Development'] },
			})
			.post(
				'/device',
				async ({ request }) => {
					const form = await readForm(request)
					const code = normalizeCode(form.get('code') ?? '')
					const values = { username: (form.get('username') ?? '').trim(), name: (form.get('name') ?? '').trim(), email: (form.get('email') ?? '').trim() }
					const again = (problem: string) => html(approvalPage(pagePath, code, problem, values), 400)
					if (form.get('action') === 'deny') {
						const flow = this.devices.decide(code, { deny: true })
						return 'problem' in flow ? again(flow.problem) : html(decisionPage(false, flow.from))
					}
					if (!isValidUsername(values.username)) return again(`The username ${USERNAME_RULE}.`)
					if (values.name.length > 100 || hasControlCharacters(values.name)) return again('The name is at most 100 characters, without control characters.')
					if (values.email !== '' && !/^[^\s@]{1,64}@[^\s@]{1,255}$/.test(values.email)) return again('The email does not look like one (name@example.com).')
					const flow = this.devices.decide(code, { approve: { username: values.username, ...(values.name && { name: values.name }), ...(values.email && { email: values.email }) } })
					return 'problem' in flow ? again(flow.problem) : html(decisionPage(true, flow.from, values.username))
				},
				{ parse: 'none', detail: { summary: 'Development only: approve or deny a login (the page’s form)', tags: ['Development'] } },
			)
	}
}

export const DEV_PREFIX = '/dev/vuer-auth'

export interface DevIdentityOptions {
	/** How long a device code lives (10 minutes). */
	codeTtlMs?: number
}

/**
 * `curl -d '{"username":"alice"}'` sends its JSON as curl's default type, a urlencoded form: the
 * stand-in, there for scripts and curl, reads such a body as the JSON it is.
 */
function curlFormAsJson(request: Request): Request {
	if (request.headers.get('content-type')?.split(';')[0]?.trim().toLowerCase() !== 'application/x-www-form-urlencoded') return request
	const headers = new Headers(request.headers)
	headers.delete('content-type')
	return new Request(request.url, { method: request.method, headers, body: request.body })
}
