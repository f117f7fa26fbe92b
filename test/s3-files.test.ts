import { afterAll, beforeAll, describe, expect, it, setDefaultTimeout } from 'bun:test'
import { mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { createServer, connect, type Server, type Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { S3FileStore } from '../src/storage/s3'
import { startTestBucket, testS3Store } from './support/file-storage'
import { Harness, type TestUser } from './support/harness'
import { KeyServer, newIdentity } from './support/key-server'
import { runCli, spawnServer, type ServerProcess } from './support/process'
import { randomBytes, sha256 } from './support/bytes'
import { underEpisode, whoMayCall, type InEpisode } from './support/access'

// Files in a bucket when it fails: the store down and back, a server killed mid-upload, wrong
// settings at start, migrate-files and purge. In the bucket FILE_STORAGE names (CI: scripts/s3-swift.sh), else in a Swift of the file's own.
setDefaultTimeout(60_000)
const enc = new TextEncoder()

/** An upload's form; the checksum field before the file (as the SDK sends it), or after it. */
function form(bytes: Uint8Array, name: string, checksumFirst = true): FormData {
	const fd = new FormData()
	if (checksumFirst) fd.append('checksum', sha256(bytes))
	fd.append('sizeBytes', String(bytes.length))
	fd.append('file', new File([bytes], name))
	if (!checksumFirst) fd.append('checksum', sha256(bytes))
	return fd
}

/** One HTTP/1.1 request on a socket of its own (Connection: close): the head as sent, its headers, and the body as framed. */
async function rawRequest(base: string, method: string, path: string, token: string, headers: Record<string, string> = {}) {
	const url = new URL(base)
	const chunks: Buffer[] = []
	await new Promise<void>((resolve, reject) => {
		const socket = connect(Number(url.port), url.hostname, () => {
			const lines = [`${method} ${path} HTTP/1.1`, `Host: ${url.host}`, `Authorization: Bearer ${token}`, 'Connection: close', ...Object.entries(headers).map(([name, value]) => `${name}: ${value}`)]
			socket.write(`${lines.join('\r\n')}\r\n\r\n`)
		})
		socket.on('data', (chunk: Buffer) => chunks.push(chunk))
		socket.on('end', () => resolve())
		socket.on('error', reject)
	})
	const all = Buffer.concat(chunks)
	const split = all.indexOf('\r\n\r\n')
	const head = all.subarray(0, split).toString('latin1')
	const fields = Object.fromEntries(head.split('\r\n').slice(1).map((line) => [line.slice(0, line.indexOf(':')).toLowerCase(), line.slice(line.indexOf(':') + 1).trim()]))
	return { head, headers: fields as Record<string, string | undefined>, body: new Uint8Array(all.subarray(split + 4)) }
}

/** A TCP relay to the store that can be taken down (connections refused, open ones cut) and up again on the same port. */
class Relay {
	private server: Server | undefined
	private readonly sockets = new Set<Socket>()
	port = 0
	constructor(private readonly target: URL) {}

	async up(): Promise<void> {
		const server = createServer((client) => {
			const upstream = connect(Number(this.target.port), this.target.hostname)
			for (const socket of [client, upstream]) {
				this.sockets.add(socket)
				socket.on('error', () => {})
				socket.on('close', () => {
					this.sockets.delete(socket)
					client.destroy()
					upstream.destroy()
				})
			}
			client.pipe(upstream)
			upstream.pipe(client)
		})
		await new Promise<void>((resolve) => server.listen(this.port, '127.0.0.1', resolve))
		this.port = (server.address() as { port: number }).port
		this.server = server
	}

	down(): void {
		this.server?.close()
		this.server = undefined
		for (const socket of this.sockets) socket.destroy()
	}

	get url(): string {
		return `http://127.0.0.1:${this.port}`
	}
}

// the environment's bucket (CI: scripts/s3-swift.sh), else a Swift of this file's own: never skipped
const own = startTestBucket()
const testBucket = own.bucket
afterAll(own.stop)

/** The settings of a server on the test bucket, under `prefix`. */
const s3Env = (prefix: string, overrides: Record<string, string> = {}): Record<string, string> => ({
	FILE_STORAGE: `s3://${testBucket.bucket}/${prefix}`,
	S3_ENDPOINT: testBucket.endpoint,
	S3_REGION: testBucket.region,
	S3_ACCESS_KEY_ID: testBucket.accessKeyId,
	S3_SECRET_ACCESS_KEY: testBucket.secretAccessKey,
	...overrides,
})

async function until(check: () => Promise<boolean>, ms = 10_000): Promise<boolean> {
	const end = Date.now() + ms
	while (Date.now() < end) {
		if (await check()) return true
		await Bun.sleep(50)
	}
	return check()
}

describe('files in a bucket that goes down and comes back', () => {
	let h: Harness
	let user: TestUser
	let relay: Relay
	let store: S3FileStore
	beforeAll(async () => {
		relay = new Relay(new URL(testBucket.endpoint))
		await relay.up()
		store = testS3Store({ endpoint: relay.url, timeoutMs: 2_000 }, testBucket)
		h = await Harness.start({ fileStore: () => store })
		user = await h.newUser()
	})
	afterAll(() => {
		relay?.down()
		h?.close()
	})
	const upload = (id: string, bytes: Uint8Array, name: string) => h.call('POST', `/episodes/${id}/files`, { token: user.token, body: form(bytes, name) })
	const download = async (id: string, fileId: string) => {
		const response = await h.fetch(new Request(`http://dreamlake.test/episodes/${id}/files/${fileId}/download`, { headers: { authorization: `Bearer ${user.token}` } }))
		return { status: response.status, bytes: new Uint8Array(await response.arrayBuffer()), type: response.headers.get('content-type') }
	}

	it('down: uploads and downloads answer 503 storage_unavailable at once, nothing is kept, the rest of the API works; back: both work again', async () => {
		const id = await h.newEpisode(user, 's3-down')
		const before = randomBytes(20_000)
		const earlier = await upload(id, before, 'before.bin')
		expect(earlier.status).toBe(201)
		relay.down()
		for (const bytes of [randomBytes(5_000), randomBytes(9 * 2 ** 20)]) {
			const started = performance.now()
			const refused = await upload(id, bytes, 'while-down.bin')
			expect(refused.status).toBe(503)
			expect(refused.body).toEqual({ success: false, error: expect.any(String), code: 'storage_unavailable' })
			expect(performance.now() - started).toBeLessThan(5_000)
		}
		const refusedDownload = await download(id, earlier.body.id)
		expect(refusedDownload.status).toBe(503)
		expect(JSON.parse(new TextDecoder().decode(refusedDownload.bytes)).code).toBe('storage_unavailable')
		// the rows and everything else stay served
		const listed = await h.call('GET', `/episodes/${id}/files`, { token: user.token })
		expect(listed.status).toBe(200)
		expect(listed.body.files.map((f: { id: string }) => f.id)).toEqual([earlier.body.id])
		expect((await h.call('GET', `/episodes/${id}`, { token: user.token })).status).toBe(200)
		expect(h.logs.some((line) => line.includes(testBucket.secretAccessKey))).toBe(false)

		await relay.up()
		const after = randomBytes(9 * 2 ** 20)
		const again = await upload(id, after, 'after.bin')
		expect(again.status).toBe(201)
		expect((await download(id, again.body.id)).bytes).toEqual(after)
		expect((await download(id, earlier.body.id)).bytes).toEqual(before)
		// nothing of the refused uploads was left in the bucket
		expect(await store.unfinished()).toEqual([])
		expect((await Array.fromAsync(store.list())).map((s) => s.checksum).sort()).toEqual([sha256(before), sha256(after)].sort())
	})

	it('cut off in the middle of an upload: 503, no row, and its multipart upload aborted', async () => {
		const id = await h.newEpisode(user, 's3-cut')
		const bytes = randomBytes(40 * 2 ** 20)
		const reply = upload(id, bytes, 'cut.bin')
		expect(await until(async () => (await store.unfinished()).length > 0)).toBe(true)
		relay.down()
		const { status, body } = await reply
		expect(status).toBe(503)
		expect(body.code).toBe('storage_unavailable')
		await relay.up()
		// the abort was sent while the store was down: what is left goes at the next start
		await store.discardUnfinished()
		expect(await store.unfinished()).toEqual([])
		expect((await h.call('GET', `/episodes/${id}/files`, { token: user.token })).body.total).toBe(0)
		expect(await store.open(sha256(bytes))).toBeUndefined()
	})

	it('a large upload with its checksum after the file goes through a temporary object, copied in place, none left', async () => {
		const id = await h.newEpisode(user, 's3-late-checksum')
		const bytes = randomBytes(11 * 2 ** 20)
		const { status, body } = await h.call('POST', `/episodes/${id}/files`, { token: user.token, body: form(bytes, 'late.bin', false) })
		expect(status).toBe(201)
		expect(body.checksum).toBe(sha256(bytes))
		expect((await download(id, body.id)).bytes).toEqual(bytes)
		expect(await store.unfinished()).toEqual([])
		const mismatch = await h.call('POST', `/episodes/${id}/files`, { token: user.token, body: (() => {
			const fd = form(randomBytes(11 * 2 ** 20), 'wrong.bin', false)
			fd.set('checksum', sha256(randomBytes(1)))
			return fd
		})() })
		expect(mismatch.status).toBe(422)
		expect(await store.unfinished()).toEqual([])
	})
})

describe('a server on a bucket, as a process', () => {
	let keys: KeyServer
	let dir: string
	let running: ServerProcess | undefined
	beforeAll(async () => {
		keys = await KeyServer.start()
		dir = mkdtempSync(join(tmpdir(), 'dreamlake-s3-'))
	})
	afterAll(async () => {
		await running?.stop()
		keys?.stop()
		rmSync(dir, { recursive: true, force: true })
	})
	const prefix = () => `${testBucket.prefix}process-${crypto.randomUUID()}/`

	async function login(url: string) {
		const exchange = await fetch(`${url}/auth/exchange`, { method: 'POST', headers: { authorization: `Bearer ${await keys.mint(newIdentity())}` } })
		const body = (await exchange.json()) as { dreamlake_token: string; namespace: { slug: string } }
		const episode = await fetch(`${url}/namespaces/${body.namespace.slug}/projects/s3/episodes`, {
			method: 'POST',
			headers: { authorization: `Bearer ${body.dreamlake_token}`, 'content-type': 'application/json' },
			body: JSON.stringify({ name: `e-${crypto.randomUUID()}` }),
		})
		return { token: body.dreamlake_token, id: ((await episode.json()) as { id: string }).id }
	}
	const auth = (token: string) => ({ authorization: `Bearer ${token}` })

	it.each([
		['a wrong secret key', { S3_SECRET_ACCESS_KEY: 'not-the-secret-key' }, 'S3_ACCESS_KEY_ID / S3_SECRET_ACCESS_KEY'],
		['a bucket that does not exist', { FILE_STORAGE: 's3://no-such-bucket-here/x' }, 'FILE_STORAGE'],
		['a closed port', { S3_ENDPOINT: 'http://127.0.0.1:9' }, 'S3_ENDPOINT'],
	])('%s: the server does not start, and says so in one line naming %p (never the secret)', async (_, overrides, setting) => {
		const { code, stderr, stdout } = await runCli(['serve', '--port', '0'], { cwd: dir, env: { VUER_AUTH_JWKS_URL: keys.jwksUrl, ...s3Env(prefix(), overrides) } })
		expect(code).toBe(1)
		const lines = stderr.trim().split('\n')
		expect(lines).toHaveLength(1)
		expect(lines[0]).toStartWith(`dreamlake-server: ${setting}: `)
		expect(stderr + stdout).not.toContain(testBucket.secretAccessKey)
		expect(stderr + stdout).not.toContain('not-the-secret-key')
	})

	it('killed with kill -9 in the middle of a multipart upload: restarted, no row, no object, no multipart upload left', async () => {
		const where = prefix()
		const env = { VUER_AUTH_JWKS_URL: keys.jwksUrl, ...s3Env(where) }
		const bucket = new S3FileStore({ ...testBucket, prefix: where })
		const live = await spawnServer(['--port', '0'], { cwd: dir, env })
		const { token, id } = await login(live.url)
		const earlierBytes = randomBytes(50_000)
		const earlier = await fetch(`${live.url}/episodes/${id}/files`, { method: 'POST', headers: auth(token), body: form(earlierBytes, 'earlier.bin') })
		expect(earlier.status).toBe(201)
		const earlierId = ((await earlier.json()) as { id: string }).id
		const size = 64 * 2 ** 20
		const boundary = 'dreamlake-s3-kill'
		const head = enc.encode(
			`--${boundary}\r\nContent-Disposition: form-data; name="checksum"\r\n\r\n${'0'.repeat(64)}\r\n--${boundary}\r\nContent-Disposition: form-data; name="sizeBytes"\r\n\r\n${size}\r\n` +
				`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="killed.bin"\r\n\r\n`,
		)
		let sent = -1
		let stopped = false
		const body = new ReadableStream<Uint8Array>(
			{
				async pull(stream) {
					if (stopped) return stream.close()
					if (sent < 0) stream.enqueue(head)
					else if (sent < 20 * 2 ** 20) stream.enqueue(randomBytes(256 * 1024))
					else await Bun.sleep(50) // past two parts: the client waits, the multipart upload is open
					sent += sent < 0 ? 1 : 256 * 1024
				},
			},
			{ highWaterMark: 0 },
		)
		const reply = fetch(`${live.url}/episodes/${id}/files`, { method: 'POST', headers: { ...auth(token), 'content-type': `multipart/form-data; boundary=${boundary}` }, body, duplex: 'half' } as RequestInit).then(
			(response) => response.status,
			() => 'failed',
		)
		expect(await until(async () => (await bucket.unfinished()).length > 0 && sent >= 20 * 2 ** 20)).toBe(true)
		live.process.kill('SIGKILL')
		await live.process.exited
		stopped = true
		expect(await reply).toBe('failed')
		expect(await bucket.unfinished()).toHaveLength(1) // what the crash left: the restart clears it

		running = await spawnServer(['--port', '0'], { cwd: dir, env })
		expect(await bucket.unfinished()).toEqual([])
		expect((await Array.fromAsync(bucket.list())).map((s) => s.checksum)).toEqual([sha256(earlierBytes)])
		const files = (await (await fetch(`${running.url}/episodes/${id}/files`, { headers: auth(token) })).json()) as { files: { id: string }[] }
		expect(files.files.map((f) => f.id)).toEqual([earlierId])
		const again = await fetch(`${running.url}/episodes/${id}/files/${earlierId}/download`, { headers: auth(token) })
		expect(new Uint8Array(await again.arrayBuffer())).toEqual(earlierBytes)
		expect(running.output.some((line) => line.includes('"unfinishedUploads":1'))).toBe(true)
		expect(await running.stop()).toBe(0)
		running = undefined
	})

	it('migrate-files copies a data folder into a bucket, checked, resumable; the server then serves them from it, and purge frees them there', async () => {
		const folder = mkdtempSync(join(tmpdir(), 'dreamlake-migrate-'))
		try {
			const local = await spawnServer(['--port', '0'], { cwd: folder, env: { VUER_AUTH_JWKS_URL: keys.jwksUrl } })
			const { token, id } = await login(local.url)
			const contents = [randomBytes(1_000), randomBytes(9 * 2 ** 20), randomBytes(0)]
			const ids: string[] = []
			for (const [i, bytes] of contents.entries()) {
				const response = await fetch(`${local.url}/episodes/${id}/files`, { method: 'POST', headers: auth(token), body: form(bytes, `m${i}.bin`) })
				expect(response.status).toBe(201)
				ids.push(((await response.json()) as { id: string }).id)
			}
			expect(await local.stop()).toBe(0)

			const where = prefix()
			const bucket = new S3FileStore({ ...testBucket, prefix: where })
			const { FILE_STORAGE: _, ...s3 } = s3Env(where)
			const migrate = () => runCli(['migrate-files', '--to', `s3://${testBucket.bucket}/${where}`], { cwd: folder, env: s3 })
			const first = await migrate()
			expect(first.code).toBe(0)
			expect(first.stdout).toContain('"copied":3')
			const sums = contents.map(sha256).sort()
			expect((await Array.fromAsync(bucket.list())).map((s) => s.checksum).sort()).toEqual(sums)
			// resumable: what is there is skipped, what went missing is copied again
			expect(await bucket.remove(sha256(contents[1]!))).toBe(true)
			const second = await migrate()
			expect(second.code).toBe(0)
			expect(second.stdout).toContain('"copied":1')
			expect(second.stdout).toContain('"alreadyThere":2')
			expect(second.stdout + second.stderr).not.toContain(testBucket.secretAccessKey)

			// the data folder's files/ away: the server serves every file from the bucket
			rmSync(join(folder, 'data', 'files'), { recursive: true, force: true })
			const env = { VUER_AUTH_JWKS_URL: keys.jwksUrl, ...s3Env(where) }
			const served = await spawnServer(['--port', '0'], { cwd: folder, env })
			for (const [i, bytes] of contents.entries()) {
				const response = await fetch(`${served.url}/episodes/${id}/files/${ids[i]}/download`, { headers: auth(token) })
				expect(response.status).toBe(200)
				expect(sha256(new Uint8Array(await response.arrayBuffer()))).toBe(sha256(bytes))
			}
			// the framing on the wire (fetch hides it): Content-Length, not chunked, for the 9 MiB file whole and a range of 5 MiB of it, and for HEAD
			const path = `/episodes/${id}/files/${ids[1]}/download`
			const big = contents[1]!
			const whole = await rawRequest(served.url, 'GET', path, token)
			expect(whole.head).toStartWith('HTTP/1.1 200')
			expect(whole.headers['content-length']).toBe(String(big.length))
			expect(whole.headers['transfer-encoding']).toBeUndefined()
			expect(sha256(whole.body)).toBe(sha256(big))
			const start = 1_000
			const end = start + 5 * 2 ** 20 + 10
			const part = await rawRequest(served.url, 'GET', path, token, { range: `bytes=${start}-${end}` })
			expect(part.head).toStartWith('HTTP/1.1 206')
			expect(part.headers['content-length']).toBe(String(end - start + 1))
			expect(part.headers['content-range']).toBe(`bytes ${start}-${end}/${big.length}`)
			expect(part.headers['transfer-encoding']).toBeUndefined()
			expect(sha256(part.body)).toBe(sha256(big.slice(start, end + 1)))
			const head = await rawRequest(served.url, 'HEAD', path, token)
			expect(head.head).toStartWith('HTTP/1.1 200')
			expect(head.headers['content-length']).toBe(String(big.length))
			expect(head.body).toHaveLength(0)
			const ranged = await fetch(`${served.url}${path}`, { headers: { ...auth(token), range: 'bytes=100-199' } })
			expect(ranged.status).toBe(206)
			expect(new Uint8Array(await ranged.arrayBuffer())).toEqual(big.slice(100, 200))
			// the spool files are gone within SPOOL_KEEP_MS (30 s); none is left behind at the next start either
			expect(readdirSync(join(folder, 'data', 'spool')).length).toBeGreaterThan(0)
			expect((await fetch(`${served.url}/episodes/${id}/files/${ids[0]}`, { method: 'DELETE', headers: auth(token) })).status).toBe(200)
			expect(await served.stop()).toBe(0)
			const purged = await runCli(['purge', '--older-than', '0'], { cwd: folder, env })
			expect(purged.code).toBe(0)
			expect((await Array.fromAsync(bucket.list())).map((s) => s.checksum).sort()).toEqual([sha256(contents[1]!), sha256(contents[2]!)].sort())
			// backup copies the database and says the bucket is not copied
			const backup = await runCli(['backup', join(folder, 'backups/')], { cwd: folder, env })
			expect(backup.code).toBe(0)
			expect(backup.stdout).toContain('were not copied')
		} finally {
			rmSync(folder, { recursive: true, force: true })
		}
	})
})

describe('presigned downloads for the dashboard (S3_PRESIGNED_DOWNLOADS)', () => {
	let on: Harness
	let off: Harness
	let store: S3FileStore
	beforeAll(async () => {
		store = testS3Store({ presignedDownloads: true }, testBucket)
		on = await Harness.start({ fileStore: () => store })
		off = await Harness.start({ fileStore: () => testS3Store({ presignedDownloads: false }, testBucket) })
	})
	afterAll(() => {
		on?.close()
		off?.close()
	})
	/** curl, which follows redirects and signs nothing: what a browser sent to the URL gets. */
	const curl = async (url: string) => {
		const out = join(tmpdir(), `dreamlake-presigned-${crypto.randomUUID()}`)
		try {
			const run = Bun.spawnSync(['curl', '-sS', '-L', '-D', '-', '-o', out, '-w', '\n%{http_code}', url])
			const text = run.stdout.toString().trim()
			return { status: Number(text.split('\n').at(-1)), headers: text.toLowerCase(), bytes: new Uint8Array(await Bun.file(out).arrayBuffer()) }
		} finally {
			rmSync(out, { force: true })
		}
	}
	const uploadTo = async (h: Harness, user: TestUser, bytes: Uint8Array, name: string) => {
		const id = await h.newEpisode(user, 's3-presigned')
		const { status, body } = await h.call('POST', `/episodes/${id}/files`, { token: user.token, body: form(bytes, name) })
		expect(status).toBe(201)
		return { id, fileId: body.id as string }
	}

	it('?redirect=1: a 302 to a presigned GET of the bucket that serves the exact bytes, with the file name; the URL holds no secret', async () => {
		const user = await on.newUser()
		const bytes = randomBytes(3 * 2 ** 20 + 17)
		const { id, fileId } = await uploadTo(on, user, bytes, 'résumé run.bin')
		const reply = await on.call('GET', `/episodes/${id}/files/${fileId}/download?redirect=1`, { token: user.token })
		expect(reply.status).toBe(302)
		expect(reply.headers.get('cache-control')).toBe('private, no-store')
		const location = new URL(reply.headers.get('location')!)
		expect(location.origin).toBe(new URL(testBucket.endpoint).origin)
		expect(Object.fromEntries([...location.searchParams].filter(([name]) => name !== 'X-Amz-Signature' && name !== 'X-Amz-Date'))).toEqual({
			'X-Amz-Algorithm': 'AWS4-HMAC-SHA256',
			'X-Amz-Credential': expect.stringMatching(new RegExp(`^${testBucket.accessKeyId}/\\d{8}/${testBucket.region}/s3/aws4_request$`)),
			'X-Amz-Expires': '300',
			'X-Amz-SignedHeaders': 'host',
			'response-content-disposition': `attachment; filename="r_sum_ run.bin"; filename*=UTF-8''r%C3%A9sum%C3%A9%20run.bin`,
			'response-content-type': 'application/octet-stream',
		})
		expect(location.href).not.toContain(testBucket.secretAccessKey)
		const fetched = await curl(location.href)
		expect(fetched.status).toBe(200)
		expect(sha256(fetched.bytes)).toBe(sha256(bytes))
		expect(fetched.headers).toContain("filename*=utf-8''r%c3%a9sum%c3%a9%20run.bin")
		// without the opt-in (the SDK's requests): streamed through the server as before
		const streamed = await on.fetch(new Request(`http://dreamlake.test/episodes/${id}/files/${fileId}/download`, { headers: { authorization: `Bearer ${user.token}` } }))
		expect(streamed.status).toBe(200)
		expect(sha256(new Uint8Array(await streamed.arrayBuffer()))).toBe(sha256(bytes))
	})

	it('a presigned URL expires: one of 1 s is refused by the store (403) once it has passed', async () => {
		const user = await on.newUser()
		const bytes = randomBytes(1_000)
		await uploadTo(on, user, bytes, 'soon.bin')
		const brief = new S3FileStore({ ...testBucket, prefix: (store as unknown as { prefix: string }).prefix, presignedDownloads: true, presignSeconds: 1 })
		const url = brief.downloadUrl(sha256(bytes), { contentDisposition: 'attachment; filename="soon.bin"', contentType: 'application/octet-stream' })!
		expect(new URL(url).searchParams.get('X-Amz-Expires')).toBe('1')
		await Bun.sleep(2_500)
		const expired = await curl(url)
		expect(expired.status).toBe(403)
		expect(expired.bytes).not.toEqual(bytes)
		// a wrong signature is refused the same way: the store checks it
		const forged = new URL(url)
		forged.searchParams.set('X-Amz-Expires', '300')
		expect((await curl(forged.href)).status).toBe(403)
	})

	it('the setting off: ?redirect=1 is ignored, the bytes stream through the server; a bad value is a 422', async () => {
		const user = await off.newUser()
		const bytes = randomBytes(20_000)
		const { id, fileId } = await uploadTo(off, user, bytes, 'off.bin')
		const streamed = await off.fetch(new Request(`http://dreamlake.test/episodes/${id}/files/${fileId}/download?redirect=1`, { headers: { authorization: `Bearer ${user.token}` } }))
		expect(streamed.status).toBe(200)
		expect(streamed.headers.get('location')).toBeNull()
		expect(new Uint8Array(await streamed.arrayBuffer())).toEqual(bytes)
		const bad = await off.call('GET', `/episodes/${id}/files/${fileId}/download?redirect=yes`, { token: user.token })
		expect([400, 422]).toContain(bad.status)
		expect(bad.body.success).toBe(false)
	})

	describe('GET /episodes/{id}/files/{fileId}/download?redirect=1', () => {
		whoMayCall(
			() => on,
			underEpisode<InEpisode & { fileId: string }>(() => on, {
				method: 'GET',
				path: (f) => `/files/${f.fileId}/download?redirect=1`,
				ok: 302,
				write: false,
				outsiderRow: "404 for another user's episode and file ids, never a URL",
				unchanged: "the owner's files",
				async arrange(owner) {
					const { id, fileId } = await uploadTo(on, owner, randomBytes(100), `guarded-${crypto.randomUUID()}.bin`)
					return { owner, episode: id, project: 's3-presigned', fileId }
				},
				snapshot: async (f) => (await on.call('GET', `/episodes/${f.episode}/files`, { token: f.owner.token })).body,
			}),
		)
	})
})
