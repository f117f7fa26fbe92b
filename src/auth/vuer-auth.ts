import {
	createLocalJWKSet,
	errors,
	importJWK,
	importSPKI,
	jwtVerify,
	type CryptoKey,
	type JWK,
	type JSONWebKeySet,
	type JWTHeaderParameters,
	type JWTPayload,
} from 'jose'
import { ApiError, badRequest, unauthorized, unavailable } from '../http/errors'
import type { Logger } from '../log'

export interface VuerAuthOptions {
	jwksUrl: string
	/** A PEM (SPKI) or JWK public key used instead of the key set. */
	publicKey?: string
	issuer?: string
	audience?: string | string[]
	algorithms: string[]
	/** The claim a new user's username comes from (IDENTITY=oidc: OIDC_USERNAME_CLAIM); `username`, then `preferred_username`, by default. */
	usernameClaim?: string
	/** Who issues the tokens, in the sentences of a refusal. */
	providerName?: string
	clockToleranceSeconds?: number
	/** How long one JWKS fetch may take before the provider counts as down. */
	fetchTimeoutMs?: number
	/** How long a fetched key set is trusted before it is refreshed in the background. */
	keySetMaxAgeMs?: number
	/** Minimum time between refetches caused by an unknown `kid`, so forged kids cannot flood the provider. */
	unknownKidCooldownMs?: number
	/** After a failed fetch, how long to answer from cache (or 503) before trying again. */
	failureBackoffMs?: number
}

/** The identity a verified vuer-auth token vouches for; absent claims are `null`. */
export interface VuerIdentity {
	sub: string
	email: string | null
	name: string | null
	username: string | null
	givenName: string | null
	familyName: string | null
	picture: string | null
	emailVerified: boolean | null
}

export const MAX_TOKEN_BYTES = 8 * 1024
export const MAX_SUB_LENGTH = 255
const MAX_CLAIM_LENGTH = 2048

type KeyResolver = (header: JWTHeaderParameters) => Promise<CryptoKey>

/**
 * Verifies vuer-auth tokens: signature against the provider's JWKS (or a configured public key),
 * an algorithm allow-list, `exp` required, `nbf` honoured, `iss`/`aud` when configured.
 * Header-supplied keys (`jku`, `x5u`, `jwk`) are never looked at.
 */
export class VuerAuthVerifier {
	private readonly keys: KeyResolver

	constructor(
		private readonly options: VuerAuthOptions,
		log: Logger,
	) {
		this.keys = options.publicKey
			? staticKeyResolver(options.publicKey)
			: new RemoteKeySet(options, log).resolve
	}

	async verify(token: string): Promise<VuerIdentity> {
		return (await this.verifyClaims(token)).identity
	}

	/** The identity and every claim of a verified token (an OpenID Connect flow checks its `nonce`). */
	async verifyClaims(token: string): Promise<{ identity: VuerIdentity; claims: JWTPayload }> {
		const provider = this.options.providerName ?? 'vuer-auth'
		if (token.length > MAX_TOKEN_BYTES) {
			throw unauthorized('vuer_token_invalid', `${provider} token verification failed: the token is larger than ${MAX_TOKEN_BYTES} bytes.`)
		}
		let payload: JWTPayload
		try {
			;({ payload } = await jwtVerify(token, this.keys, {
				algorithms: this.options.algorithms,
				issuer: this.options.issuer,
				audience: this.options.audience,
				clockTolerance: this.options.clockToleranceSeconds ?? 30,
				requiredClaims: ['exp'],
			}))
		} catch (error) {
			if (error instanceof ApiError) throw error
			throw unauthorized('vuer_token_invalid', `${provider} token verification failed: ${rejectionReason(error)}.`)
		}
		return { identity: identityFromClaims(payload, this.options.usernameClaim), claims: payload }
	}
}

function rejectionReason(error: unknown): string {
	if (error instanceof errors.JWTExpired) return 'the token has expired'
	if (error instanceof errors.JWTClaimValidationFailed) {
		if (error.claim === 'nbf') return 'the token is not valid yet'
		if (error.claim === 'iss') return 'the token was issued by another issuer'
		if (error.claim === 'aud') return 'the token is meant for another audience'
		if (error.claim === 'exp' && error.reason === 'missing') return 'the token has no expiry'
		return `the "${error.claim}" claim is invalid`
	}
	if (error instanceof errors.JOSEAlgNotAllowed) return 'the signing algorithm is not allowed'
	if (error instanceof errors.JWKSNoMatchingKey) return 'it is signed by an unknown key'
	if (error instanceof errors.JWSSignatureVerificationFailed) return 'the signature does not match'
	if (error instanceof errors.JOSENotSupported) return 'the token uses an unsupported algorithm or key'
	return 'the token is malformed'
}

