import { createApp } from './app'
import { Dashboard } from './dashboard'
import { DreamlakeTokens } from './auth/dreamlake-token'
import { VuerAuthVerifier } from './auth/vuer-auth'
import { ConfigError, type Config, type FileStorage } from './config'
import { closeDatabase, dataFolder, openDatabase, type Db } from './db/client'
import { DEV_ISSUER, DEV_PREFIX, DevIdentityProvider } from './dev/identity-provider'
import { IDP_ISSUER, IDP_PREFIX, ServerIdentityProvider } from './idp'
import { discover, OidcClient, OidcProviderError, type OidcSettings } from './idp/oidc'
import { CALLBACK_PATH, type SignInPurpose } from './idp/oidc-routes'
import { migrateDatabase } from './db/migrate'
import { acquireServerLock, type ServerLock } from './db/server-lock'
import { startCheckpointer } from './db/checkpointer'
import { MAX_JSON_BODY_BYTES } from './http/body'
import { withOperations } from './http/operations'
import type { Logger } from './log'
import { settlesWithin } from './deadline'
import { describeError } from './log'
import { FileReferences } from './files/repository'
import { sweepUnreferenced } from './files/sweep'
import { LocalFileStore } from './storage/local'
import { S3FileStore } from './storage/s3'
import { S3RequestError } from './storage/s3-requests'
import type { FileStore } from './storage/store'
import { UPLOAD_OVERHEAD_BYTES } from './files/upload'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { resolveJwtSecret } from './secret'

export interface RunningServer {
	url: URL
	/** Stops accepting, lets in-flight requests finish (at most `graceMs`), then closes the database. */
	stop(graceMs?: number): Promise<void>
}

export interface ServeOptions {
	/** Serve and trust the development identity provider (loopback only). */
	dev?: boolean
}

export const LOOPBACK_HOSTS = ['127.0.0.1', 'localhost', '::1', '[::1]']

/** How often the server frees file bytes no row points at (a purge from the command line leaves them). */
const SWEEP_INTERVAL_MS = 10 * 60 * 1000

/** The file store of a database: a bucket (FILE_STORAGE=s3://…), else `files/` in its data folder, or a throwaway folder for `:memory:`. */
export function openFileStore(databasePath: string, storage: FileStorage = { kind: 'local' }): { store: FileStore; close(): void } {
	const folder = dataFolder(databasePath)
	if (storage.kind === 's3') return { store: new S3FileStore({ ...storage, ...(folder !== null && { spoolFolder: join(folder, 'spool') }) }), close() {} }
	if (folder !== null) return { store: new LocalFileStore(join(folder, 'files')), close() {} }
	const throwaway = mkdtempSync(join(tmpdir(), 'dreamlake-files-'))
	return { store: new LocalFileStore(throwaway), close: () => rmSync(throwaway, { recursive: true, force: true }) }
}

/** A start-up step that could not read or write a path it needs: the message names the path and the setting behind it. */
export class StartupError extends Error {}

