import { isDiskFull } from '../db/client'
import { conflict, forbidden, internal, notFound, unauthorized } from '../http/errors'
import { describeError, type Logger } from '../log'
import type { DreamlakeClaims, DreamlakeTokens } from './dreamlake-token'
import { isValidUsername, profileChanges, type ProfilePatch } from './model'
import { newUuid } from '../db/ids'
import type { DbMeter } from '../db/meter'
import type { ApiKeyRow } from '../db/schema'
import type { NamespaceRef } from '../namespaces/model'
import { UsernameTakenError, type AccountRepository, type NewUser } from './repository'
import type { Account } from './model'
import type { VuerAuthVerifier, VuerIdentity } from './vuer-auth'
import { personalNamespaceSlug } from '../namespaces/slug'

export interface ExchangeResult {
	token: string
	account: Account
	isNewUser: boolean
}

/** The Auth feature's logic; knows tokens and accounts, not HTTP. */
export class AuthService {
	constructor(
		private readonly vuerAuth: VuerAuthVerifier,
		private readonly tokens: DreamlakeTokens,
		readonly accounts: AccountRepository,
		private readonly log: Logger,
		/** Who verifies API keys (namespaces/api-keys.ts); without it, every key is refused. */
		private readonly keys?: { verify(meter: DbMeter, secret: string): { row: ApiKeyRow; namespace: NamespaceRef } | undefined },
		/** Under IDENTITY=builtin: whether the sub's account may sign in (not disabled); every sub may otherwise. */
		private readonly admits?: (meter: DbMeter, sub: string) => boolean,
		/** Under IDENTITY=builtin: whether the sub's account was disabled, which stops the API keys it made. */
		private readonly disabled?: (meter: DbMeter, sub: string) => boolean,
	) {}

	/** POST /auth/exchange: a verified vuer-auth token buys a dreamlake token; the first one creates the account. */
	async exchangeVuerToken(meter: DbMeter, vuerToken: string): Promise<ExchangeResult> {
		return this.signIn(meter, await this.vuerAuth.verify(vuerToken))
	}

	/** A person whose identity was checked (a verified token, or a built-in password) gets a dreamlake token; the first time creates the account. */
	async signIn(meter: DbMeter, identity: VuerIdentity): Promise<ExchangeResult> {
		if (this.admits && !this.admits(meter, identity.sub)) throw forbidden('account_disabled', 'This account is disabled; ask the server\'s administrator.')
		let result: { account: Account; created: boolean }
		try {
			result = await this.accounts.findOrCreate(meter, identity.sub, () => newUserFromIdentity(identity))
		} catch (error) {
			if (isDiskFull(error)) throw error // the error handler's 507, as for every write
			this.log.error('failed to create user account', describeError(error))
			throw internal('user_creation_failed', 'Failed to create user account.')
		}
		if (result.created) this.log.info('user created', { userId: result.account.user.id, namespace: result.account.namespace.slug })
		const token = await this.tokens.sign(result.account.user)
		return { token, account: result.account, isNewUser: result.created }
	}

	/** The account an API key acts for (its creator's, marked with the key); a 401 for a key unknown, revoked or expired. */
	keyAccount(meter: DbMeter, secret: string): Account {
		const key = this.keys?.verify(meter, secret)
		const creator = key && this.accounts.findById(meter, key.row.createdBy)
		if (!key || !creator) throw unauthorized('invalid_api_key', 'The API key is unknown, revoked or expired; create another in the namespace.')
		if (this.disabled?.(meter, creator.user.sub)) throw unauthorized('invalid_api_key', 'The API key was made by an account that is disabled; ask the server\'s administrator.')
		// the key's namespace is its caller's home: GET /auth/me names it, so the SDK writes there by default
		return { user: creator.user, namespace: key.namespace, key: { id: key.row.id, name: key.row.name, namespaceId: key.row.namespaceId, role: key.row.role } }
	}

