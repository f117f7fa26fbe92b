// The bench's temporary folder and the processes it starts: both go when the run ends or is interrupted.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

export class Workspace {
	readonly dir = mkdtempSync(join(tmpdir(), 'dreamlake-bench-'))
	private readonly children: ReturnType<typeof Bun.spawn>[] = []

	path(name: string): string {
		return join(this.dir, name)
	}

	/** `child` is killed at the end of the run, however it ends. */
	adopt<T extends ReturnType<typeof Bun.spawn>>(child: T): T {
		this.children.push(child)
		return child
	}

	/** One line per entry, in a file of the folder; wrk's Lua scripts read them. */
	writeLines(name: string, lines: string[]): string {
		const path = this.path(name)
		writeFileSync(path, lines.join('\n') + '\n')
		return path
	}

	cleanup() {
		for (const child of this.children) child.kill('SIGKILL')
		rmSync(this.dir, { recursive: true, force: true })
	}

	// interrupted (Ctrl-C, a closed terminal, `timeout`, a cancelled CI job): the servers go, and so
	// does the folder, which holds a few hundred MB of pre-minted tokens and a database
	cleanupOnSignals() {
		for (const [signal, code] of [['SIGINT', 130], ['SIGHUP', 129], ['SIGTERM', 143]] as const) {
			process.on(signal, () => {
				this.cleanup()
				process.exit(code)
			})
		}
	}
}
