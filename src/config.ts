import { IN_MEMORY } from './db/client'
import type { PostgresSettings } from './db/postgres-client'

/** One setting: read from `--flag` (wins) or the environment variable, else the default. */
export interface Setting {
	env: string
	flag: string
	default?: string
	/** One line for --help and the README. */
	help: string
}

export const SETTINGS = [
	{ env: 'PORT', flag: '--port', default: '10334', help: 'TCP port to listen on (0 picks a free one)' },
	{ env: 'HOST', flag: '--host', default: '127.0.0.1', help: 'address to bind; 0.0.0.0 to accept remote connections' },
	{ env: 'DATABASE_URL', flag: '--database-url', default: './data/dreamlake.db', help: 'SQLite file (a file: prefix is accepted; :memory: for a throwaway database), or postgres://user:password@host:5432/database (PostgreSQL, in progress: `migrate` only; ?sslmode=require for TLS)' },
	{ env: 'DATABASE_POOL_SIZE', flag: '--database-pool-size', default: '10', help: 'PostgreSQL only: connections this server process keeps open at most' },
	{ env: 'JWT_SECRET', flag: '--jwt-secret', help: 'HS256 secret for dreamlake tokens, at least 32 bytes; unset: generated once into the data folder (mode 0600)' },
	{ env: 'JWT_EXPIRATION', flag: '--jwt-expiration', default: '30d', help: 'lifetime of a dreamlake token: 3600, 90s, 15m, 12h, 30d, 2w, or never' },
	{ env: 'JWT_ISSUER', flag: '--jwt-issuer', default: 'dreamlake', help: '"iss" claim of dreamlake tokens' },
	{ env: 'JWT_AUDIENCE', flag: '--jwt-audience', default: 'dreamlake', help: '"aud" claim of dreamlake tokens' },
	{ env: 'VUER_AUTH_URL', flag: '--vuer-auth-url', default: 'https://auth.vuer.ai', help: 'the vuer-auth identity provider' },
	{ env: 'VUER_AUTH_JWKS_URL', flag: '--vuer-auth-jwks-url', default: '$VUER_AUTH_URL/api/auth/jwks', help: "the provider's JSON Web Key Set" },
	{ env: 'VUER_AUTH_ISSUER', flag: '--vuer-auth-issuer', help: 'required "iss" of vuer-auth tokens (unchecked when unset)' },
	{ env: 'VUER_AUTH_AUDIENCE', flag: '--vuer-auth-audience', help: 'required "aud" of vuer-auth tokens (unchecked when unset)' },
	{ env: 'VUER_AUTH_ALGORITHMS', flag: '--vuer-auth-algorithms', default: 'EdDSA,ES256,RS256', help: 'comma-separated signature algorithms accepted from vuer-auth' },
	{ env: 'VUER_AUTH_PUBLIC_KEY', flag: '--vuer-auth-public-key', help: 'a PEM or JWK public key to verify vuer-auth tokens with, instead of the key set' },
	{ env: 'IDENTITY', flag: '--identity', default: 'vuer-auth', help: 'who signs people in: vuer-auth (the hosted provider), oidc (any OpenID Connect provider, OIDC_*), or builtin (accounts in this server, `user add`)' },
	{ env: 'PUBLIC_URL', flag: '--public-url', help: 'the address people reach this server at (https://dreamlake.example.org): redirect URIs and set-password links are made under it; unset: http://HOST:PORT' },
	{ env: 'OIDC_ISSUER', flag: '--oidc-issuer', help: 'IDENTITY=oidc: the provider\'s issuer URL; its /.well-known/openid-configuration is read at start' },
	{ env: 'OIDC_CLIENT_ID', flag: '--oidc-client-id', help: 'IDENTITY=oidc: this server\'s client id at the provider; ID tokens must name it as audience' },
	{ env: 'OIDC_CLIENT_SECRET', flag: '--oidc-client-secret', help: 'IDENTITY=oidc: the client secret; unset for a public client (PKCE only)' },
	{ env: 'OIDC_SCOPES', flag: '--oidc-scopes', default: 'openid profile email', help: 'IDENTITY=oidc: scopes asked for (space-separated; openid is always asked)' },
	{ env: 'OIDC_USERNAME_CLAIM', flag: '--oidc-username-claim', default: 'preferred_username', help: 'IDENTITY=oidc: the claim a new user\'s username comes from; the email\'s local part when absent' },
	{ env: 'OIDC_DEVICE_GRANT', flag: '--oidc-device-grant', default: 'auto', help: "IDENTITY=oidc: auto bridges dreamlake login to the provider's device grant when its discovery offers one; off approves the CLI's codes through the provider's sign-in page instead (Google: its device grant wants another kind of client)" },
	{ env: 'OIDC_AUDIENCE', flag: '--oidc-audience', help: 'IDENTITY=oidc: also accept the provider\'s JWT access tokens with this "aud" at POST /auth/exchange (comma-separated); ID tokens are always accepted' },
	{ env: 'RATE_LIMIT_EXCHANGE', flag: '--rate-limit-exchange', default: '30', help: 'POST /auth/exchange (and dashboard sign-ins started, POST /auth/device/start) per minute per client address; 0 turns the limit off' },
	{ env: 'MAX_FILE_SIZE', flag: '--max-file-size', default: '5GiB', help: 'largest file an upload may carry: bytes, or with KiB, MiB, GiB, TiB (or KB, MB, GB, TB: powers of 1000)' },
	{ env: 'FILE_STORAGE', flag: '--file-storage', default: 'local', help: "where uploaded files' bytes live: local (files/ in the data folder) or s3://<bucket>/<prefix> (an S3-compatible bucket, with the S3_ settings)" },
	{ env: 'S3_ENDPOINT', flag: '--s3-endpoint', default: 'https://s3.$S3_REGION.amazonaws.com', help: "the object store's URL, e.g. http://127.0.0.1:9000 for MinIO (FILE_STORAGE=s3://…)" },
	{ env: 'S3_REGION', flag: '--s3-region', default: 'us-east-1', help: 'the region requests to the object store are signed for' },
	{ env: 'S3_ACCESS_KEY_ID', flag: '--s3-access-key-id', help: "the object store's access key (required with FILE_STORAGE=s3://…)" },
	{ env: 'S3_SECRET_ACCESS_KEY', flag: '--s3-secret-access-key', help: "the object store's secret key (required with FILE_STORAGE=s3://…); never logged" },
	{ env: 'S3_VIRTUAL_HOSTED_STYLE', flag: '--s3-virtual-hosted-style', default: 'false', help: 'true: the bucket in the host name (bucket.s3.…); false: in the path (endpoint/bucket/…), which self-hosted stores (MinIO, Swift, Ceph) need' },
	{ env: 'S3_PRESIGNED_DOWNLOADS', flag: '--s3-presigned-downloads', default: 'false', help: "true: the dashboard's downloads and previews are redirected to a presigned URL of the bucket (5 minutes); the API and the SDK always stream through the server" },
	{ env: 'STALE_AFTER', flag: '--stale-after', default: '10m', help: 'a running episode nothing was written to for this long is shown (and filtered) as stale, its stored status untouched: 90s, 10m, 2h' },
	{ env: 'EVENTS_HEARTBEAT', flag: '--events-heartbeat', default: '15s', help: 'an event stream (GET …/events) sends a heartbeat comment this often: 15s, 1m' },
	{ env: 'EVENTS_MAX_STREAMS', flag: '--events-max-streams', default: '10000', help: 'event streams open at once in all; past it, 429 too_many_streams' },
	{ env: 'EVENTS_MAX_STREAMS_PER_USER', flag: '--events-max-streams-per-user', default: '100', help: 'event streams open at once per person or API key (per client address for nobody signed in); past it, 429 too_many_streams' },
	{ env: 'CACHE_SIZE', flag: '--cache-size', default: '10000', help: 'entries of each in-memory cache (accounts, verified dreamlake tokens, projects, episodes, log cursors, track states); a known caller writing to an episode in memory costs no statement but the write' },
	{ env: 'TRUST_PROXY', flag: '--trust-proxy', default: '0', help: 'reverse proxies in front of the server: 0 uses the socket address, N takes the client address from X-Forwarded-For, N hops from the right' },
	{ env: 'DASHBOARD_SOURCE', flag: '--dashboard-source', help: 'development: serve the dashboard built from this folder (src/ui) and rebuild it on every change, instead of the one built in' },
	{ env: 'LOG_FORMAT', flag: '--log-format', default: 'auto', help: 'json, pretty, or auto (pretty on a terminal, json otherwise)' },
	{ env: 'LOG_LEVEL', flag: '--log-level', default: 'info', help: 'debug, info, warn or error' },
] as const satisfies readonly Setting[]

