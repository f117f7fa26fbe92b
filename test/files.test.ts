import { afterAll, beforeAll, describe, expect, it, setDefaultTimeout } from 'bun:test'
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { purgeDeleted } from '../src/db/purge'
import { FileReferences } from '../src/files/repository'
import { sweepUnreferenced } from '../src/files/sweep'
import type { FileStore, FileWriter } from '../src/storage/store'
import { S3FileStore } from '../src/storage/s3'
import { underEpisode, whoMayCall, type InEpisode } from './support/access'
import { testBucket } from './support/file-storage'
import { Harness, type TestUser as User } from './support/harness'
import { KeyServer, newIdentity } from './support/key-server'
import { spawnServer, type ServerProcess } from './support/process'
import { randomBytes, sha256 } from './support/bytes'

// a 20 MB download, a full disk and real server processes (one of them killed and restarted)
setDefaultTimeout(30_000)

let h: Harness
let owner: User
beforeAll(async () => {
	h = await Harness.start()
	owner = await newUser()
})
afterAll(() => h.close())

const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/
const ID = /^[1-9][0-9]*$/
const enc = new TextEncoder()

const newUser = (harness: Harness = h) => harness.newUser()

let counter = 0
/** A name no other test uses. */
const unique = (prefix: string) => `${prefix}-${++counter}-${crypto.randomUUID().slice(0, 6)}`

/** A fresh episode of `user` (the owner unless said), by its id. */
const newEpisode = (user: User = owner, harness: Harness = h) => harness.newEpisode(user, 'files-project')


/** `n` random bytes: no two tests share their bytes, so no two share a stored blob by accident. */

interface Sent {
	bytes: Uint8Array
	name?: string
	prefix?: string
	type?: string
	checksum?: string
	sizeBytes?: string | number
	description?: string
	tags?: string
	metadata?: string
	/** Parts left out of the form. */
	omit?: ('prefix' | 'checksum' | 'sizeBytes' | 'file')[]
}

/** The multipart form of an upload, as the SDK sends it: fields first, then the `file` part. */
function form({ bytes, name = 'data.bin', prefix = '/', type = 'application/octet-stream', checksum, sizeBytes, description, tags, metadata, omit = [] }: Sent): FormData {
	const fd = new FormData()
	if (!omit.includes('prefix')) fd.append('prefix', prefix)
	if (!omit.includes('checksum')) fd.append('checksum', checksum ?? sha256(bytes))
	if (!omit.includes('sizeBytes')) fd.append('sizeBytes', String(sizeBytes ?? bytes.length))
	if (description !== undefined) fd.append('description', description)
	if (tags !== undefined) fd.append('tags', tags)
	if (metadata !== undefined) fd.append('metadata', metadata)
	if (!omit.includes('file')) fd.append('file', new File([bytes], name, { type }))
	return fd
}

const upload = (id: string, sent: Sent, token = owner.token, harness: Harness = h) => harness.call('POST', `/episodes/${id}/files`, { token, body: form(sent) })

/** Uploads, expecting 201, and returns the file. */
async function uploaded(id: string, sent: Sent, token = owner.token, harness: Harness = h) {
	const { status, body } = await upload(id, sent, token, harness)
	expect(status).toBe(201)
	return body as FileBody
}

interface FileBody {
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
	metadata: Record<string, unknown>
	uploadedAt: string
	updatedAt: string
	deletedAt: string | null
}

const filePath = (id: string, fileId: string) => `/episodes/${id}/files/${fileId}`
const get = (id: string, fileId: string, token = owner.token) => h.call('GET', filePath(id, fileId), { token })
const list = (id: string, query = '', token = owner.token) => h.call('GET', `/episodes/${id}/files${query}`, { token })
const patch = (id: string, fileId: string, body: unknown, token = owner.token) => h.call('PATCH', filePath(id, fileId), { token, body })
const remove = (id: string, fileId: string, token = owner.token) => h.call('DELETE', filePath(id, fileId), { token })
const restore = (id: string, fileId: string, token = owner.token) => h.call('POST', `${filePath(id, fileId)}/restore`, { token })
const setWriteProtected = async (id: string, writeProtected: boolean) =>
	expect((await h.call('PATCH', `/episodes/${id}`, { token: owner.token, body: { writeProtected } })).status).toBe(200)

/** A download as raw bytes (h.call would read the body as text). */
async function download(id: string, fileId: string, headers: Record<string, string> = {}, token = owner.token, harness: Harness = h) {
	const response = await harness.fetch(new Request(`http://dreamlake.test${filePath(id, fileId)}/download`, { headers: { authorization: `Bearer ${token}`, ...headers } }))
	const bytes = new Uint8Array(await response.arrayBuffer())
	return { status: response.status, headers: response.headers, bytes }
}

/** The episode's rows of `files` as stored, live and deleted. */
const fileRows = (id: string, harness: Harness = h) => harness.db.$client.query('SELECT * FROM files WHERE episode_id = ? ORDER BY id').all(Number(id)) as Record<string, unknown>[]
/** Every checksum the file store lists. */
const stored = async (harness: Harness = h) => (await Array.fromAsync(harness.store.list())).map((b) => b.checksum).sort()
/** Whether the file store has bytes under `checksum`. */
const stores = async (checksum: string, harness: Harness = h) => (await harness.store.open(checksum)) !== undefined
/** Uploads begun and not finished: files in files/tmp, or temporary objects and multipart uploads in the bucket. */
const unfinished = async (harness: Harness = h) => (harness.store instanceof S3FileStore ? await harness.store.unfinished() : readdirSync(harness.local.tmp))
/** The stored bytes of `checksum`, read from the store. */
const storedBytes = async (checksum: string, harness: Harness = h) => new Uint8Array(await new Response(await (await harness.store.open(checksum))!.body()).arrayBuffer())
/** The sweep of unreferenced bytes, as the server runs it. */
const sweep = (harness: Harness = h) => sweepUnreferenced(harness.store, new FileReferences(harness.db))
/** `store` itself, method by method, for a test to replace one of them. */
const delegate = (store: FileStore): FileStore => ({
	writer: (declared) => store.writer(declared),
	open: (checksum) => store.open(checksum),
	remove: (checksum) => store.remove(checksum),
	list: () => store.list(),
	isCommitting: (checksum) => store.isCommitting(checksum),
	discardUnfinished: () => store.discardUnfinished(),
	copyTo: (checksum, folder) => store.copyTo(checksum, folder),
})

/** What an upload may change: the episode's rows, the stored bytes, files/tmp. */
const snapshot = async (id: string, harness: Harness = h) => ({ rows: fileRows(id, harness), blobs: await stored(harness), tmp: await unfinished(harness) })

/** Nothing of a refused upload is kept: no new row, not its bytes, nothing in files/tmp. */
async function expectNothingKept(id: string, rowsBefore: number, bytes: Uint8Array, harness: Harness = h) {
	expect(fileRows(id, harness)).toHaveLength(rowsBefore)
	expect(await stores(sha256(bytes), harness)).toBe(false)
	expect(await unfinished(harness)).toEqual([])
}

/** Every file and folder under `dir`, relative, folders with a trailing "/". */
function tree(dir: string, under = ''): string[] {
	const out: string[] = []
	for (const entry of readdirSync(join(dir, under), { withFileTypes: true })) {
		const path = under ? `${under}/${entry.name}` : entry.name
		if (entry.isDirectory()) out.push(`${path}/`, ...tree(dir, path))
		else out.push(path)
	}
	return out.sort()
}