/** Binds, then opens and migrates the database, then serves the API until `stop`. */
export async function startServer(config: Config, log: Logger, options: ServeOptions = {}): Promise<RunningServer> {
	if (options.dev && !LOOPBACK_HOSTS.includes(config.host)) {
		throw new ConfigError('HOST', `--dev serves a stand-in identity provider anyone can mint tokens from; it only binds a loopback address (127.0.0.1, ::1), not ${config.host}.`)
	}
	// an upload's form fields and part headers ride on top of the file itself
	const maxUploadBytes = config.maxFileSize + UPLOAD_OVERHEAD_BYTES
	// the port first: a bad HOST or a busy PORT is found before the database is opened and migrated
	const server = listen(config, Math.max(MAX_JSON_BODY_BYTES * 2, maxUploadBytes + UPLOAD_OVERHEAD_BYTES))
	const opened: { lock?: ServerLock; db?: Db } = {}
	try {
		const secret = atPath('the data folder', dataFolder(config.databasePath), 'DATABASE_URL (or set JWT_SECRET)', () => resolveJwtSecret(config))
		const lock = (opened.lock = atPath('the lock file beside the database', `${config.databasePath}.lock`, 'DATABASE_URL', () => acquireServerLock(config.databasePath)))
		const db = (opened.db = atPath('the database', config.databasePath, 'DATABASE_URL', () => openDatabase(config.databasePath)))
		const migrations = migrateDatabase(db)
		if (migrations.applied > 0) log.info('database migrated', { applied: migrations.applied, path: config.databasePath })

		if (options.dev && config.identity.mode !== 'vuer-auth') throw new ConfigError('IDENTITY', `--dev replaces the identity provider with its stand-in; unset IDENTITY=${config.identity.mode} (or leave out --dev).`)
		const origin = `http://${server.hostname?.includes(':') ? `[${server.hostname}]` : server.hostname}:${server.port}`
		const publicUrl = config.publicUrl ?? origin
		const oidc = config.identity.mode === 'oidc' ? await openIdProvider(config.identity, log) : undefined
		const idp = config.identity.mode === 'builtin' ? await atPath("the identity provider's key file", dataFolder(config.databasePath), 'DATABASE_URL', () => ServerIdentityProvider.open(dataFolder(config.databasePath))) : undefined
		const devIdp = options.dev ? await atPath('the stand-in identity provider\'s key file', dataFolder(config.databasePath), 'DATABASE_URL', () => DevIdentityProvider.open(dataFolder(config.databasePath))) : undefined
		// --dev trusts its stand-in only: a VUER_AUTH_ISSUER or _AUDIENCE meant for the real vuer-auth would refuse every stand-in token
		// builtin trusts /idp's key only, as --dev trusts its stand-in's
		const localKey = devIdp ? { key: devIdp.publicJwk, issuer: DEV_ISSUER } : idp ? { key: idp.publicJwk, issuer: IDP_ISSUER } : undefined
		const vuerAuth = oidc?.verifier ?? new VuerAuthVerifier(localKey ? { jwksUrl: config.vuerAuth.jwksUrl, algorithms: ['EdDSA'], publicKey: JSON.stringify(localKey.key), issuer: localKey.issuer } : config.vuerAuth, log)
		if (devIdp) {
			const ignored = (['VUER_AUTH_ISSUER', 'VUER_AUTH_AUDIENCE', 'VUER_AUTH_PUBLIC_KEY'] as const).filter((name) => config.vuerAuth[({ VUER_AUTH_ISSUER: 'issuer', VUER_AUTH_AUDIENCE: 'audience', VUER_AUTH_PUBLIC_KEY: 'publicKey' } as const)[name]] !== undefined)
			if (ignored.length > 0) log.warn(`--dev trusts only its stand-in identity provider: ${ignored.join(', ')} ignored`, { ignored })
		}
		const tokens = await DreamlakeTokens.create({
			secret: secret.secret,
			issuer: config.jwtIssuer,
			audience: config.jwtAudience,
			expiresInSeconds: config.jwtExpiresInSeconds,
			cacheSize: config.cacheSize,
		})
		const files = atPath('the files folder', dataFolder(config.databasePath), 'DATABASE_URL', () => openFileStore(config.databasePath, config.fileStorage))
		if (files.store instanceof S3FileStore && config.fileStorage.kind === 's3') await checkBucket(files.store, config.fileStorage)
		const referenced = new FileReferences(db)
		const cleared = await files.store.discardUnfinished()
		const swept = await sweepUnreferenced(files.store, referenced)
		if (cleared > 0 || swept.files > 0) log.info('file storage tidied', { unfinishedUploads: cleared, unreferencedFiles: swept.files, bytesFreed: swept.bytes })
		const app = createApp({
			db,
			vuerAuth,
			tokens,
			log,
			devIdp,
			exchangeLimits: { perMinute: config.rateLimitExchange, trustProxy: config.trustProxy },
			cacheSize: config.cacheSize,
			fileStore: files.store,
			maxFileSize: config.maxFileSize,
			vuerAuthUrl: config.vuerAuth.url,
			sessionSeconds: config.jwtExpiresInSeconds,
			staleAfterSeconds: config.staleAfterSeconds,
			eventStreams: { heartbeatMs: Math.min(config.eventsHeartbeatSeconds * 1000, 2 ** 31 - 1), maxStreams: config.eventsMaxStreams, maxStreamsPerUser: config.eventsMaxStreamsPerUser },
			...(idp && { builtin: { idp, publicUrl } }),
			// /idp's device flow under oidc needs no key: the code is approved with the provider's own ID token
			...(oidc && { oidc: { client: oidc, idp: await ServerIdentityProvider.open(null), publicUrl } }),
			// `bun run dev`: the dashboard is built from src/ui and rebuilt on change
			...(config.dashboardSource && { dashboard: await Dashboard.fromSource(log, config.dashboardSource) }),
		})
		server.reload({ fetch: withOperations(app.fetch, { log, devMode: devIdp !== undefined, maxUploadBytes }) })
		// what Elysia's own listen() does: handlers reach the socket (requestIP) through the app's server
		app.server = server
		const url = new URL(origin)
		if (devIdp) {
			log.warn('DEVELOPMENT MODE (--dev): vuer-auth is replaced by a local stand-in that mints a token for any username; never run this in production', {
				login: `VUER_AUTH_URL=${origin}${DEV_PREFIX} dreamlake login --url ${origin}`,
				mint: `POST ${DEV_PREFIX}/token {"username":"alice"} or \`dreamlake-server dev-token alice\``,
			})
		}
		log.info('dreamlake server listening', {
			url: url.href,
			database: config.databasePath,
			jwtSecret: secret.path ?? (secret.source === 'ephemeral' ? 'in memory (tokens die with the process)' : 'from JWT_SECRET'),
			...identityLine(config, devIdp !== undefined, publicUrl, oidc),
			files: describeStorage(config.fileStorage),
		})
		if (secret.source === 'ephemeral') log.warn('JWT_SECRET is unset and the database is in memory: tokens will not survive a restart')
		log.flush() // the start-up lines now, not with the first batch of request lines

		// last, once nothing can fail any more: a worker thread left running would keep the process alive
		const checkpointer = startCheckpointer(db, config.databasePath, log)
		// bytes a purge (from the command line, beside this server) left without a row are freed here
		// one sweep at a time, and none left running once the database is closed
		let sweeping: Promise<void> | undefined
		const sweeper = setInterval(() => {
			sweeping ??= sweepUnreferenced(files.store, referenced)
				.then((freed) => {
					if (freed.files > 0) log.info('unreferenced files freed', { files: freed.files, bytes: freed.bytes })
				})
				.catch((error: unknown) => log.warn('could not free unreferenced files', describeError(error)))
				.finally(() => (sweeping = undefined))
		}, SWEEP_INTERVAL_MS)
		sweeper.unref()
		let stopping: Promise<void> | undefined
		const stop = (graceMs = 10_000) =>
			(stopping ??= (async () => {
				if (!(await settlesWithin(server.stop(false), graceMs))) {
					log.warn('in-flight requests did not finish in time; closing them', { graceMs })
					await server.stop(true)
				}
				clearInterval(sweeper)
				await sweeping
				await checkpointer.stop()
				closeDatabase(db)
				files.close()
				lock.release()
				log.flush()
			})())
		return { url, stop }
	} catch (error) {
		server.stop(true)
		opened.db?.$client.close()
		opened.lock?.release()
		throw error
	}
}

