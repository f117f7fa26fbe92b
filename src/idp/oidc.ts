import type { DeviceAuthority, DevicePoll } from '../auth/device-authority'
import { VuerAuthVerifier } from '../auth/vuer-auth'
import { BoundedMap } from '../bounded-map'
import type { IdentityConfig } from '../config'
import { ApiError } from '../http/errors'
import type { Logger } from '../log'

export type OidcSettings = Extract<IdentityConfig, { mode: 'oidc' }>

/** What this server uses of the provider's discovery document. */
export interface OidcEndpoints {
	issuer: string
	authorizationEndpoint: string
	tokenEndpoint: string
	jwksUri: string
	/** RFC 8628; absent: /idp approves `dreamlake login`'s codes through the authorization-code flow. */
	deviceAuthorizationEndpoint?: string
}

/** Signature algorithms accepted from a provider: asymmetric only, as for vuer-auth. */
const ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519']
const TIMEOUT_MS = 10_000
/** How long a person has to sign in at the provider. */
const AUTHORIZATION_TTL_MS = 10 * 60_000

/** A device code of the provider's, kept by the server under the hash of the CLI's device secret. */
interface BridgedDevice {
	deviceCode: string
	expiresAt: number
}

/** The provider could not be reached or answered something unreadable. */
export class OidcProviderError extends Error {}

