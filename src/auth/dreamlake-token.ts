import { jwt } from '@elysiajs/jwt'
import { decodeJwt } from 'jose'
import { BoundedMap } from '../bounded-map'
import { internal, unauthorized } from '../http/errors'
import { bearerToken } from './bearer'
import type { UserRow } from '../db/schema'

export interface DreamlakeTokenOptions {
	secret: string
	issuer: string
	audience: string
	/** `null`: tokens carry no `exp`. */
	expiresInSeconds: number | null
	/** How many verified tokens to remember, so a busy client does not pay for HMAC on every call. */
	cacheSize?: number
}

/** What a verified dreamlake token says about its bearer. */
export interface DreamlakeClaims {
	sub: string
	uid: string
	/** The user's token version when it was signed; a logout bumps it and every older token dies. */
	ver: number
	username?: string
	email?: string
	name?: string
	email_verified?: boolean
	picture?: string
	exp?: number
}

const MAX_TOKEN_LENGTH = 8 * 1024

/**
 * The plugin's HS256 signer and verifier, with the secret imported once as an HMAC key (the
 * server's, and scripts/crypto-ceiling.ts's, so the exchange ceiling signs as the server does).
 * Given the raw secret, the plugin has jose import it again for every signature and every
 * verification: a quarter of each (34 against 26 µs per signature, in-process on this project's
 * bench machine).
 */
export async function hs256Signer({ secret, issuer, audience }: Pick<DreamlakeTokenOptions, 'secret' | 'issuer' | 'audience'>) {
	const key = await crypto.subtle.importKey('raw', new TextEncoder().encode(secret), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign', 'verify'])
	return jwt({ name: 'dreamlake', secret: key, alg: 'HS256', iss: issuer, aud: audience }).decorator.dreamlake
}
type Hs256Signer = Awaited<ReturnType<typeof hs256Signer>>

/**
 * Signs and verifies dreamlake tokens (HS256 via @elysiajs/jwt). Verification pins the algorithm,
 * issuer and audience, which the plugin does not check by itself, so a vuer-auth token never passes.
 */
export class DreamlakeTokens {
	private readonly verifyOptions
	/**
	 * Verified tokens by the whole `Authorization` header that carried them ("Bearer <token>"). A hit
	 * is the very same token, byte for byte, found without parsing the header, cutting substrings or
	 * awaiting anything: that path was a quarter of GET /auth/me (bun run bench).
	 */
	private readonly verified: BoundedMap<string, DreamlakeClaims>

	static async create(options: DreamlakeTokenOptions): Promise<DreamlakeTokens> {
		return new DreamlakeTokens(options, await hs256Signer(options))
	}

	private constructor(
		private readonly options: DreamlakeTokenOptions,
		private readonly signer: Hs256Signer,
	) {
		this.verifyOptions = { algorithms: ['HS256'], issuer: options.issuer, audience: options.audience, requiredClaims: ['iat'] }
		this.verified = new BoundedMap(options.cacheSize ?? 10_000)
	}

	async sign(user: UserRow): Promise<string> {
		const iat = Math.floor(Date.now() / 1000)
		try {
			return await this.signer.sign({
				sub: user.sub,
				uid: user.id,
				ver: user.tokenVersion,
				...(user.username !== null && { username: user.username }),
				...(user.email !== null && { email: user.email }),
				...(user.name !== null && { name: user.name }),
				...(user.emailVerified !== null && { email_verified: user.emailVerified }),
				...(user.picture !== null && { picture: user.picture }),
				// the plugin reads a number as an absolute time, not a lifetime
				...(this.options.expiresInSeconds !== null && { exp: iat + this.options.expiresInSeconds }),
			})
		} catch {
			throw internal('token_generation_failed', 'Failed to generate token.')
		}
	}

	/**
	 * The claims of the dreamlake token in `Authorization: Bearer <token>`, or a 401 saying why not.
	 * Synchronous for a header verified before (until the token expires); a promise otherwise.
	 * Revocation is not checked here: it depends on the user's row (service.ts).
	 */
	authenticate(authorization: string | null): DreamlakeClaims | Promise<DreamlakeClaims> {
		if (authorization !== null) {
			const cached = this.verified.get(authorization)
			if (cached !== undefined) {
				if (cached.exp === undefined || cached.exp * 1000 > Date.now()) return cached
				this.verified.delete(authorization)
			}
		}
		return this.authenticateUncached(authorization)
	}

	private async authenticateUncached(authorization: string | null): Promise<DreamlakeClaims> {
		const claims = await this.verify(bearerToken(authorization))
		this.verified.set(authorization!, claims)
		return claims
	}

	/** The token's claims (signature, algorithm, issuer, audience, expiry), or a 401 saying why not. */
	private async verify(token: string): Promise<DreamlakeClaims> {
		const payload = token.length <= MAX_TOKEN_LENGTH ? await this.signer.verify(token, this.verifyOptions) : false
		if (payload === false || !isDreamlakeClaims(payload)) throw invalidToken(token)
		return payload
	}
}

function isDreamlakeClaims(payload: Record<string, unknown>): payload is Record<string, unknown> & DreamlakeClaims {
	return (
		typeof payload.sub === 'string' &&
		payload.sub !== '' &&
		typeof payload.uid === 'string' &&
		Number.isSafeInteger(payload.ver)
	)
}

/** Explains a rejection without trusting the token: the (unverified) payload only picks the sentence. */
function invalidToken(token: string) {
	let expired = false
	try {
		const { exp } = decodeJwt(token)
		expired = typeof exp === 'number' && exp * 1000 <= Date.now()
	} catch {}
	return expired
		? unauthorized('token_expired', 'The dreamlake token has expired; log in again.')
		: unauthorized('invalid_token', 'The dreamlake token is invalid; log in again to get a new one.')
}
