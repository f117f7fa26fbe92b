import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import type { Server } from 'bun'
import { Harness } from './support/harness'

/**
 * The embedded dashboard (src/dashboard) as a browser gets it: the real app behind Bun.serve, over
 * real HTTP. The dashboard's own source (src/ui) changes often, so this checks structure (hashed
 * names, headers, encodings, budget), never the page's text.
 */

let h: Harness
let server: Server<undefined>
let base: string
beforeAll(async () => {
	h = await Harness.start()
	server = Bun.serve({ port: 0, hostname: '127.0.0.1', fetch: (request) => h.fetch(request) })
	base = `http://127.0.0.1:${server.port}`
})
afterAll(() => {
	server.stop(true)
	h.close()
})

/** Bun's fetch asks for gzip and inflates on its own; this asks for what `encoding` says and returns the bytes as sent. */
async function get(path: string, { headers = {}, encoding = 'identity' }: { headers?: Record<string, string>; encoding?: string } = {}) {
	const response = await fetch(`${base}${path}`, { redirect: 'manual', decompress: false, headers: { 'accept-encoding': encoding, ...headers } })
	const bytes = new Uint8Array(await response.arrayBuffer())
	return { status: response.status, headers: response.headers, bytes, text: new TextDecoder().decode(bytes) }
}

/** A hashed asset's path: /ui/assets/<name>-<hash>.<js|css>. */
const HASHED = /^\/ui\/assets\/[\w.-]+-[a-z0-9]{6,}\.(js|css)$/
const BROWSER_ACCEPT = 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8'

/** The `src`/`href` of every <script> and <link> in the page. */
function references(html: string): { scripts: string[]; links: string[] } {
	const attribute = (tag: string, name: string) => new RegExp(`\\b${name}\\s*=\\s*["']([^"']*)["']`, 'i').exec(tag)?.[1]
	const scripts = [...html.matchAll(/<script\b[^>]*>/gi)].map((m) => attribute(m[0], 'src') ?? '')
	const links = [...html.matchAll(/<link\b[^>]*>/gi)].map((m) => attribute(m[0], 'href') ?? '')
	return { scripts, links }
}

