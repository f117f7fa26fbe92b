import { expect, it } from 'bun:test'
import type { Harness, Reply, TestUser } from './harness'

/**
 * Who may call a route: one row per kind of caller (no token, a revoked token, another user…) or
 * state of what the route acts on (a deleted episode…), each an `it` of its own, named after the
 * row. A route says how to make the owner's things, call it, and read what no refused call may
 * change; CALLERS says, for every kind, how to set the scene and what the route answers. A new
 * kind of caller is one more entry of CALLERS, and every route has it; a team's viewer, say:
 *
 *   viewer: {
 *     name: (route) => route.write ? `403 for a viewer${nothingChanges(route)}` : 'a viewer reads',
 *     applies: () => true,
 *     arrange: async (s) => (await addToTeam(s, 'viewer')).token,
 *     answer: (s) => (s.route.write ? { status: 403, body: refused('…') } : { status: s.route.ok }),
 *   },
 *
 * The roles of a team (owner, admin, member, viewer, API keys of each role, guests of public and
 * internal projects) have a table of their own, over every data route: test/roles.test.ts.
 */

/** What a route acts on: the owner's, made afresh for each row. */
export interface Owned {
	owner: TestUser
}

/** What a route under /episodes/{id} acts on: the rows of the episode's states apply to it. */
export interface InEpisode extends Owned {
	/** The episode's id. */
	episode: string
	/** Its project's slug. */
	project: string
}

export interface Route<F extends Owned> {
	/** The status of an answered call. */
	ok: number
	/** The route changes what it acts on, so a write-protected episode refuses it. */
	write: boolean
	/**
	 * Rows that set a scene (a revoked token, a deleted episode) first call the route as the owner, to
	 * see that it answers before: reads do; a write does only when it says so, when each call leaves
	 * a trace of its own (an appended line), so that a refused call that got through still shows.
	 */
	triedFirst?: boolean
	/** F is an InEpisode: the rows of the episode's states (deleted, in a deleted project, write-protected) apply. */
	inEpisode?: boolean
	/** The outsider row's name, before ", and nothing of … changes": "404 for another user's namespace". */
	outsiderRow: string
	/** What `snapshot` reads, for the rows' names: "the owner's track". */
	unchanged: string
	/** The owner's things for the route to act on (the owner is a new user for each row). */
	arrange(owner: TestUser): Promise<F>
	/** Calls the route on `f` with `token` (undefined: no Authorization header). */
	call(f: F, token: string | undefined): Promise<Reply>
	/** What no refused call may change, as the owner reads it (with f.owner.token, read when called) or as the database holds it. */
	snapshot(f: F): unknown
	/** The 404 body another user gets for the owner's `f`: it does not tell that `f` exists. */
	hidden(f: F): unknown
	/** Things no one has (an id no one has): another user, and the owner, get the very answer another user gets for `f`. */
	missing?(f: F): F[]
	/** The owner's thing named otherwise (the namespace in capitals): another user gets `hidden` of each. */
	aliases?(f: F): F[]
	/** The other user who calls, with what they have of their own (default: a new user). */
	outsider?(f: F): Promise<TestUser>
	/** The owner's thing asked for in the other user's own namespace or episode: a row of its own. */
	atHome?: {
		/** The row's name, before ", and nothing … changes". */
		name: string
		/** `f` as the other user names it in their own place, with them as its owner. */
		at(f: F, other: TestUser): Promise<F>
		/** The 404 body they get. */
		hidden(at: F): unknown
	}
	/** A string of the owner's that no refused reply may hold. */
	secret?: string
	/** Checks of this route's own that a row makes after its call, while the row's scene is still set. */
	also?: Partial<Record<CallerKind, (s: Scene<F>) => Promise<void>>>
}

/** One row as it runs: the route, the owner's things, and who else took part. */
export interface Scene<F extends Owned> {
	h: Harness
	route: Route<F>
	f: F
	/** The other user of the outsider and atHome rows. */
	other?: TestUser
	/** The atHome row's call: `f` named in the other user's own place. */
	at?: F
	/** The reply to the row's call. */
	reply?: Reply
	/** Expects every snapshot to equal the one taken before the row's call. */
	unchanged(): Promise<void>
}

interface Answer {
	status: number
	/** A matcher for the whole body; only the status is checked without one. */
	body?: unknown
	headers?: Record<string, string>
}

