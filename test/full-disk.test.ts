import { afterAll, beforeAll, describe, expect, it, setDefaultTimeout } from 'bun:test'
import { closeSync, ftruncateSync, mkdtempSync, openSync, readdirSync, rmdirSync, statfsSync, statSync, writeSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startCheckpointer } from '../src/db/checkpointer'
import { createLogger } from '../src/log'
import { Harness, type Reply, type TestUser } from './support/harness'
import { Random } from './support/random'
import { randomBytes, sha256 } from './support/bytes'

// The data folder (the database, its WAL and files/) on a real tmpfs of 24 MiB: every refusal here is
// the kernel's ENOSPC or SQLite's SQLITE_FULL, nothing is faked. A file beside the data folder, on
// the same tmpfs, takes up what a case needs taken (ballast); shrinking it is freeing room.
setDefaultTimeout(60_000)

const DISK_BYTES = 24 * 2 ** 20
/** tmpfs hands out room a page at a time. */
const PAGE = 4096
const FULL = "The server's disk is full, so nothing was stored; try again once room has been freed."

let mount = ''
let mounted = false
let h: Harness
let owner: TestUser
let ballast = ''
let ballastBytes = 0
const random = new Random(18)
/** The bytes whose row met SQLITE_FULL, uploaded again once there is room. */
let refusedEarlier: Uint8Array | undefined

beforeAll(async () => {
	if (process.getuid?.() !== 0) throw new Error('test/full-disk.test.ts needs root: it mounts a tmpfs (mount -t tmpfs) to put the data folder on a small real disk.')
	mount = mkdtempSync(join(tmpdir(), 'dreamlake-full-disk-'))
	const result = Bun.spawnSync(['mount', '-t', 'tmpfs', '-o', `size=${DISK_BYTES}`, 'tmpfs', mount])
	if (result.exitCode !== 0) throw new Error(`mount -t tmpfs failed: ${result.stderr.toString().trim()}`)
	mounted = true
	ballast = join(mount, 'ballast')
	h = await Harness.start({ dir: join(mount, 'data') })
	owner = await h.newUser()
})

afterAll(() => {
	try {
		h?.close()
	} finally {
		if (mounted) {
			// the harness's SQLite connection outlives close() until its prepared statements are
			// collected (sqlite3_close_v2), holding the mount busy: detach it now, the kernel frees it then
			const result = Bun.spawnSync(['umount', '--lazy', mount])
			if (result.exitCode !== 0) throw new Error(`umount ${mount} failed: ${result.stderr.toString().trim()}`)
		}
		if (mount) rmdirSync(mount)
	}
})

const free = () => {
	const s = statfsSync(mount)
	return s.bavail * s.bsize
}

/** Grows or shrinks the ballast until exactly `bytes` (whole pages) are free on the tmpfs. */
function leaveFree(bytes: number): void {
	expect(bytes % PAGE).toBe(0)
	const target = ballastBytes + free() - bytes
	expect(target).toBeGreaterThanOrEqual(0)
	const fd = openSync(ballast, 'a')
	try {
		if (target < ballastBytes) ftruncateSync(fd, target)
		const zeros = new Uint8Array(64 * PAGE)
		for (let at = ballastBytes; at < target; ) at += writeSync(fd, zeros, 0, Math.min(zeros.length, target - at))
	} finally {
		closeSync(fd)
	}
	ballastBytes = target
	expect(free()).toBe(bytes)
}

/**
 * With room to do it, the WAL is checkpointed into the database and emptied: the next commit then
 * has to grow the WAL file, so a disk with no room left really refuses it (frames a failed commit
 * wrote past the last good one would otherwise be room a small commit can reuse).
 */
function emptyWal(): void {
	leaveFree(4 * 2 ** 20)
	expect(h.db.$client.query('PRAGMA wal_checkpoint(TRUNCATE)').get()).toEqual({ busy: 0, log: 0, checkpointed: 0 })
	leaveFree(2 * 2 ** 20) // what the database file grew by
}

async function until(condition: () => boolean, ms = 5_000): Promise<void> {
	for (const end = Date.now() + ms; !condition(); await Bun.sleep(10)) if (Date.now() > end) throw new Error(`not so within ${ms} ms`)
}



