import { Elysia, t } from 'elysia'
import type { DeviceAuthority } from '../auth/device-authority'
import { jsonBody } from '../http/body'

const DeviceSecretHash = t.String({ pattern: '^[0-9a-fA-F]{64}$', error: 'must be the sha256 of the device secret, 64 hexadecimal digits' })

/**
 * vuer-auth's device API as `dreamlake login` calls it (VUER_AUTH_URL=<server><prefix>):
 * POST …/api/device/start and …/api/device/poll, answering in RFC 8628's terms
 * (`{error: "authorization_pending"}`, 400) as vuer-auth does. Served by the --dev stand-in and by
 * /idp (IDENTITY=builtin or oidc); what approves a code is the authority's business.
 */
export const deviceApiRoutes = (prefix: string, authority: DeviceAuthority, { tag, what }: { tag: string; what: string }) =>
	new Elysia({ prefix })
		.use(jsonBody)
		.post(
			'/api/device/start',
			async ({ body, request }) => {
				const flow = await authority.start(body.device_secret_hash.toLowerCase(), new URL(request.url).origin)
				return {
					device_code: flow.deviceCode,
					user_code: flow.userCode,
					verification_uri: flow.verificationUri,
					verification_uri_complete: flow.verificationUriComplete,
					expires_in: flow.expiresIn,
					interval: flow.interval,
				}
			},
			{
				parse: ['json64KiB', 'json'],
				body: t.Object({ client_id: t.Optional(t.String()), scope: t.Optional(t.String()), device_secret_hash: DeviceSecretHash }, { additionalProperties: true }),
				detail: { summary: `${what}: start \`dreamlake login\`’s device flow`, tags: [tag] },
			},
		)
		.post(
			'/api/device/poll',
			async ({ body }) => {
				const outcome = await authority.poll(body.device_secret_hash.toLowerCase())
				if ('error' in outcome) {
					return Response.json({ error: outcome.error, error_description: outcome.description, success: false, code: outcome.error }, { status: 400 })
				}
				return { access_token: outcome.accessToken, token_type: 'Bearer', expires_in: outcome.expiresIn ?? 300 }
			},
			{
				parse: ['json64KiB', 'json'],
				body: t.Object({ client_id: t.Optional(t.String()), device_secret_hash: DeviceSecretHash }, { additionalProperties: true }),
				detail: { summary: `${what}: poll \`dreamlake login\`’s device flow (RFC 8628 errors)`, tags: [tag] },
			},
		)
