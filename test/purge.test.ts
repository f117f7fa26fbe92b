import { afterAll, beforeAll, describe, expect, it, setDefaultTimeout } from 'bun:test'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { purgeDeleted } from '../src/db/purge'
import { Harness } from './support/harness'
import { KeyServer, newIdentity } from './support/key-server'
import { runCli, spawnServer } from './support/process'

setDefaultTimeout(30_000)

let h: Harness
beforeAll(async () => {
	h = await Harness.start()
})
afterAll(() => h.close())

const lines = (n: number, from = 0) => ({ logs: Array.from({ length: n }, (_, i) => ({ timestamp: '2026-08-12T10:30:00.123456Z', level: 'info', message: `line ${from + i}` })) })
const rows = (sql: string, ...params: (string | number)[]) => (h.db.$client.query(sql).get(...params) as { n: number }).n

/** A user with a project holding two episodes with logs and parameters; returns what it made. */
async function seed(project: string) {
	const { body } = await h.login(newIdentity())
	const token: string = body.dreamlake_token
	const ns: string = body.namespace.slug
	const episode = async (name: string) => {
		const { body: ep } = await h.call('POST', `/namespaces/${ns}/projects/${project}/episodes`, { token, body: { name } })
		expect((await h.call('POST', `/episodes/${ep.id}/logs`, { token, body: lines(25) })).status).toBe(201)
		expect((await h.call('POST', `/episodes/${ep.id}/parameters`, { token, body: { data: { lr: 0.1 } } })).status).toBe(200)
		return ep.id as string
	}
	return { token, ns, first: await episode('first'), second: await episode('second') }
}

describe('purgeDeleted', () => {
	it('removes a deleted episode with its lines, summary and parameters, and leaves live ones whole', async () => {
		const { token, first, second } = await seed('purge-one')
		expect((await h.call('DELETE', `/episodes/${first}`, { token })).status).toBe(200)
		const report = purgeDeleted(h.db, Date.now())
		expect(report.episodes).toBeGreaterThanOrEqual(1)
		expect(report.logLines).toBeGreaterThanOrEqual(25)
		for (const table of ['episodes WHERE id', 'log_entries WHERE episode_id', 'log_summaries WHERE episode_id', 'parameters WHERE episode_id', 'parameter_entries WHERE episode_id']) {
			expect(rows(`SELECT count(*) AS n FROM ${table} = ?`, Number(first))).toBe(0)
		}
		expect((await h.call('POST', `/episodes/${first}/restore`, { token })).status).toBe(404)
		expect((await h.call('GET', `/episodes/${second}/logs/stats`, { token })).body.totalLogs).toBe(25)
		expect((await h.call('GET', `/episodes/${second}/parameters`, { token })).body.data).toEqual({ lr: 0.1 })
	})

	it('removes a deleted project with every episode in it', async () => {
		const { token, ns, first, second } = await seed('purge-project')
		expect((await h.call('DELETE', `/namespaces/${ns}/projects/purge-project`, { token })).status).toBe(200)
		purgeDeleted(h.db, Date.now())
		expect(rows('SELECT count(*) AS n FROM episodes WHERE id IN (?, ?)', Number(first), Number(second))).toBe(0)
		expect(rows('SELECT count(*) AS n FROM log_entries WHERE episode_id IN (?, ?)', Number(first), Number(second))).toBe(0)
		expect((await h.call('POST', `/namespaces/${ns}/projects/purge-project/restore`, { token })).status).toBe(404)
		// the slug is free again
		expect((await h.call('POST', `/namespaces/${ns}/projects`, { token, body: { name: 'purge-project' } })).status).toBe(201)
	})

	it('keeps what was deleted after the cutoff, and it can still be restored', async () => {
		const { token, first } = await seed('purge-recent')
		expect((await h.call('DELETE', `/episodes/${first}`, { token })).status).toBe(200)
		purgeDeleted(h.db, Date.now() - 60_000)
		expect((await h.call('POST', `/episodes/${first}/restore`, { token })).status).toBe(200)
		expect((await h.call('GET', `/episodes/${first}/logs/stats`, { token })).body.totalLogs).toBe(25)
	})

	it('removes an episode of many lines in several transactions, all of them', async () => {
		const { token, first } = await seed('purge-big')
		for (let i = 0; i < 12; i++) expect((await h.call('POST', `/episodes/${first}/logs`, { token, body: lines(1000) })).status).toBe(201)
		expect((await h.call('DELETE', `/episodes/${first}`, { token })).status).toBe(200)
		const report = purgeDeleted(h.db, Date.now())
		expect(report.logLines).toBeGreaterThanOrEqual(12_025)
		expect(rows('SELECT count(*) AS n FROM log_entries WHERE episode_id = ?', Number(first))).toBe(0)
	})
})

