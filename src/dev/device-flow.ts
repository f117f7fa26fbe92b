import { BoundedMap } from '../bounded-map'

/**
 * vuer-auth's device flow (RFC 8628), as `dreamlake login` speaks it, for `serve --dev` and /idp
 * (IDENTITY=builtin, oidc): the
 * CLI starts a flow with the hash of its device secret, shows the person a code and a page, and
 * polls with the same hash until the person approves on the page. State lives in memory (a
 * development server's logins do not survive it, nor need to).
 */

/** An unambiguous alphabet: no 0/O, 1/I/L, so a code read aloud or off a phone is typed right. */
const ALPHABET = 'ABCDEFGHJKMNPQRSTUVWXYZ23456789'
export const CODE_TTL_MS = 10 * 60 * 1000
export const POLL_INTERVAL_S = 5
/** A poll this much sooner than the interval still passes: clocks and sleeps are not exact. */
const POLL_SLACK_MS = 1000

export interface Approval {
	/** The token's subject; the --dev stand-in makes it from the username. */
	sub?: string
	/** A token made already (the OpenID provider's ID token), handed to the device as is. */
	token?: string
	username: string
	name?: string
	email?: string
}

interface Flow {
	userCode: string
	deviceCode: string
	deviceSecretHash: string
	expiresAt: number
	lastPollAt: number | null
	state: 'pending' | 'approved' | 'denied' | 'done'
	approval?: Approval
	/** Who waits for the decision: `dreamlake login` in a terminal, or the dashboard's sign-in page. */
	from: FlowOrigin
}

export type FlowOrigin = 'cli' | 'dashboard'

/** What a poll answers: a token to mint for `approval`, or an RFC 8628 error code. */
export type PollOutcome = { approval: Approval } | { error: 'authorization_pending' | 'slow_down' | 'expired_token' | 'access_denied' | 'invalid_grant' | 'invalid_request'; description: string }

export class DeviceFlows {
	private readonly bySecret = new BoundedMap<string, Flow>(10_000)
	private readonly byCode = new BoundedMap<string, Flow>(10_000)

	constructor(
		private readonly ttlMs = CODE_TTL_MS,
		private readonly now: () => number = Date.now,
	) {}

	/** A new flow for this device, replacing any it had (a second `dreamlake login` starts over). */
	start(deviceSecretHash: string, from: FlowOrigin = 'cli'): Flow {
		const previous = this.bySecret.get(deviceSecretHash)
		if (previous) this.byCode.delete(previous.userCode)
		let userCode: string
		do userCode = randomCode(8)
		while (this.byCode.get(userCode))
		const flow: Flow = { userCode, deviceCode: crypto.randomUUID(), deviceSecretHash, expiresAt: this.now() + this.ttlMs, lastPollAt: null, state: 'pending', from }
		this.bySecret.set(deviceSecretHash, flow)
		this.byCode.set(userCode, flow)
		return flow
	}

	/** The pending flow a code (typed with or without its dash, in any case) names; a reason when none. */
	pending(code: string): Flow | { problem: string } {
		const flow = this.byCode.get(normalizeCode(code))
		if (!flow) return { problem: 'There is no login waiting for this code. Check it, or run dreamlake login again.' }
		if (this.now() >= flow.expiresAt) return { problem: 'This code has expired. Run dreamlake login again for a new one.' }
		if (flow.state !== 'pending') return { problem: 'This code has been used already. Run dreamlake login again for a new one.' }
		return flow
	}

	/** The person approves (or denies) the login waiting for `code`; each code once. */
	decide(code: string, decision: { approve: Approval } | { deny: true }): Flow | { problem: string } {
		const flow = this.pending(code)
		if ('problem' in flow) return flow
		if ('deny' in decision) flow.state = 'denied'
		else {
			flow.state = 'approved'
			flow.approval = decision.approve
		}
		return flow
	}

	/** The CLI polls with the hash of its device secret. */
	poll(deviceSecretHash: string): PollOutcome {
		const flow = this.bySecret.get(deviceSecretHash)
		if (!flow || flow.state === 'done') return { error: 'invalid_grant', description: 'No login is waiting for this device; run dreamlake login again.' }
		const now = this.now()
		if (now >= flow.expiresAt) return { error: 'expired_token', description: 'The code expired before it was approved.' }
		if (flow.state === 'denied') {
			this.forget(flow)
			return { error: 'access_denied', description: 'The login was denied.' }
		}
		const tooSoon = flow.lastPollAt !== null && now - flow.lastPollAt < POLL_INTERVAL_S * 1000 - POLL_SLACK_MS
		flow.lastPollAt = now
		if (tooSoon) return { error: 'slow_down', description: `Poll at most every ${POLL_INTERVAL_S} seconds.` }
		if (flow.state === 'pending') return { error: 'authorization_pending', description: 'Waiting for the person to approve the login.' }
		flow.state = 'done' // a token is handed out once
		this.forget(flow)
		return { approval: flow.approval! }
	}

	private forget(flow: Flow): void {
		this.bySecret.delete(flow.deviceSecretHash)
		this.byCode.delete(flow.userCode)
	}
}

/** `ABCDEFGH` from `abcd-efgh`, ` ABCD EFGH `, …. */
export const normalizeCode = (code: string) => code.toUpperCase().replace(/[^A-Z0-9]/g, '')

/** `ABCD-EFGH`, as people read it. */
export const displayCode = (code: string) => `${code.slice(0, 4)}-${code.slice(4)}`

function randomCode(length: number): string {
	const bytes = crypto.getRandomValues(new Uint8Array(length))
	let code = ''
	for (const byte of bytes) code += ALPHABET[byte % ALPHABET.length]
	return code
}
