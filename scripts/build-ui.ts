// Prints the dashboard's files as JSON ({path, type, gzip (base64), size}[]) for the macro in
// src/dashboard/assets.ts, which cannot run the bundler itself. `bun scripts/build-ui.ts --out <dir>`
// writes them to a folder instead, to look at.
import { mkdirSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { buildDashboardFiles } from '../src/dashboard/build'

const files = await buildDashboardFiles()
const out = process.argv[2] === '--out' ? process.argv[3] : undefined
if (out) {
	for (const file of files) {
		mkdirSync(dirname(join(out, file.path)), { recursive: true })
		writeFileSync(join(out, file.path), file.bytes)
	}
	console.error(files.map((f) => `${f.path} ${f.bytes.length} B, ${Bun.gzipSync(f.bytes, { level: 9 }).length} B gzipped`).join('\n'))
} else {
	process.stdout.write(JSON.stringify(files.map((f) => ({ path: f.path, type: f.type, size: f.bytes.length, gzip: Buffer.from(Bun.gzipSync(f.bytes, { level: 9 })).toString('base64') }))))
}