describe('purgeDeleted and teams', () => {
	it('removes a team deleted before the cutoff with its members, projects, episodes, lines and tracks; a live team and a recently deleted one stay', async () => {
		const owner = await h.newUser()
		const team = async (slug: string) => {
			expect((await h.call('POST', '/namespaces', { token: owner.token, body: { slug } })).status).toBe(201)
			const { body: ep } = await h.call('POST', `/namespaces/${slug}/projects/arm/episodes`, { token: owner.token, body: { name: 'run' } })
			expect((await h.call('POST', `/episodes/${ep.id}/logs`, { token: owner.token, body: lines(30) })).status).toBe(201)
			expect((await h.call('POST', `/episodes/${ep.id}/tracks/loss/append`, { token: owner.token, body: { data: { step: 0, loss: 1 } } })).status).toBe(201)
			return ep.id as string
		}
		const suffix = crypto.randomUUID().slice(0, 8)
		const [doomed, kept, recent] = [`doomed-${suffix}`, `kept-${suffix}`, `recent-${suffix}`]
		const doomedEpisode = await team(doomed)
		const keptEpisode = await team(kept)
		await team(recent)
		expect((await h.call('DELETE', `/namespaces/${doomed}`, { token: owner.token })).status).toBe(200)
		const cutoff = Date.now()
		await Bun.sleep(5)
		expect((await h.call('DELETE', `/namespaces/${recent}`, { token: owner.token })).status).toBe(200)
		const report = purgeDeleted(h.db, cutoff)
		expect(report).toMatchObject({ namespaces: 1 })
		expect(report.projects).toBeGreaterThanOrEqual(1)
		expect(report.logLines).toBeGreaterThanOrEqual(30)
		expect(rows('SELECT count(*) AS n FROM namespaces WHERE slug = ?', doomed)).toBe(0)
		expect(rows('SELECT count(*) AS n FROM episodes WHERE id = ?', Number(doomedEpisode))).toBe(0)
		expect(rows('SELECT count(*) AS n FROM log_entries WHERE episode_id = ?', Number(doomedEpisode))).toBe(0)
		expect(rows('SELECT count(*) AS n FROM namespace_members m JOIN namespaces n ON n.id = m.namespace_id WHERE n.slug = ?', doomed)).toBe(0)
		// the slug is free again, the others are whole
		expect((await h.call('POST', '/namespaces', { token: owner.token, body: { slug: doomed } })).status).toBe(201)
		expect((await h.call('GET', `/episodes/${keptEpisode}/logs/stats`, { token: owner.token })).body.totalLogs).toBe(30)
		expect((await h.call('POST', `/namespaces/${recent}/restore`, { token: owner.token })).status).toBe(200)
		expect((await h.call('GET', `/namespaces/${recent}/projects/arm/episodes/run`, { token: owner.token })).status).toBe(200)
	})
})