export type SettingName = (typeof SETTINGS)[number]['env']
export type RawSettings = Partial<Record<SettingName, string>>

export interface Config {
	port: number
	host: string
	/** A file path, or `:memory:`. With PostgreSQL, the default file's: its folder still holds the files and the generated secret. */
	databasePath: string
	/** Set when DATABASE_URL names PostgreSQL. */
	postgres?: PostgresSettings
	/** `undefined`: use (or create) the secret file in the data folder. */
	jwtSecret: string | undefined
	/** `null`: tokens never expire. */
	jwtExpiresInSeconds: number | null
	jwtIssuer: string
	jwtAudience: string
	vuerAuth: {
		url: string
		jwksUrl: string
		issuer?: string
		audience?: string
		algorithms: string[]
		publicKey?: string
	}
	/** Who signs people in (IDENTITY). */
	identity: IdentityConfig
	/** PUBLIC_URL without a trailing slash; undefined: http://HOST:PORT. */
	publicUrl: string | undefined
	/** Exchanges per minute per client address; 0: unlimited. */
	rateLimitExchange: number
	/** How many proxies in front add X-Forwarded-For entries; 0: trust only the socket. */
	trustProxy: number
	/** STALE_AFTER, in seconds. */
	staleAfterSeconds: number
	/** EVENTS_HEARTBEAT, in seconds. */
	eventsHeartbeatSeconds: number
	eventsMaxStreams: number
	eventsMaxStreamsPerUser: number
	/** Entries of each in-memory cache: accounts, verified tokens, projects, episodes, log cursors, track states. */
	cacheSize: number
	/** The largest file an upload may carry, in bytes. */
	maxFileSize: number
	/** Where files' bytes live: the data folder, or a bucket. */
	fileStorage: FileStorage
	/** Development: the folder the dashboard is built (and rebuilt on change) from; undefined: the built-in one. */
	dashboardSource: string | undefined
	logFormat: 'json' | 'pretty' | 'auto'
	logLevel: 'debug' | 'info' | 'warn' | 'error'
}

