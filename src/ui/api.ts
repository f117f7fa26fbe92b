// The page's only door to the server: the public API, signed in by the session cookie (which no
// script can read). Writes carry the CSRF header the server asks of cookie sessions. A 401 means
// the session is gone (or, signed out, that what was asked is not public): the page sends the
// person to sign in and back here afterwards.

export class ApiError extends Error {
	constructor(
		readonly status: number,
		readonly code: string,
		message: string,
	) {
		super(message)
	}
}

/** Fired on 401: the session is lost (signed out elsewhere, expired, revoked). */
export const sessionLost = new EventTarget()

export interface RequestOptions {
	method?: string
	body?: unknown
	signal?: AbortSignal
	headers?: Record<string, string>
}

/** The server runs `serve --dev` (it says so on every answer): its stand-in identity provider is at `/dev/vuer-auth`. */
export let serverInDevMode = false

export async function request(path: string, { method = 'GET', body, signal, headers = {} }: RequestOptions = {}): Promise<Response> {
	let response: Response
	try {
		response = await fetch(path, {
			method,
			credentials: 'same-origin',
			signal,
			headers: {
				accept: 'application/json',
				...(method !== 'GET' && { 'x-dreamlake-csrf': '1' }),
				...(body !== undefined && { 'content-type': 'application/json' }),
				...headers,
			},
			...(body !== undefined && { body: JSON.stringify(body) }),
		})
	} catch (error) {
		if (signal?.aborted) throw error
		throw new ApiError(0, 'network_error', 'The server cannot be reached. Is it running?')
	}
	serverInDevMode = response.headers.get('x-dreamlake-dev-mode') === 'on'
	if (response.ok) return response
	let code = 'error'
	let message = `The server answered ${response.status}.`
	try {
		const json = (await response.json()) as { error?: unknown; code?: unknown }
		if (typeof json.code === 'string') code = json.code
		if (typeof json.error === 'string') message = json.error
	} catch {
		// no JSON body: the status says it
	}
	if (response.status === 401) sessionLost.dispatchEvent(new Event('lost'))
	throw new ApiError(response.status, code, message)
}

export async function api<T>(path: string, options?: RequestOptions): Promise<T> {
	return (await (await request(path, options)).json()) as T
}

/** A path from segments, each percent-encoded (a track named `robot/pose` is one segment). */
export const path = (...segments: (string | number)[]) => '/' + segments.map((s) => encodeURIComponent(String(s))).join('/')

export const query = (params: Record<string, string | number | undefined | null>) => {
	const search = new URLSearchParams()
	for (const [key, value] of Object.entries(params)) if (value !== undefined && value !== null && value !== '') search.set(key, String(value))
	const text = search.toString()
	return text ? `?${text}` : ''
}

export interface Me {
	id: string
	/** `builtin|…` for an account of this server's own (IDENTITY=builtin), whose password its person changes here. */
	sub?: string
	username: string | null
	name: string | null
	email: string | null
	namespace: { id: string; slug: string }
}

export type Role = 'owner' | 'admin' | 'member' | 'viewer'
export const ROLES: Role[] = ['owner', 'admin', 'member', 'viewer']
const RANK: Record<Role, number> = { viewer: 1, member: 2, admin: 3, owner: 4 }
/** Whether `role` (null: a guest) is at least `least`, as the server's access check ranks them. */
export const atLeast = (role: Role | null | undefined, least: Role) => !!role && RANK[role] >= RANK[least]

/** A namespace the caller may see (`GET /auth/namespaces`); role null for a guest. */
export interface Namespace {
	id: string
	slug: string
	kind: 'personal' | 'team'
	name: string | null
	role: Role | null
}

export type Visibility = 'private' | 'internal' | 'public'
export const VISIBILITIES: Visibility[] = ['private', 'internal', 'public']

/** Who made an episode, a file or a parameter version: the person, and the API key that acted for them. */
export type MadeBy = { id: string | null; username: string | null; key: { id: string; name: string | null } | null } | null

export interface Member {
	username: string | null
	name: string | null
	role: Role
	addedAt: string
	addedBy: string | null
}

export interface Invitation {
	id: string
	role: Role
	expiresAt: string
	maxUses: number
	uses: number
	createdAt: string
	revokedAt: string | null
}

export interface ApiKey {
	id: string
	name: string
	role: Role
	hint: string
	createdBy: string | null
	createdAt: string
	lastUsedAt: string | null
	expiresAt: string | null
	revokedAt: string | null
}

export interface Project {
	id: string
	name: string
	slug: string
	description: string | null
	tags: string[]
	metadata: Record<string, unknown> | null
	visibility: Visibility
	episodeCount: number
	/** When a live episode was last created or changed. */
	lastEpisodeAt: string | null
	createdAt: string
	updatedAt: string
}

export type Status = 'running' | 'completed' | 'failed' | 'cancelled' | 'archived'
export const STATUSES: Status[] = ['running', 'completed', 'failed', 'cancelled', 'archived']
/** What the episodes table filters by: a status, or stale (running, but nothing written to it for STALE_AFTER). */
export const SHOWN_STATUSES: (Status | 'stale')[] = ['running', 'stale', 'completed', 'failed', 'cancelled', 'archived']

export interface Episode {
	id: string
	name: string
	description: string | null
	tags: string[]
	/** stale: running, but nothing was written to it for STALE_AFTER (its stored status is running). */
	status: Status | 'stale'
	writeProtected: boolean
	metadata: Record<string, unknown> | null
	projectId: string
	project: { id: string; slug: string }
	namespace: { id: string; slug: string }
	createdBy?: MadeBy
	createdAt: string
	updatedAt: string
	/** When anything was last written to it or under it. */
	lastActivityAt?: string
	logCount?: number
	trackCount?: number
	fileCount?: number
	/** With columns=: the parameter and metric columns asked for, under their text. */
	values?: Record<string, unknown>
}

export interface Page {
	page: number
	pageSize: number
	total: number
	totalPages: number
}

export interface LogLine {
	sequenceNumber: number
	timestamp: string
	level: string
	message: string
	metadata: Record<string, unknown> | null
}

export interface Track {
	trackId: string
	name: string
	description: string | null
	tags: string[]
	totalDataPoints: number
	keys: string[]
	firstDataAt: string | null
	lastDataAt: string | null
}

export type Column = (number | null)[]
export interface Series {
	trackName: string
	x: string
	keys: string[]
	points: number
	buckets: number
	series: { x: number[]; count: number[]; values: Record<string, { min: Column; max: Column; mean: Column; last: Column }> }
}

export interface FileEntry {
	id: string
	episodeId: string
	prefix: string
	path: string
	filename: string
	description: string | null
	tags: string[]
	contentType: string
	sizeBytes: number
	checksum: string
	metadata: Record<string, unknown> | null
	uploadedAt: string
}

export interface Parameters {
	data: Record<string, unknown>
	version: number
	updatedAt: string
}

/** The episode's parameters; none set yet reads as empty. */
export async function parametersOf(id: string, signal?: AbortSignal): Promise<Parameters | null> {
	try {
		return await api<Parameters>(`${path('episodes', id)}/parameters`, { signal })
	} catch (error) {
		if (error instanceof ApiError && error.status === 404 && error.code === 'parameters_not_found') return null
		throw error
	}
}