describe('POST /episodes/{id}/files', () => {
	it('types the files ML users upload by their extension, whatever the client guessed (a .pt is no SNES page table)', async () => {
		const id = await newEpisode()
		const expected: Record<string, string> = {
			'model.pt': 'application/octet-stream', 'model.PTH': 'application/octet-stream', 'last.ckpt': 'application/octet-stream',
			'w.safetensors': 'application/octet-stream', 'a.npy': 'application/octet-stream', 'a.npz': 'application/zip',
			'd.h5': 'application/x-hdf5', 't.parquet': 'application/vnd.apache.parquet', 'm.onnx': 'application/octet-stream',
			'p.pkl': 'application/octet-stream', 'run.mcap': 'application/octet-stream', 'run.bag': 'application/octet-stream',
		}
		for (const [name, type] of Object.entries(expected)) {
			const { status, body } = await upload(id, { bytes: randomBytes(10), name, type: 'application/vnd.snesdev-page-table' })
			expect(status).toBe(201)
			expect([name, body.contentType]).toEqual([name, type])
			const { headers } = await download(id, body.id)
			expect(headers.get('content-type')).toBe(type)
		}
		// anything else keeps what the client said
		expect((await upload(id, { bytes: randomBytes(10), name: 'notes.md', type: 'text/markdown' })).body.contentType).toBe('text/markdown')
	})

	it('201 with the documented file shape; path is prefix + "/" + filename', async () => {
		const id = await newEpisode()
		const bytes = randomBytes(3_000)
		const { status, body } = await upload(id, { bytes, name: 'model.pt', prefix: '/models', tags: 'best, final', metadata: '{"epoch": 12}', description: 'a checkpoint' })
		expect(status).toBe(201)
		expect(body).toEqual({
			id: expect.stringMatching(ID),
			episodeId: id,
			prefix: '/models',
			path: '/models/model.pt',
			filename: 'model.pt',
			description: 'a checkpoint',
			tags: ['best', 'final'],
			contentType: 'application/octet-stream',
			sizeBytes: 3_000,
			checksum: sha256(bytes),
			metadata: { epoch: 12 },
			createdBy: { id: owner.id, username: owner.claims.username, key: null },
			uploadedAt: expect.stringMatching(ISO),
			updatedAt: expect.stringMatching(ISO),
			deletedAt: null,
		})
		expect(typeof body.id).toBe('string')
		expect(typeof body.sizeBytes).toBe('number')
		expect(Array.isArray(body.tags)).toBe(true)
		expect(fileRows(id)).toHaveLength(1)
		expect(String(fileRows(id)[0]!.id)).toBe(body.id)
		// no prefix: the root, and no tags, description or metadata
		const plain = await uploaded(id, { bytes: randomBytes(10), name: 'notes.txt', omit: ['prefix'] })
		expect(plain).toMatchObject({ prefix: '/', path: '/notes.txt', filename: 'notes.txt', description: null, tags: [], metadata: {} })
	})

	it('the bytes land under the blob root by checksum, and nothing stays in files/tmp', async () => {
		const id = await newEpisode()
		const bytes = randomBytes(70_000)
		const checksum = sha256(bytes)
		expect(await stores(checksum)).toBe(false)
		await uploaded(id, { bytes, name: 'landed.bin' })
		expect(await stores(checksum)).toBe(true)
		expect(await storedBytes(checksum)).toEqual(bytes)
		expect(await stored()).toContain(checksum)
		expect(await unfinished()).toEqual([])
	})

	it('identical bytes uploaded twice (under different names) share one stored blob', async () => {
		const id = await newEpisode()
		const bytes = randomBytes(5_000)
		const checksum = sha256(bytes)
		const one = await uploaded(id, { bytes, name: 'first.bin' })
		const blobsAfterOne = await stored()
		const two = await uploaded(id, { bytes, name: 'second.bin', prefix: '/elsewhere' })
		expect(two.id).not.toBe(one.id)
		expect([one.checksum, two.checksum]).toEqual([checksum, checksum])
		expect(await stored()).toEqual(blobsAfterOne)
		expect((await stored()).filter((c) => c === checksum)).toHaveLength(1)
		for (const file of [one, two]) expect(sha256((await download(id, file.id)).bytes)).toBe(checksum)
		expect(await unfinished()).toEqual([])
	})

	it('the same prefix + filename again replaces the earlier file (which becomes deleted)', async () => {
		const id = await newEpisode()
		const earlier = await uploaded(id, { bytes: randomBytes(100), name: 'weights.bin', prefix: '/ckpt' })
		const bystander = await uploaded(id, { bytes: randomBytes(100), name: 'weights.bin', prefix: '/other' })
		const later = await uploaded(id, { bytes: randomBytes(200), name: 'weights.bin', prefix: '/ckpt' })
		expect(later.id).not.toBe(earlier.id)
		const gone = await get(id, earlier.id)
		expect(gone.status).toBe(404)
		expect(gone.body).toMatchObject({ success: false, code: 'file_not_found' })
		expect((await download(id, earlier.id)).status).toBe(404)
		const { body } = await list(id)
		expect(body.files.map((f: FileBody) => f.id).sort()).toEqual([bystander.id, later.id].sort())
		expect(body.total).toBe(2)
		const earlierRow = fileRows(id).find((r) => String(r.id) === earlier.id)!
		expect(earlierRow.deleted_at).not.toBeNull()
		expect((await get(id, later.id)).body).toMatchObject({ path: '/ckpt/weights.bin', sizeBytes: 200 })
	})

	it('422 checksum_mismatch, and nothing is kept (no row, no blob, files/tmp empty)', async () => {
		const id = await newEpisode()
		const bytes = randomBytes(4_000)
		const claimed = sha256(randomBytes(16))
		const { status, body } = await upload(id, { bytes, name: 'bad-sum.bin', checksum: claimed })
		expect(status).toBe(422)
		expect(body).toEqual({ success: false, error: expect.any(String), code: 'checksum_mismatch', field: 'checksum' })
		await expectNothingKept(id, 0, bytes)
		expect(await stores(claimed)).toBe(false)
		expect((await list(id)).body.total).toBe(0)
	})

	it('422 size_mismatch, and nothing is kept (no row, no blob, files/tmp empty)', async () => {
		const id = await newEpisode()
		const bytes = randomBytes(4_000)
		const { status, body } = await upload(id, { bytes, name: 'bad-size.bin', sizeBytes: 4_001 })
		expect(status).toBe(422)
		expect(body).toEqual({ success: false, error: expect.any(String), code: 'size_mismatch', field: 'sizeBytes' })
		await expectNothingKept(id, 0, bytes)
		expect((await list(id)).body.total).toBe(0)
	})

	it.each(['models', '/models/', '//x', '/a b', '/a/../b'])('400 invalid_prefix for %p, nothing kept', async (prefix) => {
		const id = await newEpisode()
		const bytes = randomBytes(500)
		const { status, body } = await upload(id, { bytes, name: 'prefixed.bin', prefix })
		expect(status).toBe(400)
		expect(body).toMatchObject({ success: false, error: expect.any(String), code: 'invalid_prefix' })
		await expectNothingKept(id, 0, bytes)
	})

	it('400 missing_file when there is no file part', async () => {
		const id = await newEpisode()
		const bytes = randomBytes(500)
		const { status, body } = await upload(id, { bytes, omit: ['file'] })
		expect(status).toBe(400)
		expect(body).toEqual({ success: false, error: expect.any(String), code: 'missing_file' })
		await expectNothingKept(id, 0, bytes)
	})

	it.each(['checksum', 'sizeBytes'] as const)('400 missing_field without %s, nothing kept', async (field) => {
		const id = await newEpisode()
		const bytes = randomBytes(500)
		const { status, body } = await upload(id, { bytes, name: 'no-field.bin', omit: [field] })
		expect(status).toBe(400)
		expect(body).toEqual({ success: false, error: expect.stringContaining(field), code: 'missing_field', field })
		await expectNothingKept(id, 0, bytes)
	})

	it('400 too_many_files for two `file` parts, nothing kept', async () => {
		const id = await newEpisode()
		const one = randomBytes(300)
		const two = randomBytes(300)
		const fd = form({ bytes: one, name: 'one.bin' })
		fd.append('file', new File([two], 'two.bin'))
		const { status, body } = await h.call('POST', `/episodes/${id}/files`, { token: owner.token, body: fd })
		expect(status).toBe(400)
		expect(body).toEqual({ success: false, error: expect.any(String), code: 'too_many_files' })
		await expectNothingKept(id, 0, one)
		await expectNothingKept(id, 0, two)
	})

	it('400 unexpected_file for a file part named otherwise, nothing kept', async () => {
		const id = await newEpisode()
		const bytes = randomBytes(300)
		const fd = form({ bytes, omit: ['file'] })
		fd.append('attachment', new File([bytes], 'elsewhere.bin'))
		const { status, body } = await h.call('POST', `/episodes/${id}/files`, { token: owner.token, body: fd })
		expect(status).toBe(400)
		expect(body).toEqual({ success: false, error: expect.any(String), code: 'unexpected_file' })
		await expectNothingKept(id, 0, bytes)
	})

	it('400 invalid_multipart for a multipart body with a broken boundary, nothing kept', async () => {
		const id = await newEpisode()
		const content = 'never-stored-' + crypto.randomUUID()
		// the header says XYZ; the body's delimiters are another boundary altogether
		const text = [
			'--XYQ',
			'Content-Disposition: form-data; name="checksum"',
			'',
			sha256(enc.encode(content)),
			'--XYQ',
			'Content-Disposition: form-data; name="file"; filename="broken.txt"',
			'Content-Type: application/octet-stream',
			'',
			content,
			'--XYQ--',
			'',
		].join('\r\n')
		const { status, body } = await h.call('POST', `/episodes/${id}/files`, { token: owner.token, body: text, headers: { 'content-type': 'multipart/form-data; boundary=XYZ' } })
		expect(status).toBe(400)
		expect(body).toEqual({ success: false, error: expect.any(String), code: 'invalid_multipart' })
		await expectNothingKept(id, 0, enc.encode(content))
		// a multipart type without any boundary: the same
		const none = await h.call('POST', `/episodes/${id}/files`, { token: owner.token, body: text, headers: { 'content-type': 'multipart/form-data; charset=utf-8' } })
		expect(none.status).toBe(400)
		expect(none.body.code).toBe('invalid_multipart')
		await expectNothingKept(id, 0, enc.encode(content))
	})

	it('415 for a JSON body', async () => {
		const id = await newEpisode()
		const { status, body } = await h.call('POST', `/episodes/${id}/files`, { token: owner.token, body: { file: 'aGVsbG8=', checksum: sha256(enc.encode('hello')), sizeBytes: 5 } })
		expect(status).toBe(415)
		expect(body).toEqual({ success: false, error: expect.any(String), code: 'unsupported_media_type' })
		expect(fileRows(id)).toEqual([])
		expect(await unfinished()).toEqual([])
	})

	it.each([
		['"../../etc/passwd"', '../../etc/passwd', 'passwd'],
		['"a/b"', 'a/b', 'b'],
		['"a".repeat(1000)', 'a'.repeat(1000), 'a'.repeat(255)],
	])('a path-like filename %s: 201, stored under a safe name, nothing written outside the blob root', async (_, given, expected) => {
		const id = await newEpisode()
		const bytes = randomBytes(1_000)
		const checksum = sha256(bytes)
		const before = tree(h.dir)
		const { status, body } = await upload(id, { bytes, name: given, prefix: '/unsafe' })
		expect(status).toBe(201)
		expect(body.filename).toBe(expected)
		expect(body.filename).not.toContain('/')
		expect(body.filename).not.toContain('\u0000')
		expect(body.filename.length).toBeLessThanOrEqual(255)
		expect(body.path).toBe(`/unsafe/${expected}`)
		const after = tree(h.dir)
		// outside files/ nothing appeared or went; inside it, only the blob (and its folder), unless the bytes are in a bucket
		expect(after.filter((p) => !p.startsWith('files/'))).toEqual(before.filter((p) => !p.startsWith('files/')))
		const added = after.filter((p) => !before.includes(p))
		expect(added.filter((p) => p !== `files/${checksum.slice(0, 2)}/` && p !== `files/${checksum.slice(0, 2)}/${checksum}`)).toEqual([])
		expect(added.includes(`files/${checksum.slice(0, 2)}/${checksum}`)).toBe(!testBucket)
		expect(await stored()).toContain(checksum)
		expect(readdirSync(join(h.dir, '..')).some((name) => name === 'passwd' || name === 'etc')).toBe(false)
		expect((await get(id, body.id)).body.filename).toBe(expected)
		expect(sha256((await download(id, body.id)).bytes)).toBe(checksum)
	})

	it('a filename with a NUL in its part header: 400 invalid_multipart (a malformed header), nothing written', async () => {
		const id = await newEpisode()
		const bytes = randomBytes(1_000)
		const before = tree(h.dir)
		const { status, body } = await upload(id, { bytes, name: 'x\u0000y', prefix: '/unsafe' })
		expect(status).toBe(400)
		expect(body).toMatchObject({ success: false, code: 'invalid_multipart' })
		expect(tree(h.dir)).toEqual(before)
	})

	it('403 episode_write_protected on a write-protected episode, nothing kept', async () => {
		const id = await newEpisode()
		await uploaded(id, { bytes: randomBytes(100), name: 'before.bin' })
		await setWriteProtected(id, true)
		const bytes = randomBytes(2_000)
		const { status, body } = await upload(id, { bytes, name: 'refused.bin' })
		expect(status).toBe(403)
		expect(body).toEqual({ success: false, error: expect.any(String), code: 'episode_write_protected' })
		await expectNothingKept(id, 1, bytes)
		await setWriteProtected(id, false)
		expect((await upload(id, { bytes, name: 'refused.bin' })).status).toBe(201)
	})

	// the data folder's disk filled: with the bytes in a bucket there is no such disk (a bucket's failures: test/s3-files.test.ts)
	if (testBucket === undefined)
		it('507 insufficient_storage on a full disk: no row, files/tmp empty, an earlier file still downloads', async () => {
			const id = await newEpisode()
			const earlierBytes = randomBytes(50_000)
			const earlier = await uploaded(id, { bytes: earlierBytes, name: 'earlier.bin' })
			const big = randomBytes(2 * 2 ** 20)
			const mounted = Bun.spawnSync(['mount', '-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', h.local.tmp])
			expect(mounted.exitCode).toBe(0)
			let reply: Awaited<ReturnType<typeof upload>> | undefined
			let tmpWhileMounted: string[] = ['(not read)']
			try {
				reply = await upload(id, { bytes: big, name: 'too-big-for-the-disk.bin' })
				tmpWhileMounted = await unfinished()
			} finally {
				expect(Bun.spawnSync(['umount', h.local.tmp]).exitCode).toBe(0)
			}
			expect(reply!.status).toBe(507)
			expect(reply!.body).toEqual({ success: false, error: expect.any(String), code: 'insufficient_storage' })
			expect(tmpWhileMounted).toEqual([])
			await expectNothingKept(id, 1, big)
			expect((await list(id)).body.files.map((f: FileBody) => f.id)).toEqual([earlier.id])
			const again = await download(id, earlier.id)
			expect(again.status).toBe(200)
			expect(sha256(again.bytes)).toBe(sha256(earlierBytes))
			// with room again, the same upload goes through
			expect((await upload(id, { bytes: big, name: 'too-big-for-the-disk.bin' })).status).toBe(201)
		})
})