export type FileStorage =
	| { kind: 'local' }
	| {
			kind: 's3'
			bucket: string
			/** '' or a folder ending in '/'. */
			prefix: string
			endpoint: string
			region: string
			accessKeyId: string
			secretAccessKey: string
			virtualHostedStyle: boolean
			/** S3_PRESIGNED_DOWNLOADS: the dashboard is redirected to presigned URLs of the bucket. */
			presignedDownloads: boolean
	  }

export const IDENTITY_MODES = ['vuer-auth', 'oidc', 'builtin'] as const
export type IdentityMode = (typeof IDENTITY_MODES)[number]

export type IdentityConfig =
	| { mode: 'vuer-auth' }
	| { mode: 'builtin' }
	| { mode: 'oidc'; issuer: string; clientId: string; clientSecret?: string; scopes: string[]; usernameClaim: string; audiences: string[]; deviceGrant: boolean }

/** A setting with a value the server cannot run with; the message names the variable. */
export class ConfigError extends Error {
	constructor(
		readonly variable: string,
		message: string,
	) {
		super(`${variable}: ${message}`)
		this.name = 'ConfigError'
	}
}

export const MIN_SECRET_BYTES = 32
/** The placeholder from the upstream server's example .env: known to everyone, so no secret. */
export const PLACEHOLDER_SECRET = 'your-secret-key-change-this-in-production'
const ASYMMETRIC_ALGORITHMS = ['EdDSA', 'Ed25519', 'ES256', 'ES384', 'ES512', 'RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512']
const DURATION_UNITS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400, w: 604_800 }

