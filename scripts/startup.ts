// Measures the compiled binary from exec to its first 200 on /health, on an empty data folder.
// bun scripts/startup.ts [runs=10] [binary=dist/dreamlake-server]  →  prints each run and the median.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'

/** `prefix` runs the binary through another command (the bench: `taskset`); its own exec is counted too. */
export async function timeToFirstHealth(binary: string, prefix: string[] = []): Promise<number> {
	const dir = mkdtempSync(join(tmpdir(), 'dreamlake-start-'))
	// a port the system just handed out: a random one sometimes belonged to another process
	const port = await freePort()
	const started = performance.now()
	const child = Bun.spawn([...prefix, binary, '--port', String(port)], { cwd: dir, env: { PATH: process.env.PATH ?? '', LOG_LEVEL: 'warn' }, stdout: 'ignore', stderr: 'ignore' })
	try {
		for (;;) {
			try {
				const response = await fetch(`http://127.0.0.1:${port}/health`)
				if (response.status === 200) return performance.now() - started
			} catch {}
			if (child.exitCode !== null) throw new Error(`the server exited with ${child.exitCode}`)
			if (performance.now() - started > 10_000) throw new Error('no 200 within 10 s')
			await Bun.sleep(1)
		}
	} finally {
		child.kill()
		await child.exited
		rmSync(dir, { recursive: true, force: true })
	}
}

/** A loopback port nothing listens on right now. */
export async function freePort(): Promise<number> {
	const probe = Bun.serve({ hostname: '127.0.0.1', port: 0, fetch: () => new Response() })
	const { port } = probe
	probe.stop(true)
	return port!
}

export const median = (values: number[]) => {
	const sorted = [...values].sort((a, b) => a - b)
	const mid = sorted.length >> 1
	return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
}

if (import.meta.main) {
	const runs = Number(process.argv[2] ?? 10)
	const binary = resolve(process.argv[3] ?? join(import.meta.dir, '..', 'dist', 'dreamlake-server'))
	const times: number[] = []
	for (let i = 0; i < runs; i++) times.push(await timeToFirstHealth(binary))
	console.log(`exec → first 200 on /health, empty data folder, ${runs} runs (ms): ${times.map((t) => t.toFixed(1)).join(' ')}`)
	console.log(`median ${median(times).toFixed(1)} ms`)
}
