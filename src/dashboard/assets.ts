// A Bun macro (imported `with { type: 'macro' }`): at bundle time, and (running from source) when embedded.ts
// is first imported, it builds the dashboard in a child process (a macro cannot call the bundler) and
// inlines every file, gzipped, into the code. The compiled binary serves the dashboard with nothing
// on disk and nothing from a CDN.
import { join } from 'node:path'

export interface EmbeddedFile {
	path: string
	type: string
	/** Bytes before compression. */
	size: number
	/** gzip, base64. */
	gzip: string
}

export function embedDashboard(): EmbeddedFile[] {
	const build = Bun.spawnSync([process.execPath, join(import.meta.dir, '..', '..', 'scripts', 'build-ui.ts')], { stdout: 'pipe', stderr: 'pipe' })
	if (!build.success) throw new Error(`the dashboard did not build:\n${build.stderr.toString()}`)
	return JSON.parse(build.stdout.toString()) as EmbeddedFile[]
}
