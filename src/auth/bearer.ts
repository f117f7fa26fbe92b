import { unauthorized } from '../http/errors'

/** The 401 of a request that names no credentials: also what an anonymous reader gets for anything not public. */
export const missingAuthorization = () => unauthorized('missing_authorization', 'Missing Authorization header; send "Authorization: Bearer <token>".')

/** `Bearer <JWT>`, the one shape accepted; anything else is sorted out on the (rare) failure path. */
const BEARER_JWT = /^Bearer[ \t]+([A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*)[ \t]*$/i

/** The token in `Authorization: Bearer <token>` (scheme case-insensitive), or a 401 saying what is wrong. */
export function bearerToken(header: string | null | undefined): string {
	const match = header ? BEARER_JWT.exec(header) : null
	if (match) return match[1]!
	if (header === undefined || header === null || header.trim() === '') throw missingAuthorization()
	if (!/^Bearer[ \t]+\S+[ \t]*$/i.test(header)) {
		throw unauthorized('invalid_authorization', 'Malformed Authorization header; expected "Authorization: Bearer <token>" with exactly one token.')
	}
	throw unauthorized('invalid_authorization', 'The bearer token in the Authorization header is not a JWT.')
}
