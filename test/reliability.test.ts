import { afterAll, beforeAll, describe, expect, it, setDefaultTimeout } from 'bun:test'
import { Database } from 'bun:sqlite'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Harness } from './support/harness'
import { KeyServer, newIdentity } from './support/key-server'
import { runCli, spawnServer, type ServerProcess } from './support/process'

setDefaultTimeout(60_000)
let h: Harness
let dir: string
beforeAll(async () => {
	h = await Harness.start()
	dir = mkdtempSync(join(tmpdir(), 'dreamlake-reliability-'))
})
afterAll(() => {
	h.close()
	rmSync(dir, { recursive: true, force: true })
})

/** The invariants no fault may break: a sound file, one personal namespace per user, no orphans. */
function checkInvariants(path: string) {
	const db = new Database(path, { readonly: true })
	try {
		expect(db.query('PRAGMA integrity_check').get()).toEqual({ integrity_check: 'ok' })
		expect(db.query('PRAGMA foreign_key_check').all()).toEqual([])
		const usersWithout = db.query("SELECT count(*) AS n FROM users u WHERE (SELECT count(*) FROM namespaces n WHERE n.owner_id = u.id AND n.kind = 'personal') <> 1").get()
		expect(usersWithout).toEqual({ n: 0 })
		return db.query('SELECT sub, id FROM users').all() as { sub: string; id: string }[]
	} finally {
		db.close()
	}
}

const exchangeAt = (url: string, token: string) => fetch(`${url}/auth/exchange`, { method: 'POST', headers: { authorization: `Bearer ${token}` } })

describe('races', () => {
	it('50 concurrent first logins of one new user: all 200, one user, one namespace, exactly one isNewUser', async () => {
		const claims = newIdentity()
		const tokens = await Promise.all(Array.from({ length: 50 }, () => h.keys.mint(claims)))
		const replies = await Promise.all(tokens.map((token) => h.call('POST', '/auth/exchange', { token })))
		expect(replies.every((r) => r.status === 200)).toBe(true)
		expect(replies.filter((r) => r.body.user.isNewUser)).toHaveLength(1)
		expect(new Set(replies.map((r) => r.body.namespace.id)).size).toBe(1)
		expect(h.db.$client.query('SELECT count(*) AS n FROM users WHERE sub = ?').get(claims.sub as string)).toEqual({ n: 1 })
	})

	it('50 concurrent first logins of 50 users all claiming "alice": 50 users, 50 distinct namespaces, no 500', async () => {
		const name = `alice${crypto.randomUUID().slice(0, 6)}`
		const tokens = await Promise.all(Array.from({ length: 50 }, () => h.keys.mint(newIdentity({ username: name }))))
		const replies = await Promise.all(tokens.map((token) => h.call('POST', '/auth/exchange', { token })))
		expect(replies.map((r) => r.status)).toEqual(Array(50).fill(200))
		expect(new Set(replies.map((r) => r.body.user.id)).size).toBe(50)
		const slugs = replies.map((r) => r.body.namespace.slug)
		expect(new Set(slugs).size).toBe(50)
		expect(slugs).toContain(name)
		expect(replies.filter((r) => r.body.user.username === name)).toHaveLength(1)
		checkInvariants(h.dbPath)
	})

	it('concurrent PATCHes of one user to different usernames all succeed, and one of them is the last', async () => {
		const { body } = await h.login(newIdentity())
		const names = Array.from({ length: 20 }, (_, i) => `pick${i}${crypto.randomUUID().slice(0, 6)}`)
		const replies = await Promise.all(names.map((username) => h.call('PATCH', '/auth/me', { token: body.dreamlake_token, body: { username } })))
		expect(replies.map((r) => r.status)).toEqual(Array(20).fill(200))
		expect(names).toContain((await h.call('GET', '/auth/me', { token: body.dreamlake_token })).body.username)
	})

	it('users racing for one username: exactly one wins, the others get 409', async () => {
		const contested = `prize${crypto.randomUUID().slice(0, 6)}`
		const tokens = await Promise.all(Array.from({ length: 10 }, async () => (await h.login(newIdentity())).body.dreamlake_token))
		const replies = await Promise.all(tokens.map((token) => h.call('PATCH', '/auth/me', { token, body: { username: contested } })))
		expect(replies.filter((r) => r.status === 200)).toHaveLength(1)
		expect(replies.filter((r) => r.status === 409)).toHaveLength(9)
	})

	describe('two server processes on one database file', () => {
		let keys: KeyServer
		let servers: ServerProcess[]
		let cwd: string
		beforeAll(async () => {
			keys = await KeyServer.start()
			cwd = mkdtempSync(join(dir, 'two-'))
			const env = { VUER_AUTH_JWKS_URL: keys.jwksUrl }
			// started at once: both migrate and create the secret; each migration must run once
			servers = await Promise.all([spawnServer(['--port', '0'], { cwd, env }), spawnServer(['--port', '0'], { cwd, env })])
		})
		afterAll(async () => {
			await Promise.all(servers.map((s) => s.stop()))
			keys.stop()
		})

		it('agree on the secret: a token from one works on the other', async () => {
			const login = (await (await exchangeAt(servers[0]!.url, await keys.mint(newIdentity()))).json()) as { dreamlake_token: string }
			const me = await fetch(`${servers[1]!.url}/auth/me`, { headers: { authorization: `Bearer ${login.dreamlake_token}` } })
			expect(me.status).toBe(200)
		})

		it('create one user and one namespace for 40 simultaneous first logins split across both', async () => {
			const claims = newIdentity()
			const replies = await Promise.all(
				Array.from({ length: 40 }, async (_, i) => {
					const response = await exchangeAt(servers[i % 2]!.url, await keys.mint(claims))
					return { status: response.status, body: (await response.json()) as any }
				}),
			)
			expect(replies.map((r) => r.status)).toEqual(Array(40).fill(200))
			expect(replies.filter((r) => r.body.user.isNewUser)).toHaveLength(1)
			expect(new Set(replies.map((r) => r.body.user.id)).size).toBe(1)
			expect(new Set(replies.map((r) => r.body.namespace.id)).size).toBe(1)
			const users = checkInvariants(join(cwd, 'data', 'dreamlake.db'))
			expect(users.filter((u) => u.sub === claims.sub)).toHaveLength(1)
		})

		it('let exactly one of 10 users racing through both processes take a username', async () => {
			const contested = `both${crypto.randomUUID().slice(0, 6)}`
			const tokens = await Promise.all(
				Array.from({ length: 10 }, async (_, i) => (((await (await exchangeAt(servers[i % 2]!.url, await keys.mint(newIdentity()))).json()) as { dreamlake_token: string }).dreamlake_token)),
			)
			const statuses = await Promise.all(
				tokens.map((token, i) =>
					fetch(`${servers[i % 2]!.url}/auth/me`, { method: 'PATCH', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify({ username: contested }) }).then((r) => r.status),
				),
			)
			expect(statuses.filter((s) => s === 200)).toHaveLength(1)
			expect(statuses.filter((s) => s === 409)).toHaveLength(9)
		})
	})

	it('two `migrate` commands at once on an empty database both succeed, applying each migration once', async () => {
		const cwd = mkdtempSync(join(dir, 'migrate-race-'))
		const results = await Promise.all([runCli(['migrate'], { cwd }), runCli(['migrate'], { cwd }), runCli(['migrate'], { cwd })])
		expect(results.map((r) => r.code)).toEqual([0, 0, 0])
		const db = new Database(join(cwd, 'data', 'dreamlake.db'), { readonly: true })
		expect(db.query('SELECT count(*) AS n FROM __drizzle_migrations').get()).toEqual({ n: 1 })
		db.close()
	})
})