/** Reads every setting from the environment, overridden by flags; throws ConfigError on the first bad one. */
export function loadConfig(env: Record<string, string | undefined>, flags: RawSettings = {}): Config {
	const raw = (name: SettingName): string | undefined => {
		const value = flags[name] ?? env[name]
		return value === undefined || value.trim() === '' ? undefined : value.trim()
	}
	/** The value, else the documented default (the one --help and the README show). */
	const get = (name: SettingName): string => raw(name) ?? (SETTINGS.find((s) => s.env === name) as Setting).default!
	const vuerAuthUrl = httpUrl('VUER_AUTH_URL', get('VUER_AUTH_URL')).replace(/\/+$/, '')
	const vuerAuthIssuer = raw('VUER_AUTH_ISSUER')
	const vuerAuthAudience = raw('VUER_AUTH_AUDIENCE')
	const vuerAuthPublicKey = raw('VUER_AUTH_PUBLIC_KEY')
	const jwtSecret = raw('JWT_SECRET')
	const databaseUrl = get('DATABASE_URL')
	const poolSize = atLeastOne('DATABASE_POOL_SIZE', get('DATABASE_POOL_SIZE'))
	const postgres = isPostgresUrl(databaseUrl) ? { url: postgresUrl(databaseUrl), poolSize } : undefined
	return {
		port: port(get('PORT')),
		host: get('HOST'),
		databasePath: databasePath(postgres ? (SETTINGS.find((s) => s.env === 'DATABASE_URL') as Setting).default! : databaseUrl),
		...(postgres && { postgres }),
		jwtSecret: jwtSecret === undefined ? undefined : checkSecret('JWT_SECRET', jwtSecret),
		jwtExpiresInSeconds: duration('JWT_EXPIRATION', get('JWT_EXPIRATION')),
		jwtIssuer: get('JWT_ISSUER'),
		jwtAudience: get('JWT_AUDIENCE'),
		vuerAuth: {
			url: vuerAuthUrl,
			jwksUrl: httpUrl('VUER_AUTH_JWKS_URL', get('VUER_AUTH_JWKS_URL').replace('$VUER_AUTH_URL', vuerAuthUrl)),
			...(vuerAuthIssuer && { issuer: vuerAuthIssuer }),
			...(vuerAuthAudience && { audience: vuerAuthAudience }),
			algorithms: algorithms(get('VUER_AUTH_ALGORITHMS')),
			...(vuerAuthPublicKey && { publicKey: publicKey(vuerAuthPublicKey) }),
		},
		identity: identityConfig(raw, get),
		publicUrl: raw('PUBLIC_URL') === undefined ? undefined : httpUrl('PUBLIC_URL', raw('PUBLIC_URL')!).replace(/\/+$/, ''),
		rateLimitExchange: count('RATE_LIMIT_EXCHANGE', get('RATE_LIMIT_EXCHANGE')),
		trustProxy: count('TRUST_PROXY', get('TRUST_PROXY')),
		cacheSize: atLeastOne('CACHE_SIZE', get('CACHE_SIZE')),
		staleAfterSeconds: duration('STALE_AFTER', get('STALE_AFTER')) ?? Number.MAX_SAFE_INTEGER,
		maxFileSize: byteSize('MAX_FILE_SIZE', get('MAX_FILE_SIZE')),
		eventsHeartbeatSeconds: duration('EVENTS_HEARTBEAT', get('EVENTS_HEARTBEAT')) ?? Number.MAX_SAFE_INTEGER,
		eventsMaxStreams: atLeastOne('EVENTS_MAX_STREAMS', get('EVENTS_MAX_STREAMS')),
		eventsMaxStreamsPerUser: atLeastOne('EVENTS_MAX_STREAMS_PER_USER', get('EVENTS_MAX_STREAMS_PER_USER')),
		fileStorage: fileStorage(raw, get),
		dashboardSource: raw('DASHBOARD_SOURCE'),
		logFormat: oneOf('LOG_FORMAT', get('LOG_FORMAT'), ['json', 'pretty', 'auto'] as const),
		logLevel: oneOf('LOG_LEVEL', get('LOG_LEVEL'), ['debug', 'info', 'warn', 'error'] as const),
	}
}

/** FILE_STORAGE and, for a bucket, the S3_ settings it needs. */
function fileStorage(raw: (name: SettingName) => string | undefined, get: (name: SettingName) => string): FileStorage {
	const value = get('FILE_STORAGE')
	if (value === 'local') return { kind: 'local' }
	const match = /^s3:\/\/([^/]+)(?:\/(.*))?$/.exec(value)
	if (!match) throw new ConfigError('FILE_STORAGE', `"${value}" is neither local nor s3://<bucket>/<prefix>.`)
	const bucket = match[1]!
	if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket)) throw new ConfigError('FILE_STORAGE', `"${bucket}" is not a bucket name (3-63 characters: lowercase letters, digits, '.' and '-').`)
	const path = (match[2] ?? '').replace(/^\/+|\/+$/g, '')
	const region = get('S3_REGION')
	const endpoint = httpUrl('S3_ENDPOINT', get('S3_ENDPOINT').replace('$S3_REGION', region)).replace(/\/+$/, '')
	const accessKeyId = raw('S3_ACCESS_KEY_ID')
	const secretAccessKey = raw('S3_SECRET_ACCESS_KEY')
	if (accessKeyId === undefined) throw new ConfigError('S3_ACCESS_KEY_ID', 'is required with FILE_STORAGE=s3://… (the access key of the bucket).')
	if (secretAccessKey === undefined) throw new ConfigError('S3_SECRET_ACCESS_KEY', 'is required with FILE_STORAGE=s3://… (the secret key of the bucket).')
	const virtualHostedStyle = oneOf('S3_VIRTUAL_HOSTED_STYLE', get('S3_VIRTUAL_HOSTED_STYLE').toLowerCase(), ['true', 'false'] as const) === 'true'
	const presignedDownloads = oneOf('S3_PRESIGNED_DOWNLOADS', get('S3_PRESIGNED_DOWNLOADS').toLowerCase(), ['true', 'false'] as const) === 'true'
	return { kind: 's3', bucket, prefix: path === '' ? '' : `${path}/`, endpoint, region, accessKeyId, secretAccessKey, virtualHostedStyle, presignedDownloads }
}

