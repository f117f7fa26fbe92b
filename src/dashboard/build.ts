// Bundles the dashboard (src/ui) in memory: JavaScript and CSS named by their content hash, and an
// index.html pointing at them. Used at bundle time (assets.ts's macro, through scripts/build-ui.ts)
// and by `bun run dev`, which rebuilds on every change (index.ts).
import { basename, join, resolve } from 'node:path'

export interface DashboardFile {
	/** Under /ui/: `index.html`, `assets/main-1a2b3c.js`. */
	path: string
	type: string
	bytes: Uint8Array<ArrayBuffer>
}

export const UI_SOURCE = join(import.meta.dir, '..', 'ui')

const TYPES: Record<string, string> = {
	html: 'text/html; charset=utf-8',
	js: 'text/javascript; charset=utf-8',
	css: 'text/css; charset=utf-8',
	svg: 'image/svg+xml',
	png: 'image/png',
}

export async function buildDashboardFiles(source = UI_SOURCE): Promise<DashboardFile[]> {
	source = resolve(source)
	const result = await Bun.build({
		entrypoints: [join(source, 'main.ts')],
		target: 'browser',
		format: 'esm',
		// the charts (uPlot) load only on the pages that draw them
		splitting: true,
		minify: true,
		sourcemap: 'none',
		naming: { entry: '[name]-[hash].[ext]', chunk: '[name]-[hash].[ext]', asset: '[name]-[hash].[ext]' },
		define: { 'process.env.NODE_ENV': '"production"' },
	})
	if (!result.success) throw new AggregateError(result.logs, 'the dashboard did not build')
	const files: DashboardFile[] = []
	for (const output of result.outputs) {
		const name = basename(output.path)
		files.push({ path: `assets/${name}`, type: TYPES[name.split('.').pop()!] ?? 'application/octet-stream', bytes: new Uint8Array(await output.arrayBuffer()) })
	}
	const entry = result.outputs.find((o) => o.kind === 'entry-point')!
	const script = files.find((f) => f.path === `assets/${basename(entry.path)}`)!
	const styles = files.filter((f) => f.path.endsWith('.css'))
	const html = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<title>DreamLake</title>
<link rel="icon" href="data:,">
${styles.map((s) => `<link rel="stylesheet" href="/ui/${s.path}">`).join('\n')}
<script type="module" src="/ui/${script.path}"></script>
</head>
<body><noscript>The DreamLake dashboard needs JavaScript.</noscript><div id="app"></div></body>
</html>
`
	files.push({ path: 'index.html', type: TYPES.html!, bytes: new TextEncoder().encode(html) })
	return files
}
