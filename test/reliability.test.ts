import { afterAll, beforeAll, describe, expect, it, setDefaultTimeout } from 'bun:test'
import { Database } from 'bun:sqlite'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { MIGRATIONS } from '../src/db/migrate'
import { Harness } from './support/harness'
import { KeyServer, newIdentity } from './support/key-server'
import { runCli, spawnServer } from './support/process'

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

	it('one server per database: a second one refuses to start while the first keeps serving', async () => {
		const keys = await KeyServer.start()
		const cwd = mkdtempSync(join(dir, 'two-'))
		const env = { VUER_AUTH_JWKS_URL: keys.jwksUrl }
		const first = await spawnServer(['--port', '0'], { cwd, env })
		try {
			const second = await runCli(['--port', '0'], { cwd, env })
			expect(second.code).toBe(1)
			expect(second.stderr).toContain('another dreamlake-server is already serving')
			expect((await exchangeAt(first.url, await keys.mint(newIdentity()))).status).toBe(200)
		} finally {
			expect(await first.stop()).toBe(0)
			keys.stop()
		}
		const third = await spawnServer(['--port', '0'], { cwd, env })
		expect(await third.stop()).toBe(0)
	})

	it('two `migrate` commands at once on an empty database both succeed, applying each migration once', async () => {
		const cwd = mkdtempSync(join(dir, 'migrate-race-'))
		const results = await Promise.all([runCli(['migrate'], { cwd }), runCli(['migrate'], { cwd }), runCli(['migrate'], { cwd })])
		expect(results.map((r) => r.code)).toEqual([0, 0, 0])
		const db = new Database(join(cwd, 'data', 'dreamlake.db'), { readonly: true })
		expect(db.query('SELECT count(*) AS n FROM __drizzle_migrations').get()).toEqual({ n: MIGRATIONS.length })
		db.close()
	})
})

describe('faults', () => {
	it('a full disk: 507 insufficient_storage, no half user, and recovery when space returns', async () => {
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
			expect(failed?.status).toBe(507)
			expect(failed?.body).toEqual({ success: false, error: "The server's disk is full, so nothing was stored; try again once room has been freed.", code: 'insufficient_storage' })
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
