export const SLUG_MAX_LENGTH = 39

/** Slugs that name routes or would mislead: never given to a personal namespace. */
export const RESERVED_SLUGS: ReadonlySet<string> = new Set([
	'about', 'account', 'admin', 'administrator', 'api', 'app', 'assets', 'auth', 'billing', 'dashboard',
	'docs', 'dreamlake', 'explore', 'health', 'help', 'login', 'logout', 'me', 'namespace', 'namespaces',
	'new', 'null', 'openapi', 'ready', 'root', 'search', 'settings', 'signup', 'static', 'status', 'support',
	'system', 'undefined', 'user', 'users', 'www',
])

export interface SlugSources {
	username: string | null
	email: string | null
	userId: string
}

/** The slug a user's personal namespace should have: from the username, else the email's local part, else the id. */
export function personalNamespaceSlug({ username, email, userId }: SlugSources): string {
	const emailLocal = email?.split('@')[0] ?? null
	for (const source of [username, emailLocal, userId]) {
		const slug = source === null ? '' : normalizeSlug(source)
		if (slug !== '') return slug
	}
	return 'user'
}

/** Lower-cases, turns runs of characters outside [a-z0-9_-] into `-`, trims dashes, caps the length. */
export function normalizeSlug(source: string): string {
	return source
		.toLowerCase()
		.replace(/[^a-z0-9_-]+/g, '-')
		.replace(/^-+|-+$/g, '')
		.slice(0, SLUG_MAX_LENGTH)
		.replace(/-+$/, '')
}

export const isReservedSlug = (slug: string) => RESERVED_SLUGS.has(slug)

/** `base-n`, with the base shortened so the whole stays within the length limit. */
export function suffixedSlug(base: string, n: number): string {
	const suffix = `-${n}`
	return `${base.slice(0, SLUG_MAX_LENGTH - suffix.length).replace(/-+$/, '')}${suffix}`
}

/** Shortest prefix every `suffixedSlug(base, n)` a lookup could need starts with. */
export const suffixPrefix = (base: string) => base.slice(0, SLUG_MAX_LENGTH - 10).replace(/-+$/, '')

/** `base` when free and not reserved, else the first free of `base-2`, `base-3`, …. */
export function firstFreeSlug(base: string, taken: ReadonlySet<string>): string {
	if (!isReservedSlug(base) && !taken.has(base)) return base
	for (let n = 2; ; n++) {
		const candidate = suffixedSlug(base, n)
		if (!taken.has(candidate) && !isReservedSlug(candidate)) return candidate
	}
}
