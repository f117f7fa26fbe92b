import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { exportJWK, generateKeyPair, importJWK, SignJWT, type CryptoKey, type JWK, type JWTPayload } from 'jose'

/**
 * An Ed25519 key the server signs identity tokens with (the --dev stand-in's, and /idp's under
 * IDENTITY=builtin). It lives in the data folder (mode 0600, like jwt-secret), so tokens survive a
 * restart; only its public half is ever published or trusted by /auth/exchange.
 */
export class LocalSigningKey {
	private constructor(
		private readonly privateKey: CryptoKey,
		readonly publicJwk: JWK,
	) {}

	/** Loads `folder/fileName`, creating it on first use; `null` keeps a throwaway key in memory. */
	static async open(folder: string | null, fileName: string, kidPrefix: string): Promise<LocalSigningKey> {
		const path = folder === null ? null : join(folder, fileName)
		let privateJwk: JWK
		if (path !== null && existsSync(path)) {
			privateJwk = JSON.parse(readFileSync(path, 'utf8')) as JWK
		} else {
			const { privateKey } = await generateKeyPair('EdDSA', { extractable: true })
			privateJwk = { ...(await exportJWK(privateKey)), alg: 'EdDSA', kid: `${kidPrefix}-${crypto.randomUUID().slice(0, 8)}` }
			if (path !== null) {
				mkdirSync(folder!, { recursive: true })
				writeFileSync(path, JSON.stringify(privateJwk) + '\n', { mode: 0o600 })
			}
		}
		const { d: _private, ...publicJwk } = privateJwk
		return new LocalSigningKey((await importJWK(privateJwk, 'EdDSA')) as CryptoKey, { ...publicJwk, use: 'sig' })
	}

	/** A vuer-auth-shaped token: the claims, `sub`, `iss`, `iat` and an `exp` `lifetimeSeconds` away. */
	sign(claims: JWTPayload, { subject, issuer, audience, lifetimeSeconds }: { subject: string; issuer: string; audience?: string; lifetimeSeconds: number }): Promise<string> {
		const token = new SignJWT(claims).setProtectedHeader({ alg: 'EdDSA', kid: this.publicJwk.kid!, typ: 'JWT' }).setSubject(subject).setIssuer(issuer).setIssuedAt().setExpirationTime(`${lifetimeSeconds}s`)
		return (audience ? token.setAudience(audience) : token).sign(this.privateKey)
	}
}