function upload(episode: string, bytes: Uint8Array, name = `${crypto.randomUUID()}.bin`) {
	const form = new FormData()
	form.append('prefix', '/full')
	form.append('checksum', sha256(bytes))
	form.append('sizeBytes', String(bytes.length))
	form.append('file', new File([bytes], name, { type: 'application/octet-stream' }))
	return h.call('POST', `/episodes/${episode}/files`, { token: owner.token, body: form })
}

const appendLogs = (episode: string, lines: number, length: number) =>
	h.call('POST', `/episodes/${episode}/logs`, {
		token: owner.token,
		body: { logs: Array.from({ length: lines }, (_, i) => ({ timestamp: new Date().toISOString(), level: 'info', message: `${i} ${'x'.repeat(length)}` })) },
	})

const appendPoints = (episode: string, track: string, points: number, width: number) =>
	h.call('POST', `/episodes/${episode}/tracks/${track}/append-batch`, {
		token: owner.token,
		body: { dataPoints: Array.from({ length: points }, (_, i) => ({ step: i, loss: Math.random(), note: random.string(width) })) },
	})

/** A refusal as issue 18 wants it: 507 with the error body, never a 500. */
function expectRefused(reply: Reply): void {
	expect({ status: reply.status, body: reply.body }).toEqual({ status: 507, body: { success: false, error: FULL, code: 'insufficient_storage' } })
}

/** Why the disk-full refusals logged since line `from` were refused: SQLite's code, or the file error's first word. */
function refusalsSince(from: number): string[] {
	return h.logs
		.slice(from)
		.map((line) => JSON.parse(line) as { msg: string; sqlite?: string; message?: string })
		.filter((line) => line.msg === 'the disk is full: a write was refused')
		.map((line) => line.sqlite ?? line.message!.split(':')[0]!)
}

/**
 * files/ holds exactly the bytes the rows point at, each under its checksum and of its size, and
 * nothing is left in files/tmp; the database file is sound.
 */
async function expectConsistent(): Promise<void> {
	const rows = h.db.$client.query('SELECT DISTINCT checksum, size_bytes AS size FROM files ORDER BY checksum').all()
	const stored = (await Array.fromAsync(h.store.list())).sort((a, b) => (a.checksum < b.checksum ? -1 : 1))
	expect(stored).toEqual(rows as typeof stored)
	expect(readdirSync(h.local.tmp)).toEqual([])
	expect(h.db.$client.query('PRAGMA integrity_check').all()).toEqual([{ integrity_check: 'ok' }])
}

const fileRow = (checksum: string, filename: string) => h.db.$client.query('SELECT id FROM files WHERE checksum = ? AND filename = ?').get(checksum, filename)

