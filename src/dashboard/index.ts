import { Elysia, t } from 'elysia'
import { watch } from 'node:fs'
import { describeError, type Logger } from '../log'

/**
 * The web dashboard, under /ui/: a single page (src/ui) that reads everything through the public
 * API with the session cookie. Its files are embedded at build time (embedded.ts), gzipped; the
 * scripts and styles are named by content hash and cached for a year, the page itself is
 * revalidated on every visit. Every path under /ui/ that is not a file answers the page, which
 * routes itself. `GET /` sends a browser to /ui/.
 */

interface Served {
	type: string
	gzip: Uint8Array<ArrayBuffer>
	plain: Uint8Array<ArrayBuffer> | undefined
	/** The content's hash, unquoted. */
	etag: string
	immutable: boolean
}

/** What the page may do: its own scripts, styles and API, images from the API (file previews) and blob: (downloads). */
const PAGE_HEADERS = {
	'content-security-policy':
		"default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:; connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
	'x-content-type-options': 'nosniff',
	'referrer-policy': 'no-referrer',
	'x-frame-options': 'DENY',
}

/** What a build gives: each file's path under /ui/, its type and its bytes gzipped. */
export type DashboardFiles = { path: string; type: string; gzip: Uint8Array<ArrayBuffer> }[]

export class Dashboard {
	private files: Map<string, Served> | undefined
	private loading: Promise<void> | undefined

	private constructor(private readonly load: () => Promise<DashboardFiles>) {}

	/** The files built into this server (or binary), read on the first request for them. */
	static embedded(): Dashboard {
		return new Dashboard(async () => (await import('./embedded')).embeddedFiles())
	}

	/** `bun run dev` (DASHBOARD_SOURCE=src/ui): builds from `folder` now and again on every change there. */
	static async fromSource(log: Logger, folder: string): Promise<Dashboard> {
		const { buildDashboardFiles } = await import('./build')
		const build = async () => (await buildDashboardFiles(folder)).map((file) => ({ path: file.path, type: file.type, gzip: Bun.gzipSync(file.bytes) }))
		const dashboard = new Dashboard(build)
		await dashboard.table()
		let timer: Timer | undefined
		watch(folder, { recursive: true }, () => {
			clearTimeout(timer)
			timer = setTimeout(async () => {
				try {
					dashboard.replace(await build())
					log.info('dashboard rebuilt', { from: folder })
				} catch (error) {
					log.warn('dashboard did not build; serving the previous build', describeError(error))
				}
			}, 50)
		}).unref()
		log.info('dashboard built from source; rebuilt on change', { from: folder })
		return dashboard
	}

	private async table(): Promise<Map<string, Served>> {
		if (this.files === undefined) await (this.loading ??= this.load().then((files) => this.replace(files)))
		return this.files!
	}

	private replace(files: DashboardFiles): void {
		const next = new Map<string, Served>()
		for (const file of files) {
			const immutable = file.path.startsWith('assets/')
			next.set(file.path, { type: file.type, gzip: file.gzip, plain: undefined, etag: Bun.hash(file.gzip).toString(36), immutable })
		}
		this.files = next
	}

	private async serve(path: string, request: Request): Promise<Response> {
		const file = (await this.table()).get(path)
		if (!file) return new Response('Not found', { status: 404, headers: { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' } })
		const gzip = /\bgzip\b/.test(request.headers.get('accept-encoding') ?? '')
		// each encoding its own validator, as HTTP wants of two different byte sequences
		const etag = gzip ? `"${file.etag}-gz"` : `"${file.etag}"`
		const headers: Record<string, string> = {
			'content-type': file.type,
			'cache-control': file.immutable ? 'public, max-age=31536000, immutable' : 'no-cache',
			etag,
			vary: 'Accept-Encoding',
			...(file.immutable ? { 'x-content-type-options': 'nosniff' } : PAGE_HEADERS),
		}
		if (matches(request.headers.get('if-none-match'), etag)) return new Response(null, { status: 304, headers })
		if (gzip) return new Response(file.gzip, { headers: { ...headers, 'content-encoding': 'gzip' } })
		file.plain ??= Bun.gunzipSync(file.gzip)
		return new Response(file.plain, { headers })
	}

	routes() {
		const toPage = () => new Response(null, { status: 302, headers: { location: '/ui/', 'cache-control': 'no-store' } })
		const detail = { hide: true }
		return new Elysia({ name: 'dashboard' })
			.get('/', ({ request }) => (wantsHtml(request) ? toPage() : { name: 'dreamlake' as const, dashboard: '/ui/', openapi: '/openapi.json' }), {
				response: { 200: t.Object({ name: t.Literal('dreamlake'), dashboard: t.String(), openapi: t.String() }) },
				detail: { summary: 'A browser (Accept: text/html) is sent to the dashboard, /ui/ (302); anything else gets where things are', tags: ['Operations'] },
			})
			// Elysia routes /ui and /ui/ alike: the page's relative links need the slash
			.get('/ui/', ({ request }) => (new URL(request.url).pathname === '/ui' ? toPage() : this.serve('index.html', request)), { detail })
			.get('/ui/*', ({ request, params }) => (params['*'].startsWith('assets/') ? this.serve(params['*'], request) : this.serve('index.html', request)), { detail })
	}
}

/** If-None-Match: `*`, or a list of entity tags, weak (`W/`) or not, compared weakly (RFC 9110 13.1.2). */
function matches(header: string | null, etag: string): boolean {
	if (!header) return false
	if (header.trim() === '*') return true
	return header.split(',').some((tag) => tag.trim().replace(/^W\//, '') === etag)
}

const wantsHtml = (request: Request) => (request.headers.get('accept') ?? '').includes('text/html')
