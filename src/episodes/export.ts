import type { DbMeter } from '../db/meter'
import type { EpisodeRow } from '../db/schema'
import type { Page } from '../http/paging'
import { breather, type ColumnKind, type RowBatch, type TableColumn, type TableSource } from '../export/table'
import { toEpisodeFlat } from './model'

/** Values another feature keeps per episode, exported as columns `<prefix>.<key>` (parameters: `params.lr`). */
export type EpisodeColumnGroup = (meter: DbMeter, episodeIds: number[]) => Map<number, Record<string, unknown>>

/** Episodes a batch reads: one page of the list. */
const BATCH_EPISODES = 500

/** The episode's own fields, as the list answers them (`status` says stale), one column each. */
const ATTRIBUTES: { name: string; kind: ColumnKind; of: (e: ReturnType<typeof toEpisodeFlat>) => unknown }[] = [
	{ name: 'id', kind: 'string', of: (e) => e.id },
	{ name: 'name', kind: 'string', of: (e) => e.name },
	{ name: 'status', kind: 'string', of: (e) => e.status },
	{ name: 'description', kind: 'string', of: (e) => e.description },
	{ name: 'tags', kind: 'json', of: (e) => e.tags },
	{ name: 'writeProtected', kind: 'json', of: (e) => e.writeProtected },
	{ name: 'createdAt', kind: 'string', of: (e) => e.createdAt },
	{ name: 'createdBy', kind: 'string', of: (e) => e.createdBy?.username ?? e.createdBy?.id ?? null },
	{ name: 'updatedAt', kind: 'string', of: (e) => e.updatedAt },
	{ name: 'lastActivityAt', kind: 'string', of: (e) => e.lastActivityAt },
	{ name: 'metadata', kind: 'json', of: (e) => e.metadata },
]

/**
 * A project's episodes table: the list's episodes (its filters and order), a page at a time, with
 * their own fields and a column per key of each group (`params.<key>`). The group columns are
 * learned by a first pass over the pages, as a CSV header or a Parquet schema needs them first.
 */
export class EpisodeTable implements TableSource {
	private offset = 0
	private done = false
	private groupColumns: { prefix: string; key: string }[] = []

	constructor(
		private readonly meter: DbMeter,
		/** A page of the list, with the filters of the export (and the access check, every page). */
		private readonly page: (page: Page) => EpisodeRow[],
		private readonly groups: ReadonlyMap<string, EpisodeColumnGroup>,
		private readonly staleBefore: number,
	) {}

	async columns(typed: boolean, signal: AbortSignal): Promise<TableColumn[]> {
		// per group, its keys and whether every value of each is a number
		const seen = new Map<string, Map<string, boolean>>([...this.groups.keys()].map((prefix) => [prefix, new Map()]))
		for (let offset = 0; !signal.aborted; offset += BATCH_EPISODES) {
			const rows = this.page({ page: 0, pageSize: BATCH_EPISODES, offset })
			const ids = rows.map((row) => row.id)
			for (const [prefix, group] of this.groups) {
				const keys = seen.get(prefix)!
				for (const values of group(this.meter, ids).values()) for (const key in values) keys.set(key, typeof values[key] === 'number' && keys.get(key) !== false)
			}
			if (rows.length < BATCH_EPISODES) break
			await breather()
		}
		this.groupColumns = [...seen].flatMap(([prefix, keys]) => [...keys.keys()].sort().map((key) => ({ prefix, key })))
		return [
			...ATTRIBUTES.map(({ name, kind }) => ({ name, kind })),
			...this.groupColumns.map(({ prefix, key }) => ({ name: `${prefix}.${key}`, kind: typed && seen.get(prefix)!.get(key) ? ('float64' as const) : ('json' as const) })),
		]
	}

	next(): RowBatch | undefined {
		if (this.done) return undefined
		const rows = this.page({ page: 0, pageSize: BATCH_EPISODES, offset: this.offset })
		this.offset += rows.length
		if (rows.length < BATCH_EPISODES) this.done = true
		if (rows.length === 0) return undefined
		const ids = rows.map((row) => row.id)
		const flat = rows.map((row) => toEpisodeFlat(row, this.staleBefore))
		const groupValues = new Map([...this.groups].map(([prefix, group]) => [prefix, group(this.meter, ids)]))
		return {
			rows: rows.length,
			values: [
				...ATTRIBUTES.map(({ of }) => flat.map(of)),
				...this.groupColumns.map(({ prefix, key }) => {
					const values = groupValues.get(prefix)!
					return ids.map((id) => values.get(id)?.[key])
				}),
			],
		}
	}
}
