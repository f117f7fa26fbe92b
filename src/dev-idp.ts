import { Elysia, t } from 'elysia'
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { exportJWK, generateKeyPair, importJWK, SignJWT, type CryptoKey, type JWK } from 'jose'
import { isValidUsername, Username, USERNAME_RULE } from './auth/model'
import { jsonBody } from './http/body'

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
	private constructor(
		private readonly privateKey: CryptoKey,
		readonly publicJwk: JWK,
	) {}

	/** Loads the key from `folder`, creating it on first use; `null` keeps a throwaway key in memory. */
	static async open(folder: string | null): Promise<DevIdentityProvider> {
		const path = folder === null ? null : join(folder, DEV_KEY_FILE)
		let privateJwk: JWK
		if (path !== null && existsSync(path)) {
			privateJwk = JSON.parse(readFileSync(path, 'utf8')) as JWK
		} else {
			const { privateKey } = await generateKeyPair('EdDSA', { extractable: true })
			privateJwk = { ...(await exportJWK(privateKey)), alg: 'EdDSA', kid: `dev-${crypto.randomUUID().slice(0, 8)}` }
			if (path !== null) {
				mkdirSync(folder!, { recursive: true })
				writeFileSync(path, JSON.stringify(privateJwk) + '\n', { mode: 0o600 })
			}
		}
		const { d: _private, ...publicJwk } = privateJwk
		return new DevIdentityProvider((await importJWK(privateJwk, 'EdDSA')) as CryptoKey, { ...publicJwk, use: 'sig' })
	}

	/** A vuer-auth-shaped token for `username` (sub `dev|<username>`), valid for an hour. */
	mint(username: string): Promise<string> {
		if (!isValidUsername(username)) throw new InvalidDevUsername(username)
		return new SignJWT({ username, name: username, email: `${username}@example.com`, email_verified: true })
			.setProtectedHeader({ alg: 'EdDSA', kid: this.publicJwk.kid!, typ: 'JWT' })
			.setSubject(`dev|${username}`)
			.setIssuer(DEV_ISSUER)
			.setIssuedAt()
			.setExpirationTime(`${DEV_TOKEN_LIFETIME_SECONDS}s`)
			.sign(this.privateKey)
	}

	/** GET /dev/vuer-auth/jwks and POST /dev/vuer-auth/token {"username"}. */
	routes() {
		return new Elysia({ prefix: '/dev/vuer-auth' })
			.use(jsonBody)
			.get('/jwks', () => ({ keys: [this.publicJwk] }), { detail: { summary: 'Development only: the stand-in provider\'s key set', tags: ['Development'] } })
			.post('/token', async ({ body }) => ({ token: await this.mint(body.username), expires_in: DEV_TOKEN_LIFETIME_SECONDS }), {
				parse: ['json64KiB', 'json'],
				body: t.Object({ username: Username }, { additionalProperties: false }),
				detail: { summary: 'Development only: mint a vuer-auth token for a username', tags: ['Development'] },
			})
	}
}
