import { BoundedMap } from '../bounded-map'
import { isValidUsername, USERNAME_RULE } from '../auth/model'
import { newUuid } from '../db/ids'
import type { DbMeter } from '../db/meter'
import type { PasswordAccountRow } from '../db/schema'
import type { Tx } from '../db/write-queue'
import { ApiError, badRequest, conflict, forbidden, notFound, unauthorized } from '../http/errors'
import { RateLimiter } from '../http/rate-limit'
import { AccountNameTakenError, type PasswordAccountRepository } from './repository'

/** The `sub` of a built-in account's user: stable when the username changes. */
export const BUILTIN_SUB_PREFIX = 'builtin|'
export const builtinSub = (accountId: string) => `${BUILTIN_SUB_PREFIX}${accountId}`

/** Wrong passwords in a row before an account (or an unknown username) is locked, and for how long. */
export const MAX_FAILURES = 5
export const LOCK_MS = 15 * 60_000
/** How long a set-password link printed by `user add` / `user reset-password` works. */
export const LINK_TTL_MS = 7 * 24 * 3600_000
export const MIN_PASSWORD_LENGTH = 8
export const MAX_PASSWORD_BYTES = 1024
/** OWASP's argon2id floor (19 MiB, 2 passes): a burst of sign-ins cannot take gigabytes, as Bun's 64 MiB default could. */
const HASH_OPTIONS = { algorithm: 'argon2id', memoryCost: 19_456, timeCost: 2 } as const

export interface PasswordLink {
	url: string
	expiresAt: Date
}

export interface PasswordAccountsOptions {
	/** Where the set-password page is reached: PUBLIC_URL, else http://HOST:PORT. */
	publicUrl: string
	/** Password attempts per minute per client address (RATE_LIMIT_EXCHANGE); 0: unlimited. */
	perMinute: number
	/** Revokes every dreamlake token of a user inside the caller's transaction (`user disable`). */
	revokeTokens: (tx: Tx, sub: string) => void
	now?: () => number
}

/** Strikes against a username nobody has, so a lock (and its sentence) cannot tell which usernames exist. */
interface Strikes {
	failures: number
	lockedUntil: number | null
}

/**
 * Built-in accounts' logic (IDENTITY=builtin): argon2id through `Bun.password`, which hashes on a
 * thread of its own, so a sign-in never holds up other requests; a per-address limit and a
 * per-account lock; an unknown username costs a hash against a dummy and answers as a wrong password.
 */
export class PasswordAccounts {
	private readonly dummyHash: Promise<string>
	private readonly limiter: RateLimiter | undefined
	private readonly strangers = new BoundedMap<string, Strikes>(10_000)
	private readonly now: () => number

	constructor(
		private readonly repo: PasswordAccountRepository,
		private readonly options: PasswordAccountsOptions,
	) {
		this.now = options.now ?? Date.now
		this.dummyHash = Bun.password.hash(crypto.randomUUID(), HASH_OPTIONS)
		this.limiter = options.perMinute > 0 ? new RateLimiter(options.perMinute, 100_000, this.now) : undefined
	}

	list(meter: DbMeter): PasswordAccountRow[] {
		return this.repo.list(meter)
	}

	/** `user add`: the account, without a password, and the one-time link that sets it. */
	async add(meter: DbMeter, username: string, isAdmin: boolean): Promise<{ account: PasswordAccountRow; link: PasswordLink }> {
		if (!isValidUsername(username)) throw badRequest('invalid_username', `"${username}" is not a username: it ${USERNAME_RULE}.`)
		const { token, tokenHash, expiresAt } = this.newLinkToken()
		try {
			const account = await this.repo.add(meter, { id: newUuid(), username, isAdmin }, { tokenHash, expiresAt })
			return { account, link: this.linkOf(token, expiresAt) }
		} catch (error) {
			if (error instanceof AccountNameTakenError) throw conflict('username_taken', `There is already an account "${username}".`)
			throw error
		}
	}