describe('MAX_FILE_SIZE (a harness of its own, MAX_FILE_SIZE 1,024 bytes)', () => {
	let small: Harness
	let user: User
	beforeAll(async () => {
		small = await Harness.start({ maxFileSize: 1024 })
		user = await newUser(small)
	})
	afterAll(() => small?.close())

	it('a file of exactly 1,024 bytes is accepted', async () => {
		const id = await newEpisode(user, small)
		const bytes = randomBytes(1024)
		const file = await uploaded(id, { bytes, name: 'exactly.bin' }, user.token, small)
		expect(file.sizeBytes).toBe(1024)
		expect(await stores(sha256(bytes), small)).toBe(true)
	})

	it('a 2,000-byte file is refused 413 payload_too_large, and nothing is kept', async () => {
		const id = await newEpisode(user, small)
		const bytes = randomBytes(2_000)
		const { status, body, headers } = await upload(id, { bytes, name: 'over.bin' }, user.token, small)
		expect(status).toBe(413)
		expect(body).toEqual({ success: false, error: expect.any(String), code: 'payload_too_large' })
		expect(headers.get('connection')).toBe('close')
		await expectNothingKept(id, 0, bytes, small)
	})

	it.each([
		['10 MiB', 10 * 2 ** 20],
		['1 GiB', 2 ** 30],
	])('a declared Content-Length of %s is refused 413 before a byte of the body is read', async (_, declared) => {
		const id = await newEpisode(user, small)
		let pulled = 0
		// at most 64 KiB, however much is read: a server that reads it answers something else
		const body = new ReadableStream<Uint8Array>(
			{
				pull(controller) {
					if (++pulled > 64) controller.close()
					else controller.enqueue(new Uint8Array(1024).fill(0x61))
				},
			},
			{ highWaterMark: 0 },
		)
		const request = new Request(`http://dreamlake.test/episodes/${id}/files`, {
			method: 'POST',
			headers: { authorization: `Bearer ${user.token}`, 'content-type': 'multipart/form-data; boundary=XYZ', 'content-length': String(declared) },
			body,
			duplex: 'half',
		} as RequestInit)
		const response = await small.fetch(request)
		expect(response.status).toBe(413)
		expect(await response.json()).toMatchObject({ success: false, code: 'payload_too_large' })
		expect(pulled).toBe(0)
		expect(fileRows(id, small)).toEqual([])
		expect(await unfinished(small)).toEqual([])
	})
})