	/** The caller behind a dreamlake token (signature, algorithm, issuer, audience and expiry checked). */
	authenticate(authorization: string | null): DreamlakeClaims | Promise<DreamlakeClaims> {
		return this.tokens.authenticate(authorization)
	}

	/** GET /auth/me: the caller's account, re-created from the token's claims if it is gone. */
	currentAccount(meter: DbMeter, caller: DreamlakeClaims): Account | Promise<Account> {
		const known = this.accounts.cached(caller.sub) // synchronous when in memory: no promise on the hot path
		return known ? current(known, caller) : this.findOrCreateAccount(meter, caller)
	}

	/** Not in memory: a plain read first, so a GET takes the write lock only to re-create a user who is gone. */
	private async findOrCreateAccount(meter: DbMeter, caller: DreamlakeClaims): Promise<Account> {
		const found = this.accounts.readBySub(meter, caller.sub)
		const account = found?.namespace ? (found as Account) : (await this.accounts.findOrCreate(meter, caller.sub, () => newUserFromClaims(caller))).account
		return current(account, caller)
	}

	/** PATCH /auth/me: changes only the fields sent; one statement. */
	async updateProfile(meter: DbMeter, caller: DreamlakeClaims, body: ProfilePatch) {
		const changes = profileChanges(body)
		let updated
		try {
			updated = await this.accounts.updateProfile(meter, caller.sub, caller.ver, changes)
		} catch (error) {
			if (error instanceof UsernameTakenError) throw conflict('username_taken', `The username "${changes.username}" is already taken.`)
			throw error
		}
		return updated ?? this.explainMiss(meter, caller)
	}

	/** POST /auth/logout: every dreamlake token of the caller stops working; a new exchange works. */
	async logout(meter: DbMeter, caller: DreamlakeClaims): Promise<void> {
		if (!(await this.accounts.revokeTokens(meter, caller.sub, caller.ver))) this.explainMiss(meter, caller)
		this.log.info('tokens revoked', { userId: caller.uid })
	}

	/** A write guarded by the token version matched nothing: a deleted user (404) or a revoked token (401). A second statement, on this path only. */
	private explainMiss(meter: DbMeter, caller: DreamlakeClaims): never {
		if (this.accounts.readBySub(meter, caller.sub)) throw tokenRevoked()
		throw notFound('user_not_found', 'User not found.')
	}
}

const tokenRevoked = () => unauthorized('token_revoked', 'The dreamlake token has been revoked; log in again.')

function newUserFromIdentity(identity: VuerIdentity): NewUser {
	const id = newUuid()
	return {
		id,
		namespaceSlug: personalNamespaceSlug({ username: identity.username, email: identity.email, userId: id }),
		sub: identity.sub,
		email: identity.email,
		name: identity.name,
		// a username this server could not have accepted through PATCH is not adopted (the slug still uses it)
		username: identity.username !== null && isValidUsername(identity.username) ? identity.username : null,
		givenName: identity.givenName,
		familyName: identity.familyName,
		picture: identity.picture,
		emailVerified: identity.emailVerified,
	}
}

function newUserFromClaims(claims: DreamlakeClaims): NewUser {
	return {
		id: claims.uid,
		namespaceSlug: personalNamespaceSlug({ username: claims.username ?? null, email: claims.email ?? null, userId: claims.uid }),
		sub: claims.sub,
		email: claims.email ?? null,
		name: claims.name ?? null,
		username: claims.username ?? null,
		givenName: null,
		familyName: null,
		picture: claims.picture ?? null,
		emailVerified: claims.email_verified ?? null,
		tokenVersion: claims.ver,
	}
}

/** The account, unless the caller's token is older than its last logout. */
function current(account: Account, caller: DreamlakeClaims): Account {
	if (account.user.tokenVersion !== caller.ver) throw tokenRevoked()
	return account
}
