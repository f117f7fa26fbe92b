import { forbidden } from '../http/errors'

/**
 * The dashboard's session: the dreamlake token in an `HttpOnly`, `SameSite=Strict` cookie, so no
 * script on the page can read it and no other site's page can send it. The API takes it beside the
 * bearer header (the header wins when both come). A write sent with the cookie must also carry
 * `X-DreamLake-CSRF: 1`: a page can add that header only to a request of its own origin (any other
 * origin would need a CORS preflight, which this server never grants), and a cross-site HTML form
 * cannot add one at all.
 */
export const SESSION_COOKIE = 'dreamlake_session'
/** The dashboard's pending device login (its device secret's key), for /auth/device/* only. */
export const LOGIN_COOKIE = 'dreamlake_login'
export const CSRF_HEADER = 'x-dreamlake-csrf'

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS'])

/** One cookie's value from a `Cookie` header, or undefined. */
export function cookieValue(header: string | null, name: string): string | undefined {
	if (!header) return undefined
	for (const part of header.split(';')) {
		const eq = part.indexOf('=')
		if (eq < 0 || part.slice(0, eq).trim() !== name) continue
		const value = part.slice(eq + 1).trim()
		return value === '' ? undefined : value
	}
	return undefined
}

/**
 * The `Authorization` value a request authenticates with: its own header, else `Bearer <cookie>`,
 * else null (the guard's 401). A cookie on a write without the CSRF header is a 403.
 */
export function credentials(request: Request): string | null {
	const header = request.headers.get('authorization')
	if (header !== null) return header
	const token = cookieValue(request.headers.get('cookie'), SESSION_COOKIE)
	if (token === undefined) return null
	if (!SAFE_METHODS.has(request.method)) requireCsrfHeader(request)
	return `Bearer ${token}`
}

/** The header only a page of this origin can add (see above); 403 without it. */
export function requireCsrfHeader(request: Request): void {
	if (request.headers.get(CSRF_HEADER) !== '1') throw forbidden('csrf_header_missing', 'A write from the dashboard (the session cookie, or a sign-in) must send the header "X-DreamLake-CSRF: 1".')
}

/** Whether the browser reached us over TLS: the URL's scheme, or a trusted proxy's X-Forwarded-Proto. */
export function overTls(request: Request, trustProxy: number): boolean {
	if (new URL(request.url).protocol === 'https:') return true
	if (trustProxy <= 0) return false
	const proto = request.headers.get('x-forwarded-proto')?.split(',').map((p) => p.trim().toLowerCase())
	return proto !== undefined && proto[proto.length - 1] === 'https'
}

export interface CookieOptions {
	/** Seconds; 0 deletes the cookie; undefined: until the browser closes. */
	maxAge?: number
	path?: string
	secure: boolean
}

/** A `Set-Cookie` value: always HttpOnly and SameSite=Strict. */
export function setCookie(name: string, value: string, { maxAge, path = '/', secure }: CookieOptions): string {
	return [`${name}=${value}`, `Path=${path}`, 'HttpOnly', 'SameSite=Strict', ...(secure ? ['Secure'] : []), ...(maxAge !== undefined ? [`Max-Age=${maxAge}`] : [])].join('; ')
}

export const clearCookie = (name: string, path: string, secure: boolean) => setCookie(name, '', { maxAge: 0, path, secure })
