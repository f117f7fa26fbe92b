import type { ServerIdentityProvider } from '../../src/idp'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createApp, DEFAULT_MAX_FILE_SIZE, type AppDeps } from '../../src/app'
import { withOperations } from '../../src/http/operations'
import type { ExchangeLimits } from '../../src/auth'
import type { DeviceAuthority } from '../../src/auth/device-authority'
import { DreamlakeTokens, type DreamlakeTokenOptions } from '../../src/auth/dreamlake-token'
import { VuerAuthVerifier, type VuerAuthOptions } from '../../src/auth/vuer-auth'
import { closeDatabase, openDatabase, type Db } from '../../src/db/client'
import { migrateDatabase } from '../../src/db/migrate'
import { UPLOAD_OVERHEAD_BYTES } from '../../src/files/upload'
import { createLogger, type Logger } from '../../src/log'
import { LocalFileStore } from '../../src/storage/local'
import type { FileStore } from '../../src/storage/store'
import { expect } from 'bun:test'
import type { JWTPayload } from 'jose'
import { testBucket, testS3Store } from './file-storage'
import { KeyServer, newIdentity } from './key-server'

export const TEST_SECRET = 'test-secret-that-is-at-least-32-bytes-long!'

export interface HarnessOptions {
	vuerAuth?: Partial<VuerAuthOptions>
	tokens?: Partial<DreamlakeTokenOptions>
	keyServer?: KeyServer
	exchangeLimits?: ExchangeLimits
	cacheSize?: number
	maxFileSize?: number
	/** The dashboard sign-in's identity provider (default: vuer-auth over HTTP at vuerAuthUrl). */
	deviceAuthority?: DeviceAuthority
	vuerAuthUrl?: string
	sessionSeconds?: number | null
	/** What time the app thinks it is (epoch ms), to see episodes go stale without waiting. */
	clock?: () => number
	staleAfterSeconds?: number
	/** Event streams' limits and timings (a short heartbeat and access re-check, small queues). */
	eventStreams?: AppDeps['eventStreams']
	/** The data folder (the database and files/), the caller's to remove; default a new temporary folder, removed at close. */
	dir?: string
	/**
	 * The file store the app is given, made from the one the environment picks (default: that one
	 * itself): `<dir>/files`, or a fresh prefix of the test bucket when FILE_STORAGE=s3://… is set.
	 */
	fileStore?: (store: FileStore) => FileStore
	/** IDENTITY=builtin: the server's /idp and its accounts (trust its key with `vuerAuth: { publicKey, issuer }`). */
	builtin?: { idp: ServerIdentityProvider; publicUrl: string }
}

export interface TestUser {
	claims: JWTPayload
	token: string
	/** The user's id. */
	id: string
	/** The personal namespace's slug and id. */
	ns: string
	nsId: string
}

export interface CallOptions {
	token?: string
	headers?: Record<string, string>
	/** An object is sent as JSON; a string is sent as is. */
	body?: unknown
}

export interface Reply<T = any> {
	status: number
	body: T
	headers: Headers
	/** Statements and write transactions, read from the Server-Timing header. */
	db: { statements: number; transactions: number }
}

/** The real app on a real SQLite file in a temporary folder, trusting a real key server. */
export class Harness {
	app!: ReturnType<typeof createApp>
	/** The app as the server runs it: behind withOperations (request ids, the request log, the early 413). */
	fetch!: (request: Request) => Promise<Response>
	/** Episodes made by newEpisode, for unique names. */
	private episodes = 0

	private constructor(
		/** Every line the app logged, for tests that check what is (not) logged. */
		readonly logs: string[],
		readonly dir: string,
		readonly db: Db,
		readonly keys: KeyServer,
		private readonly ownsKeys: boolean,
		readonly tokens: DreamlakeTokens,
		private readonly build: () => ReturnType<typeof createApp>,
		private readonly log: Logger,
		/** Where uploaded files' bytes go: `<dir>/files` (local), or the test bucket (FILE_STORAGE=s3://…). */
		readonly store: FileStore,
		/** The data folder's own store, `<dir>/files`, whichever the app is given. */
		readonly local: LocalFileStore,
		private readonly maxUploadBytes: number,
		private readonly ownsDir: boolean,
	) {
		this.restart()
	}