/** Every script and style the page loads: those the HTML names, and those they name in turn (chunks, @imports). */
async function pageAssets(): Promise<string[]> {
	const page = await get('/ui/')
	const { scripts, links } = references(page.text)
	const queue = [...scripts, ...links].filter((path) => path.startsWith('/ui/assets/'))
	const seen = new Set<string>()
	while (queue.length > 0) {
		const path = queue.shift()!
		if (seen.has(path)) continue
		seen.add(path)
		const { text } = await get(path)
		for (const m of text.matchAll(/["'(]\.?\/?((?:ui\/)?assets\/)?([\w.-]+-[a-z0-9]{6,}\.(?:js|css))["')]/g)) {
			queue.push(`/ui/assets/${m[2]}`)
		}
	}
	return [...seen].sort()
}

describe('GET /', () => {
	it('a browser (Accept: text/html) is sent to /ui/ with 302', async () => {
		for (const accept of ['text/html', BROWSER_ACCEPT]) {
			const reply = await get('/', { headers: { accept } })
			expect(reply.status).toBe(302)
			expect(reply.headers.get('location')).toBe('/ui/')
		}
	})

	it('anything else gets 200 JSON naming the dashboard and the OpenAPI document, which exists', async () => {
		for (const headers of [{}, { accept: 'application/json' }, { accept: '*/*' }] as Record<string, string>[]) {
			const reply = await get('/', { headers })
			expect(reply.status).toBe(200)
			expect(reply.headers.get('content-type')).toContain('application/json')
			expect(JSON.parse(reply.text)).toEqual({ name: expect.any(String), dashboard: '/ui/', openapi: expect.stringMatching(/^\//) })
			const openapi = await get(JSON.parse(reply.text).openapi)
			expect(openapi.status).toBe(200)
		}
	})
})

describe('the page: /ui/ and every client-side route under it', () => {
	it('GET /ui is 302 to /ui/ (the page\'s relative links need the slash)', async () => {
		const reply = await get('/ui')
		expect(reply.status).toBe(302)
		expect(reply.headers.get('location')).toBe('/ui/')
	})

	it('GET /ui/ is 200 text/html, revalidated every visit (no-cache, ETag), under a strict CSP, nosniff, never framed', async () => {
		const reply = await get('/ui/')
		expect(reply.status).toBe(200)
		expect(reply.headers.get('content-type')).toMatch(/^text\/html\b/)
		expect(reply.headers.get('cache-control')).toBe('no-cache')
		expect(reply.headers.get('etag')).toMatch(/^"[^"]+"$/)
		const csp = reply.headers.get('content-security-policy')!
		expect(csp).toContain("script-src 'self'")
		expect(csp).toContain("frame-ancestors 'none'")
		expect(csp).toContain("default-src 'none'")
		expect(csp).not.toContain('unsafe-inline')
		expect(csp).not.toContain('unsafe-eval')
		expect(csp).not.toMatch(/https?:/)
		expect(reply.headers.get('x-content-type-options')).toBe('nosniff')
		expect(reply.text).toMatch(/^<!doctype html>/i)
	})

	it('the page loads its script (and styles) from /ui/assets/<name>-<hash>, with nothing inline its CSP would block', async () => {
		const { text } = await get('/ui/')
		const { scripts, links } = references(text)
		expect(scripts.length).toBeGreaterThan(0)
		for (const src of scripts) expect(src).toMatch(HASHED)
		expect(scripts.some((src) => src.endsWith('.js'))).toBe(true)
		const styles = [...text.matchAll(/<link\b[^>]*>/gi)].filter((m) => /rel\s*=\s*["']stylesheet["']/i.test(m[0])).map((m) => /href\s*=\s*["']([^"']*)["']/i.exec(m[0])![1]!)
		for (const href of styles) expect(href).toMatch(/^\/ui\/assets\/[\w.-]+-[a-z0-9]{6,}\.css$/)
		for (const href of links) expect(href.startsWith('/ui/assets/') || href.startsWith('data:')).toBe(true)
		// script-src 'self' and style-src 'self': no inline script, style or handler would run
		expect(text).not.toMatch(/<script\b(?![^>]*\bsrc=)[^>]*>/i)
		expect(text).not.toMatch(/<style\b/i)
		expect(text).not.toMatch(/\sstyle\s*=/i)
		expect(text).not.toMatch(/\son[a-z]+\s*=/i)
	})

	it('If-None-Match with the ETag is 304 with no body; another ETag gets the page', async () => {
		const first = await get('/ui/')
		const etag = first.headers.get('etag')!
		const again = await get('/ui/', { headers: { 'if-none-match': etag } })
		expect(again.status).toBe(304)
		expect(again.bytes.length).toBe(0)
		expect(again.headers.get('etag')).toBe(etag)
		const stale = await get('/ui/', { headers: { 'if-none-match': '"not-the-etag"' } })
		expect(stale.status).toBe(200)
		expect(stale.text).toBe(first.text)
	})

	it('each encoding has its own ETag; If-None-Match takes a list, weak tags and *', async () => {
		const plain = await get('/ui/')
		const gzipped = await get('/ui/', { encoding: 'gzip' })
		expect(gzipped.headers.get('etag')).not.toBe(plain.headers.get('etag'))
		expect((await get('/ui/', { headers: { 'if-none-match': plain.headers.get('etag')! }, encoding: 'gzip' })).status).toBe(200)
		expect((await get('/ui/', { headers: { 'if-none-match': `"other", W/${plain.headers.get('etag')}` } })).status).toBe(304)
		expect((await get('/ui/', { headers: { 'if-none-match': '*' } })).status).toBe(304)
	})

	it('client-side routes (/ui/projects/anything, /ui/episodes/123/logs, …) answer the same page, with the same headers', async () => {
		const page = await get('/ui/')
		for (const path of ['/ui/projects/anything', '/ui/episodes/123/logs', '/ui/index.html', '/ui/some/deep/route?tab=files', '/ui/signin']) {
			const reply = await get(path)
			expect({ path, status: reply.status }).toEqual({ path, status: 200 })
			expect(reply.text).toBe(page.text)
			expect(reply.headers.get('content-type')).toBe(page.headers.get('content-type'))
			expect(reply.headers.get('cache-control')).toBe('no-cache')
			expect(reply.headers.get('etag')).toBe(page.headers.get('etag'))
			expect(reply.headers.get('content-security-policy')).toBe(page.headers.get('content-security-policy'))
		}
	})

	it('the page, gzipped on request, inflates to the plain page', async () => {
		const plain = await get('/ui/')
		const gzipped = await get('/ui/', { encoding: 'gzip, deflate, br' })
		expect(gzipped.headers.get('content-encoding')).toBe('gzip')
		expect(gzipped.headers.get('vary')).toContain('Accept-Encoding')
		expect(new TextDecoder().decode(Bun.gunzipSync(gzipped.bytes))).toBe(plain.text)
		expect(plain.headers.get('content-encoding')).toBeNull()
	})
})

describe('the assets', () => {
	let assets: string[]
	beforeAll(async () => {
		assets = await pageAssets()
	})

	it('every asset the page loads is 200, immutable for a year, nosniff, with its content type', async () => {
		expect(assets.length).toBeGreaterThan(0)
		for (const path of assets) {
			expect(path).toMatch(HASHED)
			const reply = await get(path)
			expect({ path, status: reply.status }).toEqual({ path, status: 200 })
			const cache = reply.headers.get('cache-control')!
			expect(cache).toContain('immutable')
			expect(cache).toContain('max-age=31536000')
			expect(reply.headers.get('content-type')).toMatch(path.endsWith('.js') ? /^text\/javascript\b/ : /^text\/css\b/)
			expect(reply.headers.get('x-content-type-options')).toBe('nosniff')
			expect(reply.headers.get('etag')).toMatch(/^"[^"]+"$/)
			expect(reply.bytes.length).toBeGreaterThan(0)
			expect((await get(path, { headers: { 'if-none-match': reply.headers.get('etag')! } })).status).toBe(304)
		}
	})

	it('with Accept-Encoding: gzip each asset comes gzipped, and inflates to exactly the plain bytes', async () => {
		for (const path of assets) {
			const plain = await get(path)
			const gzipped = await get(path, { encoding: 'gzip' })
			expect(gzipped.status).toBe(200)
			expect(gzipped.headers.get('content-encoding')).toBe('gzip')
			expect(gzipped.headers.get('vary')).toContain('Accept-Encoding')
			expect(plain.headers.get('content-encoding')).toBeNull()
			expect(Bun.gunzipSync(gzipped.bytes)).toEqual(plain.bytes)
			expect(Number(gzipped.headers.get('content-length'))).toBe(gzipped.bytes.length)
		}
	})

	it('without any Accept-Encoding header the bytes come plain', async () => {
		for (const path of assets) {
			const response = await h.fetch(new Request(`http://dreamlake.test${path}`))
			expect(response.headers.get('content-encoding')).toBeNull()
			expect(new Uint8Array(await response.arrayBuffer())).toEqual((await get(path)).bytes)
		}
	})

	it('404 for an asset that does not exist, never the page', async () => {
		for (const path of ['/ui/assets/missing.js', '/ui/assets/missing.css', '/ui/assets/', '/ui/assets/index.html']) {
			const reply = await get(path)
			expect({ path, status: reply.status }).toEqual({ path, status: 404 })
			expect(reply.headers.get('cache-control')).not.toContain('immutable')
			expect(reply.text).not.toMatch(/<!doctype html>/i)
		}
	})

	it('nothing is loaded from elsewhere: no external script, style or font in the page, its scripts or its styles', async () => {
		const { text: html } = await get('/ui/')
		const { scripts, links } = references(html)
		for (const url of [...scripts, ...links]) expect(url).not.toMatch(/^(https?:)?\/\//i)
		const CDN = ['https://cdn', 'http://cdn', 'fonts.googleapis', 'fonts.gstatic', 'unpkg', 'jsdelivr', 'cdnjs', 'esm.sh', 'skypack']
		for (const path of assets) {
			const { text } = await get(path)
			for (const marker of CDN) expect({ path, marker, found: text.includes(marker) }).toEqual({ path, marker, found: false })
			// a module import or a stylesheet import/url() of another origin
			expect(text).not.toMatch(/\bimport\s*\(?\s*["'`](https?:)?\/\//)
			expect(text).not.toMatch(/\bfrom\s*["'`](https?:)?\/\//)
			if (path.endsWith('.css')) {
				expect(text).not.toMatch(/@import\s+(url\()?\s*["']?(https?:)?\/\//i)
				expect(text).not.toMatch(/url\(\s*["']?(https?:)?\/\//i)
			}
		}
	})

	it('the page\'s scripts and styles weigh at most 150 KB gzipped, all together', async () => {
		let total = 0
		for (const path of assets) {
			const gzipped = await get(path, { encoding: 'gzip' })
			expect(gzipped.headers.get('content-encoding')).toBe('gzip')
			total += Number(gzipped.headers.get('content-length'))
		}
		expect(total).toBeGreaterThan(0)
		expect(total).toBeLessThanOrEqual(150_000)
	})
})