/** Reads `<issuer>/.well-known/openid-configuration`; its `issuer` must be the configured one exactly (OpenID Connect Discovery §4.3). */
export async function discover(issuer: string, fetchImpl: typeof fetch = fetch): Promise<OidcEndpoints> {
	const url = `${issuer}/.well-known/openid-configuration`
	let document: Record<string, unknown>
	try {
		const response = await fetchImpl(url, { headers: { accept: 'application/json' }, signal: AbortSignal.timeout(TIMEOUT_MS) })
		if (!response.ok) throw new Error(`HTTP ${response.status}`)
		document = (await response.json()) as Record<string, unknown>
	} catch (error) {
		throw new OidcProviderError(`could not read ${url} (${error instanceof Error ? error.message : String(error)})`)
	}
	const text = (name: string) => (typeof document[name] === 'string' && /^https?:\/\//.test(document[name] as string) ? (document[name] as string) : undefined)
	const found = text('issuer')?.replace(/\/+$/, '')
	if (found !== issuer) throw new OidcProviderError(`${url} names the issuer "${String(document.issuer)}", not OIDC_ISSUER "${issuer}"`)
	const authorizationEndpoint = text('authorization_endpoint')
	const tokenEndpoint = text('token_endpoint')
	const jwksUri = text('jwks_uri')
	if (!authorizationEndpoint || !tokenEndpoint || !jwksUri) throw new OidcProviderError(`${url} lacks authorization_endpoint, token_endpoint or jwks_uri`)
	const device = text('device_authorization_endpoint')
	return { issuer: text('issuer')!, authorizationEndpoint, tokenEndpoint, jwksUri, ...(device && { deviceAuthorizationEndpoint: device }) }
}

const randomToken = () => Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString('base64url')
const s256 = (verifier: string) => new Bun.CryptoHasher('sha256').update(verifier).digest('base64url')

/** An authorization request waiting for the person to come back: what the callback must find again. */
export interface PendingAuthorization<P> {
	codeVerifier: string
	nonce: string
	redirectUri: string
	expiresAt: number
	/** What the sign-in is for: a device code to approve, or the dashboard. */
	purpose: P
}

/**
 * The server as an OpenID Connect client (IDENTITY=oidc): tokens verified against the provider's
 * JWKS, issuer and audience (this client id, and OIDC_AUDIENCE for JWT access tokens); the
 * authorization-code flow with PKCE (S256), `state` and `nonce`; and the device grant bridged
 * for `dreamlake login` when the provider offers it.
 */
export class OidcClient<P = unknown> {
	readonly verifier: VuerAuthVerifier
	private readonly pending = new BoundedMap<string, PendingAuthorization<P>>(10_000)

	constructor(
		readonly settings: OidcSettings,
		readonly endpoints: OidcEndpoints,
		log: Logger,
		private readonly fetchImpl: typeof fetch = fetch,
	) {
		this.verifier = new VuerAuthVerifier(
			{ jwksUrl: endpoints.jwksUri, issuer: endpoints.issuer, audience: [settings.clientId, ...settings.audiences], algorithms: ALGORITHMS, usernameClaim: settings.usernameClaim, providerName: 'OpenID Connect provider' },
			log,
		)
	}

	/** Starts an authorization-code flow: the provider's URL to send the browser to, and the `state` naming it (for the browser's cookie). */
	authorize(redirectUri: string, purpose: P): { url: string; state: string } {
		const state = randomToken()
		const codeVerifier = randomToken()
		const nonce = randomToken()
		this.pending.set(state, { codeVerifier, nonce, redirectUri, purpose, expiresAt: Date.now() + AUTHORIZATION_TTL_MS })
		const query = new URLSearchParams({
			response_type: 'code',
			client_id: this.settings.clientId,
			redirect_uri: redirectUri,
			scope: this.settings.scopes.join(' '),
			state,
			nonce,
			code_challenge: s256(codeVerifier),
			code_challenge_method: 'S256',
		})
		const url = new URL(this.endpoints.authorizationEndpoint)
		for (const [name, value] of query) url.searchParams.set(name, value)
		return { url: url.href, state }
	}

	/**
	 * The request `state` names, taken (each once), if it is this browser's (its cookie holds the same
	 * state) and not expired; `undefined` otherwise.
	 */
	take(state: string, cookieState: string | undefined): PendingAuthorization<P> | undefined {
		if (state === '' || cookieState !== state) return undefined
		const found = this.pending.get(state)
		this.pending.delete(state)
		return found && found.expiresAt > Date.now() ? found : undefined
	}

	/** Trades the code (with the PKCE verifier) for the provider's ID token, verified, its nonce checked. */
	async redeem(pending: PendingAuthorization<P>, code: string): Promise<{ idToken: string; username: string | null }> {
		const { status, json } = await this.tokenRequest({ grant_type: 'authorization_code', code, redirect_uri: pending.redirectUri, code_verifier: pending.codeVerifier })
		if (status !== 200 || typeof json.id_token !== 'string') throw new OidcProviderError(`the provider refused the code (${status} ${String(json.error ?? '')})`)
		const { identity, claims } = await this.verifier.verifyClaims(json.id_token)
		if (claims.nonce !== pending.nonce) throw new OidcProviderError('the ID token carries another nonce')
		return { idToken: json.id_token, username: identity.username }
	}

	/** `dreamlake login` through the provider's own device grant; the device's secret hash keys the provider's device code, which never leaves the server. */
	deviceBridge(): DeviceAuthority {
		const devices = new BoundedMap<string, BridgedDevice>(10_000)
		const endpoint = this.endpoints.deviceAuthorizationEndpoint!
		const unreachable = (error: unknown): never => {
			if (error instanceof OidcProviderError) throw new ApiError(502, 'identity_provider_unavailable', 'The identity provider could not be reached or gave an unreadable answer; try again.')
			throw error
		}
		return {
			start: (deviceSecretHash) => this.startDevice(endpoint, devices, deviceSecretHash).catch(unreachable),
			poll: (deviceSecretHash) => this.pollDevice(devices, deviceSecretHash).catch(unreachable),
		}
	}

	private async startDevice(endpoint: string, devices: BoundedMap<string, BridgedDevice>, deviceSecretHash: string) {
		const { status, json } = await this.post(endpoint, { client_id: this.settings.clientId, scope: this.settings.scopes.join(' ') })
		const { device_code: deviceCode, user_code: userCode, verification_uri: uri } = json
		if (status !== 200 || typeof deviceCode !== 'string' || typeof userCode !== 'string' || typeof uri !== 'string') throw new OidcProviderError(`the provider refused to start a device login (${status})`)
		const expiresIn = positive(json.expires_in, 600)
		devices.set(deviceSecretHash, { deviceCode, expiresAt: Date.now() + expiresIn * 1000 })
		const complete = typeof json.verification_uri_complete === 'string' ? json.verification_uri_complete : `${uri}?user_code=${encodeURIComponent(userCode)}`
		return { deviceCode: '', userCode, verificationUri: uri, verificationUriComplete: complete, expiresIn, interval: positive(json.interval, 5) }
	}

	private async pollDevice(devices: BoundedMap<string, BridgedDevice>, deviceSecretHash: string): Promise<DevicePoll> {
		const device = devices.get(deviceSecretHash)
		if (!device) return { error: 'invalid_grant', description: 'No login is waiting for this device; run dreamlake login again.' }
		if (Date.now() >= device.expiresAt) {
			devices.delete(deviceSecretHash)
			return { error: 'expired_token', description: 'The code expired before it was approved.' }
		}
		const { status, json } = await this.tokenRequest({ grant_type: 'urn:ietf:params:oauth:grant-type:device_code', device_code: device.deviceCode })
		if (status === 200 && typeof json.id_token === 'string') {
			devices.delete(deviceSecretHash)
			await this.verifier.verify(json.id_token) // what /auth/exchange will accept, checked before the device gets it
			return { accessToken: json.id_token, expiresIn: positive(json.expires_in, 300) }
		}
		if (typeof json.error === 'string') {
			if (json.error !== 'authorization_pending' && json.error !== 'slow_down') devices.delete(deviceSecretHash)
			return { error: json.error, ...(typeof json.error_description === 'string' && { description: json.error_description }) }
		}
		throw new OidcProviderError(`the provider answered a device poll with ${status} and no ID token`)
	}

	private tokenRequest(fields: Record<string, string>) {
		return this.post(this.endpoints.tokenEndpoint, { ...fields, client_id: this.settings.clientId }, true)
	}

	/** A form POST to the provider; a confidential client authenticates with HTTP Basic (client_secret_basic, what Keycloak and Google default to). */
	private async post(url: string, fields: Record<string, string>, authenticate = false): Promise<{ status: number; json: Record<string, unknown> }> {
		const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' }
		const secret = this.settings.clientSecret
		if (secret !== undefined && (authenticate || url === this.endpoints.deviceAuthorizationEndpoint)) {
			headers.authorization = `Basic ${Buffer.from(`${encodeURIComponent(this.settings.clientId)}:${encodeURIComponent(secret)}`).toString('base64')}`
		}
		let response: Response
		try {
			response = await this.fetchImpl(url, { method: 'POST', headers, body: new URLSearchParams(fields), redirect: 'error', signal: AbortSignal.timeout(TIMEOUT_MS) })
		} catch {
			throw new OidcProviderError(`could not reach ${url}`)
		}
		let json: unknown
		try {
			json = await response.json()
		} catch {
			throw new OidcProviderError(`${url} answered ${response.status} without JSON`)
		}
		if (typeof json !== 'object' || json === null) throw new OidcProviderError(`${url} answered ${response.status} with no object`)
		return { status: response.status, json: json as Record<string, unknown> }
	}
}

const positive = (value: unknown, fallback: number) => (typeof value === 'number' && Number.isFinite(value) && value > 0 ? Math.round(value) : fallback)
