import { afterAll, describe, expect, it } from 'bun:test'
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { LocalFileStore } from '../src/storage/local'
import type { FileStore } from '../src/storage/store'
import { testBucket, testS3Store } from './support/file-storage'
import { Random } from './support/random'
import { randomBytes, sha256 } from './support/bytes'

// What every FileStore does, whatever holds the bytes: each implementation is a row of `stores`.
const folders: string[] = []
const folder = (name: string) => {
	const path = mkdtempSync(join(tmpdir(), `dreamlake-${name}-`))
	folders.push(path)
	return path
}
afterAll(() => {
	for (const path of folders) rmSync(path, { recursive: true, force: true })
})

const stores: [string, () => FileStore][] = [['LocalFileStore', () => new LocalFileStore(folder('file-store'))]]
// FILE_STORAGE=s3://… (CI starts Swift for it: scripts/s3-swift.sh): the same cases against a bucket
if (testBucket) stores.push(['S3FileStore', () => testS3Store()])
/** More than one part of the S3 store in tests (5 MiB): uploads that are multipart uploads. */
const MULTIPART = 5 * 2 ** 20 + 1

const random = new Random(19)

/**
 * Writes `bytes` in chunks of random sizes (some empty), as a multipart parser hands them over,
 * their checksum declared beforehand or not (as an upload's `checksum` field before or after the file).
 */
async function written(store: FileStore, bytes: Uint8Array, declared = random.chance(0.5)) {
	const writer = store.writer(declared ? sha256(bytes) : undefined)
	let at = 0
	do {
		const end = Math.min(bytes.length, at + random.int(random.chance(0.2) ? 1 : bytes.length > 1_000_000 ? 1_000_000 : 40_000))
		await writer.write(bytes.subarray(at, end))
		at = end
	} while (at < bytes.length)
	return { writer, ...(await writer.finish()) }
}

async function committed(store: FileStore, bytes: Uint8Array): Promise<string> {
	const { writer, checksum } = await written(store, bytes)
	;(await writer.commit())()
	return checksum
}

/** The stored bytes of `checksum` (or of one range of them), read through a Response as a download is. */
async function read(store: FileStore, checksum: string, range?: { start: number; end: number }) {
	const stored = await store.open(checksum)
	if (!stored) return undefined
	return new Uint8Array(await new Response(await stored.body(range)).arrayBuffer())
}

const listed = async (store: FileStore) => (await Array.fromAsync(store.list())).sort((a, b) => (a.checksum < b.checksum ? -1 : 1))

