import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK, type JWTPayload } from 'jose'

export type Alg = 'EdDSA' | 'ES256' | 'RS256'

interface SigningKey {
	kid: string
	alg: Alg
	privateKey: CryptoKey
	publicJwk: JWK
}

export interface MintOptions {
	alg?: Alg
	/** Sign with this key instead of one the server publishes. */
	key?: SigningKey
	/** `kid` header; defaults to the key's. `null` leaves it out. */
	kid?: string | null
	/** Seconds from now; `null` leaves `exp` out. */
	expiresIn?: number | null
	notBefore?: number
	header?: Record<string, unknown>
}

/**
 * A stand-in for vuer-auth: a real HTTP server on a loopback port publishing a JWKS with freshly
 * generated EdDSA, ES256 and RS256 keys, and a way to mint tokens signed by them.
 */
export class KeyServer {
	/** `up`: serve the JWKS; `down`: answer 503; `hang`: never answer. */
	mode: 'up' | 'down' | 'hang' = 'up'
	fetches = 0
	private published: SigningKey[]
	private readonly server: ReturnType<typeof Bun.serve>

	private constructor(keys: SigningKey[]) {
		this.published = keys
		this.server = Bun.serve({
			hostname: '127.0.0.1',
			port: 0,
			fetch: async (request) => {
				if (new URL(request.url).pathname !== '/api/auth/jwks') return new Response('not found', { status: 404 })
				this.fetches++
				if (this.mode === 'down') return new Response('unavailable', { status: 503 })
				if (this.mode === 'hang') await new Promise((resolve) => request.signal.addEventListener('abort', resolve))
				return Response.json({ keys: this.published.map((k) => k.publicJwk) })
			},
		})
	}

	static async start(): Promise<KeyServer> {
		return new KeyServer(await Promise.all((['EdDSA', 'ES256', 'RS256'] as const).map((alg) => newSigningKey(alg))))
	}

	get url(): string {
		return `http://127.0.0.1:${this.server.port}`
	}

	get jwksUrl(): string {
		return `${this.url}/api/auth/jwks`
	}

	key(alg: Alg): SigningKey {
		return this.published.find((k) => k.alg === alg)!
	}

	/** Publishes a new key (rotation) and returns it. */
	async rotate(alg: Alg = 'EdDSA'): Promise<SigningKey> {
		const key = await newSigningKey(alg)
		this.published = [...this.published, key]
		return key
	}

	async mint(claims: Record<string, unknown>, options: MintOptions = {}): Promise<string> {
		const key = options.key ?? this.key(options.alg ?? 'EdDSA')
		const header = { alg: key.alg, typ: 'JWT', ...(options.kid !== null && { kid: options.kid ?? key.kid }), ...options.header }
		let jwt = new SignJWT(claims).setProtectedHeader(header as { alg: string }).setIssuedAt()
		const expiresIn = options.expiresIn === undefined ? 3600 : options.expiresIn
		if (expiresIn !== null) jwt = jwt.setExpirationTime(Math.floor(Date.now() / 1000) + expiresIn)
		if (options.notBefore !== undefined) jwt = jwt.setNotBefore(Math.floor(Date.now() / 1000) + options.notBefore)
		return jwt.sign(key.privateKey)
	}

	stop(): void {
		this.server.stop(true)
	}
}

export async function newSigningKey(alg: Alg): Promise<SigningKey> {
	const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true })
	const kid = `${alg.toLowerCase()}-${crypto.randomUUID().slice(0, 8)}`
	return { kid, alg, privateKey, publicJwk: { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' } }
}

let counter = 0
/** Claims of a fresh vuer-auth user nobody has seen yet. */
export function newIdentity(overrides: JWTPayload = {}): JWTPayload {
	counter++
	const username = `user${counter}${crypto.randomUUID().slice(0, 6)}`
	return {
		sub: `vuer|${crypto.randomUUID()}`,
		email: `${username}@example.com`,
		name: `User ${counter}`,
		username,
		given_name: 'Test',
		family_name: `User${counter}`,
		picture: `https://img.example.com/${username}.png`,
		email_verified: true,
		...overrides,
	}
}
