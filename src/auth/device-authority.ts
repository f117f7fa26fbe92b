/**
 * The identity provider's side of the device flow (RFC 8628) as vuer-auth speaks it to
 * `dreamlake login`: `POST <VUER_AUTH_URL>/api/device/start {client_id, scope, device_secret_hash}`
 * and `POST …/api/device/poll {client_id, device_secret_hash}`. The dashboard cannot call the
 * provider from the browser (another origin), so the server does, through this interface: over
 * HTTP to vuer-auth, or in-process to the stand-in of `serve --dev`.
 */
export interface DeviceAuthority {
	start(deviceSecretHash: string, origin: string): Promise<DeviceStart>
	poll(deviceSecretHash: string): Promise<DevicePoll>
}

export interface DeviceStart {
	/** The provider's handle of the flow: stays on the server (the device secret's hash is what polls). */
	deviceCode: string
	userCode: string
	verificationUri: string
	verificationUriComplete: string
	/** Seconds. */
	expiresIn: number
	/** Seconds between polls. */
	interval: number
}

/** A vuer-auth token, or RFC 8628's error code (`authorization_pending`, `slow_down`, `access_denied`, `expired_token`, …). */
export type DevicePoll = { accessToken: string; expiresIn?: number } | { error: string; description?: string }

/** `dreamlake login`'s client id: vuer-auth knows the SDK's flow under it. */
export const DEVICE_CLIENT_ID = 'dreamlake-app'
const SCOPE = 'openid profile email'
const TIMEOUT_MS = 10_000

/** Thrown when the provider cannot be reached or answers something unreadable (the route's 502). */
export class DeviceAuthorityError extends Error {}

export function httpDeviceAuthority(vuerAuthUrl: string, fetchImpl: typeof fetch = fetch): DeviceAuthority {
	const call = async (path: string, body: object): Promise<{ status: number; json: Record<string, unknown> }> => {
		let response: Response
		try {
			response = await fetchImpl(`${vuerAuthUrl}${path}`, {
				method: 'POST',
				headers: { 'content-type': 'application/json', accept: 'application/json' },
				body: JSON.stringify(body),
				redirect: 'error',
				signal: AbortSignal.timeout(TIMEOUT_MS),
			})
		} catch {
			throw new DeviceAuthorityError(`could not reach ${vuerAuthUrl}${path}`)
		}
		let json: unknown
		try {
			json = await response.json()
		} catch {
			throw new DeviceAuthorityError(`${vuerAuthUrl}${path} answered ${response.status} without JSON`)
		}
		if (typeof json !== 'object' || json === null) throw new DeviceAuthorityError(`${vuerAuthUrl}${path} answered ${response.status} with no object`)
		return { status: response.status, json: json as Record<string, unknown> }
	}
	return {
		async start(deviceSecretHash) {
			const { status, json } = await call('/api/device/start', { client_id: DEVICE_CLIENT_ID, scope: SCOPE, device_secret_hash: deviceSecretHash })
			const userCode = json.user_code
			const uri = json.verification_uri
			if (status !== 200 || typeof userCode !== 'string' || typeof uri !== 'string' || !/^https?:\/\//.test(uri)) {
				throw new DeviceAuthorityError(`vuer-auth refused to start a device login (${status})`)
			}
			const complete = typeof json.verification_uri_complete === 'string' && /^https?:\/\//.test(json.verification_uri_complete) ? json.verification_uri_complete : `${uri}?code=${encodeURIComponent(userCode.replace(/-/g, ''))}`
			return {
				deviceCode: typeof json.device_code === 'string' ? json.device_code : '',
				userCode,
				verificationUri: uri,
				verificationUriComplete: complete,
				expiresIn: positive(json.expires_in, 600),
				interval: positive(json.interval, 5),
			}
		},
		async poll(deviceSecretHash) {
			const { status, json } = await call('/api/device/poll', { client_id: DEVICE_CLIENT_ID, device_secret_hash: deviceSecretHash })
			if (status === 200 && typeof json.access_token === 'string') return { accessToken: json.access_token }
			if (typeof json.error === 'string') return { error: json.error, ...(typeof json.error_description === 'string' && { description: json.error_description }) }
			throw new DeviceAuthorityError(`vuer-auth answered a poll with ${status} and no error code`)
		},
	}
}

const positive = (value: unknown, fallback: number) => (typeof value === 'number' && Number.isFinite(value) && value > 0 ? Math.round(value) : fallback)