describe('purgeDeleted and tracks', () => {
	const points = (n: number) => ({ dataPoints: Array.from({ length: n }, (_, i) => ({ step: i, loss: 1 / (i + 1) })) })

	it('removes a deleted track with all its chunks, a few at a time, and leaves live tracks whole', async () => {
		const { token, first } = await seed('purge-tracks')
		for (let i = 0; i < 70; i++) expect((await h.call('POST', `/episodes/${first}/tracks/gone/append-batch`, { token, body: points(512) })).status).toBe(201)
		expect((await h.call('POST', `/episodes/${first}/tracks/kept/append-batch`, { token, body: points(10) })).status).toBe(201)
		const gone = (await h.call('GET', `/episodes/${first}/tracks/gone/stats`, { token })).body
		expect(gone.totalChunks).toBe(70)
		expect((await h.call('DELETE', `/episodes/${first}/tracks/gone`, { token })).status).toBe(200)
		const report = purgeDeleted(h.db, Date.now())
		expect(report.tracks).toBeGreaterThanOrEqual(1)
		expect(report.trackChunks).toBeGreaterThanOrEqual(70)
		expect(rows('SELECT count(*) AS n FROM track_chunks WHERE track_id = ?', Number(gone.trackId))).toBe(0)
		expect(rows('SELECT count(*) AS n FROM tracks WHERE id = ?', Number(gone.trackId))).toBe(0)
		expect((await h.call('POST', `/episodes/${first}/tracks/gone/restore`, { token })).status).toBe(404)
		expect((await h.call('GET', `/episodes/${first}/tracks/kept/stats`, { token })).body.totalDataPoints).toBe(10)
		// the name is free again: a new track, from index 0
		expect((await h.call('POST', `/episodes/${first}/tracks/gone/append-batch`, { token, body: points(3) })).body.startIndex).toBe(0)
	})

	it("removes a deleted episode's tracks and their points", async () => {
		const { token, second } = await seed('purge-episode-tracks')
		const { body } = await h.call('POST', `/episodes/${second}/tracks/loss/append-batch`, { token, body: points(5000) })
		expect((await h.call('DELETE', `/episodes/${second}`, { token })).status).toBe(200)
		purgeDeleted(h.db, Date.now())
		expect(rows('SELECT count(*) AS n FROM track_chunks WHERE track_id = ?', Number(body.trackId))).toBe(0)
		expect(rows('SELECT count(*) AS n FROM tracks WHERE episode_id = ?', Number(second))).toBe(0)
	})
})

describe('dreamlake-server purge', () => {
	let keys: KeyServer
	let dir: string
	beforeAll(async () => {
		keys = await KeyServer.start()
		dir = mkdtempSync(join(tmpdir(), 'dreamlake-purge-'))
	})
	afterAll(() => {
		keys.stop()
		rmSync(dir, { recursive: true, force: true })
	})

	it('purges beside a running server, which keeps serving what is live', async () => {
		const server = await spawnServer(['--port', '0'], { cwd: dir, env: { VUER_AUTH_JWKS_URL: keys.jwksUrl } })
		try {
			const call = (method: string, path: string, token: string, body?: unknown) =>
				fetch(`${server.url}${path}`, { method, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) })
			const exchange = (await (await fetch(`${server.url}/auth/exchange`, { method: 'POST', headers: { authorization: `Bearer ${await keys.mint(newIdentity())}` } })).json()) as {
				dreamlake_token: string
				namespace: { slug: string }
			}
			const token = exchange.dreamlake_token
			const upsert = (name: string) => call('POST', `/namespaces/${exchange.namespace.slug}/projects/p/episodes`, token, { name }).then((r) => r.json() as Promise<{ id: string }>)
			const gone = await upsert('gone')
			const kept = await upsert('kept')
			expect((await call('POST', `/episodes/${kept.id}/logs`, token, lines(3))).status).toBe(201)
			expect((await call('DELETE', `/episodes/${gone.id}`, token)).status).toBe(200)

			const purge = await runCli(['purge', '--older-than', '0'], { cwd: dir })
			expect(purge.code).toBe(0)
			expect(purge.stdout).toContain('"episodes":1')

			expect((await call('POST', `/episodes/${gone.id}/restore`, token)).status).toBe(404)
			expect((await call('POST', `/episodes/${kept.id}/logs`, token, lines(2, 3))).status).toBe(201)
			expect(((await (await call('GET', `/episodes/${kept.id}/logs/stats`, token)).json()) as { totalLogs: number }).totalLogs).toBe(5)
			// the name is free again
			expect((await call('POST', `/namespaces/${exchange.namespace.slug}/projects/p/episodes`, token, { name: 'gone' })).status).toBe(201)
		} finally {
			expect(await server.stop()).toBe(0)
		}
	})

	it.each([
		[['purge'], 'needs --older-than'],
		[['purge', '--older-than', 'soon'], 'is not a duration'],
		[['serve', '--older-than', '3d'], 'only applies to "purge"'],
	])('exits 2 with a sentence for %p', async (args, sentence) => {
		const { code, stderr } = await runCli(args, { cwd: dir })
		expect(code).toBe(2)
		expect(stderr).toContain(sentence)
	})
})
