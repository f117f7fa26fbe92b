// bun run build: compiles the server into one self-contained executable, dist/dreamlake-server.
// Migrations and the git commit are inlined by Bun macros at this point; nothing is read from disk at run time.
import { join } from 'node:path'

const root = join(import.meta.dir, '..')
const outfile = join(root, 'dist', 'dreamlake-server')
const started = performance.now()
const build = Bun.spawnSync(
	[
		process.execPath,
		'build',
		'--compile',
		// no --minify: Elysia compiles handlers from their source text and relies on identifier names
		'--define',
		'process.env.NODE_ENV="production"',
		'--bytecode',
		// a bunfig.toml in whatever directory the binary runs from could preload code into it
		'--no-compile-autoload-bunfig',
		join(root, 'src', 'index.ts'),
		// a worker's script is its own entrypoint (db/checkpointer.ts starts it)
		join(root, 'src', 'db', 'checkpoint-worker.ts'),
		'--outfile',
		outfile,
	],
	{ cwd: root, stdout: 'inherit', stderr: 'inherit' },
)
if (!build.success) process.exit(build.exitCode ?? 1)
const size = Bun.file(outfile).size
console.log(`built ${outfile} (${(size / 1024 / 1024).toFixed(1)} MiB) in ${Math.round(performance.now() - started)} ms`)
