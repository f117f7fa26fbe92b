import { openapi } from '@elysiajs/openapi'
import { Elysia } from 'elysia'
import { authRoutes, type ExchangeLimits } from './auth'
import { browserSessionRoutes } from './auth/browser-session'
import { httpDeviceAuthority, type DeviceAuthority } from './auth/device-authority'
import type { DreamlakeTokens } from './auth/dreamlake-token'
import { AccountRepository } from './auth/repository'
import { AuthService } from './auth/service'
import type { VuerAuthVerifier } from './auth/vuer-auth'
import type { Db } from './db/client'
import type { DevIdentityProvider } from './dev/identity-provider'
import { Dashboard } from './dashboard'
import { passwordRoutes } from './accounts'
import { PasswordAccountRepository } from './accounts/repository'
import { PasswordAccounts } from './accounts/service'
import { ExternalWrites } from './db/external-writes'
import type { ServerIdentityProvider } from './idp'
import type { OidcClient } from './idp/oidc'
import { oidcRoutes, type SignInPurpose } from './idp/oidc-routes'
import { episodeRoutes } from './episodes'
import { fileRoutes } from './files'
import { FileRepository } from './files/repository'
import { FileService } from './files/service'
import { EpisodeRepository } from './episodes/repository'
import { EpisodeService } from './episodes/service'
import { errorHandler } from './http/error-handler'
import { eventRoutes } from './events'
import { EventHub, type ReplayLimits } from './events/hub'
import { DEFAULT_STREAM_LIMITS, EventService, type StreamLimits } from './events/service'
import { TableExports } from './export'
import { callerGuard } from './auth/guard'
import { health } from './http/health'
import { notImplementedRoutes } from './http/not-implemented'
import { serverTiming } from './http/server-timing'
import type { Logger } from './log'
import { logRoutes } from './logs'
import { LogRepository } from './logs/repository'
import { LogService } from './logs/service'
import { namespaceRoutes } from './namespaces'
import { NamespaceAccess } from './namespaces/access'
import { NamespaceService } from './namespaces/service'
import { ApiKeyRepository, ApiKeyService } from './namespaces/api-keys'
import { InvitationRepository, InvitationService } from './namespaces/invitations'
import { NamespaceRepository } from './namespaces/repository'
import { WriteQueue } from './db/write-queue'
import { parameterRoutes } from './parameters'
import { ParameterRepository } from './parameters/repository'
import { ParameterService } from './parameters/service'
import { projectRoutes } from './projects'
import { ProjectRepository } from './projects/repository'
import { ProjectService } from './projects/service'
import { trackRoutes } from './tracks'
import { TrackRepository } from './tracks/repository'
import { TrackService } from './tracks/service'
import type { FileStore } from './storage/store'
import { VERSION } from './version'

export interface AppDeps {
	db: Db
	vuerAuth: VuerAuthVerifier
	tokens: DreamlakeTokens
	log: Logger
	/** POST /auth/exchange rate limit; off when absent. */
	exchangeLimits?: ExchangeLimits
	/** Present only under `serve --dev`. */
	devIdp?: DevIdentityProvider
	/** Accounts (and projects, episodes, log cursors) kept in memory (CACHE_SIZE); 10,000 when absent. */
	cacheSize?: number
	/** Where file bytes live (the data folder's `files/`: server.ts, openFileStore). */
	fileStore: FileStore
	/** MAX_FILE_SIZE in bytes; 5 GiB when absent. */
	maxFileSize?: number
	/** Where the dashboard's sign-in runs the device flow: vuer-auth over HTTP (VUER_AUTH_URL) unless given; the stand-in under --dev. */
	deviceAuthority?: DeviceAuthority
	vuerAuthUrl?: string
	/** The dashboard session cookie's lifetime (JWT_EXPIRATION); null: as long as a browser keeps a cookie. */
	sessionSeconds?: number | null
	/** STALE_AFTER in seconds: a running episode silent this long is shown as stale; 10 minutes when absent. */
	staleAfterSeconds?: number
	/** What time it is (epoch ms): the tests move it to see episodes go stale. */
	clock?: () => number
	/** IDENTITY=builtin: the server's own identity provider at /idp and its accounts; PUBLIC_URL (else the listening address) for set-password links. */
	builtin?: { idp: ServerIdentityProvider; publicUrl: string }
	/** IDENTITY=oidc: the provider (its verifier is `vuerAuth`), and /idp's device flow and sign-in pages; PUBLIC_URL for the redirect URI. */
	oidc?: { client: OidcClient<SignInPurpose>; idp: ServerIdentityProvider; publicUrl: string }
	/** The web dashboard's files: those built in unless given (`bun run dev` builds from source). */
	dashboard?: Dashboard
	/** Event streams' limits and timings (EVENTS_*); the tests shorten the heartbeat and the access re-check. */
	eventStreams?: Partial<StreamLimits> & { replay?: ReplayLimits; projectDebounceMs?: number }
}

