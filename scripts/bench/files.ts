// Issue 13's figures: a large upload and its download through the server against a bare Bun.serve,
// the server's RSS while it uploads, and many small uploads.
import { mkdirSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { loadConfig } from '../../src/config'
import { PART_SIZE, PARTS_IN_FLIGHT } from '../../src/storage/s3'
import { root } from './options'
import { freePort, median } from '../startup'
import { onServerCore } from './cores'
import { rssMb } from './proc'
import { waitFor } from './servers'
import type { Workspace } from './work'

export interface FileFigures {
	/** Where the server kept the bytes: its data folder, or a bucket (--files s3; the bare figures are then direct requests to the store). */
	storage: 'local' | 's3'
	bytes: number
	rounds: number
	upload: { mbps: number; rssGrowthMb: number }
	bareUpload: { mbps: number }
	download: { mbps: number }
	bareDownload: { mbps: number }
	small: { count: number; filesPerSecond: number; statements: string }
	/** --files s3: small uploads all sent at once. */
	concurrent?: { count: number; errors: number; seconds: number }
}

/** The bucket of `--files s3`: Swift's S3 API started on loopback for the run, or the one FILE_STORAGE=s3://… names. */
export interface Bucket {
	/** The server's FILE_STORAGE (a prefix of the run's own) and S3_ settings. */
	env: Record<string, string>
	client: Bun.S3Client
	prefix: string
	stop(): void
}

export async function startBucket(work: Workspace): Promise<Bucket> {
	const names = ['FILE_STORAGE', 'S3_ENDPOINT', 'S3_REGION', 'S3_ACCESS_KEY_ID', 'S3_SECRET_ACCESS_KEY', 'S3_VIRTUAL_HOSTED_STYLE']
	let env: Record<string, string> = Object.fromEntries(names.flatMap((name) => (process.env[name] ? [[name, process.env[name]!]] : [])))
	let stop = () => {}
	if (!env.FILE_STORAGE?.startsWith('s3://')) {
		const script = join(root, 'scripts', 's3-swift.sh')
		const dir = work.path('swift')
		console.log('starting Swift\'s S3 API on loopback (scripts/s3-swift.sh) …')
		const started = Bun.spawnSync(['bash', script, 'start', dir, '18350', 'dreamlake-bench'], { stderr: 'inherit' })
		if (!started.success) throw new Error('scripts/s3-swift.sh could not start the store')
		env = Object.fromEntries(started.stdout.toString().trim().split('\n').map((line) => line.split(/=(.*)/s, 2) as [string, string]))
		stop = () => Bun.spawnSync(['bash', script, 'stop', dir])
	}
	env.FILE_STORAGE = `${env.FILE_STORAGE!.replace(/\/?$/, '/')}bench-${crypto.randomUUID().slice(0, 8)}/`
	const storage = loadConfig(env).fileStorage
	if (storage.kind !== 's3') throw new Error('not a bucket')
	const client = new Bun.S3Client({ endpoint: storage.endpoint, bucket: storage.bucket, region: storage.region, accessKeyId: storage.accessKeyId, secretAccessKey: storage.secretAccessKey, virtualHostedStyle: storage.virtualHostedStyle })
	console.log(`files in s3://${storage.bucket}/${storage.prefix} at ${storage.endpoint}`)
	return { env, client, prefix: storage.prefix, stop }
}

/**
 * Issue 13's figures: one large upload (1 GiB; 16 MiB in a smoke run) through the server, checked
 * and stored, against a bare Bun.serve streaming the same request body to a file; its download
 * against a bare Bun.serve answering Bun.file of it; the server's RSS while it uploads; and a
 * thousand small uploads from four connections.
 */
export async function measureFiles(url: string, runner: { dreamlake: string; id: string }, pid: number, work: Workspace, smoke: boolean, bucket?: Bucket): Promise<FileFigures> {
	const bytes = smoke ? 16 * 2 ** 20 : 2 ** 30
	const rounds = smoke ? 1 : 3
	const block = crypto.getRandomValues(new Uint8Array(2 ** 20))
	const hasher = new Bun.CryptoHasher('sha256')
	for (let at = 0; at < bytes; at += block.length) hasher.update(block)
	const checksum = hasher.digest('hex')
	const boundary = `----dreamlake-bench-${crypto.randomUUID()}`
	const fieldPart = (name: string, value: string) => `--${boundary}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`
	const head = `${fieldPart('prefix', '/bench')}${fieldPart('checksum', checksum)}${fieldPart('sizeBytes', String(bytes))}--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.bin"\r\nContent-Type: application/octet-stream\r\n\r\n`
	const bodyPath = work.path('upload-body.bin')
	const writer = Bun.file(bodyPath).writer()
	writer.write(head)
	for (let at = 0; at < bytes; at += block.length) writer.write(block)
	writer.write(`\r\n--${boundary}--\r\n`)
	await writer.end()
	const contentType = `multipart/form-data; boundary=${boundary}`
	const auth = { authorization: `Bearer ${runner.dreamlake}` }

	const barePort = await freePort()
	const bareDir = work.path('bare-upload')
	mkdirSync(bareDir, { recursive: true })
	// the bare download serves the very bytes the server stored (they are named by their checksum)
	const stored = join(work.dir, 'data', 'files', checksum.slice(0, 2), checksum)
	const bare = work.adopt(Bun.spawn(onServerCore([process.execPath, '-e', bareFilesSource(barePort, bareDir, stored)]), { stdout: 'ignore', stderr: 'inherit' }))
	await waitFor(`http://127.0.0.1:${barePort}/health`)
	// with a bucket: the same bytes uploaded straight to the store by Bun's S3 client (multipart: the
	// server's part size and parts in flight), and the stored object read back by a streamed GET
	const directUpload = async (store: Bucket) => {
		const key = `${store.prefix}direct-${crypto.randomUUID()}`
		const t0 = performance.now()
		const sink = store.client.file(key).writer({ partSize: PART_SIZE, queueSize: PARTS_IN_FLIGHT })
		for await (const chunk of Bun.file(bodyPath).slice(head.length, head.length + bytes).stream()) {
			const taken = sink.write(chunk)
			if (taken instanceof Promise) await taken
		}
		await sink.end()
		const seconds = (performance.now() - t0) / 1000
		await store.client.delete(key)
		return { mbps: bytes / 1e6 / seconds }
	}
	const directDownload = async (store: Bucket) => {
		const t0 = performance.now()
		let received = 0
		for await (const chunk of store.client.file(`${store.prefix}${checksum.slice(0, 2)}/${checksum}`).stream()) received += chunk.byteLength
		if (received !== bytes) throw new Error(`direct download: ${received} bytes, not ${bytes}`)
		return { mbps: bytes / 1e6 / ((performance.now() - t0) / 1000) }
	}

	const timedUpload = async (target: string, headers: Record<string, string>, watch?: number) => {
		const rssBefore = watch ? rssMb(watch) : 0
		let rssMax = rssBefore
		const sampler = watch ? setInterval(() => (rssMax = Math.max(rssMax, rssMb(watch))), 20) : undefined
		const t0 = performance.now()
		const response = await fetch(target, { method: 'POST', headers: { ...headers, 'content-type': contentType }, body: Bun.file(bodyPath) })
		const text = await response.text()
		const seconds = (performance.now() - t0) / 1000
		if (sampler) clearInterval(sampler)
		if (response.status >= 300) throw new Error(`upload: ${response.status} ${text}`)
		return { mbps: bytes / 1e6 / seconds, rssGrowthMb: rssMax - rssBefore, body: text }
	}
	const timedDownload = async (target: string, headers: Record<string, string>) => {
		const t0 = performance.now()
		const response = await fetch(target, { headers })
		let received = 0
		for await (const chunk of response.body!) received += chunk.byteLength
		const seconds = (performance.now() - t0) / 1000
		if (received !== bytes) throw new Error(`download: ${received} bytes, not ${bytes}`)
		return { mbps: bytes / 1e6 / seconds }
	}
	const uploads: { mbps: number; rssGrowthMb: number }[] = []
	const bareUploads: { mbps: number }[] = []
	const downloads: { mbps: number }[] = []
	const bareDownloads: { mbps: number }[] = []
	let fileId = ''
	for (let round = 0; round < rounds; round++) {
		bareUploads.push(bucket ? await directUpload(bucket) : await timedUpload(`http://127.0.0.1:${barePort}/upload`, {}))
		const up = await timedUpload(`${url}/episodes/${runner.id}/files`, auth, pid)
		uploads.push(up)
		fileId = (JSON.parse(up.body) as { id: string }).id
		bareDownloads.push(bucket ? await directDownload(bucket) : await timedDownload(`http://127.0.0.1:${barePort}/download`, {}))
		downloads.push(await timedDownload(`${url}/episodes/${runner.id}/files/${fileId}/download`, auth))
		console.log(`  files round ${round + 1}: upload ${up.mbps.toFixed(0)} MB/s (${bucket ? 'direct' : 'bare'} ${bareUploads.at(-1)!.mbps.toFixed(0)}), RSS +${up.rssGrowthMb.toFixed(1)} MB; download ${downloads.at(-1)!.mbps.toFixed(0)} MB/s (bare ${bareDownloads.at(-1)!.mbps.toFixed(0)})`)
	}
	bare.kill()
	rmSync(bodyPath, { force: true })

	// small files: 10 KB each, distinct bytes, four connections
	const count = smoke ? 100 : 1000
	const small = Array.from({ length: count }, (_, i) => {
		const content = crypto.getRandomValues(new Uint8Array(10 * 1024))
		return { name: `small-${i}.bin`, content, checksum: new Bun.CryptoHasher('sha256').update(content).digest('hex') }
	})
	let next = 0
	let statements = '?'
	const t0 = performance.now()
	await Promise.all(
		Array.from({ length: 4 }, async () => {
			while (next < small.length) {
				const file = small[next++]!
				const form = new FormData()
				form.set('prefix', '/small')
				form.set('checksum', file.checksum)
				form.set('sizeBytes', String(file.content.length))
				form.set('file', new Blob([file.content]), file.name)
				const response = await fetch(`${url}/episodes/${runner.id}/files`, { method: 'POST', headers: auth, body: form })
				if (response.status !== 201) throw new Error(`small upload: ${response.status} ${await response.text()}`)
				await response.arrayBuffer()
				const timing = response.headers.get('server-timing') ?? ''
				statements = `${/db;dur=[\d.]+;desc="(\d+)"/.exec(timing)?.[1] ?? '?'} (in ${/db-tx;desc="(\d+)"/.exec(timing)?.[1] ?? '0'} write tx)`
			}
		}),
	)
	const filesPerSecond = count / ((performance.now() - t0) / 1000)
	console.log(`  ${count} small uploads: ${filesPerSecond.toFixed(0)} files/s, ${statements} statements each`)
	let concurrent: FileFigures['concurrent']
	if (bucket) {
		// a burst: 100 small uploads at once, every one expected to be stored
		const t1 = performance.now()
		const statuses = await Promise.all(
			small.slice(0, 100).map(async (file, i) => {
				const form = new FormData()
				form.set('prefix', '/burst')
				form.set('checksum', file.checksum)
				form.set('sizeBytes', String(file.content.length))
				form.set('file', new Blob([file.content]), `burst-${i}.bin`)
				const response = await fetch(`${url}/episodes/${runner.id}/files`, { method: 'POST', headers: auth, body: form })
				await response.arrayBuffer()
				return response.status
			}),
		)
		concurrent = { count: statuses.length, errors: statuses.filter((status) => status !== 201).length, seconds: (performance.now() - t1) / 1000 }
		console.log(`  ${concurrent.count} small uploads at once: ${concurrent.errors} errors, ${concurrent.seconds.toFixed(2)} s`)
	}
	const med = <T extends Record<string, number>>(list: T[], key: keyof T) => median(list.map((r) => r[key] as number))
	return {
		storage: bucket ? 's3' : 'local',
		bytes,
		rounds,
		upload: { mbps: med(uploads, 'mbps'), rssGrowthMb: Math.max(...uploads.map((u) => u.rssGrowthMb)) },
		bareUpload: { mbps: med(bareUploads, 'mbps') },
		download: { mbps: med(downloads, 'mbps') },
		bareDownload: { mbps: med(bareDownloads, 'mbps') },
		small: { count, filesPerSecond, statements },
		concurrent,
	}
}

/** A bare Bun.serve: POST /upload streams the request body to a file; GET /download answers Bun.file of the stored bytes. */
function bareFilesSource(port: number, dir: string, downloadPath: string): string {
	return `
const { openSync, writeSync, closeSync, rmSync } = require('node:fs')
Bun.serve({ hostname: '127.0.0.1', port: ${port}, maxRequestBodySize: 2 ** 34, async fetch(request) {
	const path = new URL(request.url).pathname
	if (path === '/health') return new Response('ok')
	if (path === '/download') return new Response(Bun.file(${JSON.stringify(downloadPath)}))
	const file = ${JSON.stringify(dir)} + '/' + crypto.randomUUID()
	const fd = openSync(file, 'w')
	for await (const chunk of request.body) { let at = 0; while (at < chunk.length) at += writeSync(fd, chunk, at, chunk.length - at) }
	closeSync(fd)
	rmSync(file)
	return Response.json({ ok: true })
} })
`
}