/** IDENTITY=oidc: the provider's discovery document read, or a start-up error naming OIDC_ISSUER. */
async function openIdProvider(settings: OidcSettings, log: Logger): Promise<OidcClient<SignInPurpose>> {
	try {
		const { deviceAuthorizationEndpoint, ...endpoints } = await discover(settings.issuer)
		// OIDC_DEVICE_GRANT=off: as if the provider had none
		return new OidcClient<SignInPurpose>(settings, settings.deviceGrant && deviceAuthorizationEndpoint ? { ...endpoints, deviceAuthorizationEndpoint } : endpoints, log)
	} catch (error) {
		if (error instanceof OidcProviderError) throw new StartupError(`OIDC_ISSUER: ${error.message}; check the address, and that this machine reaches the provider.`)
		throw error
	}
}

/** Which identity is in force and how `dreamlake login` reaches it: part of the one "listening" line. */
function identityLine(config: Config, dev: boolean, publicUrl: string, oidc: OidcClient | undefined): Record<string, string> {
	if (oidc) {
		const how = oidc.endpoints.deviceAuthorizationEndpoint ? "bridged to the provider's device grant" : "codes approved through the provider's sign-in page"
		return { identity: `oidc (${oidc.endpoints.issuer}; dreamlake login ${how})`, login: `VUER_AUTH_URL=${publicUrl}${IDP_PREFIX} dreamlake login --url ${publicUrl}`, redirectUri: `${publicUrl}${CALLBACK_PATH}` }
	}
	if (dev) return { identity: 'the development stand-in (--dev)', login: `VUER_AUTH_URL=${publicUrl}${DEV_PREFIX} dreamlake login --url ${publicUrl}` }
	if (config.identity.mode === 'builtin') return { identity: 'builtin (accounts of this server: dreamlake-server user add <username>)', login: `VUER_AUTH_URL=${publicUrl}${IDP_PREFIX} dreamlake login --url ${publicUrl}` }
	return { identity: 'vuer-auth', vuerAuth: config.vuerAuth.publicKey ? 'VUER_AUTH_PUBLIC_KEY' : config.vuerAuth.jwksUrl, login: `${config.vuerAuth.url === 'https://auth.vuer.ai' ? '' : `VUER_AUTH_URL=${config.vuerAuth.url} `}dreamlake login --url ${publicUrl}` }
}

