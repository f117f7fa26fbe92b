import { join } from 'node:path'

/** A free loopback port (the provider must know the server's redirect URI before the server starts). */
export function freePort(): number {
	const probe = Bun.serve({ port: 0, hostname: '127.0.0.1', fetch: () => new Response() })
	const port = probe.port!
	probe.stop(true)
	return port
}

export interface TestProvider {
	issuer: string
	discovery: Record<string, string>
	stop(): void
}

/** Starts test/support/oidc-provider.mjs (a real oidc-provider) as a process; resolves once its discovery answers. */
export async function startProvider({ redirects, deviceFlow }: { redirects: string[]; deviceFlow: boolean }): Promise<TestProvider> {
	const port = freePort()
	const issuer = `http://127.0.0.1:${port}`
	const child = Bun.spawn([process.execPath, join(import.meta.dir, 'oidc-provider.mjs')], {
		env: { PATH: process.env.PATH ?? '', OIDC_PORT: String(port), OIDC_REDIRECTS: redirects.join(','), OIDC_DEVICE_FLOW: deviceFlow ? '1' : '0', NODE_ENV: 'test' },
		stdout: 'ignore',
		stderr: 'pipe',
	})
	for (let i = 0; i < 200; i++) {
		try {
			const response = await fetch(`${issuer}/.well-known/openid-configuration`)
			if (response.ok) return { issuer, discovery: (await response.json()) as Record<string, string>, stop: () => child.kill() }
		} catch {}
		await Bun.sleep(50)
	}
	child.kill()
	throw new Error(`oidc-provider did not start:\n${await new Response(child.stderr).text()}`)
}

/** fetch with a cookie jar and manual redirects, as one person's browser; stops at a URL starting with `stopAt`. */
export function browser() {
	const jar = new Map<string, string>()
	return async function go(url: string, form?: Record<string, string>, stopAt?: string): Promise<{ url: string; status: number; html: string; headers: Headers }> {
		let init: RequestInit = form ? { method: 'POST', body: new URLSearchParams(form) } : {}
		for (let hop = 0; hop < 15; hop++) {
			const cookie = [...jar].map(([k, v]) => `${k}=${v}`).join('; ')
			const response = await fetch(url, { ...init, redirect: 'manual', headers: cookie ? { cookie } : {} })
			for (const c of response.headers.getSetCookie()) {
				const [, name, value] = /^([^=]+)=([^;]*)/.exec(c)!
				if (value && !/max-age=0|expires=Thu, 01 Jan 1970/i.test(c)) jar.set(name!, value)
				else jar.delete(name!)
			}
			const location = response.headers.get('location')
			if (!location) return { url, status: response.status, html: await response.text(), headers: response.headers }
			url = new URL(location, url).href
			init = {}
			if (stopAt && url.startsWith(stopAt)) return { url, status: response.status, html: '', headers: response.headers }
		}
		throw new Error('redirect loop')
	}
}

export type Browser = ReturnType<typeof browser>

/** At the provider's pages: sign in (and consent when asked); `r` is the page the provider showed. */
export async function signInAtProvider(go: Browser, r: Awaited<ReturnType<Browser>>, login: string, password = 'test-password', stopAt?: string) {
	r = await go(`${r.url}/login`, { login, password }, stopAt)
	if (/<title>Consent/.test(r.html)) r = await go(`${r.url}/confirm`, {}, stopAt)
	return r
}

/** What a person does at the provider's verification_uri: enter the code, sign in, consent. */
export async function approveDevice({ verificationUri, userCode }: { verificationUri: string; userCode: string }, login: string, password = 'test-password') {
	const go = browser()
	const { html } = await go(verificationUri)
	const xsrf = /name="xsrf" value="([^"]+)"/.exec(html)![1]!
	let r = await go(verificationUri, { xsrf, user_code: userCode, confirm: 'yes' })
	r = await signInAtProvider(go, r, login, password)
	if (!/<title>Device approved/.test(r.html)) throw new Error(`device approval failed: ${r.status} ${r.html}`)
}

/** A provider's tokens for `login` through the code flow of `clientId`, as a test makes them (to hand to /auth/exchange). */
export async function providerTokens(provider: TestProvider, clientId: string, redirectUri: string, login: string): Promise<{ id_token: string; access_token: string }> {
	const verifier = Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString('base64url')
	const challenge = new Bun.CryptoHasher('sha256').update(verifier).digest('base64url')
	const go = browser()
	const query = new URLSearchParams({ client_id: clientId, response_type: 'code', redirect_uri: redirectUri, scope: 'openid profile email', state: 's', nonce: 'n', code_challenge: challenge, code_challenge_method: 'S256' })
	let r = await go(`${provider.discovery.authorization_endpoint}?${query}`, undefined, redirectUri)
	r = await signInAtProvider(go, r, login, 'test-password', redirectUri)
	const code = new URL(r.url).searchParams.get('code')!
	const response = await fetch(provider.discovery.token_endpoint!, { method: 'POST', body: new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: redirectUri, client_id: clientId, code_verifier: verifier }) })
	if (!response.ok) throw new Error(`token request failed: ${response.status} ${await response.text()}`)
	return (await response.json()) as { id_token: string; access_token: string }
}
