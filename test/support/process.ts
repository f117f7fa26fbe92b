import { join, resolve } from 'node:path'

const root = join(import.meta.dir, '..', '..')

/** How to run the server: from source by default, or the compiled binary when DREAMLAKE_BINARY is set. */
export const SERVER_COMMAND: string[] = process.env.DREAMLAKE_BINARY
	? [resolve(root, process.env.DREAMLAKE_BINARY)]
	: [process.execPath, join(root, 'src', 'index.ts')]

export interface ServerProcess {
	url: string
	process: ReturnType<typeof Bun.spawn>
	/** Every line printed so far (stdout and stderr). */
	output: string[]
	stop(signal?: NodeJS.Signals): Promise<number>
}

/** Starts the real server as a child process and waits for its "listening" log line. */
export async function spawnServer(args: string[], options: { cwd: string; env?: Record<string, string> }): Promise<ServerProcess> {
	const child = Bun.spawn([...SERVER_COMMAND, ...args], {
		cwd: options.cwd,
		env: { PATH: process.env.PATH ?? '', LOG_FORMAT: 'json', ...options.env },
		stdout: 'pipe',
		stderr: 'pipe',
	})
	const output: string[] = []
	let resolveUrl: (url: string) => void
	const url = new Promise<string>((resolve) => (resolveUrl = resolve))
	const pump = async (stream: ReadableStream<Uint8Array>) => {
		let buffered = ''
		const decoder = new TextDecoder()
		for await (const chunk of stream) {
			buffered += decoder.decode(chunk, { stream: true })
			let newline: number
			while ((newline = buffered.indexOf('\n')) >= 0) {
				const line = buffered.slice(0, newline)
				buffered = buffered.slice(newline + 1)
				output.push(line)
				const match = /"url":"(http[^"]+)"/.exec(line)
				if (match && line.includes('listening')) resolveUrl(match[1]!.replace(/\/$/, ''))
			}
		}
	}
	void pump(child.stdout)
	void pump(child.stderr)
	const started = await Promise.race([url, child.exited.then((code) => `exited:${code}`), Bun.sleep(10_000).then(() => 'timeout')])
	if (!started.startsWith('http')) {
		child.kill()
		throw new Error(`server did not start (${started}):\n${output.join('\n')}`)
	}
	return {
		url: started,
		process: child,
		output,
		async stop(signal = 'SIGTERM') {
			child.kill(signal)
			return child.exited
		},
	}
}

/** Runs a command of the server's CLI to completion. */
export async function runCli(args: string[], options: { cwd: string; env?: Record<string, string> }) {
	const child = Bun.spawn([...SERVER_COMMAND, ...args], {
		cwd: options.cwd,
		env: { PATH: process.env.PATH ?? '', LOG_FORMAT: 'json', ...options.env },
		stdout: 'pipe',
		stderr: 'pipe',
	})
	const [stdout, stderr, code] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited])
	return { stdout, stderr, code }
}