	/** A new person makes their own account, with an invitation to a team (checked by the caller): limited per address like a sign-in. */
	async signUp(meter: DbMeter, username: string, password: string, address: string): Promise<PasswordAccountRow> {
		this.limiter?.take(address)
		const name = username.trim()
		if (!isValidUsername(name)) throw badRequest('invalid_username', `"${name}" is not a username: it ${USERNAME_RULE}.`)
		checkNewPassword(password)
		if (this.repo.byUsername(meter, name)) throw conflict('username_taken', `The username "${name}" is taken; choose another.`)
		const passwordHash = await Bun.password.hash(password, HASH_OPTIONS)
		try {
			return await this.repo.addWithPassword(meter, { id: newUuid(), username: name, passwordHash })
		} catch (error) {
			if (error instanceof AccountNameTakenError) throw conflict('username_taken', `The username "${name}" is taken; choose another.`)
			throw error
		}
	}

	/** `user reset-password`: a new one-time link; the old password works until the link is used. */
	async resetPassword(meter: DbMeter, username: string): Promise<{ account: PasswordAccountRow; link: PasswordLink }> {
		const account = this.named(meter, username)
		if (account.disabledAt) throw forbidden('account_disabled', `The account "${account.username}" is disabled.`)
		const { token, tokenHash, expiresAt } = this.newLinkToken()
		await this.repo.newLink(meter, account.id, { tokenHash, expiresAt })
		return { account, link: this.linkOf(token, expiresAt) }
	}

	/** `user disable`: no more sign-ins, and every dreamlake token of the account's user stops working. */
	async disable(meter: DbMeter, username: string): Promise<PasswordAccountRow> {
		const account = this.named(meter, username)
		return (await this.repo.disable(meter, account.id, (tx) => this.options.revokeTokens(tx, builtinSub(account.id))))!
	}

	/** Whether a sign-in of this user may (still) be exchanged: the account exists and is not disabled. */
	admits(meter: DbMeter, sub: string): boolean {
		if (!sub.startsWith(BUILTIN_SUB_PREFIX)) return false
		const account = this.repo.byId(meter, sub.slice(BUILTIN_SUB_PREFIX.length))
		return account !== undefined && account.disabledAt === null
	}

	/** Whether `sub` is a built-in account that was disabled (its API keys then stop working too); false for any other person. */
	disabled(meter: DbMeter, sub: string): boolean {
		if (!sub.startsWith(BUILTIN_SUB_PREFIX)) return false
		return this.repo.byId(meter, sub.slice(BUILTIN_SUB_PREFIX.length))?.disabledAt != null
	}

	/** The account a set-password link names, or 410 when the link is unknown, used or expired. */
	linkAccount(meter: DbMeter, token: string): PasswordAccountRow {
		const account = token === '' ? undefined : this.repo.linkAccount(meter, hashToken(token), this.now())
		if (!account) throw linkGone()
		return account
	}

	/** The set-password page's form: the link is used up, the password set. */
	async setPasswordWithLink(meter: DbMeter, token: string, password: string): Promise<PasswordAccountRow> {
		checkNewPassword(password)
		this.linkAccount(meter, token)
		const hash = await Bun.password.hash(password, HASH_OPTIONS)
		const account = await this.repo.setPasswordWithLink(meter, hashToken(token), hash, this.now())
		if (!account) throw linkGone() // used by another request while this one hashed
		return account
	}