describe.each(stores)('%s', (_, make) => {
	it('bytes written in chunks of any size come back with the sha256 and size of the whole, computed apart (property, 40 cases)', async () => {
		const store = make()
		for (let i = 0; i < 40; i++) {
			const bytes = randomBytes(random.chance(0.1) ? 0 : random.int(300_000))
			const { writer, checksum, size } = await written(store, bytes)
			expect({ checksum, size }).toEqual({ checksum: sha256(bytes), size: bytes.length })
			;(await writer.commit())()
			expect(await read(store, checksum)).toEqual(bytes)
		}
	}, 30_000)

	it('uploads of several parts, declared or not, come back whole, in ranges, and listed (property, 6 cases)', async () => {
		const store = make()
		const expected: { checksum: string; size: number }[] = []
		for (let i = 0; i < 6; i++) {
			const bytes = randomBytes(MULTIPART + random.int(7_000_000))
			const { writer, checksum, size } = await written(store, bytes, i % 2 === 0)
			expect({ checksum, size }).toEqual({ checksum: sha256(bytes), size: bytes.length })
			expect(await store.open(checksum)).toBeUndefined()
			;(await writer.commit())()
			await writer.discard()
			expected.push({ checksum, size })
			expect(await read(store, checksum)).toEqual(bytes)
			const start = random.int(bytes.length)
			expect(await read(store, checksum, { start, end: bytes.length - 1 })).toEqual(bytes.slice(start))
		}
		expect(await listed(store)).toEqual(expected.sort((a, b) => (a.checksum < b.checksum ? -1 : 1)))
		expect(await store.discardUnfinished()).toBe(0)
	}, 60_000)

	it('bytes other than those declared are never committed, and their discard leaves nothing', async () => {
		const store = make()
		for (const size of [1_000, MULTIPART + 1_000]) {
			const writer = store.writer(sha256(randomBytes(10)))
			await writer.write(randomBytes(size))
			const { checksum } = await writer.finish()
			const committing = writer.commit().then(
				(release) => (release(), 'committed'),
				() => 'refused',
			)
			// a store that does not write to the declared place may commit them: under their own checksum, then
			if ((await committing) === 'committed') expect((await store.open(checksum)) !== undefined).toBe(true)
			else {
				await writer.discard()
				expect(await store.open(checksum)).toBeUndefined()
				expect(await store.discardUnfinished()).toBe(0)
			}
		}
	}, 30_000)

	it('a discarded multipart upload leaves nothing, nor anything for discardUnfinished', async () => {
		const store = make()
		for (const declared of [true, false]) {
			const dropped = await written(store, randomBytes(MULTIPART + 100), declared)
			await dropped.writer.discard()
			expect(await store.open(dropped.checksum)).toBeUndefined()
			const cutOff = store.writer()
			await cutOff.write(randomBytes(MULTIPART + 100))
			await cutOff.discard()
		}
		expect(await listed(store)).toEqual([])
		expect(await store.discardUnfinished()).toBe(0)
	}, 30_000)

	it('a range of the stored bytes is that slice of them, first and last byte included (property, 200 ranges)', async () => {
		const store = make()
		const bytes = randomBytes(100_000)
		const checksum = await committed(store, bytes)
		for (let i = 0; i < 200; i++) {
			const start = random.int(bytes.length)
			const end = random.chance(0.1) ? bytes.length - 1 : start + random.int(bytes.length - start)
			expect(await read(store, checksum, { start, end })).toEqual(bytes.slice(start, end + 1))
		}
	}, 30_000)

	it('nothing written is visible before its commit: not opened, not listed', async () => {
		const store = make()
		const bytes = randomBytes(5_000)
		const { writer, checksum } = await written(store, bytes)
		expect(await store.open(checksum)).toBeUndefined()
		expect(await listed(store)).toEqual([])
		;(await writer.commit())()
		expect(await listed(store)).toEqual([{ checksum, size: bytes.length }])
	})

	it('a discarded upload leaves nothing, and a discard after the commit keeps the bytes', async () => {
		const store = make()
		const dropped = await written(store, randomBytes(3_000))
		await dropped.writer.discard()
		expect(await store.open(dropped.checksum)).toBeUndefined()
		const bytes = randomBytes(3_000)
		const kept = await written(store, bytes)
		;(await kept.writer.commit())()
		await kept.writer.discard()
		expect(await read(store, kept.checksum)).toEqual(bytes)
		expect(await listed(store)).toEqual([{ checksum: kept.checksum, size: bytes.length }])
		expect(await store.discardUnfinished()).toBe(0)
	})

	it('an upload that never finished is discarded at start (discardUnfinished), committed bytes stay', async () => {
		const store = make()
		const bytes = randomBytes(2_000)
		const checksum = await committed(store, bytes)
		// an S3 store keeps what fits in one part in memory until the commit: a crash leaves nothing of it
		const cutOff = store.writer()
		await cutOff.write(randomBytes(MULTIPART))
		await cutOff.write(randomBytes(1_000))
		const unfinished = await written(store, randomBytes(MULTIPART + 1_000))
		expect(await store.discardUnfinished()).toBe(2)
		await cutOff.discard() // what a crash would have closed
		expect(await store.discardUnfinished()).toBe(0)
		expect(await store.open(unfinished.checksum)).toBeUndefined()
		expect(await listed(store)).toEqual([{ checksum, size: bytes.length }])
	})

	it('a commit before finish is refused', async () => {
		const store = make()
		const writer = store.writer()
		await writer.write(randomBytes(10))
		await expect(writer.commit()).rejects.toThrow()
		await writer.discard()
		expect(await listed(store)).toEqual([])
	})

	it('committed bytes stay marked as committing until released, released once however often it is called', async () => {
		const store = make()
		const { writer, checksum } = await written(store, randomBytes(1_000))
		expect(store.isCommitting(checksum)).toBe(false)
		const release = await writer.commit()
		expect(store.isCommitting(checksum)).toBe(true)
		release()
		expect(store.isCommitting(checksum)).toBe(false)
		release()
		expect(store.isCommitting(checksum)).toBe(false)
	})

	it('identical bytes committed by two uploads are stored once, and stay committing until both are released', async () => {
		const store = make()
		const bytes = randomBytes(4_000)
		const one = await written(store, bytes)
		const two = await written(store, bytes)
		const releaseOne = await one.writer.commit()
		const releaseTwo = await two.writer.commit()
		releaseOne()
		releaseOne()
		expect(store.isCommitting(one.checksum)).toBe(true)
		releaseTwo()
		expect(store.isCommitting(one.checksum)).toBe(false)
		expect(await listed(store)).toEqual([{ checksum: sha256(bytes), size: bytes.length }])
		expect(await read(store, one.checksum)).toEqual(bytes)
	})

	it('remove takes the bytes away once: true, then false', async () => {
		const store = make()
		const kept = await committed(store, randomBytes(100))
		const checksum = await committed(store, randomBytes(200))
		expect(await store.remove(checksum)).toBe(true)
		expect(await store.remove(checksum)).toBe(false)
		expect(await store.open(checksum)).toBeUndefined()
		expect((await listed(store)).map((s) => s.checksum)).toEqual([kept])
	})

	it('list gives every checksum stored with its size (property: as many as were committed, 30 random)', async () => {
		const store = make()
		const expected: { checksum: string; size: number }[] = []
		for (let i = 0; i < 30; i++) {
			const bytes = randomBytes(random.int(20_000))
			expected.push({ checksum: await committed(store, bytes), size: bytes.length })
		}
		expect(await listed(store)).toEqual(expected.sort((a, b) => (a.checksum < b.checksum ? -1 : 1)))
	})

	it('copyTo puts the bytes into a folder laid out as files/ (ab/ab12…), again does nothing, and rejects for bytes not stored', async () => {
		const store = make()
		const bytes = randomBytes(10_000)
		const checksum = await committed(store, bytes)
		const backup = folder('file-store-backup')
		await store.copyTo(checksum, backup)
		await store.copyTo(checksum, backup)
		expect(new Uint8Array(readFileSync(join(backup, checksum.slice(0, 2), checksum)))).toEqual(bytes)
		const missing = sha256(randomBytes(10))
		await expect(store.copyTo(missing, backup)).rejects.toThrow()
		expect(existsSync(join(backup, missing.slice(0, 2), missing))).toBe(false)
	})
})
