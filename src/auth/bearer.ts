import { unauthorized } from '../http/errors'

const TOKEN = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/

/** The token in `Authorization: Bearer <token>` (scheme case-insensitive), or a 401 saying what is wrong. */
export function bearerToken(header: string | null | undefined): string {
	if (header === undefined || header === null || header.trim() === '') {
		throw unauthorized('missing_authorization', 'Missing Authorization header; send "Authorization: Bearer <token>".')
	}
	const match = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header)
	if (!match) {
		throw unauthorized('invalid_authorization', 'Malformed Authorization header; expected "Authorization: Bearer <token>" with exactly one token.')
	}
	const token = match[1]!
	if (!TOKEN.test(token)) throw unauthorized('invalid_authorization', 'The bearer token in the Authorization header is not a JWT.')
	return token
}