describe('GET /episodes/{id}/files', () => {
	it('{files, page, pageSize, total, totalPages}; pageSize 1,000 by default, 1,000 at most (422 over)', async () => {
		const id = await newEpisode()
		const files = [] as FileBody[]
		for (let i = 0; i < 3; i++) files.push(await uploaded(id, { bytes: randomBytes(10), name: `page-${i}.bin` }))
		const { status, body } = await list(id)
		expect(status).toBe(200)
		expect(Object.keys(body).sort()).toEqual(['files', 'page', 'pageSize', 'total', 'totalPages'])
		expect(body).toMatchObject({ page: 1, pageSize: 1000, total: 3, totalPages: 1 })
		expect(body.files).toHaveLength(3)
		expect(body.files[0]).toEqual((await get(id, body.files[0].id)).body)
		const paged = await list(id, '?pageSize=2&page=2')
		expect(paged.body).toMatchObject({ page: 2, pageSize: 2, total: 3, totalPages: 2 })
		expect(paged.body.files).toHaveLength(1)
		expect((await list(id, '?pageSize=1000')).status).toBe(200)
		const over = await list(id, '?pageSize=1001')
		expect(over.status).toBe(422)
		expect(over.body).toMatchObject({ success: false, code: 'validation_failed', field: 'pageSize' })
		expect((await list(await newEpisode())).body).toEqual({ files: [], page: 1, pageSize: 1000, total: 0, totalPages: 0 })
	})

	it('prefix=/models lists /models and /models/x, not /modelsx', async () => {
		const id = await newEpisode()
		const at = async (prefix: string) => (await uploaded(id, { bytes: randomBytes(10), name: 'f.bin', prefix })).id
		const models = await at('/models')
		const below = await at('/models/x')
		const deeper = await at('/models/x/y')
		const beside = await at('/modelsx')
		const root = await at('/')
		const ids = async (query: string) => {
			const reply = await list(id, query)
			expect(reply.status).toBe(200)
			return (reply.body.files as FileBody[]).map((f) => f.id).sort()
		}
		expect(await ids('?prefix=/models')).toEqual([models, below, deeper].sort())
		expect(await ids('?prefix=%2Fmodels%2Fx')).toEqual([below, deeper].sort())
		expect(await ids('?prefix=/modelsx')).toEqual([beside])
		expect(await ids('?prefix=/')).toEqual([models, below, deeper, beside, root].sort())
		expect(await ids('')).toEqual([models, below, deeper, beside, root].sort())
		expect(await ids('?prefix=/model')).toEqual([])
		const bad = await list(id, '?prefix=models/')
		expect(bad.status).toBe(400)
		expect(bad.body.code).toBe('invalid_prefix')
	})

	it('tags=a,b lists the files with any of them', async () => {
		const id = await newEpisode()
		const tagged = async (tags: string) => (await uploaded(id, { bytes: randomBytes(10), name: `${unique('tagged')}.bin`, tags })).id
		const a = await tagged('a')
		const b = await tagged('b')
		const c = await tagged('c')
		const ac = await tagged('a,c')
		const none = (await uploaded(id, { bytes: randomBytes(10), name: 'untagged.bin' })).id
		const ids = async (query: string) => ((await list(id, query)).body.files as FileBody[]).map((f) => f.id).sort()
		expect(await ids('?tags=a,b')).toEqual([a, b, ac].sort())
		expect(await ids('?tags=c')).toEqual([c, ac].sort())
		expect(await ids('?tags=zzz')).toEqual([])
		expect(await ids('')).toEqual([a, b, c, ac, none].sort())
	})

	it('newest first', async () => {
		const id = await newEpisode()
		const order: string[] = []
		for (let i = 0; i < 4; i++) {
			order.push((await uploaded(id, { bytes: randomBytes(10), name: `n${i}.bin` })).id)
			await Bun.sleep(3)
		}
		expect(((await list(id)).body.files as FileBody[]).map((f) => f.id)).toEqual(order.reverse())
	})

	it('deleted files are absent', async () => {
		const id = await newEpisode()
		const kept = await uploaded(id, { bytes: randomBytes(10), name: 'kept.bin' })
		const dropped = await uploaded(id, { bytes: randomBytes(10), name: 'dropped.bin' })
		expect((await remove(id, dropped.id)).status).toBe(200)
		const { body } = await list(id)
		expect(body.files.map((f: FileBody) => f.id)).toEqual([kept.id])
		expect(body.total).toBe(1)
	})
})

describe('GET /episodes/{id}/files/{fileId}', () => {
	it('the file', async () => {
		const id = await newEpisode()
		const file = await uploaded(id, { bytes: randomBytes(42), name: 'one.json', type: 'application/json', prefix: '/cfg', metadata: '{"k":[1,2]}' })
		const { status, body } = await get(id, file.id)
		expect(status).toBe(200)
		expect(body).toEqual(file)
		expect(body).toMatchObject({ contentType: 'application/json', sizeBytes: 42, path: '/cfg/one.json', metadata: { k: [1, 2] } })
	})

	it('404 for a deleted file', async () => {
		const id = await newEpisode()
		const file = await uploaded(id, { bytes: randomBytes(42), name: 'deleted.bin' })
		expect((await remove(id, file.id)).status).toBe(200)
		const { status, body } = await get(id, file.id)
		expect(status).toBe(404)
		expect(body).toEqual({ success: false, error: expect.any(String), code: 'file_not_found' })
	})

	it.each(['abc', '0', '-1', '1.5', '1e3', '99999999999999999999', '%20', '00001'])('404 for %p, which is not an id', async (segment) => {
		const id = await newEpisode()
		await uploaded(id, { bytes: randomBytes(10), name: 'present.bin' })
		const { status, body } = await get(id, segment)
		expect(status).toBe(404)
		expect(body).toMatchObject({ success: false, code: 'file_not_found' })
	})

	it("404 for a file id of another episode (of the same owner)", async () => {
		const id = await newEpisode()
		const other = await newEpisode()
		const file = await uploaded(other, { bytes: randomBytes(10), name: 'elsewhere.bin' })
		expect((await get(id, file.id)).status).toBe(404)
		expect((await download(id, file.id)).status).toBe(404)
		expect((await get(other, file.id)).status).toBe(200)
	})
})

describe('GET /episodes/{id}/files/{fileId}/download', () => {
	let id: string
	let file: FileBody
	let bytes: Uint8Array<ArrayBuffer>
	beforeAll(async () => {
		id = await newEpisode()
		bytes = randomBytes(1_000)
		file = await uploaded(id, { bytes, name: 'picture.png', type: 'image/png' })
	})

	it('the exact bytes, with Content-Type as uploaded, Content-Length, Content-Disposition and ETag "<checksum>"', async () => {
		const { status, headers, bytes: got } = await download(id, file.id)
		expect(status).toBe(200)
		expect(got).toEqual(bytes)
		expect(sha256(got)).toBe(file.checksum)
		expect(headers.get('content-type')).toBe('image/png')
		expect(file.contentType).toBe('image/png')
		expect(headers.get('content-length')).toBe('1000')
		expect(headers.get('etag')).toBe(`"${sha256(bytes)}"`)
		expect(headers.get('content-disposition')).toBe(`attachment; filename="picture.png"; filename*=UTF-8''picture.png`)
		expect(headers.get('location')).toBeNull()
	})

	it('Content-Disposition filename* carries a unicode name exactly ("résumé 📄.txt")', async () => {
		const name = 'résumé 📄.txt'
		const content = randomBytes(64)
		const unicode = await uploaded(id, { bytes: content, name, type: 'application/octet-stream' })
		expect(unicode.filename).toBe(name)
		const { status, headers, bytes: got } = await download(id, unicode.id)
		expect(status).toBe(200)
		expect(got).toEqual(content)
		const disposition = headers.get('content-disposition') ?? ''
		expect(disposition.startsWith('attachment;')).toBe(true)
		const exact = /filename\*=UTF-8''([^;\s]+)/.exec(disposition)
		expect(exact).not.toBeNull()
		expect(decodeURIComponent(exact![1]!)).toBe(name)
		// the plain fallback is ASCII only
		expect(/filename="([\x20-\x7e]*)"/.test(disposition)).toBe(true)
	})

	it('If-None-Match with the ETag → 304, no body', async () => {
		const first = await download(id, file.id)
		const etag = first.headers.get('etag')!
		const again = await download(id, file.id, { 'if-none-match': etag })
		expect(again.status).toBe(304)
		expect(again.bytes).toHaveLength(0)
		expect(again.headers.get('etag')).toBe(etag)
		// another tag: the bytes
		expect((await download(id, file.id, { 'if-none-match': `"${'0'.repeat(64)}"` })).status).toBe(200)
	})

	it('Range bytes=0-9 → 206 with Content-Range and 10 bytes', async () => {
		const { status, headers, bytes: got } = await download(id, file.id, { range: 'bytes=0-9' })
		expect(status).toBe(206)
		expect(headers.get('content-range')).toBe('bytes 0-9/1000')
		expect(headers.get('content-length')).toBe('10')
		expect(got).toEqual(bytes.slice(0, 10))
	})

	it('Range bytes=-5 → the last 5 bytes', async () => {
		const { status, headers, bytes: got } = await download(id, file.id, { range: 'bytes=-5' })
		expect(status).toBe(206)
		expect(headers.get('content-range')).toBe('bytes 995-999/1000')
		expect(got).toEqual(bytes.slice(995))
	})

	it('Range bytes=100000- on a small file → 416', async () => {
		const { status, headers, bytes: got } = await download(id, file.id, { range: 'bytes=100000-' })
		expect(status).toBe(416)
		expect(headers.get('content-range')).toBe('bytes */1000')
		expect(got).toHaveLength(0)
	})

	it('a 20 MB file downloads whole with the right checksum', async () => {
		const big = randomBytes(20_000_000)
		const checksum = sha256(big)
		const bigFile = await uploaded(id, { bytes: big, name: 'big.bin' })
		expect(bigFile.sizeBytes).toBe(20_000_000)
		const { status, headers, bytes: got } = await download(id, bigFile.id)
		expect(status).toBe(200)
		expect(headers.get('content-length')).toBe('20000000')
		expect(got.length).toBe(20_000_000)
		expect(sha256(got)).toBe(checksum)
	})
})

