// A real OpenID Connect provider for the tests (oidc-provider, certified): the device grant (unless
// OIDC_DEVICE_FLOW=0), the authorization code flow with PKCE, JWT access tokens for urn:test:api.
// Any username signs in with the password test-password. Adapted from ../shared/recipes/oidc-provider.md.
// env: OIDC_PORT, OIDC_REDIRECTS (comma-separated redirect URIs of the client "dreamlake"), OIDC_DEVICE_FLOW
import http from 'node:http'
import { Provider } from 'oidc-provider'
import { exportJWK, generateKeyPair } from 'jose'

const PORT = Number(process.env.OIDC_PORT)
const ISSUER = `http://127.0.0.1:${PORT}`
const REDIRECTS = (process.env.OIDC_REDIRECTS ?? '').split(',').filter(Boolean)
const DEVICE_FLOW = process.env.OIDC_DEVICE_FLOW !== '0'
const API = 'urn:test:api'
const PASSWORD = 'test-password'

const { privateKey } = await generateKeyPair('ES256', { extractable: true })
const signingKey = { ...(await exportJWK(privateKey)), kid: `test-${PORT}`, alg: 'ES256', use: 'sig' }
const escape = (text) => String(text).replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c])
const page = (title, body) => `<!doctype html><html><head><meta charset="utf-8"><title>${title}</title></head><body>${body}</body></html>`
const grants = ['authorization_code', 'refresh_token', ...(DEVICE_FLOW ? ['urn:ietf:params:oauth:grant-type:device_code'] : [])]

const provider = new Provider(ISSUER, {
	clients: [
		{ client_id: 'dreamlake', token_endpoint_auth_method: 'none', grant_types: grants, response_types: ['code'], redirect_uris: REDIRECTS },
		// a confidential client: it authenticates with HTTP Basic (client_secret_basic)
		{ client_id: 'dreamlake-confidential', client_secret: 'a-test-client-secret-that-is-long', token_endpoint_auth_method: 'client_secret_basic', grant_types: grants, response_types: ['code'], redirect_uris: REDIRECTS },
		// another application of the same provider: its tokens are for another audience
		{ client_id: 'other-app', token_endpoint_auth_method: 'none', grant_types: grants, response_types: ['code'], redirect_uris: REDIRECTS },
	],
	clientDefaults: { id_token_signed_response_alg: 'ES256' },
	jwks: { keys: [signingKey] },
	cookies: { keys: ['test-cookie-key-not-secret'] },
	pkce: { required: () => true },
	scopes: ['openid', 'email', 'profile', 'offline_access', 'api:read'],
	claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name', 'preferred_username'] },
	async findAccount(ctx, id) {
		// the subject is not the username, as at real providers
		const name = id.replace(/^op-/, '')
		return { accountId: id, async claims() { return { sub: id, email: `${name}@example.test`, email_verified: true, name: `${name[0].toUpperCase()}${name.slice(1)} Example`, preferred_username: name } } }
	},
	interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
	features: {
		devInteractions: { enabled: false },
		deviceFlow: {
			enabled: DEVICE_FLOW,
			// plain pages: the defaults load a web font from the internet
			userCodeInputSource: (ctx, form, out, err) => { ctx.body = page('Enter code', `${err ? `<p class="error">${err.name}</p>` : ''}${form}<button type="submit" form="op.deviceInputForm">Continue</button>`) },
			userCodeConfirmSource: (ctx, form, client, deviceInfo, userCode) => { ctx.body = page('Confirm device', `<p>${client.clientId} shows <code>${userCode}</code></p>${form}<button type="submit" form="op.deviceConfirmForm">Continue</button>`) },
			successSource: (ctx) => { ctx.body = page('Device approved', '<p>You can close this page.</p>') },
		},
		resourceIndicators: {
			enabled: true,
			defaultResource: () => API,
			useGrantedResource: () => true,
			getResourceServerInfo: (ctx, resource) => {
				if (resource !== API) throw new Error(`unknown resource ${resource}`)
				return { audience: API, scope: 'api:read', accessTokenTTL: 600, accessTokenFormat: 'jwt', jwt: { sign: { alg: 'ES256' } } }
			},
		},
	},
	ttl: { DeviceCode: 600, AccessToken: 600, IdToken: 600, RefreshToken: 3600, Interaction: 600, Session: 3600, Grant: 3600 },
})

async function readForm(req) {
	const chunks = []
	for await (const c of req) chunks.push(c)
	return Object.fromEntries(new URLSearchParams(Buffer.concat(chunks).toString()))
}

// the provider's sign-in: any username with the one password, then consent
async function interaction(req, res, uid, action) {
	const details = await provider.interactionDetails(req, res)
	const { prompt, params, session } = details
	if (action === 'abort') return provider.interactionFinished(req, res, { error: 'access_denied', error_description: 'user aborted' }, { mergeWithLastSubmission: false })
	if (req.method === 'GET') {
		res.setHeader('content-type', 'text/html; charset=utf-8')
		return res.end(
			prompt.name === 'login'
				? page('Sign in', `<form method="post" action="/interaction/${uid}/login"><label>Username <input name="login"></label><label>Password <input name="password" type="password"></label><button>Sign in</button></form><form method="post" action="/interaction/${uid}/abort"><button>Cancel</button></form>`)
				: page('Consent', `<form method="post" action="/interaction/${uid}/confirm"><p>Allow ${escape(params.client_id)}: ${escape(params.scope)}?</p><button>Allow</button></form>`),
		)
	}
	const form = await readForm(req)
	if (action === 'login' && prompt.name === 'login') {
		if (!form.login || form.password !== PASSWORD) {
			res.statusCode = 401
			return res.end(page('Sign in', '<p>invalid credentials</p>'))
		}
		return provider.interactionFinished(req, res, { login: { accountId: `op-${form.login}` } }, { mergeWithLastSubmission: false })
	}
	if (action === 'confirm' && prompt.name === 'consent') {
		const grant = details.grantId ? await provider.Grant.find(details.grantId) : new provider.Grant({ accountId: session.accountId, clientId: params.client_id })
		const d = prompt.details
		if (d.missingOIDCScope) grant.addOIDCScope(d.missingOIDCScope.join(' '))
		if (d.missingOIDCClaims) grant.addOIDCClaims(d.missingOIDCClaims)
		for (const [indicator, scopes] of Object.entries(d.missingResourceScopes ?? {})) grant.addResourceScope(indicator, scopes.join(' '))
		return provider.interactionFinished(req, res, { consent: { grantId: await grant.save() } }, { mergeWithLastSubmission: true })
	}
	res.statusCode = 400
	res.end(page('Error', `unexpected ${escape(action)} for prompt ${escape(prompt.name)}`))
}

const oidc = provider.callback()
const server = http.createServer((req, res) => {
	const m = /^\/interaction\/([\w-]+)(?:\/(login|confirm|abort))?$/.exec(req.url.split('?')[0])
	if (!m) return oidc(req, res)
	interaction(req, res, m[1], m[2]).catch((err) => {
		res.statusCode = 400
		res.end(page('Error', escape(err.message)))
	})
})
server.listen(PORT, '127.0.0.1', () => console.log(`oidc-provider listening ${ISSUER}`))
process.on('SIGTERM', () => process.exit(0))