/**
 * Binds HOST:PORT with a placeholder that answers 503 until the app is ready (the database opened
 * and migrated). Only a backstop for bodies: the app refuses a body over its route's limit itself,
 * by Content-Length before reading and by counting while it reads, with the JSON error body; Bun's
 * own refusal (`maxRequestBodySize`) has an empty body.
 */
function listen(config: Config, maxRequestBodySize: number): ReturnType<typeof Bun.serve> {
	const starting = () => Response.json({ success: false, error: 'The server is starting; try again in a moment.', code: 'not_ready' }, { status: 503, headers: { 'retry-after': '1' } })
	try {
		return Bun.serve({ port: config.port, hostname: config.host, maxRequestBodySize, fetch: starting })
	} catch (error) {
		const code = (error as { code?: unknown }).code
		if (code === 'EADDRINUSE') throw new ConfigError('PORT', `port ${config.port} on ${config.host} is already in use by another program; stop it, or choose another port (PORT=0 picks a free one).`)
		if (code === 'EACCES') throw new ConfigError('PORT', `permission denied to listen on port ${config.port} (ports below 1024 need privileges); choose a port from 1024 up, e.g. the default 10334.`)
		if (code === 'EINVAL' || code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND') throw new ConfigError('HOST', `cannot listen on "${config.host}": it is not an address of this machine (use 127.0.0.1, ::1, 0.0.0.0 for every interface, or the IP address of one of them).`)
		throw error
	}
}

/** Where the files are, for the start-up line: never a key. */
export function describeStorage(storage: FileStorage): string {
	return storage.kind === 'local' ? 'files/ in the data folder' : `s3://${storage.bucket}/${storage.prefix} at ${storage.endpoint}`
}

/**
 * Writes, reads back and deletes a probe object in the bucket before serving; when that fails, a
 * StartupError names the setting to look at (never a key's value).
 */
export async function checkBucket(store: S3FileStore, storage: Extract<FileStorage, { kind: 's3' }>): Promise<void> {
	try {
		await store.probe()
	} catch (error) {
		const where = `s3://${storage.bucket}/${storage.prefix}`
		const code = error instanceof S3RequestError ? error.code : undefined
		const reason = error instanceof Error ? error.message : String(error)
		if (code === 'NoSuchBucket') throw new StartupError(`FILE_STORAGE: the bucket "${storage.bucket}" does not exist at S3_ENDPOINT ${storage.endpoint}; create it first (the server does not create buckets).`)
		if (code === 'AuthorizationHeaderMalformed' || code === 'IllegalLocationConstraintException' || code === 'PermanentRedirect') {
			throw new StartupError(`S3_REGION: the object store at ${storage.endpoint} refused requests signed for region "${storage.region}" (${code}); set the bucket's region.`)
		}
		if (error instanceof S3RequestError && (error.status === 401 || error.status === 403)) {
			throw new StartupError(`S3_ACCESS_KEY_ID / S3_SECRET_ACCESS_KEY: the object store at ${storage.endpoint} refused them (${code}) when writing a probe object to ${where}; check the key pair and its rights on the bucket.`)
		}
		if (error instanceof S3RequestError) throw new StartupError(`FILE_STORAGE: writing, reading and deleting a probe object in ${where} at ${storage.endpoint} failed (${code}).`)
		throw new StartupError(`S3_ENDPOINT: ${reason} at ${storage.endpoint} (FILE_STORAGE=${where}); check the URL and that the store is running.`)
	}
}

const PERMISSION_CODES = ['EACCES', 'EPERM', 'EROFS', 'SQLITE_CANTOPEN', 'SQLITE_READONLY', 'SQLITE_PERM', 'SQLITE_AUTH']

/** Runs a start-up step on `path`; a permission failure names the path (the one the error gives, else `path`) and the setting that chose it. */
function atPath<T>(what: string, path: string | null, setting: string, step: () => T): T {
	const named = (error: unknown) => {
		const code = (error as { code?: unknown }).code
		if (typeof code !== 'string' || !PERMISSION_CODES.some((c) => code.startsWith(c))) return error
		const where = (error as { path?: unknown }).path ?? path
		const reason = code === 'EROFS' ? 'is on a read-only file system' : code === 'EACCES' || code === 'EPERM' ? 'cannot be written (permission denied)' : 'cannot be opened for writing (a read-only file system, or permission denied)'
		return new StartupError(`${what}${where ? ` ${String(where)}` : ''} ${reason}; give the server's user write access to it, or choose another place with ${setting}.`)
	}
	try {
		const result = step()
		return (result instanceof Promise ? result.catch((error: unknown) => Promise.reject(named(error))) : result) as T
	} catch (error) {
		throw named(error)
	}
}