interface Caller {
	/** The row's name, for a route. */
	name(route: Route<any>): string
	applies(route: Route<any>): boolean
	/** Sets the scene (revokes the token, deletes the episode…) and says who calls: a token, or undefined for none. */
	arrange(s: Scene<any>): Promise<string | undefined>
	/** What the route answers the row's call. */
	answer(s: Scene<any>): Answer
	/** Checks after the route's own (`also`), e.g. that once unprotected the route answers again. */
	then?(s: Scene<any>): Promise<void>
}

const unauthorized = { success: false, error: expect.any(String), code: expect.any(String) }
const revoked = { success: false, error: 'The dreamlake token has been revoked; log in again.', code: 'token_revoked' }
/** The error body of a refusal with this code (src/http/errors.ts): a sentence, never more. */
export const refused = (code: string) => ({ success: false, error: expect.any(String), code })

/** The route answers the owner before the row's scene is set (see Route.triedFirst). */
async function answersFirst(s: Scene<Owned>) {
	if (s.route.triedFirst ?? !s.route.write) expect((await s.route.call(s.f, s.f.owner.token)).status).toBe(s.route.ok)
}

/** A call of the owner's that sets the scene, expecting 200. */
async function asOwner(s: Scene<Owned>, method: string, path: string, body?: unknown) {
	expect((await s.h.call(method, path, { token: s.f.owner.token, body })).status).toBe(200)
}

const inEpisode = (s: Scene<any>) => s.f as InEpisode

const nothingChanges = (route: Route<any>) => `, and nothing of ${route.unchanged} changes`

export const CALLERS = {
	anonymous: {
		name: (route) => `401 without a token${nothingChanges(route)}`,
		applies: () => true,
		arrange: async () => undefined,
		answer: () => ({ status: 401, body: unauthorized, headers: { 'www-authenticate': 'Bearer' } }),
	},
	malformed: {
		name: (route) => `401 with a malformed token${nothingChanges(route)}`,
		applies: () => true,
		arrange: async () => 'not-a-token',
		answer: () => ({ status: 401, body: unauthorized, headers: { 'www-authenticate': 'Bearer' } }),
	},
	revoked: {
		name: (route) => `401 with a revoked token (POST /auth/logout with it first)${nothingChanges(route)}`,
		applies: () => true,
		async arrange(s) {
			// the token works until it is revoked
			await answersFirst(s)
			const old = s.f.owner.token
			expect((await s.h.call('POST', '/auth/logout', { token: old })).status).toBe(200)
			// logout revokes every token of the user: a new login, for the owner's snapshots
			const login = await s.h.login(s.f.owner.claims)
			expect(login.status).toBe(200)
			s.f.owner.token = login.body.dreamlake_token
			return old
		},
		answer: () => ({ status: 401, body: revoked }),
	},
	outsider: {
		name: (route) => `${route.outsiderRow}${nothingChanges(route)}`,
		applies: () => true,
		async arrange(s) {
			s.other = (await s.route.outsider?.(s.f)) ?? (await s.h.newUser())
			return s.other.token
		},
		answer: (s) => ({ status: 404, body: s.route.hidden(s.f) }),
		async then(s) {
			for (const missing of s.route.missing?.(s.f) ?? []) {
				for (const token of [s.other!.token, s.f.owner.token]) {
					const reply = await s.route.call(missing, token)
					expect(reply.status).toBe(404)
					expect(reply.body).toEqual(s.reply!.body)
				}
			}
			for (const alias of s.route.aliases?.(s.f) ?? []) {
				const reply = await s.route.call(alias, s.other!.token)
				expect(reply.status).toBe(404)
				expect(reply.body).toEqual(s.route.hidden(alias))
			}
			await s.unchanged()
			// and the owner still gets the route's answer
			expect((await s.route.call(s.f, s.f.owner.token)).status).toBe(s.route.ok)
		},
	},
	atHome: {
		name: (route) => `${route.atHome!.name}, and nothing of ${route.unchanged} or of one's own changes`,
		applies: (route) => route.atHome !== undefined,
		async arrange(s) {
			s.other = await s.h.newUser()
			s.at = await s.route.atHome!.at(s.f, s.other)
			return s.other.token
		},
		answer: (s) => ({ status: 404, body: s.route.atHome!.hidden(s.at!) }),
	},
	deletedEpisode: {
		name: (route) => `404 episode_not_found for a deleted episode${nothingChanges(route)}`,
		applies: (route) => route.inEpisode === true,
		async arrange(s) {
			await answersFirst(s)
			await asOwner(s, 'DELETE', `/episodes/${inEpisode(s).episode}`)
			return s.f.owner.token
		},
		answer: () => ({ status: 404, body: refused('episode_not_found') }),
	},
	deletedProject: {
		name: (route) => `404 episode_not_found once the episode's project is deleted${nothingChanges(route)}`,
		applies: (route) => route.inEpisode === true,
		async arrange(s) {
			await answersFirst(s)
			await asOwner(s, 'DELETE', `/namespaces/${encodeURIComponent(s.f.owner.ns)}/projects/${encodeURIComponent(inEpisode(s).project)}`)
			return s.f.owner.token
		},
		answer: () => ({ status: 404, body: refused('episode_not_found') }),
	},
	writeProtected: {
		name: (route) =>
			route.write
				? `403 episode_write_protected on a write-protected episode${nothingChanges(route)}; unprotected, it answers`
				: `still answers on a write-protected episode${nothingChanges(route)}`,
		applies: (route) => route.inEpisode === true,
		async arrange(s) {
			await asOwner(s, 'PATCH', `/episodes/${inEpisode(s).episode}`, { writeProtected: true })
			return s.f.owner.token
		},
		answer: (s) => (s.route.write ? { status: 403, body: refused('episode_write_protected') } : { status: s.route.ok }),
		async then(s) {
			await asOwner(s, 'PATCH', `/episodes/${inEpisode(s).episode}`, { writeProtected: false })
			expect((await s.route.call(s.f, s.f.owner.token)).status).toBe(s.route.ok)
		},
	},
} satisfies Record<string, Caller>