	/**
	 * A username and password, checked: the account, or the error to answer. The address's limit
	 * first (no hash is spent on a flood), then the lock, then one argon2id verification, against
	 * a dummy hash when there is no such account (or it has no password yet), so time and answer match.
	 */
	async signIn(meter: DbMeter, username: string, password: string, address: string): Promise<PasswordAccountRow> {
		this.limiter?.take(address)
		const name = username.trim()
		const account = name === '' ? undefined : this.repo.byUsername(meter, name)
		const strikes: Strikes = account ? { failures: account.failedAttempts, lockedUntil: account.lockedUntil?.getTime() ?? null } : (this.strangers.get(name.toLowerCase()) ?? { failures: 0, lockedUntil: null })
		const now = this.now()
		if (strikes.lockedUntil !== null && strikes.lockedUntil > now) throw locked(strikes.lockedUntil, now)
		const hash = account?.passwordHash ?? (await this.dummyHash)
		const matches = Buffer.byteLength(password) <= MAX_PASSWORD_BYTES && (await Bun.password.verify(password, hash))
		if (matches && account?.passwordHash) {
			if (account.disabledAt) throw forbidden('account_disabled', 'This account is disabled; ask the server\'s administrator.')
			if (account.failedAttempts > 0 || account.lockedUntil) await this.repo.clearFailures(meter, account.id)
			return account
		}
		// a lock that ran out starts the count again
		const failures = (strikes.lockedUntil !== null ? 0 : strikes.failures) + 1
		const lockedUntil = failures >= MAX_FAILURES ? now + LOCK_MS : null
		if (account) await this.repo.recordFailure(meter, account.id, failures, lockedUntil === null ? null : new Date(lockedUntil))
		else if (name !== '') this.strangers.set(name.toLowerCase(), { failures, lockedUntil })
		if (lockedUntil !== null) throw locked(lockedUntil, now)
		throw wrongCredentials()
	}

	/** The dashboard's change of password: the current one checked as a sign-in is (limits and lock included). */
	async changePassword(meter: DbMeter, sub: string, current: string, next: string, address: string): Promise<void> {
		const account = sub.startsWith(BUILTIN_SUB_PREFIX) ? this.repo.byId(meter, sub.slice(BUILTIN_SUB_PREFIX.length)) : undefined
		if (!account) throw notFound('account_not_found', 'This user has no built-in account, so no password to change.')
		checkNewPassword(next)
		await this.signIn(meter, account.username, current, address)
		await this.repo.setPassword(meter, account.id, await Bun.password.hash(next, HASH_OPTIONS))
	}

	private named(meter: DbMeter, username: string): PasswordAccountRow {
		const account = this.repo.byUsername(meter, username.trim())
		if (!account) throw notFound('account_not_found', `There is no account "${username}".`)
		return account
	}

	private newLinkToken() {
		const token = Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString('base64url')
		return { token, tokenHash: hashToken(token), expiresAt: new Date(this.now() + LINK_TTL_MS) }
	}

	private linkOf(token: string, expiresAt: Date): PasswordLink {
		return { url: `${this.options.publicUrl}${SET_PASSWORD_PATH}?token=${token}`, expiresAt }
	}
}

export const SET_PASSWORD_PATH = '/idp/set-password'

const hashToken = (token: string) => new Bun.CryptoHasher('sha256').update(token).digest('hex')

export function checkNewPassword(password: string): void {
	if ([...password].length < MIN_PASSWORD_LENGTH) throw badRequest('password_too_short', `The password must be at least ${MIN_PASSWORD_LENGTH} characters long.`)
	if (Buffer.byteLength(password) > MAX_PASSWORD_BYTES) throw badRequest('password_too_long', `The password must be at most ${MAX_PASSWORD_BYTES} bytes long.`)
}

const wrongCredentials = () => unauthorized('invalid_credentials', 'The username or password is wrong.')
const linkGone = () => new ApiError(410, 'link_expired', 'This set-password link is unknown, used already or expired; ask the administrator for a new one (dreamlake-server user reset-password).')

function locked(until: number, now: number): ApiError {
	const minutes = Math.max(1, Math.ceil((until - now) / 60_000))
	const at = new Date(until).toISOString().slice(11, 16)
	return new ApiError(429, 'account_locked', `Too many wrong passwords for this account; it unlocks at ${at} UTC (in ${minutes} minute${minutes === 1 ? '' : 's'}).`, undefined, { 'retry-after': String(Math.ceil((until - now) / 1000)) })
}