/** IDENTITY and, for oidc, the OIDC_ settings it needs. */
function identityConfig(raw: (name: SettingName) => string | undefined, get: (name: SettingName) => string): IdentityConfig {
	const mode = oneOf('IDENTITY', get('IDENTITY'), IDENTITY_MODES)
	if (mode !== 'oidc') return { mode }
	const issuer = raw('OIDC_ISSUER')
	const clientId = raw('OIDC_CLIENT_ID')
	if (issuer === undefined) throw new ConfigError('OIDC_ISSUER', 'IDENTITY=oidc needs the provider\'s issuer URL (e.g. https://keycloak.example.org/realms/lab).')
	if (clientId === undefined) throw new ConfigError('OIDC_CLIENT_ID', 'IDENTITY=oidc needs the client id this server is registered under at the provider.')
	const clientSecret = raw('OIDC_CLIENT_SECRET')
	const scopes = [...new Set(['openid', ...get('OIDC_SCOPES').split(/[\s,]+/).filter(Boolean)])]
	const audiences = (raw('OIDC_AUDIENCE') ?? '').split(',').map((a) => a.trim()).filter(Boolean)
	return { mode, issuer: httpUrl('OIDC_ISSUER', issuer).replace(/\/+$/, ''), clientId, ...(clientSecret && { clientSecret }), scopes, usernameClaim: get('OIDC_USERNAME_CLAIM'), audiences, deviceGrant: oneOf('OIDC_DEVICE_GRANT', get('OIDC_DEVICE_GRANT'), ['auto', 'off'] as const) === 'auto' }
}

function count(variable: string, value: string): number {
	const n = Number(value)
	if (!/^\d+$/.test(value) || !Number.isSafeInteger(n)) throw new ConfigError(variable, `"${value}" is not a whole number (0 or more).`)
	return n
}

function atLeastOne(variable: string, value: string): number {
	const n = count(variable, value)
	if (n < 1) throw new ConfigError(variable, `must be 1 or more, not ${value}.`)
	return n
}

const SIZE_UNITS: Record<string, number> = { '': 1, b: 1, kib: 2 ** 10, mib: 2 ** 20, gib: 2 ** 30, tib: 2 ** 40, kb: 1e3, mb: 1e6, gb: 1e9, tb: 1e12 }

/** A size in bytes: `1048576`, `512MiB`, `5GiB`, `2GB` (KiB and friends are powers of 1024, KB and friends of 1000). */
export function byteSize(variable: string, value: string): number {
	const match = /^(\d+(?:\.\d+)?)\s*([a-z]*)$/i.exec(value)
	const unit = match ? SIZE_UNITS[match[2]!.toLowerCase()] : undefined
	const bytes = match && unit !== undefined ? Math.floor(Number(match[1]) * unit) : Number.NaN
	if (!Number.isSafeInteger(bytes) || bytes < 1) {
		throw new ConfigError(variable, `"${value}" is not a size (use e.g. 1048576, 512MiB, 5GiB, or 2GB).`)
	}
	return bytes
}

function port(value: string): number {
	const n = Number(value)
	if (!/^\d+$/.test(value) || n > 65_535) throw new ConfigError('PORT', `"${value}" is not a port number (0-65535).`)
	return n
}

function databasePath(value: string): string {
	const path = value.startsWith('file:') ? value.slice('file:'.length).replace(/^\/\/(?=\/)/, '') : value
	if (path === IN_MEMORY) return path
	if (path === '' || /^[a-z]+:\/\//i.test(path)) {
		throw new ConfigError('DATABASE_URL', `"${value}" is not a SQLite file path (expected e.g. ./data/dreamlake.db, file:/var/lib/dreamlake/db.sqlite or :memory:, or a postgres:// URL).`)
	}
	return path
}