export type CallerKind = keyof typeof CALLERS

/**
 * The rows of `kinds` (default: every kind that applies to the route), one `it` each, in the
 * describe this is called in.
 */
export function whoMayCall<F extends Owned>(harness: () => Harness, route: Route<F>, kinds?: CallerKind[]): void {
	for (const kind of kinds ?? (Object.keys(CALLERS) as CallerKind[])) {
		if (CALLERS[kind].applies(route)) row(harness, route, kind)
		else if (kinds) throw new Error(`the ${kind} row does not apply to this route`)
	}
}

/**
 * One row, an `it` named `name` (default: the table's name for the route), for a describe per kind
 * of caller with an `it` per route. The row: a new owner and their things, the scene, the call and
 * its answer; a refused call (or a read) changes nothing of the snapshot and leaks no secret.
 */
export function row<F extends Owned>(harness: () => Harness, route: Route<F>, kind: CallerKind, name?: string): void {
	const caller: Caller = CALLERS[kind]
	it(name ?? caller.name(route), async () => {
		const h = harness()
		const watched = () => [s.f, ...(s.at ? [s.at] : [])]
		let before: unknown[] = []
		const s: Scene<F> = {
			h,
			route,
			f: await route.arrange(await h.newUser()),
			unchanged: async () => expect(await Promise.all(watched().map((f) => route.snapshot(f)))).toEqual(before),
		}
		const token = await caller.arrange(s)
		before = await Promise.all(watched().map((f) => route.snapshot(f)))
		s.reply = await route.call(s.at ?? s.f, token)
		const { status, body, headers = {} } = caller.answer(s)
		expect(s.reply.status).toBe(status)
		if (body !== undefined) expect(s.reply.body).toEqual(body)
		for (const [name, value] of Object.entries(headers)) expect(s.reply.headers.get(name)).toBe(value)
		if (status !== route.ok && route.secret !== undefined) expect(JSON.stringify(s.reply.body)).not.toContain(route.secret)
		if (status !== route.ok || !route.write) await s.unchanged()
		await route.also?.[kind]?.(s)
		await caller.then?.(s)
	})
}

/** A route under /episodes/{id}: another user, and an id no one has, get episode_not_found alike. */
export function underEpisode<F extends InEpisode>(
	harness: () => Harness,
	route: Omit<Route<F>, 'call' | 'hidden' | 'missing' | 'inEpisode' | 'outsiderRow'> & {
		method: string
		/** The path under /episodes/{id}. */
		path: (f: F) => string
		/** A body for each call (an upload's bytes are new each time). */
		body?: (f: F) => unknown
		outsiderRow?: string
	},
): Route<F> {
	return {
		...route,
		outsiderRow: route.outsiderRow ?? "404 for another user's episode, the same as for one that does not exist",
		inEpisode: true,
		call: (f, token) => harness().call(route.method, `/episodes/${f.episode}${route.path(f)}`, { token, body: route.body?.(f) }),
		hidden: () => refused('episode_not_found'),
		missing: (f) => [{ ...f, episode: '999999999999' }, { ...f, episode: 'not-an-id' }],
	}
}