describe('PATCH /episodes/{id}/files/{fileId}', () => {
	it('changes description, tags and metadata; tags: [] clears them', async () => {
		const id = await newEpisode()
		const file = await uploaded(id, { bytes: randomBytes(10), name: 'patched.bin', tags: 'x,y', description: 'before', metadata: '{"a":1}' })
		const one = await patch(id, file.id, { description: 'after' })
		expect(one.status).toBe(200)
		expect(one.body).toMatchObject({ id: file.id, description: 'after', tags: ['x', 'y'], metadata: { a: 1 }, checksum: file.checksum, path: file.path })
		const two = await patch(id, file.id, { tags: ['t1', 't2'], metadata: { b: { c: 2 } } })
		expect(two.status).toBe(200)
		expect(two.body).toMatchObject({ description: 'after', tags: ['t1', 't2'], metadata: { b: { c: 2 } } })
		const cleared = await patch(id, file.id, { tags: [] })
		expect(cleared.status).toBe(200)
		expect(cleared.body.tags).toEqual([])
		expect((await patch(id, file.id, { description: null })).body.description).toBeNull()
		// as stored
		const { body } = await get(id, file.id)
		expect(body).toMatchObject({ description: null, tags: [], metadata: { b: { c: 2 } }, uploadedAt: file.uploadedAt })
		expect(Date.parse(body.updatedAt)).toBeGreaterThanOrEqual(Date.parse(file.updatedAt))
		expect(sha256((await download(id, file.id)).bytes)).toBe(file.checksum)
	})

	it('422 for unknown fields, and nothing changes', async () => {
		const id = await newEpisode()
		const file = await uploaded(id, { bytes: randomBytes(10), name: 'strict.bin', description: 'kept' })
		const before = fileRows(id)
		for (const body of [{ colour: 'red' }, { description: 'changed', filename: 'renamed.bin' }, { prefix: '/moved' }, { checksum: '0'.repeat(64) }]) {
			const reply = await patch(id, file.id, body)
			expect(reply.status).toBe(422)
			expect(reply.body).toMatchObject({ success: false, code: 'validation_failed' })
		}
		expect(fileRows(id)).toEqual(before)
		expect((await get(id, file.id)).body).toEqual(file)
	})

	it('403 episode_write_protected on a write-protected episode, nothing changes', async () => {
		const id = await newEpisode()
		const file = await uploaded(id, { bytes: randomBytes(10), name: 'protected.bin', description: 'kept' })
		await setWriteProtected(id, true)
		const before = fileRows(id)
		const { status, body } = await patch(id, file.id, { description: 'changed' })
		expect(status).toBe(403)
		expect(body).toEqual({ success: false, error: expect.any(String), code: 'episode_write_protected' })
		expect(fileRows(id)).toEqual(before)
		await setWriteProtected(id, false)
		expect((await patch(id, file.id, { description: 'changed' })).body.description).toBe('changed')
	})
})

describe('DELETE /episodes/{id}/files/{fileId}', () => {
	it('{id, deletedAt}; then 404 on get, download and delete, absent from the list', async () => {
		const id = await newEpisode()
		const file = await uploaded(id, { bytes: randomBytes(100), name: 'deleted.bin' })
		const other = await uploaded(id, { bytes: randomBytes(100), name: 'bystander.bin' })
		const { status, body } = await remove(id, file.id)
		expect(status).toBe(200)
		expect(body).toEqual({ id: file.id, deletedAt: expect.stringMatching(ISO) })
		for (const reply of [await get(id, file.id), await remove(id, file.id)]) {
			expect(reply.status).toBe(404)
			expect(reply.body).toEqual({ success: false, error: expect.any(String), code: 'file_not_found' })
		}
		expect((await download(id, file.id)).status).toBe(404)
		expect((await list(id)).body.files.map((f: FileBody) => f.id)).toEqual([other.id])
		// after a restart too (nothing cached)
		h.restart()
		expect((await get(id, file.id)).status).toBe(404)
	})

	it('the bytes stay until purged (a sweep leaves them)', async () => {
		const id = await newEpisode()
		const bytes = randomBytes(300)
		const file = await uploaded(id, { bytes, name: 'kept-bytes.bin' })
		expect((await remove(id, file.id)).status).toBe(200)
		expect(await stores(file.checksum)).toBe(true)
		await sweep()
		expect(await stores(file.checksum)).toBe(true)
		expect(await storedBytes(file.checksum)).toEqual(bytes)
	})

	it('POST …/restore brings it back (200), bytes and all', async () => {
		const id = await newEpisode()
		const bytes = randomBytes(300)
		const file = await uploaded(id, { bytes, name: 'restored.bin', tags: 'keep' })
		expect((await remove(id, file.id)).status).toBe(200)
		const { status, body } = await restore(id, file.id)
		expect(status).toBe(200)
		expect(body).toMatchObject({ id: file.id, path: file.path, tags: ['keep'], checksum: file.checksum, deletedAt: null })
		expect((await get(id, file.id)).status).toBe(200)
		expect((await list(id)).body.files.map((f: FileBody) => f.id)).toEqual([file.id])
		expect((await download(id, file.id)).bytes).toEqual(bytes)
	})

	it('restore: 409 file_exists when another live file took its path meanwhile', async () => {
		const id = await newEpisode()
		const first = await uploaded(id, { bytes: randomBytes(100), name: 'taken.bin', prefix: '/p' })
		expect((await remove(id, first.id)).status).toBe(200)
		const second = await uploaded(id, { bytes: randomBytes(100), name: 'taken.bin', prefix: '/p' })
		const before = fileRows(id)
		const { status, body } = await restore(id, first.id)
		expect(status).toBe(409)
		expect(body).toEqual({ success: false, error: expect.any(String), code: 'file_exists' })
		expect(fileRows(id)).toEqual(before)
		expect((await get(id, first.id)).status).toBe(404)
		expect((await list(id)).body.files.map((f: FileBody) => f.id)).toEqual([second.id])
		// once the path is free again, it comes back
		expect((await remove(id, second.id)).status).toBe(200)
		expect((await restore(id, first.id)).status).toBe(200)
	})

	it('restore of a live file (or of one that never was) is 404', async () => {
		const id = await newEpisode()
		const file = await uploaded(id, { bytes: randomBytes(100), name: 'alive.bin' })
		const before = fileRows(id)
		const { status, body } = await restore(id, file.id)
		expect(status).toBe(404)
		expect(body).toMatchObject({ success: false, code: expect.any(String) })
		expect(fileRows(id)).toEqual(before)
		expect((await restore(id, '999999999999')).status).toBe(404)
		expect((await restore(id, 'abc')).status).toBe(404)
	})
})