const isPostgresUrl = (value: string) => /^postgres(ql)?:\/\//i.test(value)
const SSL_MODES = ['disable', 'allow', 'prefer', 'require', 'verify-ca', 'verify-full']

/** A URL as error messages may show it: the password (in the user part or `?password=`) replaced by `***`. */
function withoutPassword(value: string): string {
	return value.replace(/^([a-z][a-z0-9+.-]*:\/\/[^:@/?#]*:)[^/?#]*@/i, '$1***@').replace(/([?&]password=)[^&#]*/gi, '$1***')
}

/** A postgres:// or postgresql:// URL the client can connect with: a host, a port, a known sslmode. */
function postgresUrl(value: string): string {
	const shown = withoutPassword(value)
	let url: URL
	try {
		url = new URL(value)
	} catch {
		throw new ConfigError('DATABASE_URL', `"${shown}" is not a URL (expected e.g. postgres://user:password@host:5432/database).`)
	}
	if (url.hostname === '' && !url.searchParams.has('host')) throw new ConfigError('DATABASE_URL', `"${shown}" names no host (expected e.g. postgres://user:password@host:5432/database).`)
	const sslmode = url.searchParams.get('sslmode')
	if (sslmode !== null && !SSL_MODES.includes(sslmode)) throw new ConfigError('DATABASE_URL', `sslmode "${sslmode}" is not one of ${SSL_MODES.join(', ')}.`)
	return value
}

export function checkSecret(variable: string, value: string): string {
	if (value === PLACEHOLDER_SECRET) {
		throw new ConfigError(variable, 'is the well-known placeholder from the example configuration; set a random secret (e.g. `openssl rand -base64 48`) or leave it unset to have one generated.')
	}
	if (Buffer.byteLength(value, 'utf8') < MIN_SECRET_BYTES) {
		throw new ConfigError(variable, `must be at least ${MIN_SECRET_BYTES} bytes long (e.g. \`openssl rand -base64 48\`), or unset to have one generated.`)
	}
	return value
}

export function duration(variable: string, value: string): number | null {
	if (value.toLowerCase() === 'never') return null
	const match = /^(\d+)\s*([smhdw]?)$/i.exec(value)
	const seconds = match ? Number(match[1]) * DURATION_UNITS[(match[2] || 's').toLowerCase()]! : Number.NaN
	if (!Number.isSafeInteger(seconds) || seconds <= 0) {
		throw new ConfigError(variable, `"${value}" is not a duration (use e.g. 3600, 90s, 15m, 12h, 30d, 2w, or never).`)
	}
	return seconds
}

function httpUrl(variable: string, value: string): string {
	let url: URL
	try {
		url = new URL(value)
	} catch {
		throw new ConfigError(variable, `"${value}" is not a URL.`)
	}
	if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new ConfigError(variable, `"${value}" must be an http(s) URL.`)
	return value
}

function algorithms(value: string): string[] {
	const list = value.split(',').map((a) => a.trim()).filter(Boolean)
	const bad = list.filter((a) => !ASYMMETRIC_ALGORITHMS.includes(a))
	if (list.length === 0 || bad.length > 0) {
		throw new ConfigError('VUER_AUTH_ALGORITHMS', `${bad.length ? `"${bad.join(',')}" not allowed` : 'empty'}; choose from ${ASYMMETRIC_ALGORITHMS.join(', ')} (never "none" or an HMAC algorithm).`)
	}
	return list
}

function publicKey(value: string): string {
	const text = value.replace(/\\n/g, '\n').trim()
	if (/^-----BEGIN PUBLIC KEY-----[\s\S]+-----END PUBLIC KEY-----$/.test(text)) return text
	try {
		const jwk = JSON.parse(text) as { kty?: unknown; d?: unknown }
		if (typeof jwk.kty === 'string' && jwk.kty !== 'oct' && jwk.d === undefined) return text
	} catch {}
	throw new ConfigError('VUER_AUTH_PUBLIC_KEY', 'must be a PEM public key (-----BEGIN PUBLIC KEY-----) or a public JWK as JSON.')
}

function oneOf<const T extends readonly string[]>(variable: string, value: string, choices: T): T[number] {
	if (!choices.includes(value)) throw new ConfigError(variable, `"${value}" is not one of ${choices.join(', ')}.`)
	return value as T[number]
}