describe('faults', () => {
	it('a full disk: 500 "Failed to create user account", no half user, and recovery when space returns', async () => {
		const local = await Harness.start({ keyServer: h.keys })
		try {
			const { page_count } = local.db.$client.query('PRAGMA page_count').get() as { page_count: number }
			local.db.$client.run(`PRAGMA max_page_count = ${page_count}`) // SQLite answers SQLITE_FULL, as on a full disk
			let failed: Awaited<ReturnType<Harness['login']>> | undefined
			const created: string[] = []
			for (let i = 0; i < 500 && !failed; i++) {
				const reply = await local.login(newIdentity({ name: 'x'.repeat(200) }))
				if (reply.status === 200) created.push(reply.body.user.id)
				else failed = reply
			}
			expect(failed?.status).toBe(500)
			expect(failed?.body).toEqual({ success: false, error: 'Failed to create user account.', code: 'user_creation_failed' })
			expect(local.logs.join('\n')).toContain('SQLITE_FULL')
			checkInvariants(local.dbPath)
			expect(local.count('users')).toBe(created.length)
			local.db.$client.run('PRAGMA max_page_count = 1073741823')
			expect((await local.login(newIdentity())).status).toBe(200)
		} finally {
			local.close()
		}
	})

	it('kill -9 during a burst of new-user exchanges: the file is sound and every 200 has its user', async () => {
		const keys = await KeyServer.start()
		const cwd = mkdtempSync(join(dir, 'kill-'))
		const env = { VUER_AUTH_JWKS_URL: keys.jwksUrl }
		const server = await spawnServer(['--port', '0'], { cwd, env })
		try {
			const identities = Array.from({ length: 300 }, () => newIdentity())
			const tokens = await Promise.all(identities.map((claims) => keys.mint(claims)))
			const succeeded: string[] = []
			const burst = tokens.map(async (token, i) => {
				try {
					const response = await exchangeAt(server.url, token)
					if (response.status === 200) succeeded.push(identities[i]!.sub as string)
				} catch {
					// the connection died with the server
				}
			})
			while (succeeded.length < 20) await Bun.sleep(1)
			server.process.kill('SIGKILL')
			await Promise.all(burst)
			expect(await server.process.exited).not.toBe(0)
			expect(succeeded.length).toBeLessThan(300) // it really died mid-burst

			const restarted = await spawnServer(['--port', '0'], { cwd, env })
			try {
				expect((await fetch(`${restarted.url}/ready`)).status).toBe(200)
			} finally {
				await restarted.stop()
			}
			const subs = new Set(checkInvariants(join(cwd, 'data', 'dreamlake.db')).map((u) => u.sub))
			expect(succeeded.filter((sub) => !subs.has(sub))).toEqual([])
		} finally {
			keys.stop()
		}
	})
})