describe('POST /episodes/{id}/files on a full disk', () => {
	it('uploads of random sizes until the disk refuses them: each refusal a 507 without its row, files/ holding exactly the rows\' bytes after every answer', async () => {
		const episode = await h.newEpisode(owner, 'full-disk')
		leaveFree(2 * 2 ** 20)
		const mark = h.logs.length
		const seen: number[] = []
		let refused = 0
		for (let i = 0; i < 300 && refused < 6; i++) {
			// smaller and smaller once refused, down to the last pages: those the WAL needed too
			const bytes = randomBytes(1 + random.int((512 * 1024) >> refused))
			const name = `fill-${i}.bin`
			const reply = await upload(episode, bytes, name)
			seen.push(reply.status)
			if (reply.status === 201) {
				expect(reply.body.checksum).toBe(sha256(bytes))
			} else {
				expectRefused(reply)
				expect(fileRow(sha256(bytes), name)).toBeNull()
				refused++
			}
			await expectConsistent()
		}
		expect(seen.filter((s) => s === 201).length).toBeGreaterThan(3)
		expect(refused).toBe(6)
		const why = refusalsSince(mark)
		expect(why.length).toBe(refused)
		expect(why.filter((code) => code !== 'ENOSPC' && code !== 'SQLITE_FULL')).toEqual([])
		const listed = await h.call('GET', `/episodes/${episode}/files?pageSize=1000`, { token: owner.token })
		expect(listed.body.total).toBe(seen.filter((s) => s === 201).length)
	})

	it('the temporary file meets ENOSPC: 507, no row, nothing left in files/tmp', async () => {
		leaveFree(2 * 2 ** 20)
		const episode = await h.newEpisode(owner, 'full-disk')
		leaveFree(16 * PAGE)
		const mark = h.logs.length
		const bytes = randomBytes(64 * PAGE)
		const reply = await upload(episode, bytes, 'too-big.bin')
		expectRefused(reply)
		expect(refusalsSince(mark)).toEqual(['ENOSPC'])
		expect(fileRow(sha256(bytes), 'too-big.bin')).toBeNull()
		await expectConsistent()
	})

	it('the bytes fit and are moved into place, but the row\'s commit meets SQLITE_FULL (the issue): 507, no row, and the bytes are gone', async () => {
		leaveFree(2 * 2 ** 20)
		const episode = await h.newEpisode(owner, 'full-disk')
		emptyWal()
		const bytes = (refusedEarlier = randomBytes(10 * PAGE))
		leaveFree(bytes.length) // room for the bytes, none for the WAL frames of their row
		const mark = h.logs.length
		const reply = await upload(episode, bytes, 'no-room-for-the-row.bin')
		expectRefused(reply)
		expect(refusalsSince(mark)).toEqual(['SQLITE_FULL'])
		expect(fileRow(sha256(bytes), 'no-room-for-the-row.bin')).toBeNull()
		expect(await h.store.open(sha256(bytes))).toBeUndefined()
		await expectConsistent()
	})

	it('bytes already stored (shared) whose new row meets SQLITE_FULL: 507, and the shared bytes stay for the row that has them', async () => {
		leaveFree(2 * 2 ** 20)
		const episode = await h.newEpisode(owner, 'full-disk')
		const bytes = randomBytes(100)
		const first = await upload(episode, bytes, 'first.bin')
		expect(first.status).toBe(201)
		emptyWal()
		leaveFree(PAGE) // the second copy fits in the temporary file; moved over the first, it frees that page for the WAL, which needs more
		const mark = h.logs.length
		const again = await upload(episode, bytes, 'again.bin')
		expectRefused(again)
		expect(refusalsSince(mark)).toEqual(['SQLITE_FULL'])
		expect(fileRow(sha256(bytes), 'again.bin')).toBeNull()
		expect(await h.store.open(sha256(bytes))).toBeDefined()
		await expectConsistent()
		const download = await h.fetch(new Request(`http://dreamlake.test/episodes/${episode}/files/${first.body.id}/download`, { headers: { authorization: `Bearer ${owner.token}` } }))
		expect(download.status).toBe(200)
		expect(sha256(new Uint8Array(await download.arrayBuffer()))).toBe(sha256(bytes))
	})
})

describe('POST /episodes/{id}/logs on a full disk', () => {
	it('appends of random sizes until the disk refuses them: each refusal a 507 storing none of its lines, the next accepted batch numbering on from the last line stored', async () => {
		leaveFree(2 * 2 ** 20)
		const episode = await h.newEpisode(owner, 'full-disk')
		leaveFree(512 * 1024)
		let stored = 0
		let refused = 0
		for (let i = 0; i < 500 && refused < 6; i++) {
			const lines = 1 + random.int(400 >> refused)
			const reply = await appendLogs(episode, lines, random.int(2000))
			if (reply.status === 201) {
				expect(reply.body).toEqual({ created: lines, startSequence: stored, endSequence: stored + lines - 1, episodeId: episode })
				stored += lines
			} else {
				expectRefused(reply)
				refused++
			}
			expect((await h.call('GET', `/episodes/${episode}/logs/stats`, { token: owner.token })).body.totalLogs).toBe(stored)
		}
		expect(refused).toBe(6)
		expect(stored).toBeGreaterThan(0)
		await expectConsistent()
	})

	it('a burst of concurrent appends far larger than the room left: each 201 stored whole, each 507 not at all, and each episode numbers on from what it has', async () => {
		leaveFree(2 * 2 ** 20)
		const episodes = await Promise.all(Array.from({ length: 12 }, () => h.newEpisode(owner, 'full-disk')))
		leaveFree(1024 * 1024)
		const replies = await Promise.all(episodes.map((episode) => appendLogs(episode, 1000, 200)))
		for (const reply of replies) if (reply.status !== 201) expectRefused(reply)
		// their group outgrows SQLite's page cache, which spills to the WAL mid-transaction: SQLITE_FULL there
		// rolls the whole group back, and the appends queued after the one that met it commit in the next
		expect(replies.map((r) => r.status)).toContain(507)
		expect(replies.map((r) => r.status)).toContain(201)
		leaveFree(2 * 2 ** 20)
		for (const [i, episode] of episodes.entries()) {
			const total = replies[i]!.status === 201 ? 1000 : 0
			expect((await h.call('GET', `/episodes/${episode}/logs/stats`, { token: owner.token })).body.totalLogs).toBe(total)
			expect((await appendLogs(episode, 1, 10)).body).toMatchObject({ startSequence: total })
		}
		await expectConsistent()
	})
})

