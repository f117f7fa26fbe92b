import { Elysia, type AnyElysia } from 'elysia'
import { errorResponses, notImplemented } from './errors'

/**
 * Upstream routes this server does not have yet, each answering 501 with the error body: a client
 * (the SDK, the CLI) then shows a sentence, where a 404 would read as "not yours" or "gone".
 */
const MISSING: { paths: string[]; what: string }[] = [
	{ paths: ['/projects/:id/search', '/projects/:id/vectors', '/projects/:id/vector-indexes', '/projects/:id/vector-indexes/*'], what: 'Vector search' },
	{ paths: ['/nodes', '/nodes/*'], what: 'Nodes (the file tree behind `dreamlake upload`)' },
	{ paths: ['/assets', '/assets/*'], what: 'Assets' },
	{ paths: ['/collections', '/collections/*'], what: 'Collections' },
	{ paths: ['/datasets', '/datasets/*'], what: 'Datasets' },
	{ paths: ['/bindrs', '/bindrs/*'], what: 'Bindrs' },
]

/** `guard`: the caller guard (auth/guard.ts), whose `caller` macro makes these 401 without a token, as every data route is. */
export const notImplementedRoutes = <Guard extends AnyElysia>(guard: Guard) => {
	let app = new Elysia().use(guard)
	for (const { paths, what } of MISSING) {
		for (const path of paths) {
			app = app.all(
				path,
				() => {
					throw notImplemented(`${what}: not available on this server yet.`)
				},
				{ caller: true, response: errorResponses(401, 501), detail: { summary: `${what}: not available yet (501)`, tags: ['Not yet available'] } } as never,
			) as unknown as typeof app
		}
	}
	return app
}
