// The processes under load: the compiled server on a fresh database, and the bare Bun.serve baseline.
import { freePort, timeToFirstHealth } from '../startup'
import { onEveryCore, onServerCore } from './cores'
import type { Workspace } from './work'

export interface Running {
	process: ReturnType<typeof Bun.spawn>
	url: string
}

/** Builds the binary (bun run build) when `binary` is not there yet. */
export async function ensureBinary(binary: string, root: string) {
	if (await Bun.file(binary).exists()) return
	console.log('building the binary (bun run build) …')
	if (!Bun.spawnSync([process.execPath, 'run', 'build'], { cwd: root, stdout: 'inherit', stderr: 'inherit' }).success) throw new Error('build failed')
}

/** The binary on the server's core, its data folder in the workspace (or `cwd`), exchanges not rate-limited; `args` added. */
export async function startServer(work: Workspace, binary: string, jwksUrl: string, { cwd = work.dir, args = [] }: { cwd?: string; args?: string[] } = {}): Promise<Running> {
	const port = await freePort()
	const server = work.adopt(
		Bun.spawn(onServerCore([binary, 'serve', '--port', String(port), '--rate-limit-exchange', '0', ...args]), {
			cwd,
			env: { PATH: process.env.PATH ?? '', VUER_AUTH_JWKS_URL: jwksUrl, LOG_FORMAT: 'json' },
			stdout: Bun.file(work.path('server.log')),
			stderr: Bun.file(work.path('server.err')),
		}),
	)
	const url = `http://127.0.0.1:${port}`
	await waitFor(`${url}/health`)
	return { process: server, url }
}

/** A bare Bun.serve on the server's core answering every request with a JSON body of `size` bytes. */
export async function startBaseline(work: Workspace, size: number): Promise<Running> {
	const port = await freePort()
	const baseline = work.adopt(Bun.spawn(onServerCore([process.execPath, '-e', baselineSource(port, size)]), { stdout: 'ignore', stderr: 'inherit' }))
	const url = `http://127.0.0.1:${port}/`
	await waitFor(url)
	return { process: baseline, url }
}

function baselineSource(port: number, size: number): string {
	return `
const body = JSON.stringify({ padding: 'x'.repeat(${Math.max(0, size - 14)}) })
Bun.serve({ hostname: '127.0.0.1', port: ${port}, fetch: () => new Response(body, { headers: { 'content-type': 'application/json' } }) })
`
}

export async function waitFor(url: string) {
	for (let i = 0; i < 500; i++) {
		try {
			if ((await fetch(url)).ok) return
		} catch {}
		await Bun.sleep(10)
	}
	throw new Error(`${url} did not come up`)
}

/** `runs` cold starts of `binary`, in ms; on every core, as a user runs it. */
export async function timeStarts(binary: string, runs: number): Promise<number[]> {
	const starts: number[] = []
	// this process is pinned to the load core, where the server's start-up threads (JIT, GC, the
	// checkpoint worker) would share one core with this poller
	const everyCore = onEveryCore()
	for (let i = 0; i < runs; i++) starts.push(await timeToFirstHealth(binary, everyCore))
	return starts
}