describe('POST /episodes/{id}/files into a store whose writes settle later (a harness of its own)', () => {
	// the local store behind writes that each settle in a later turn, as a bucket's multipart upload would
	let a: Harness
	let user: User
	let inFlight = 0
	let mostInFlight = 0
	/** Writes in flight when the upload was finished (its last chunk not taken yet): none, ever. */
	let inFlightAtFinish: number[] = []
	/** Fails the write that goes past `after` bytes. */
	let refuse: { after: number; error: Error } | undefined
	const later = (writer: FileWriter): FileWriter => {
		let taken = 0
		return {
			async write(chunk) {
				mostInFlight = Math.max(mostInFlight, ++inFlight)
				try {
					await Bun.sleep(0)
					taken += chunk.length
					if (refuse && taken > refuse.after) throw refuse.error
					await writer.write(chunk)
				} finally {
					inFlight--
				}
			},
			finish: () => {
				inFlightAtFinish.push(inFlight)
				return writer.finish()
			},
			commit: () => writer.commit(),
			discard: () => writer.discard(),
		}
	}
	beforeAll(async () => {
		a = await Harness.start({ fileStore: (store) => ({ ...delegate(store), writer: (declared) => later(store.writer(declared)) }) })
		user = await newUser(a)
	})
	afterAll(() => a?.close())

	it.each([1, 15_000, 3 * 2 ** 20 + 17])('201 for %p bytes: each chunk is waited for before the next is read, the last before the upload is finished, and the bytes download whole', async (size) => {
		const id = await newEpisode(user, a)
		const bytes = randomBytes(size)
		mostInFlight = 0
		inFlightAtFinish = []
		const file = await uploaded(id, { bytes, name: 'later.bin' }, user.token, a)
		expect(mostInFlight).toBe(1)
		expect(inFlightAtFinish).toEqual([0])
		expect(file.checksum).toBe(sha256(bytes))
		const served = await download(id, file.id, {}, user.token, a)
		expect(served.status).toBe(200)
		expect(served.bytes).toEqual(bytes)
		expect(await unfinished(a)).toEqual([])
	})

	it('a write that rejects with ENOSPC: 507 insufficient_storage, nothing kept', async () => {
		const id = await newEpisode(user, a)
		const bytes = randomBytes(2 * 2 ** 20)
		refuse = { after: 2 ** 20, error: Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' }) }
		try {
			const { status, body } = await upload(id, { bytes, name: 'no-room.bin' }, user.token, a)
			expect(status).toBe(507)
			expect(body).toEqual({ success: false, error: expect.any(String), code: 'insufficient_storage' })
		} finally {
			refuse = undefined
		}
		await expectNothingKept(id, 0, bytes, a)
	})

	it('a write that rejects otherwise: 500 upload_failed, nothing kept, and the next upload goes through', async () => {
		const id = await newEpisode(user, a)
		const bytes = randomBytes(2 * 2 ** 20)
		refuse = { after: 0, error: new Error('the store went away') }
		try {
			const { status, body } = await upload(id, { bytes, name: 'failed.bin' }, user.token, a)
			expect(status).toBe(500)
			expect(body).toEqual({ success: false, error: expect.any(String), code: 'upload_failed' })
		} finally {
			refuse = undefined
		}
		await expectNothingKept(id, 0, bytes, a)
		expect((await upload(id, { bytes, name: 'failed.bin' }, user.token, a)).status).toBe(201)
	})
})

describe('purge (a harness of its own: a purge takes everything deleted)', () => {
	let p: Harness
	let user: User
	beforeAll(async () => {
		p = await Harness.start()
		user = await newUser(p)
	})
	afterAll(() => p?.close())

	const del = (path: string) => p.call('DELETE', path, { token: user.token })

	it('purgeDeleted then the sweep frees the bytes of a deleted file no live file shares, and keeps bytes a live file shares', async () => {
		const id = await newEpisode(user, p)
		const alone = randomBytes(2_000)
		const shared = randomBytes(3_000)
		const gone = await uploaded(id, { bytes: alone, name: 'alone.bin' }, user.token, p)
		const goneShared = await uploaded(id, { bytes: shared, name: 'shared-gone.bin' }, user.token, p)
		const live = await uploaded(id, { bytes: shared, name: 'shared-live.bin' }, user.token, p)
		expect((await del(filePath(id, gone.id))).status).toBe(200)
		expect((await del(filePath(id, goneShared.id))).status).toBe(200)
		const report = purgeDeleted(p.db, Date.now())
		expect(report.files).toBe(2)
		expect(fileRows(id, p).map((r) => String(r.id))).toEqual([live.id])
		const freed = await sweep(p)
		expect(freed).toEqual({ files: 1, bytes: 2_000 })
		expect(await stores(sha256(alone), p)).toBe(false)
		expect(await stores(sha256(shared), p)).toBe(true)
		const again = await download(id, live.id, {}, user.token, p)
		expect(again.status).toBe(200)
		expect(sha256(again.bytes)).toBe(sha256(shared))
		expect((await p.call('POST', `${filePath(id, gone.id)}/restore`, { token: user.token })).status).toBe(404)
	})

	it("deleting an episode then purging frees its files' bytes", async () => {
		const id = await newEpisode(user, p)
		const kept = await newEpisode(user, p)
		const one = randomBytes(1_000)
		const two = randomBytes(1_500)
		await uploaded(id, { bytes: one, name: 'one.bin' }, user.token, p)
		await uploaded(id, { bytes: two, name: 'two.bin', prefix: '/sub' }, user.token, p)
		const bystander = await uploaded(kept, { bytes: randomBytes(500), name: 'bystander.bin' }, user.token, p)
		expect((await del(`/episodes/${id}`)).status).toBe(200)
		// deleted, not purged: the bytes stay
		await sweep(p)
		expect(await stores(sha256(one), p)).toBe(true)
		// the report counts the files' rows, which go with their episode
		expect(purgeDeleted(p.db, Date.now())).toMatchObject({ episodes: 1, files: 2 })
		expect(fileRows(id, p)).toEqual([])
		const freed = await sweep(p)
		expect(freed).toEqual({ files: 2, bytes: 2_500 })
		expect(await stores(sha256(one), p)).toBe(false)
		expect(await stores(sha256(two), p)).toBe(false)
		expect(await stores(bystander.checksum, p)).toBe(true)
	})

	it('bytes uploaded again while the sweep lists the store (after it read which checksums rows point at) stay, and download', async () => {
		const id = await newEpisode(user, p)
		const bytes = randomBytes(1_200)
		const checksum = sha256(bytes)
		const gone = await uploaded(id, { bytes, name: 'gone.bin' }, user.token, p)
		expect((await del(filePath(id, gone.id))).status).toBe(200)
		purgeDeleted(p.db, Date.now())
		let again: FileBody | undefined
		// the real store, but the same bytes are uploaded (committed, given a row, released) just before the sweep is handed them
		const listedDuringAnUpload: FileStore = {
			...delegate(p.store),
			async *list() {
				for await (const item of p.store.list()) {
					if (item.checksum === checksum) again = await uploaded(id, { bytes, name: 'again.bin' }, user.token, p)
					yield item
				}
			},
		}
		const freed = await sweepUnreferenced(listedDuringAnUpload, new FileReferences(p.db))
		expect(again).toBeDefined()
		expect(freed).toEqual({ files: 0, bytes: 0 })
		expect(await stores(checksum, p)).toBe(true)
		const served = await download(id, again!.id, {}, user.token, p)
		expect(served.status).toBe(200)
		expect(sha256(served.bytes)).toBe(checksum)
	})

	it("deleting a project then purging counts the files of every episode in it once, deleted ones too", async () => {
		const project = `purge-files-${crypto.randomUUID().slice(0, 8)}`
		const episode = async (name: string) => (await p.call('POST', `/namespaces/${user.ns}/projects/${project}/episodes`, { token: user.token, body: { name } })).body.id as string
		const first = await episode('first')
		const second = await episode('second')
		await uploaded(first, { bytes: randomBytes(100), name: 'a.bin' }, user.token, p)
		const deleted = await uploaded(first, { bytes: randomBytes(100), name: 'b.bin' }, user.token, p)
		await uploaded(second, { bytes: randomBytes(100), name: 'c.bin' }, user.token, p)
		expect((await del(filePath(first, deleted.id))).status).toBe(200)
		expect((await del(`/namespaces/${user.ns}/projects/${project}`)).status).toBe(200)
		expect(purgeDeleted(p.db, Date.now())).toMatchObject({ projects: 1, episodes: 2, files: 3 })
	})
})

describe('counts', () => {
	it('GET /episodes/{id} has fileCount (live files)', async () => {
		const id = await newEpisode()
		const fileCount = async () => (await h.call('GET', `/episodes/${id}`, { token: owner.token })).body.fileCount
		expect(await fileCount()).toBe(0)
		const a = await uploaded(id, { bytes: randomBytes(10), name: 'a.bin' })
		await uploaded(id, { bytes: randomBytes(10), name: 'b.bin' })
		await uploaded(id, { bytes: randomBytes(10), name: 'b.bin' })
		expect(await fileCount()).toBe(2)
		expect((await remove(id, a.id)).status).toBe(200)
		expect(await fileCount()).toBe(1)
		expect((await restore(id, a.id)).status).toBe(200)
		expect(await fileCount()).toBe(2)
	})
})

describe('who may call a file route', () => {
	/** An episode with one file (deleted when the route needs it). */
	interface Guarded extends InEpisode {
		fileId: string
	}
	interface Spec {
		label: string
		method: string
		/** The path under /episodes/{id}. */
		path: (fileId: string) => string
		/** A fresh body per call (an upload's bytes are new each time). */
		body?: () => unknown
		ok: number
		write: boolean
		/** The path names a file. */
		file: boolean
		/** The file is deleted first (restore needs a deleted file to succeed). */
		deletedFile?: boolean
	}
	const routes: Spec[] = [
		{ label: 'POST /episodes/{id}/files', method: 'POST', path: () => '/files', body: () => form({ bytes: randomBytes(200), name: `${unique('guarded-upload')}.bin` }), ok: 201, write: true, file: false },
		{ label: 'GET /episodes/{id}/files', method: 'GET', path: () => '/files', ok: 200, write: false, file: false },
		{ label: 'GET /episodes/{id}/files/{fileId}', method: 'GET', path: (f) => `/files/${f}`, ok: 200, write: false, file: true },
		{ label: 'GET /episodes/{id}/files/{fileId}/download', method: 'GET', path: (f) => `/files/${f}/download`, ok: 200, write: false, file: true },
		{ label: 'PATCH /episodes/{id}/files/{fileId}', method: 'PATCH', path: (f) => `/files/${f}`, body: () => ({ description: unique('changed') }), ok: 200, write: true, file: true },
		{ label: 'DELETE /episodes/{id}/files/{fileId}', method: 'DELETE', path: (f) => `/files/${f}`, ok: 200, write: true, file: true },
		{ label: 'POST /episodes/{id}/files/{fileId}/restore', method: 'POST', path: (f) => `/files/${f}/restore`, ok: 200, write: true, file: true, deletedFile: true },
	]

	describe.each(routes.map((r) => [r.label, r] as const))('%s', (_, spec) => {
		whoMayCall(
			() => h,
			underEpisode<Guarded>(() => h, {
				method: spec.method,
				path: (f) => spec.path(f.fileId),
				body: spec.body,
				ok: spec.ok,
				write: spec.write,
				outsiderRow: spec.file ? "404 for another user's episode and file ids, the same as for one that does not exist" : undefined,
				unchanged: "the owner's files",
				async arrange(user) {
					const episode = await newEpisode(user)
					const file = await uploaded(episode, { bytes: randomBytes(100), name: `${unique('guarded')}.bin` }, user.token)
					if (spec.deletedFile) expect((await remove(episode, file.id, user.token)).status).toBe(200)
					return { owner: user, episode, project: 'files-project', fileId: file.id }
				},
				// the episode's rows, the stored bytes and files/tmp, and the list as the owner reads it
				snapshot: async (f) => {
					const { status, body } = await list(f.episode, '', f.owner.token)
					return { ...(await snapshot(f.episode)), list: { status, body } }
				},
				// the owner's file id under the other user's own episode: not found either
				atHome: spec.file
					? {
							name: "404 for another user's file id, asked for under one's own episode",
							at: async (f, other) => ({ ...f, owner: other, episode: await newEpisode(other) }),
							hidden: () => ({ success: false, error: expect.any(String), code: expect.stringMatching(/^file_/) }),
						}
					: undefined,
			}),
		)
	})
})

// ---------------------------------------------------------------------------------------------
// Real server processes over real HTTP
// ---------------------------------------------------------------------------------------------

/** What the real-HTTP tests need of a running server: a user, an episode, its data folder. */
interface Live {
	server: ServerProcess
	dir: string
	token: string
	id: string
}

async function liveServer(keys: KeyServer, dir: string, args: string[] = []): Promise<Live> {
	const server = await spawnServer(['--port', '0', ...args], { cwd: dir, env: { VUER_AUTH_JWKS_URL: keys.jwksUrl } })
	const exchange = await fetch(`${server.url}/auth/exchange`, { method: 'POST', headers: { authorization: `Bearer ${await keys.mint(newIdentity())}` } })
	expect(exchange.status).toBe(200)
	const login = (await exchange.json()) as { dreamlake_token: string; namespace: { slug: string } }
	const episode = await fetch(`${server.url}/namespaces/${login.namespace.slug}/projects/live/episodes`, {
		method: 'POST',
		headers: { authorization: `Bearer ${login.dreamlake_token}`, 'content-type': 'application/json' },
		body: JSON.stringify({ name: unique('live-episode') }),
	})
	expect(episode.status).toBe(201)
	return { server, dir, token: login.dreamlake_token, id: ((await episode.json()) as { id: string }).id }
}

const filesRoot = (live: Live) => join(live.dir, 'data', 'files')
const liveTmp = (live: Live) => readdirSync(join(filesRoot(live), 'tmp'))
/** Checksums stored in a server's data folder. */
function liveBlobs(live: Live): string[] {
	const root = filesRoot(live)
	return readdirSync(root)
		.filter((d) => /^[0-9a-f]{2}$/.test(d))
		.flatMap((d) => readdirSync(join(root, d)))
		.sort()
}

async function liveList(live: Live, url = live.server.url) {
	const response = await fetch(`${url}/episodes/${live.id}/files`, { headers: { authorization: `Bearer ${live.token}` } })
	expect(response.status).toBe(200)
	return (await response.json()) as { files: FileBody[]; total: number }
}

async function liveUpload(live: Live, sent: Sent, url = live.server.url) {
	const response = await fetch(`${url}/episodes/${live.id}/files`, { method: 'POST', headers: { authorization: `Bearer ${live.token}` }, body: form(sent) })
	return { status: response.status, body: (await response.json()) as FileBody }
}

async function liveDownload(live: Live, fileId: string, url = live.server.url) {
	const response = await fetch(`${url}/episodes/${live.id}/files/${fileId}/download`, { headers: { authorization: `Bearer ${live.token}` } })
	return { status: response.status, bytes: new Uint8Array(await response.arrayBuffer()) }
}

/** The head of a multipart upload whose `file` part is about to stream; its end is `multipartEnd`. */
const BOUNDARY = 'dreamlake-test-boundary'
const multipartHead = (sizeBytes: number, checksum = sha256(new Uint8Array(0))) =>
	enc.encode(
		[
			`--${BOUNDARY}`,
			'Content-Disposition: form-data; name="checksum"',
			'',
			checksum,
			`--${BOUNDARY}`,
			'Content-Disposition: form-data; name="sizeBytes"',
			'',
			String(sizeBytes),
			`--${BOUNDARY}`,
			'Content-Disposition: form-data; name="file"; filename="streamed.bin"',
			'Content-Type: application/octet-stream',
			'',
			'',
		].join('\r\n'),
	)
const multipartEnd = enc.encode(`\r\n--${BOUNDARY}--\r\n`)

/** Polls until `check` holds or `ms` pass; returns whether it held. */
async function eventually(check: () => boolean, ms = 5_000): Promise<boolean> {
	const until = Date.now() + ms
	while (Date.now() < until) {
		if (check()) return true
		await Bun.sleep(20)
	}
	return check()
}

/** The size of the one upload being written to files/tmp, or 0. */
function partialSize(live: Live): number {
	const names = liveTmp(live)
	return names.length === 1 ? statSync(join(filesRoot(live), 'tmp', names[0]!)).size : 0
}

/** A raw HTTP connection: what it received so far, and whether the server closed it. */
async function rawConnection(url: string) {
	const { hostname, port, host } = new URL(url)
	const state = { received: '', closed: false }
	const socket = await Bun.connect({
		hostname,
		port: Number(port),
		socket: {
			data(_socket, data) {
				state.received += Buffer.from(data).toString('latin1')
			},
			close() {
				state.closed = true
			},
			error() {
				state.closed = true
			},
		},
	})
	/** Writes all of `data` (a socket may take it in parts), unless the server closed the connection. */
	const write = async (data: Uint8Array | string) => {
		let rest = typeof data === 'string' ? enc.encode(data) : data
		while (rest.length > 0 && !state.closed) {
			const written = socket.write(rest)
			if (written < 0) return
			rest = rest.subarray(written)
			if (rest.length > 0) await Bun.sleep(2)
		}
	}
	/** The status of the response once its head has arrived. */
	const status = () => {
		const match = /^HTTP\/1\.1 (\d{3})/.exec(state.received)
		return match ? Number(match[1]) : undefined
	}
	return { socket, state, write, status, host }
}

describe('uploads over real HTTP (a server with --max-file-size 64KiB)', () => {
	let keys: KeyServer
	let dir: string
	let live: Live
	beforeAll(async () => {
		keys = await KeyServer.start()
		dir = mkdtempSync(join(tmpdir(), 'dreamlake-files-'))
		live = await liveServer(keys, dir, ['--max-file-size', '64KiB'])
	})
	afterAll(async () => {
		if (live) await live.server.stop()
		keys?.stop()
		if (dir) rmSync(dir, { recursive: true, force: true })
	})

	it('an upload aborted by the client halfway (fetch, AbortController) leaves no row and an empty files/tmp', async () => {
		const rowsBefore = (await liveList(live)).total
		const blobsBefore = liveBlobs(live)
		const controller = new AbortController()
		let sent = 0
		const body = new ReadableStream<Uint8Array>(
			{
				async pull(stream) {
					if (sent === 0) stream.enqueue(multipartHead(60_000))
					else if (sent < 48 * 1024) {
						await Bun.sleep(10)
						stream.enqueue(randomBytes(8 * 1024))
					} else await new Promise((resolve) => controller.signal.addEventListener('abort', resolve)) // halfway: the client stops sending, then gives up
					sent += sent === 0 ? 1 : 8 * 1024
				},
			},
			{ highWaterMark: 0 },
		)
		const reply = fetch(`${live.server.url}/episodes/${live.id}/files`, {
			method: 'POST',
			signal: controller.signal,
			headers: { authorization: `Bearer ${live.token}`, 'content-type': `multipart/form-data; boundary=${BOUNDARY}` },
			body,
			duplex: 'half',
		} as RequestInit).then(
			(response) => response.status,
			(error: Error) => error.name,
		)
		// the server is writing the upload when the client aborts
		expect(await eventually(() => partialSize(live) >= 32 * 1024)).toBe(true)
		controller.abort()
		expect(await reply).toBe('AbortError')
		expect(await eventually(() => liveTmp(live).length === 0)).toBe(true)
		expect((await liveList(live)).total).toBe(rowsBefore)
		expect(liveBlobs(live)).toEqual(blobsBefore)
		// and the server goes on
		const bytes = randomBytes(1_000)
		expect((await liveUpload(live, { bytes, name: 'after-abort.bin' })).status).toBe(201)
	})

	it('a raw request whose socket closes halfway leaves no row and an empty files/tmp', async () => {
		const rowsBefore = (await liveList(live)).total
		const blobsBefore = liveBlobs(live)
		const raw = await rawConnection(live.server.url)
		const head = multipartHead(60_000)
		await raw.write(
			`POST /episodes/${live.id}/files HTTP/1.1\r\nHost: ${raw.host}\r\nAuthorization: Bearer ${live.token}\r\n` +
				`Content-Type: multipart/form-data; boundary=${BOUNDARY}\r\nContent-Length: ${head.length + 60_000 + multipartEnd.length}\r\n\r\n`,
		)
		await raw.write(head)
		for (let i = 0; i < 5; i++) {
			await raw.write(randomBytes(8 * 1024))
			await Bun.sleep(10)
		}
		expect(await eventually(() => partialSize(live) >= 32 * 1024)).toBe(true)
		raw.socket.end()
		expect(await eventually(() => liveTmp(live).length === 0)).toBe(true)
		expect(raw.status()).toBeUndefined()
		expect((await liveList(live)).total).toBe(rowsBefore)
		expect(liveBlobs(live)).toEqual(blobsBefore)
	})

	it('a chunked body (no Content-Length) that goes past MAX_FILE_SIZE is cut off with 413, and nothing is kept', async () => {
		const rowsBefore = (await liveList(live)).total
		const blobsBefore = liveBlobs(live)
		const raw = await rawConnection(live.server.url)
		const chunk = (data: Uint8Array) => raw.write(Buffer.concat([enc.encode(`${data.length.toString(16)}\r\n`), data, enc.encode('\r\n')]))
		await raw.write(
			`POST /episodes/${live.id}/files HTTP/1.1\r\nHost: ${raw.host}\r\nAuthorization: Bearer ${live.token}\r\n` +
				`Content-Type: multipart/form-data; boundary=${BOUNDARY}\r\nTransfer-Encoding: chunked\r\n\r\n`,
		)
		await chunk(multipartHead(1024 * 1024))
		// up to 1 MiB of file, 8 KiB at a time, until the server answers
		let sentBytes = 0
		while (sentBytes < 1024 * 1024 && raw.status() === undefined && !raw.state.closed) {
			await chunk(randomBytes(8 * 1024))
			sentBytes += 8 * 1024
			await Bun.sleep(2)
		}
		expect(await eventually(() => raw.status() !== undefined && raw.state.received.includes('}'))).toBe(true)
		raw.socket.end()
		expect(raw.status()).toBe(413)
		expect(raw.state.received).toContain('"code":"payload_too_large"')
		// cut off: the server answered long before the client was done
		expect(sentBytes).toBeLessThan(1024 * 1024)
		expect(await eventually(() => liveTmp(live).length === 0)).toBe(true)
		expect((await liveList(live)).total).toBe(rowsBefore)
		expect(liveBlobs(live)).toEqual(blobsBefore)
	})

	it('a declared Content-Length far over MAX_FILE_SIZE (10 MiB) is answered 413 before a byte of the body is sent', async () => {
		const raw = await rawConnection(live.server.url)
		await raw.write(
			`POST /episodes/${live.id}/files HTTP/1.1\r\nHost: ${raw.host}\r\nAuthorization: Bearer ${live.token}\r\n` +
				`Content-Type: multipart/form-data; boundary=${BOUNDARY}\r\nContent-Length: ${10 * 2 ** 20}\r\n\r\n`,
		)
		const answered = await eventually(() => raw.status() !== undefined, 3_000)
		raw.socket.end()
		expect(answered).toBe(true)
		expect(raw.status()).toBe(413)
		expect(liveTmp(live)).toEqual([])
	})

	// last: a server that falls over here takes the describe's server with it
	it('a body that ends inside the file part (no closing boundary): 400 invalid_multipart, nothing kept, and the server goes on', async () => {
		const rowsBefore = (await liveList(live)).total
		const blobsBefore = liveBlobs(live)
		const content = randomBytes(5_000)
		// the file's bytes, then the body ends: no delimiter after them, no closing boundary
		const text = Buffer.concat([multipartHead(content.length, sha256(content)), content])
		const response = await fetch(`${live.server.url}/episodes/${live.id}/files`, {
			method: 'POST',
			headers: { authorization: `Bearer ${live.token}`, 'content-type': `multipart/form-data; boundary=${BOUNDARY}` },
			body: text,
		})
		expect(response.status).toBe(400)
		expect(((await response.json()) as { code: string }).code).toBe('invalid_multipart')
		await Bun.sleep(300)
		expect(live.server.process.exitCode).toBeNull()
		expect((await liveList(live)).total).toBe(rowsBefore)
		expect(liveBlobs(live)).toEqual(blobsBefore)
		expect(liveTmp(live)).toEqual([])
	})
})

describe('a server killed with kill -9 in the middle of an upload', () => {
	let keys: KeyServer
	let dir: string
	let restarted: ServerProcess | undefined
	beforeAll(async () => {
		keys = await KeyServer.start()
		dir = mkdtempSync(join(tmpdir(), 'dreamlake-files-kill-'))
	})
	afterAll(async () => {
		if (restarted) await restarted.stop()
		keys?.stop()
		if (dir) rmSync(dir, { recursive: true, force: true })
	})

	it('restarted on the same folder: no row for it, files/tmp empty, and a file uploaded before still downloads', async () => {
		const live = await liveServer(keys, dir)
		const earlierBytes = randomBytes(100_000)
		const earlier = await liveUpload(live, { bytes: earlierBytes, name: 'earlier.bin' })
		expect(earlier.status).toBe(201)
		let stopped = false
		let sent = 0
		const body = new ReadableStream<Uint8Array>(
			{
				async pull(stream) {
					if (stopped) return stream.close()
					if (sent === 0) stream.enqueue(multipartHead(10 * 2 ** 20))
					else {
						await Bun.sleep(15)
						stream.enqueue(randomBytes(16 * 1024))
					}
					sent += 1
				},
			},
			{ highWaterMark: 0 },
		)
		const reply = fetch(`${live.server.url}/episodes/${live.id}/files`, {
			method: 'POST',
			headers: { authorization: `Bearer ${live.token}`, 'content-type': `multipart/form-data; boundary=${BOUNDARY}` },
			body,
			duplex: 'half',
		} as RequestInit).then(
			(response) => response.status,
			() => 'failed',
		)
		expect(await eventually(() => partialSize(live) >= 64 * 1024)).toBe(true)
		live.server.process.kill('SIGKILL')
		expect(await live.server.process.exited).not.toBe(0)
		stopped = true
		expect(await reply).toBe('failed')
		// the crash left its unfinished upload behind: the restart is what clears it
		expect(liveTmp(live)).toHaveLength(1)

		restarted = await spawnServer(['--port', '0'], { cwd: dir, env: { VUER_AUTH_JWKS_URL: keys.jwksUrl } })
		expect(liveTmp(live)).toEqual([])
		const after = await liveList(live, restarted.url)
		expect(after.files.map((f) => f.id)).toEqual([earlier.body.id])
		expect(after.total).toBe(1)
		expect(liveBlobs(live)).toEqual([sha256(earlierBytes)])
		const again = await liveDownload(live, earlier.body.id, restarted.url)
		expect(again.status).toBe(200)
		expect(sha256(again.bytes)).toBe(sha256(earlierBytes))
		// and it takes uploads again
		expect((await liveUpload(live, { bytes: randomBytes(500), name: 'after-restart.bin' }, restarted.url)).status).toBe(201)
		expect(await restarted.stop()).toBe(0)
		restarted = undefined
	})
})