	static async start(options: HarnessOptions = {}): Promise<Harness> {
		const keys = options.keyServer ?? (await KeyServer.start())
		const dir = options.dir ?? mkdtempSync(join(tmpdir(), 'dreamlake-test-'))
		const db = openDatabase(join(dir, 'dreamlake.db'))
		migrateDatabase(db)
		const tokens = await DreamlakeTokens.create({ secret: TEST_SECRET, issuer: 'dreamlake', audience: 'dreamlake', expiresInSeconds: 3600, ...options.tokens })
		const logs: string[] = []
		const log = createLogger({ format: 'json', level: 'debug', write: (line) => logs.push(line) })
		const vuerAuth = new VuerAuthVerifier({ jwksUrl: keys.jwksUrl, algorithms: ['EdDSA', 'ES256', 'RS256'], ...options.vuerAuth }, log)
		const local = new LocalFileStore(join(dir, 'files'))
		const store = testBucket ? testS3Store() : local
		const fileStore = options.fileStore?.(store) ?? store
		const build = () => createApp({ db, vuerAuth, tokens, log, exchangeLimits: options.exchangeLimits, cacheSize: options.cacheSize, fileStore, maxFileSize: options.maxFileSize, deviceAuthority: options.deviceAuthority, vuerAuthUrl: options.vuerAuthUrl, sessionSeconds: options.sessionSeconds, clock: options.clock, staleAfterSeconds: options.staleAfterSeconds, eventStreams: options.eventStreams, builtin: options.builtin })
		return new Harness(logs, dir, db, keys, !options.keyServer, tokens, build, log, store, local, (options.maxFileSize ?? DEFAULT_MAX_FILE_SIZE) + UPLOAD_OVERHEAD_BYTES, options.dir === undefined)
	}

	/** A new app on the same database, as after a server restart: nothing cached in memory. */
	restart(): void {
		this.app = this.build()
		this.fetch = withOperations(this.app.fetch, { log: this.log, maxUploadBytes: this.maxUploadBytes })
	}

	get dbPath(): string {
		return join(this.dir, 'dreamlake.db')
	}

	async call<T = any>(method: string, path: string, { token, headers = {}, body }: CallOptions = {}): Promise<Reply<T>> {
		const init: RequestInit = { method, headers: { ...(token !== undefined && { authorization: `Bearer ${token}` }), ...headers } }
		if (body instanceof FormData) {
			init.body = body // multipart/form-data, with its boundary in the content type Request sets
		} else if (body !== undefined) {
			init.body = typeof body === 'string' ? body : JSON.stringify(body)
			if (typeof body !== 'string') (init.headers as Record<string, string>)['content-type'] = 'application/json'
		}
		const response = await this.fetch(new Request(`http://dreamlake.test${path}`, init))
		const text = await response.text()
		const json = response.headers.get('content-type')?.includes('json') ?? false
		return { status: response.status, body: text ? (json ? JSON.parse(text) : text) : null, headers: response.headers, db: serverTiming(response.headers) }
	}

	/** Mints a vuer-auth token for `claims` and exchanges it. */
	async login(claims: Record<string, unknown>) {
		return this.call('POST', '/auth/exchange', { token: await this.keys.mint(claims) })
	}

	/** A fresh user (a new identity's first exchange), with their own personal namespace. */
	async newUser(claims: JWTPayload = newIdentity()): Promise<TestUser> {
		const { status, body } = await this.login(claims)
		expect(status).toBe(200)
		return { claims, token: body.dreamlake_token, id: body.user.id, ns: body.namespace.slug, nsId: body.namespace.id }
	}

	/** A fresh episode of `user` in `project` (created on the way), by its id. */
	async newEpisode(user: TestUser, project: string): Promise<string> {
		const name = `${project}-episode-${++this.episodes}-${crypto.randomUUID().slice(0, 8)}`
		const { status, body } = await this.call('POST', `/namespaces/${user.ns}/projects/${project}/episodes`, { token: user.token, body: { name } })
		expect(status).toBe(201)
		expect(body.id).toMatch(/^[1-9][0-9]*$/)
		return body.id
	}

	count(table: 'users' | 'namespaces'): number {
		return (this.db.$client.query(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n
	}

	close(): void {
		try {
			closeDatabase(this.db)
		} catch {
			// a test closed (or broke) the database on purpose
		}
		if (this.ownsKeys) this.keys.stop()
		if (this.ownsDir) rmSync(this.dir, { recursive: true, force: true })
	}
}

export function serverTiming(headers: Headers): { statements: number; transactions: number } {
	const value = headers.get('server-timing') ?? ''
	const statements = /(?:^|,\s*)db;dur=[\d.]+;desc="(\d+)"/.exec(value)
	const transactions = /db-tx;desc="(\d+)"/.exec(value)
	return { statements: statements ? Number(statements[1]) : Number.NaN, transactions: transactions ? Number(transactions[1]) : 0 }
}