describe('POST /episodes/{id}/tracks/{name}/append-batch on a full disk', () => {
	it('appends of random sizes until the disk refuses them: each refusal a 507 storing none of its points, the next accepted batch indexed on from the last point stored', async () => {
		leaveFree(2 * 2 ** 20)
		const episode = await h.newEpisode(owner, 'full-disk')
		leaveFree(512 * 1024)
		let stored = 0
		let refused = 0
		for (let i = 0; i < 500 && refused < 6; i++) {
			const points = 1 + random.int(4000 >> refused)
			const reply = await appendPoints(episode, 'loss', points, 40)
			if (reply.status === 201) {
				expect(reply.body).toMatchObject({ inserted: points, startIndex: stored })
				stored += points
			} else {
				expectRefused(reply)
				refused++
			}
			const stats = await h.call('GET', `/episodes/${episode}/tracks/loss/stats`, { token: owner.token })
			expect(stored === 0 ? stats.status : stats.body.totalDataPoints).toBe(stored === 0 ? 404 : stored)
		}
		expect(refused).toBe(6)
		expect(stored).toBeGreaterThan(0)
		await expectConsistent()
	})
})

describe('every other write on a full disk', () => {
	let episode: string
	let file: string
	beforeAll(async () => {
		leaveFree(2 * 2 ** 20)
		episode = await h.newEpisode(owner, 'full-disk-writes')
		file = (await upload(episode, randomBytes(1000), 'kept.bin')).body.id
	})

	/** Each write, and a read showing it stored nothing. */
	const writes: [string, () => Promise<Reply>, () => Promise<void>][] = [
		['POST /auth/exchange (a new user)', async () => h.login({ sub: `full-${crypto.randomUUID()}` }), async () => expect(h.count('users')).toBe(1)],
		['PATCH /auth/me', async () => h.call('PATCH', '/auth/me', { token: owner.token, body: { name: 'Not Stored' } }), async () => expect((await h.call('GET', '/auth/me', { token: owner.token })).body.name).not.toBe('Not Stored')],
		['POST /namespaces/{ns}/projects', async () => h.call('POST', `/namespaces/${owner.ns}/projects`, { token: owner.token, body: { name: 'not-stored' } }), async () => expect((await h.call('GET', `/namespaces/${owner.ns}/projects/not-stored`, { token: owner.token })).status).toBe(404)],
		['POST /namespaces/{ns}/projects/{project}/episodes', async () => h.call('POST', `/namespaces/${owner.ns}/projects/full-disk-writes/episodes`, { token: owner.token, body: { name: 'not-stored' } }), async () => expect((await h.call('GET', `/namespaces/${owner.ns}/projects/full-disk-writes/episodes/not-stored`, { token: owner.token })).status).toBe(404)],
		['PATCH /episodes/{id}', async () => h.call('PATCH', `/episodes/${episode}`, { token: owner.token, body: { description: 'not stored' } }), async () => expect((await h.call('GET', `/episodes/${episode}`, { token: owner.token })).body.description).toBeNull()],
		['POST /episodes/{id}/parameters', async () => h.call('POST', `/episodes/${episode}/parameters`, { token: owner.token, body: { data: { lr: 0.1 } } }), async () => expect((await h.call('GET', `/episodes/${episode}/parameters`, { token: owner.token })).status).toBe(404)],
		['POST /episodes/{id}/logs', async () => appendLogs(episode, 1, 10), async () => expect((await h.call('GET', `/episodes/${episode}/logs/stats`, { token: owner.token })).body.totalLogs).toBe(0)],
		['POST /episodes/{id}/tracks/{name}/append', async () => h.call('POST', `/episodes/${episode}/tracks/loss/append`, { token: owner.token, body: { data: { step: 0, loss: 1 } } }), async () => expect((await h.call('GET', `/episodes/${episode}/tracks/loss/stats`, { token: owner.token })).status).toBe(404)],
		['PATCH /episodes/{id}/files/{fileId}', async () => h.call('PATCH', `/episodes/${episode}/files/${file}`, { token: owner.token, body: { description: 'not stored' } }), async () => expect((await h.call('GET', `/episodes/${episode}/files/${file}`, { token: owner.token })).body.description).toBeNull()],
		['DELETE /episodes/{id}/files/{fileId}', async () => h.call('DELETE', `/episodes/${episode}/files/${file}`, { token: owner.token }), async () => expect((await h.call('GET', `/episodes/${episode}/files/${file}`, { token: owner.token })).status).toBe(200)],
	]

	it.each(writes)('%s: 507 insufficient_storage, nothing stored', async (_, write, unchanged) => {
		emptyWal()
		leaveFree(0)
		expectRefused(await write())
		leaveFree(2 * 2 ** 20)
		await unchanged()
		await expectConsistent()
	})
})

