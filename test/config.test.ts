import { describe, expect, it } from 'bun:test'
import { ConfigError, loadConfig, PLACEHOLDER_SECRET } from '../src/config'

const SECRET = 's'.repeat(32)

describe('configuration', () => {
	it('has the documented defaults', () => {
		const config = loadConfig({})
		expect(config).toEqual({
			port: 10334,
			host: '127.0.0.1',
			databasePath: './data/dreamlake.db',
			jwtSecret: undefined,
			jwtExpiresInSeconds: 30 * 86_400,
			jwtIssuer: 'dreamlake',
			jwtAudience: 'dreamlake',
			vuerAuth: { url: 'https://auth.vuer.ai', jwksUrl: 'https://auth.vuer.ai/api/auth/jwks', algorithms: ['EdDSA', 'ES256', 'RS256'] },
			identity: { mode: 'vuer-auth' },
			publicUrl: undefined,
			rateLimitExchange: 30,
			trustProxy: 0,
			cacheSize: 10_000,
			staleAfterSeconds: 600,
			maxFileSize: 5 * 2 ** 30,
			eventsHeartbeatSeconds: 15,
			eventsMaxStreams: 10_000,
			eventsMaxStreamsPerUser: 100,
			fileStorage: { kind: 'local' },
			dashboardSource: undefined,
			logFormat: 'auto',
			logLevel: 'info',
		})
	})

	it('reads FILE_STORAGE=s3://bucket/prefix with the S3_ settings, path-style unless told', () => {
		const s3 = { S3_ACCESS_KEY_ID: 'key', S3_SECRET_ACCESS_KEY: 'secret' }
		expect(loadConfig({ FILE_STORAGE: 's3://my-bucket/dream/lake/', ...s3 }).fileStorage).toEqual({
			kind: 's3',
			bucket: 'my-bucket',
			prefix: 'dream/lake/',
			endpoint: 'https://s3.us-east-1.amazonaws.com',
			region: 'us-east-1',
			accessKeyId: 'key',
			secretAccessKey: 'secret',
			virtualHostedStyle: false,
			presignedDownloads: false,
		})
		const minio = loadConfig({ FILE_STORAGE: 's3://files', S3_ENDPOINT: 'http://127.0.0.1:9000/', S3_REGION: 'eu-west-3', S3_VIRTUAL_HOSTED_STYLE: 'TRUE', S3_PRESIGNED_DOWNLOADS: 'True', ...s3 }).fileStorage
		expect(minio).toMatchObject({ bucket: 'files', prefix: '', endpoint: 'http://127.0.0.1:9000', region: 'eu-west-3', virtualHostedStyle: true, presignedDownloads: true })
	})

	it.each([
		[{ FILE_STORAGE: 'gs://bucket' }, 'FILE_STORAGE'],
		[{ FILE_STORAGE: 's3://No_Such/x', S3_ACCESS_KEY_ID: 'k', S3_SECRET_ACCESS_KEY: 's' }, 'FILE_STORAGE'],
		[{ FILE_STORAGE: 's3://bucket', S3_SECRET_ACCESS_KEY: 's' }, 'S3_ACCESS_KEY_ID'],
		[{ FILE_STORAGE: 's3://bucket', S3_ACCESS_KEY_ID: 'k' }, 'S3_SECRET_ACCESS_KEY'],
		[{ FILE_STORAGE: 's3://bucket', S3_ACCESS_KEY_ID: 'k', S3_SECRET_ACCESS_KEY: 's', S3_ENDPOINT: 'ftp://x' }, 'S3_ENDPOINT'],
		[{ FILE_STORAGE: 's3://bucket', S3_ACCESS_KEY_ID: 'k', S3_SECRET_ACCESS_KEY: 's', S3_VIRTUAL_HOSTED_STYLE: 'maybe' }, 'S3_VIRTUAL_HOSTED_STYLE'],
		[{ FILE_STORAGE: 's3://bucket', S3_ACCESS_KEY_ID: 'k', S3_SECRET_ACCESS_KEY: 's', S3_PRESIGNED_DOWNLOADS: 'yes' }, 'S3_PRESIGNED_DOWNLOADS'],
	])('refuses the file storage settings %p, naming %p', (env, variable) => {
		expect(() => loadConfig(env)).toThrow(new RegExp(`^${variable}: `))
	})

	it('reads IDENTITY and the OIDC settings, refusing what cannot work', () => {
		expect(loadConfig({ IDENTITY: 'builtin', PUBLIC_URL: 'https://dl.example.org/' })).toMatchObject({ identity: { mode: 'builtin' }, publicUrl: 'https://dl.example.org' })
		expect(loadConfig({ IDENTITY: 'oidc', OIDC_ISSUER: 'https://idp.example.org/realms/lab/', OIDC_CLIENT_ID: 'dreamlake', OIDC_SCOPES: 'profile email groups', OIDC_AUDIENCE: 'api1, api2' }).identity).toEqual({
			mode: 'oidc',
			issuer: 'https://idp.example.org/realms/lab',
			clientId: 'dreamlake',
			scopes: ['openid', 'profile', 'email', 'groups'],
			usernameClaim: 'preferred_username',
			audiences: ['api1', 'api2'],
			deviceGrant: true,
		})
		expect(loadConfig({ IDENTITY: 'oidc', OIDC_ISSUER: 'https://accounts.google.com', OIDC_CLIENT_ID: 'x', OIDC_DEVICE_GRANT: 'off' }).identity).toMatchObject({ deviceGrant: false })
		expect(() => loadConfig({ IDENTITY: 'ldap' })).toThrow(/IDENTITY: "ldap" is not one of vuer-auth, oidc, builtin/)
		expect(() => loadConfig({ IDENTITY: 'oidc', OIDC_CLIENT_ID: 'x' })).toThrow(/OIDC_ISSUER/)
		expect(() => loadConfig({ IDENTITY: 'oidc', OIDC_ISSUER: 'https://idp.example.org' })).toThrow(/OIDC_CLIENT_ID/)
		expect(() => loadConfig({ PUBLIC_URL: 'dl.example.org' })).toThrow(/PUBLIC_URL/)
	})

	it.each([
		['1048576', 1_048_576],
		['512MiB', 512 * 2 ** 20],
		['5GiB', 5 * 2 ** 30],
		['2GB', 2e9],
		['1.5 KiB', 1536],
		['100kb', 100_000],
	])('reads MAX_FILE_SIZE %p as %p bytes', (value, bytes) => {
		expect(loadConfig({ MAX_FILE_SIZE: value }).maxFileSize).toBe(bytes)
	})

	it.each(['0', '-1', 'lots', '5 parsecs', '1e9'])('refuses MAX_FILE_SIZE %p, naming it', (value) => {
		expect(() => loadConfig({ MAX_FILE_SIZE: value })).toThrow(/MAX_FILE_SIZE/)
	})

	it('reads every variable, and a flag wins over its variable', () => {
		const config = loadConfig(
			{
				PORT: '8080',
				HOST: '0.0.0.0',
				DATABASE_URL: 'file:/var/lib/dreamlake/db.sqlite',
				JWT_SECRET: SECRET,
				JWT_EXPIRATION: 'never',
				JWT_ISSUER: 'me',
				JWT_AUDIENCE: 'us',
				VUER_AUTH_URL: 'https://id.example.com/',
				VUER_AUTH_ISSUER: 'https://id.example.com',
				VUER_AUTH_AUDIENCE: 'dreamlake',
				VUER_AUTH_ALGORITHMS: 'ES256, RS256',
				RATE_LIMIT_EXCHANGE: '0',
				TRUST_PROXY: '1',
				CACHE_SIZE: '50000',
			},
			{ PORT: '9090' },
		)
		expect(config).toMatchObject({
			port: 9090,
			host: '0.0.0.0',
			databasePath: '/var/lib/dreamlake/db.sqlite',
			jwtSecret: SECRET,
			jwtExpiresInSeconds: null,
			jwtIssuer: 'me',
			jwtAudience: 'us',
			vuerAuth: { url: 'https://id.example.com', jwksUrl: 'https://id.example.com/api/auth/jwks', issuer: 'https://id.example.com', audience: 'dreamlake', algorithms: ['ES256', 'RS256'] },
			rateLimitExchange: 0,
			trustProxy: 1,
			cacheSize: 50_000,
		})
	})

	it.each([
		['3600', 3600],
		['90s', 90],
		['15m', 900],
		['12h', 43_200],
		['30d', 2_592_000],
		['2w', 1_209_600],
	])('JWT_EXPIRATION=%s is %d seconds', (value, seconds) => {
		expect(loadConfig({ JWT_EXPIRATION: value }).jwtExpiresInSeconds).toBe(seconds)
	})

	it.each([
		['PORT', 'eighty'],
		['PORT', '70000'],
		['PORT', '-1'],
		['DATABASE_URL', 'mysql://localhost/db'],
		['DATABASE_URL', 'postgres://'],
		['DATABASE_URL', 'postgres://localhost:99999/db'],
		['DATABASE_URL', 'postgres://localhost/db?sslmode=always'],
		['DATABASE_POOL_SIZE', '0'],
		['JWT_SECRET', 'short'],
		['JWT_SECRET', PLACEHOLDER_SECRET],
		['JWT_EXPIRATION', '30 days'],
		['JWT_EXPIRATION', '0'],
		['VUER_AUTH_URL', 'not a url'],
		['VUER_AUTH_JWKS_URL', 'ftp://example.com/jwks'],
		['VUER_AUTH_ALGORITHMS', 'none'],
		['VUER_AUTH_ALGORITHMS', 'HS256'],
		['VUER_AUTH_ALGORITHMS', 'RS256,HS512'],
		['VUER_AUTH_PUBLIC_KEY', 'hello'],
		['VUER_AUTH_PUBLIC_KEY', '{"kty":"oct","k":"c2VjcmV0"}'],
		['RATE_LIMIT_EXCHANGE', 'many'],
		['RATE_LIMIT_EXCHANGE', '-1'],
		['TRUST_PROXY', 'yes'],
		['CACHE_SIZE', '0'],
		['CACHE_SIZE', '10k'],
		['LOG_FORMAT', 'xml'],
		['LOG_LEVEL', 'loud'],
	])('refuses %s=%p with a message naming the variable', (variable, value) => {
		let error: unknown
		try {
			loadConfig({ [variable]: value })
		} catch (e) {
			error = e
		}
		expect(error).toBeInstanceOf(ConfigError)
		expect((error as ConfigError).variable).toBe(variable)
		expect((error as Error).message).toStartWith(`${variable}: `)
		if (variable === 'JWT_SECRET') expect((error as Error).message).not.toContain(value)
	})

	it('accepts a PEM or public JWK as VUER_AUTH_PUBLIC_KEY, with \\n escapes', () => {
		const pem = '-----BEGIN PUBLIC KEY-----\\nMCowBQYDK2VwAyEA\\n-----END PUBLIC KEY-----'
		expect(loadConfig({ VUER_AUTH_PUBLIC_KEY: pem }).vuerAuth.publicKey).toBe(pem.replaceAll('\\n', '\n'))
		expect(loadConfig({ VUER_AUTH_PUBLIC_KEY: '{"kty":"OKP","crv":"Ed25519","x":"abc"}' }).vuerAuth.publicKey).toContain('OKP')
	})
})

