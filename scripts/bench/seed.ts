// What the server holds before the first round: users, one episode each for the first few hundred,
// and the files of tokens and targets wrk's scripts rotate through.
import { newIdentity, type KeyServer } from '../../test/support/key-server'
import { INGEST_CONNECTIONS, UPSERT_BODY, type TargetFiles } from './scenarios'
import type { Workspace } from './work'

export interface User {
	vuer: string
	dreamlake: string
	namespace: string
	username: string
}

export interface Episode extends User {
	id: string
	/** Where its upsert goes: `/namespaces/<ns>/projects/<project>/episodes`. */
	project: string
}

/** `count` users, each signed in once by POST /auth/exchange with a token of their own. */
export async function seedUsers(keys: KeyServer, url: string, count: number): Promise<User[]> {
	const users: User[] = []
	let next = 0
	await Promise.all(
		Array.from({ length: 32 }, async () => {
			while (next < count) {
				next++
				const vuer = await keys.mint(newIdentity(), { expiresIn: 4 * 3600 })
				const response = await fetch(`${url}/auth/exchange`, { method: 'POST', headers: { authorization: `Bearer ${vuer}` } })
				if (response.status !== 200) throw new Error(`seeding failed: ${response.status} ${await response.text()}`)
				const body = (await response.json()) as { dreamlake_token: string; namespace: { slug: string }; user: { username: string } }
				users.push({ vuer, dreamlake: body.dreamlake_token, namespace: body.namespace.slug, username: body.user.username })
			}
		}),
	)
	return users
}

/** The team the runs share with `--team`: made by the first user, every other one a member. */
export const BENCH_TEAM = 'bench-lab'

/**
 * For each user, the episode `run` in their project `bench`, created by the upsert the SDK sends;
 * with `team`, each member's in their own project `bench-<n>` of one team, so the access check asks for a member's role.
 */
export async function seedEpisodes(url: string, users: User[], { team = false } = {}): Promise<Episode[]> {
	if (team) {
		const owner = users[0]!
		const call = (path: string, body: unknown) => fetch(`${url}${path}`, { method: 'POST', headers: { authorization: `Bearer ${owner.dreamlake}`, 'content-type': 'application/json' }, body: JSON.stringify(body) })
		if ((await call('/namespaces', { slug: BENCH_TEAM })).status !== 201) throw new Error('seeding the team failed')
		for (const user of users.slice(1)) if ((await call(`/namespaces/${BENCH_TEAM}/members`, { username: user.username, role: 'member' })).status !== 201) throw new Error('adding a member failed')
	}
	return Promise.all(
		users.map(async (user, n) => {
			const namespace = team ? BENCH_TEAM : user.namespace
			const project = team ? `bench-${n}` : 'bench'
			const response = await fetch(`${url}/namespaces/${namespace}/projects/${project}/episodes`, {
				method: 'POST',
				headers: { authorization: `Bearer ${user.dreamlake}`, 'content-type': 'application/json' },
				body: UPSERT_BODY,
			})
			if (response.status !== 201) throw new Error(`seeding episodes failed: ${response.status} ${await response.text()}`)
			return { ...user, namespace, project, id: ((await response.json()) as { id: string }).id }
		}),
	)
}

/** The token and target files of every scenario but `new`, whose tokens are minted later (`newUserTokens`). */
export function writeTargets(work: Workspace, seeded: User[], episodes: Episode[]): Omit<TargetFiles, 'new'> {
	return {
		dreamlake: work.writeLines('dreamlake-tokens.txt', seeded.map((s) => s.dreamlake)),
		vuer: work.writeLines('vuer-tokens.txt', seeded.map((s) => s.vuer)),
		logs: work.writeLines('log-targets.txt', episodes.map((e) => `${e.dreamlake} /episodes/${e.id}/logs`)),
		upserts: work.writeLines('upsert-targets.txt', episodes.map((e) => `${e.dreamlake} /namespaces/${e.namespace}/projects/${e.project}/episodes`)),
		// one track per connection, each in its own run, as four training jobs would
		ingest: work.writeLines('ingest-targets.txt', episodes.slice(0, INGEST_CONNECTIONS).map((e) => `${e.dreamlake} /episodes/${e.id}/tracks/train/append-batch`)),
	}
}

/** `count` tokens of identities the server has never seen, written to the `new` scenario's file. */
export async function newUserTokens(work: Workspace, keys: KeyServer, count: number): Promise<string> {
	const tokens: string[] = []
	for (let i = 0; i < count; i += 256) tokens.push(...(await Promise.all(Array.from({ length: Math.min(256, count - i) }, () => keys.mint(newIdentity(), { expiresIn: 4 * 3600 })))))
	return work.writeLines('new-tokens.txt', tokens)
}