describe('the background checkpointer on a full disk', () => {
	it('warns once, leaves the request thread\'s autocheckpoint off, and checkpoints again once room is freed', async () => {
		leaveFree(2 * 2 ** 20)
		const episode = await h.newEpisode(owner, 'full-disk')
		emptyWal()
		// pages the database file does not have yet, in the WAL only: checkpointing them grows the file
		expect((await appendLogs(episode, 500, 200)).status).toBe(201)
		const before = statSync(h.dbPath).size
		leaveFree(0)
		const lines: string[] = []
		const checkpointer = startCheckpointer(h.db, h.dbPath, createLogger({ format: 'json', level: 'debug', write: (line) => lines.push(line) }), 20)
		const messages = () => lines.map((line) => (JSON.parse(line) as { msg: string }).msg)
		try {
			await until(() => lines.length > 0)
			await Bun.sleep(200) // ten more checkpoints that fail
			expect(messages()).toEqual(['the disk is full: the WAL is not checkpointed into the database until room is freed'])
			expect(h.db.$client.query('PRAGMA wal_autocheckpoint').get()).toEqual({ wal_autocheckpoint: 0 })
			leaveFree(2 * 2 ** 20)
			await until(() => statSync(h.dbPath).size >= before + 500 * 200)
			expect(messages()).toHaveLength(1)
			expect(h.db.$client.query('PRAGMA wal_autocheckpoint').get()).toEqual({ wal_autocheckpoint: 0 })
		} finally {
			await checkpointer.stop()
		}
		await expectConsistent()
	})
})

describe('room freed again', () => {
	it('every write goes through again without a restart, the upload refused earlier included', async () => {
		emptyWal()
		leaveFree(0)
		const episode = await h.newEpisode(owner, 'full-disk').catch(() => '')
		expect(episode).toBe('') // still full: refused (newEpisode expects a 201)
		const grown = Bun.spawnSync(['mount', '-o', `remount,size=${2 * DISK_BYTES}`, mount])
		expect(grown.exitCode).toBe(0)
		expect(free()).toBeGreaterThan(DISK_BYTES / 2)
		const id = await h.newEpisode(owner, 'full-disk')
		expect((await upload(id, refusedEarlier!, 'no-room-for-the-row.bin')).status).toBe(201)
		expect((await upload(id, randomBytes(3 * 2 ** 20), 'after.bin')).status).toBe(201)
		expect((await appendLogs(id, 100, 100)).body).toMatchObject({ created: 100, startSequence: 0 })
		expect((await appendPoints(id, 'loss', 100, 10)).body).toMatchObject({ inserted: 100, startIndex: 0 })
		expect((await h.call('PATCH', '/auth/me', { token: owner.token, body: { name: 'Stored' } })).body.name).toBe('Stored')
		expect((await h.login({ sub: `full-${crypto.randomUUID()}` })).status).toBe(200)
		await expectConsistent()
	})
})