describe('DATABASE_URL naming PostgreSQL', () => {
	it.each(['postgres://app:pw@db.internal:6543/lab', 'postgresql://app:pw@db.internal:6543/lab?sslmode=require'])('selects PostgreSQL for %p, the data folder staying the default one', (url) => {
		const config = loadConfig({ DATABASE_URL: url, DATABASE_POOL_SIZE: '4' })
		expect(config.postgres).toEqual({ url, poolSize: 4 })
		expect(config.databasePath).toBe('./data/dreamlake.db')
	})

	it('keeps SQLite when DATABASE_URL is unset or a file, with a pool of 10 for when it is not', () => {
		expect(loadConfig({}).postgres).toBeUndefined()
		expect(loadConfig({ DATABASE_URL: './x.db' }).postgres).toBeUndefined()
		expect(loadConfig({ DATABASE_URL: 'postgres://localhost/db' }).postgres?.poolSize).toBe(10)
	})

	it.each([
		['postgres:///lab?password=hunter2-secret', 'names no host'],
		['postgres://app:hunter2-secret@:5432/lab', 'is not a URL'],
		['postgres://app:hunter2-secret@db:5432/lab?sslmode=sometimes', 'sslmode'],
		['postgres://app:hunter2-secret@db:99999/lab', 'is not a URL'],
		['postgres://app@db/lab?password=hunter2-secret&sslmode=nope', 'sslmode'],
	])('refuses %p in one line naming DATABASE_URL, never printing the password', (url, says) => {
		let error: unknown
		try {
			loadConfig({ DATABASE_URL: url })
		} catch (e) {
			error = e
		}
		expect(error).toBeInstanceOf(ConfigError)
		const message = (error as Error).message
		expect(message).toStartWith('DATABASE_URL: ')
		expect(message).toContain(says)
		expect(message).not.toContain('hunter2')
		expect(message).not.toContain('\n')
	})
})
