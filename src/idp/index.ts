import { Elysia } from 'elysia'
import type { DeviceAuthority } from '../auth/device-authority'
import { DeviceFlows, displayCode, POLL_INTERVAL_S, type Approval, type FlowOrigin } from '../dev/device-flow'
import { deviceApiRoutes } from './device-api'
import { LocalSigningKey } from './signing-key'

/** Where the server's own identity provider is served: `VUER_AUTH_URL=<server>/idp dreamlake login --url <server>`. */
export const IDP_PREFIX = '/idp'
export const IDP_ISSUER = 'dreamlake-idp'
export const IDP_KEY_FILE = 'idp-key.json'
/** A token of /idp is exchanged at once (the CLI does it within a second): a short life is enough. */
export const IDP_TOKEN_LIFETIME_SECONDS = 300

/**
 * The server's own stand-in for vuer-auth under IDENTITY=builtin (and oidc without the provider's
 * device grant): `dreamlake login`'s device flow at /idp, with the code approved on a page of
 * the mode's (the password form, or the provider's sign-in), and a token signed with the
 * data folder's key (idp-key.json, mode 0600) that /auth/exchange trusts, and nothing else.
 */
export class ServerIdentityProvider {
	readonly devices: DeviceFlows

	private constructor(
		private readonly key: LocalSigningKey,
		codeTtlMs?: number,
	) {
		this.devices = new DeviceFlows(codeTtlMs)
	}

	static async open(folder: string | null, options: { codeTtlMs?: number } = {}): Promise<ServerIdentityProvider> {
		return new ServerIdentityProvider(await LocalSigningKey.open(folder, IDP_KEY_FILE, 'idp'), options.codeTtlMs)
	}

	get publicJwk() {
		return this.key.publicJwk
	}

	/** The token for an approved code: the approval's `sub` and profile. */
	mint(approval: Approval): Promise<string> {
		const { sub, username, name, email } = approval
		return this.key.sign({ username, ...(name && { name }), ...(email && { email }) }, { subject: sub ?? username, issuer: IDP_ISSUER, lifetimeSeconds: IDP_TOKEN_LIFETIME_SECONDS })
	}

	/** The device flow in-process: the CLI's over HTTP (routes), the dashboard's through auth/browser-session.ts. */
	deviceAuthority(from: FlowOrigin = 'dashboard'): DeviceAuthority {
		return {
			start: async (deviceSecretHash, origin) => {
				const flow = this.devices.start(deviceSecretHash, from)
				const page = `${origin}${IDP_PREFIX}/device`
				return { deviceCode: flow.deviceCode, userCode: displayCode(flow.userCode), verificationUri: page, verificationUriComplete: `${page}?code=${flow.userCode}`, expiresIn: Math.round((flow.expiresAt - Date.now()) / 1000), interval: POLL_INTERVAL_S }
			},
			poll: async (deviceSecretHash) => {
				const outcome = this.devices.poll(deviceSecretHash)
				if ('error' in outcome) return outcome
				return { accessToken: outcome.approval.token ?? (await this.mint(outcome.approval)), expiresIn: IDP_TOKEN_LIFETIME_SECONDS }
			},
		}
	}

	/** POST /idp/api/device/start and /idp/api/device/poll; the page that approves a code is the mode's. */
	routes(authority: DeviceAuthority = this.deviceAuthority('cli')) {
		return new Elysia().use(deviceApiRoutes(IDP_PREFIX, authority, { tag: 'Identity', what: 'dreamlake login' }))
	}
}