export const DEFAULT_MAX_FILE_SIZE = 5 * 2 ** 30

const bearer = (description: string) => ({ type: 'http' as const, scheme: 'bearer', bearerFormat: 'JWT', description })

/**
 * Builds the HTTP application; it never listens. Requests reach it through `withOperations`
 * (http/operations.ts), from Bun.serve in the server and directly in the tests. Each feature gets
 * its services here, and uses another feature only through its service: projects ← episodes ←
 * logs, parameters, tracks, files, and every one of them asks the one access check (namespaces/access.ts)
 * what the caller may do where. Every repository writes through the database's one write queue.
 */
export function createApp({ db, vuerAuth, tokens, log, exchangeLimits = { perMinute: 0, trustProxy: 0 }, devIdp, cacheSize, fileStore, maxFileSize = DEFAULT_MAX_FILE_SIZE, deviceAuthority, vuerAuthUrl = 'https://auth.vuer.ai', sessionSeconds = null, dashboard = embeddedDashboard(), staleAfterSeconds = 600, clock = Date.now, eventStreams = {}, builtin, oidc }: AppDeps) {
	// the one write queue of the database: every repository's writes share its group commits
	const writes = new WriteQueue(db.$client)
	// the one event hub: what the writers publish once committed, to the streams of GET …/events
	const events = new EventHub({ replay: eventStreams.replay, projectDebounceMs: eventStreams.projectDebounceMs })
	const namespaceRows = new NamespaceRepository(db, writes, { cacheSize })
	// builtin accounts are disabled by `dreamlake-server user disable`, another process: the cache must see its writes
	const accounts = new AccountRepository(db, writes, namespaceRows, { cacheSize, ...(builtin && { externalWrites: new ExternalWrites(db.$client) }) })
	const passwords = builtin && new PasswordAccounts(new PasswordAccountRepository(db, writes), { publicUrl: builtin.publicUrl, perMinute: exchangeLimits.perMinute, revokeTokens: (tx, sub) => accounts.revokeEveryToken(tx, sub), now: clock })
	// the one access check: what a caller may read, write, administer or own in a namespace
	const projectRows = new ProjectRepository(db, writes, { cacheSize })
	const access = new NamespaceAccess(namespaceRows, (meter, namespaceId, visibilities) => projectRows.liveIds(meter, namespaceId, visibilities).length > 0)
	const namespaces = new NamespaceService(namespaceRows, access, accounts)
	const keys = new ApiKeyService(new ApiKeyRepository(db, writes, { cacheSize }), access, namespaceRows, accounts)
	const invitations = new InvitationService(new InvitationRepository(db, writes, namespaceRows), access, namespaceRows)
	const auth = new AuthService(vuerAuth, tokens, accounts, log, keys, passwords ? (meter, sub) => passwords.admits(meter, sub) : undefined, passwords ? (meter, sub) => passwords.disabled(meter, sub) : undefined)
	const guard = callerGuard(auth)
	const projects = new ProjectService(projectRows, access)
	const episodeRows = new EpisodeRepository(db, writes, events, { cacheSize, clock })
	const episodes = new EpisodeService(episodeRows, projects, access, staleAfterSeconds * 1000, clock)
	// a write under an episode tells it (its lastActivityAt), once per group commit
	const logs = new LogService(new LogRepository(db, writes, episodeRows, events, { cacheSize }), episodes)
	const parameters = new ParameterService(new ParameterRepository(db, writes, episodeRows, events), episodes)
	const tracks = new TrackService(new TrackRepository(db, writes, episodeRows, events, { cacheSize }), episodes)
	const files = new FileService(new FileRepository(db, writes, episodeRows, events), fileStore, episodes, maxFileSize)
	const streams = new EventService(events, episodes, auth, { ...DEFAULT_STREAM_LIMITS, ...eventStreams })
	// every download of a table (a track, logs, the episodes table), streamed as the client reads
	const exports = new TableExports(log)
	// with the provider's device grant, `dreamlake login` is bridged to it; without, /idp's codes are approved through its sign-in page
	const oidcDevices = oidc && (oidc.client.endpoints.deviceAuthorizationEndpoint ? oidc.client.deviceBridge() : oidc.idp.deviceAuthority('cli'))
	const authority = devIdp?.deviceAuthority() ?? builtin?.idp.deviceAuthority() ?? oidc?.idp.deviceAuthority() ?? deviceAuthority ?? httpDeviceAuthority(vuerAuthUrl)
	const sessionOptions = { trustProxy: exchangeLimits.trustProxy, perMinute: exchangeLimits.perMinute, sessionSeconds }
	return (
		// normalize: false, so a body with unknown fields is refused instead of silently trimmed
		new Elysia({ normalize: false })
			.use(errorHandler(log))
			.use(serverTiming)
			.use(
				openapi({
					provider: null, // no UI: it would load from a CDN, and the document must work offline
					specPath: '/openapi.json',
					documentation: {
						info: {
							title: 'DreamLake API',
							version: VERSION,
							description: 'Auth via vuer-auth token exchange, then the data API: namespaces, projects, episodes, logs, parameters, tracks and files. Every error body is {"success": false, "error", "code"}.',
						},
						components: {
							securitySchemes: {
								vuerAuthToken: bearer('A vuer-auth token (POST /auth/exchange only)'),
								dreamlakeToken: bearer('A dreamlake token from POST /auth/exchange'),
								apiKey: { type: 'http' as const, scheme: 'bearer', description: 'An API key (dlk_…) from POST /namespaces/{ns}/api-keys: acts in that namespace only, with its role' },
							},
						},
					},
				}),
			)
			.use(health(db))
			.use(authRoutes(auth, guard, exchangeLimits, { identity: builtin ? 'builtin' : oidc ? 'oidc' : 'vuer-auth', provider: oidc ? new URL(oidc.client.endpoints.issuer).host : null }))
			.use(browserSessionRoutes(auth, authority, sessionOptions, log))
			.use(builtin && passwords ? new Elysia().use(builtin.idp.routes()).use(passwordRoutes(passwords, builtin.idp, auth, invitations, guard, sessionOptions)) : new Elysia())
			.use(oidc && oidcDevices ? new Elysia().use(oidc.idp.routes(oidcDevices)).use(oidcRoutes(oidc.client, oidc.idp, auth, { ...sessionOptions, publicUrl: oidc.publicUrl }, log)) : new Elysia())
			.use(namespaceRoutes(namespaces, keys, invitations, projects, episodes, files, guard))
			.use(projectRoutes(projects, episodes, guard))
			.use(episodeRoutes(episodes, guard, exports))
			.use(logRoutes(logs, guard, exports))
			.use(parameterRoutes(parameters, guard))
			.use(trackRoutes(tracks, guard, exports))
			.use(fileRoutes(files, guard))
			.use(eventRoutes(streams, guard, exchangeLimits.trustProxy))
			.use(notImplementedRoutes(guard))
			.use(dashboard.routes())
			.use(devIdp ? devIdp.routes() : new Elysia())
	)
}

export type App = ReturnType<typeof createApp>

let embedded: Dashboard | undefined
/** Decoded once per process, however many apps (tests) are built. */
const embeddedDashboard = () => (embedded ??= Dashboard.embedded())
