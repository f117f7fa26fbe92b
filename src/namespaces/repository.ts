import { and, eq, sql } from 'drizzle-orm'
import type { Db } from '../db/client'
import { newUuid } from '../db/ids'
import { namespaces } from '../db/schema'
import type { Tx } from '../db/write-queue'
import type { NamespaceRef } from './model'
import { firstFreeSlug, isReservedSlug, suffixPrefix } from './slug'

/**
 * Namespace rows. Today each is one person's personal namespace, written with its person's account
 * (auth/repository.ts calls these inside its write). Reading an account reads its namespace in the
 * same statement, from there: the hottest lookup there is.
 */
export class NamespaceRepository {
	private readonly q

	constructor(db: Db) {
		this.q = {
			personalOf: db
				.select({ id: namespaces.id, slug: namespaces.slug })
				.from(namespaces)
				.where(and(eq(namespaces.ownerId, sql.placeholder('ownerId')), eq(namespaces.kind, 'personal')))
				.prepare(),
			insertPersonal: db
				.insert(namespaces)
				.values({ id: sql.placeholder('id'), slug: sql.placeholder('slug'), ownerId: sql.placeholder('ownerId'), kind: 'personal', createdAt: sql.placeholder('now') })
				.onConflictDoNothing({ target: namespaces.slug })
				.returning({ id: namespaces.id, slug: namespaces.slug })
				.prepare(),
			slugsStartingWith: db
				.select({ slug: namespaces.slug })
				.from(namespaces)
				.where(sql`${namespaces.slug} GLOB ${sql.placeholder('pattern')}`)
				.prepare(),
		}
	}

	/** The person's namespace, if they have one. */
	personalOf(_tx: Tx, ownerId: string): NamespaceRef | undefined {
		return this.q.personalOf.get({ ownerId })
	}

	/** Creates the person's namespace at the preferred slug, else the first free `slug-n` (reserved slugs never). */
	createPersonal(_tx: Tx, ownerId: string, base: string): NamespaceRef {
		const insert = (slug: string) => this.q.insertPersonal.get({ id: newUuid(), slug, ownerId, now: new Date() })
		const direct = isReservedSlug(base) ? undefined : insert(base)
		if (direct) return direct
		const taken = new Set(this.q.slugsStartingWith.all({ pattern: `${suffixPrefix(base)}*` }).map((r) => r.slug))
		const created = insert(firstFreeSlug(base, taken))
		if (!created) throw new Error('no free namespace slug')
		return created
	}
}
