// Issue 13's figures: a large upload and its download through the server against a bare Bun.serve,
// the server's RSS while it uploads, and many small uploads.
import { mkdirSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { freePort, median } from '../startup'
import { onServerCore } from './cores'
import { rssMb } from './proc'
import { waitFor } from './servers'
import type { Workspace } from './work'

export interface FileFigures {
	bytes: number
	rounds: number
	upload: { mbps: number; rssGrowthMb: number }
	bareUpload: { mbps: number }
	download: { mbps: number }
	bareDownload: { mbps: number }
	small: { count: number; filesPerSecond: number; statements: string }
}

/**
 * Issue 13's figures: one large upload (1 GiB; 16 MiB in a smoke run) through the server, checked
 * and stored, against a bare Bun.serve streaming the same request body to a file; its download
 * against a bare Bun.serve answering Bun.file of it; the server's RSS while it uploads; and a
 * thousand small uploads from four connections.
 */
export async function measureFiles(url: string, runner: { dreamlake: string; id: string }, pid: number, work: Workspace, smoke: boolean): Promise<FileFigures> {
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
		bareUploads.push(await timedUpload(`http://127.0.0.1:${barePort}/upload`, {}))
		const up = await timedUpload(`${url}/episodes/${runner.id}/files`, auth, pid)
		uploads.push(up)
		fileId = (JSON.parse(up.body) as { id: string }).id
		bareDownloads.push(await timedDownload(`http://127.0.0.1:${barePort}/download`, {}))
		downloads.push(await timedDownload(`${url}/episodes/${runner.id}/files/${fileId}/download`, auth))
		console.log(`  files round ${round + 1}: upload ${up.mbps.toFixed(0)} MB/s (bare ${bareUploads.at(-1)!.mbps.toFixed(0)}), RSS +${up.rssGrowthMb.toFixed(1)} MB; download ${downloads.at(-1)!.mbps.toFixed(0)} MB/s (bare ${bareDownloads.at(-1)!.mbps.toFixed(0)})`)
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
	const med = <T extends Record<string, number>>(list: T[], key: keyof T) => median(list.map((r) => r[key] as number))
	return {
		bytes,
		rounds,
		upload: { mbps: med(uploads, 'mbps'), rssGrowthMb: Math.max(...uploads.map((u) => u.rssGrowthMb)) },
		bareUpload: { mbps: med(bareUploads, 'mbps') },
		download: { mbps: med(downloads, 'mbps') },
		bareDownload: { mbps: med(bareDownloads, 'mbps') },
		small: { count, filesPerSecond, statements },
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