/** Reads the claims DreamLake uses; the token is valid but useless without a `sub` (400). */
export function identityFromClaims(claims: JWTPayload, usernameClaim?: string): VuerIdentity {
	const { sub } = claims
	if (typeof sub !== 'string' || sub.trim() === '' || sub.length > MAX_SUB_LENGTH) {
		throw badRequest(
			'invalid_claims',
			`Unable to extract claims from token: "sub" must be a non-empty string of at most ${MAX_SUB_LENGTH} characters.`,
		)
	}
	const email = stringClaim(claims.email)
	return {
		sub,
		email,
		name: stringClaim(claims.name),
		// an OpenID provider's chosen claim, else the email's local part (slug rules apply later, as for any username)
		username: usernameClaim === undefined ? (stringClaim(claims.username) ?? stringClaim(claims.preferred_username)) : (stringClaim(claims[usernameClaim]) ?? (email?.includes('@') ? email.slice(0, email.lastIndexOf('@')) : null)),
		givenName: stringClaim(claims.given_name),
		familyName: stringClaim(claims.family_name),
		picture: stringClaim(claims.picture),
		emailVerified: booleanClaim(claims.email_verified),
	}
}

const stringClaim = (value: unknown): string | null =>
	typeof value === 'string' && value.length > 0 && value.length <= MAX_CLAIM_LENGTH ? value : null

const booleanClaim = (value: unknown): boolean | null =>
	typeof value === 'boolean' ? value : value === 'true' ? true : value === 'false' ? false : null

/** A configured key: a PEM public key (imported once per algorithm) or a single JWK. */
function staticKeyResolver(source: string): KeyResolver {
	const imported = new Map<string, Promise<CryptoKey>>()
	const text = source.trim()
	return (header) => {
		const alg = header.alg ?? ''
		let key = imported.get(alg)
		if (!key) {
			key = text.startsWith('{')
				? (importJWK(JSON.parse(text) as JWK, alg) as Promise<CryptoKey>)
				: importSPKI(text, alg)
			key.catch(() => imported.delete(alg))
			imported.set(alg, key)
		}
		return key
	}
}

type LocalKeySet = ReturnType<typeof createLocalJWKSet>

/**
 * The provider's JWKS, cached. A stale set is refreshed in the background while still used;
 * an unknown `kid` triggers one refetch (rate-limited); when the provider is down, cached keys keep
 * working and a token no cached key fits gets 503, not 401: the user did nothing wrong.
 */
class RemoteKeySet {
	private current: { keys: LocalKeySet; fetchedAt: number } | undefined
	private inflight: Promise<LocalKeySet> | undefined
	private lastAttemptAt = Number.NEGATIVE_INFINITY
	private lastFailureAt = Number.NEGATIVE_INFINITY

	constructor(
		private readonly options: VuerAuthOptions,
		private readonly log: Logger,
	) {}

	resolve: KeyResolver = async (header) => {
		const keys = await this.usableSet()
		try {
			return await keys(header)
		} catch (error) {
			if (!(error instanceof errors.JWKSNoMatchingKey)) throw error
			const cooldown = this.options.unknownKidCooldownMs ?? 5_000
			if (performance.now() - this.lastAttemptAt < cooldown) throw error
			return (await this.refetch())(header)
		}
	}

	private async usableSet(): Promise<LocalKeySet> {
		const { current } = this
		if (!current) return this.refetch()
		if (performance.now() - current.fetchedAt > (this.options.keySetMaxAgeMs ?? 10 * 60_000)) {
			this.refetch().catch(() => {}) // stale-while-revalidate; the failure is logged by refetch
		}
		return current.keys
	}

	private refetch(): Promise<LocalKeySet> {
		if (this.inflight) return this.inflight
		if (performance.now() - this.lastFailureAt < (this.options.failureBackoffMs ?? 1_000)) {
			return Promise.reject(idpUnavailable(this.options.providerName))
		}
		this.lastAttemptAt = performance.now()
		this.inflight = this.fetchKeySet()
			.then((keys) => {
				this.current = { keys, fetchedAt: performance.now() }
				return keys
			})
			.catch((error: unknown) => {
				this.lastFailureAt = performance.now()
				this.log.warn(`${this.options.providerName ?? 'vuer-auth'} key set fetch failed`, {
					url: this.options.jwksUrl,
					reason: error instanceof Error ? error.message : String(error),
				})
				throw idpUnavailable(this.options.providerName)
			})
			.finally(() => {
				this.inflight = undefined
			})
		return this.inflight
	}

	private async fetchKeySet(): Promise<LocalKeySet> {
		const response = await fetch(this.options.jwksUrl, {
			signal: AbortSignal.timeout(this.options.fetchTimeoutMs ?? 3_000),
			headers: { accept: 'application/json' },
			redirect: 'follow',
		})
		if (!response.ok) throw new Error(`HTTP ${response.status}`)
		return createLocalJWKSet((await response.json()) as JSONWebKeySet)
	}
}

const idpUnavailable = (provider = 'vuer-auth') => unavailable('idp_unavailable', `The identity provider (${provider}) cannot be reached to verify this token; try again shortly.`)
