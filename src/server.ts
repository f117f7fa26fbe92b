import { createApp } from './app'
import { Dashboard } from './dashboard'
import { DreamlakeTokens } from './auth/dreamlake-token'
import { VuerAuthVerifier } from './auth/vuer-auth'
import { ConfigError, type Config } from './config'
import { closeDatabase, dataFolder, openDatabase } from './db/client'
import { DEV_ISSUER, DEV_PREFIX, DevIdentityProvider } from './dev-idp'
import { migrateDatabase } from './db/migrate'
import { acquireServerLock } from './db/server-lock'
import { startCheckpointer } from './db/checkpointer'
import { MAX_JSON_BODY_BYTES } from './http/body'
import { withOperations } from './http/operations'
import type { Logger } from './log'
import { settlesWithin } from './deadline'
import { sweepBlobs } from './db/purge'
import { describeError } from './log'
import { BlobStore } from './storage/blobs'
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

/** The file store of a database: `files/` in its data folder, or a throwaway folder for `:memory:`. */
export function openFileStore(databasePath: string): { blobs: BlobStore; close(): void } {
	const folder = dataFolder(databasePath)
	if (folder !== null) return { blobs: new BlobStore(join(folder, 'files')), close() {} }
	const throwaway = mkdtempSync(join(tmpdir(), 'dreamlake-files-'))
	return { blobs: new BlobStore(throwaway), close: () => rmSync(throwaway, { recursive: true, force: true }) }
}

/** Opens and migrates the database, then serves the API until `stop`. */
export async function startServer(config: Config, log: Logger, options: ServeOptions = {}): Promise<RunningServer> {
	if (options.dev && !LOOPBACK_HOSTS.includes(config.host)) {
		throw new ConfigError('HOST', `--dev serves a stand-in identity provider anyone can mint tokens from; it only binds a loopback address (127.0.0.1, ::1), not ${config.host}.`)
	}
	const secret = resolveJwtSecret(config)
	const lock = acquireServerLock(config.databasePath)
	const db = openDatabase(config.databasePath)
	try {
		const migrations = migrateDatabase(db)
		if (migrations.applied > 0) log.info('database migrated', { applied: migrations.applied, path: config.databasePath })

		const devIdp = options.dev ? await DevIdentityProvider.open(dataFolder(config.databasePath)) : undefined
		const vuerAuth = new VuerAuthVerifier(
			devIdp ? { ...config.vuerAuth, publicKey: JSON.stringify(devIdp.publicJwk), issuer: DEV_ISSUER } : config.vuerAuth,
			log,
		)
		const tokens = await DreamlakeTokens.create({
			secret: secret.secret,
			issuer: config.jwtIssuer,
			audience: config.jwtAudience,
			expiresInSeconds: config.jwtExpiresInSeconds,
			cacheSize: config.cacheSize,
		})
		const files = openFileStore(config.databasePath)
		const cleared = files.blobs.clearTemporary()
		const swept = sweepBlobs(db, files.blobs)
		if (cleared > 0 || swept.files > 0) log.info('file storage tidied', { unfinishedUploads: cleared, unreferencedFiles: swept.files, bytesFreed: swept.bytes })
		const app = createApp({
			db,
			vuerAuth,
			tokens,
			log,
			devIdp,
			exchangeLimits: { perMinute: config.rateLimitExchange, trustProxy: config.trustProxy },
			cacheSize: config.cacheSize,
			blobs: files.blobs,
			maxFileSize: config.maxFileSize,
			vuerAuthUrl: config.vuerAuth.url,
			sessionSeconds: config.jwtExpiresInSeconds,
			// `bun run dev`: the dashboard is built from src/ui and rebuilt on change
			...(config.dashboardSource && { dashboard: await Dashboard.fromSource(log, config.dashboardSource) }),
		})
		// an upload's form fields and part headers ride on top of the file itself
		const maxUploadBytes = config.maxFileSize + UPLOAD_OVERHEAD_BYTES
		const server = Bun.serve({
			port: config.port,
			hostname: config.host,
			// Only a backstop: the app refuses bodies over each route's limit itself, by Content-Length before
			// reading and by counting while it reads, with the JSON error body. Bun's own refusal has an empty body.
			maxRequestBodySize: Math.max(MAX_JSON_BODY_BYTES * 2, maxUploadBytes + UPLOAD_OVERHEAD_BYTES),
			fetch: withOperations(app.fetch, { log, devMode: devIdp !== undefined, maxUploadBytes }),
		})
		// what Elysia's own listen() does: handlers reach the socket (requestIP) through the app's server
		app.server = server
		const url = new URL(`http://${server.hostname?.includes(':') ? `[${server.hostname}]` : server.hostname}:${server.port}`)
		if (devIdp) {
			const origin = url.href.replace(/\/$/, '')
			log.warn('DEVELOPMENT MODE (--dev): vuer-auth is replaced by a local stand-in that mints a token for any username; never run this in production', {
				login: `VUER_AUTH_URL=${origin}${DEV_PREFIX} dreamlake login --url ${origin}`,
				mint: `POST ${DEV_PREFIX}/token {"username":"alice"} or \`dreamlake-server dev-token alice\``,
			})
		}
		log.info('dreamlake server listening', {
			url: url.href,
			database: config.databasePath,
			jwtSecret: secret.path ?? (secret.source === 'ephemeral' ? 'in memory (tokens die with the process)' : 'from JWT_SECRET'),
			vuerAuth: devIdp ? 'the built-in development stand-in (--dev)' : config.vuerAuth.publicKey ? 'VUER_AUTH_PUBLIC_KEY' : config.vuerAuth.jwksUrl,
		})
		if (secret.source === 'ephemeral') log.warn('JWT_SECRET is unset and the database is in memory: tokens will not survive a restart')
		log.flush() // the start-up lines now, not with the first batch of request lines

		// last, once nothing can fail any more: a worker thread left running would keep the process alive
		const checkpointer = startCheckpointer(db, config.databasePath, log)
		// bytes a purge (from the command line, beside this server) left without a row are freed here
		const sweeper = setInterval(() => {
			try {
				const freed = sweepBlobs(db, files.blobs)
				if (freed.files > 0) log.info('unreferenced files freed', { files: freed.files, bytes: freed.bytes })
			} catch (error) {
				log.warn('could not free unreferenced files', describeError(error))
			}
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
				await checkpointer.stop()
				closeDatabase(db)
				files.close()
				lock.release()
				log.flush()
			})())
		return { url, stop }
	} catch (error) {
		db.$client.close()
		lock.release()
		throw error
	}
}
