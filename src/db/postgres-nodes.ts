import type { ReservedSQL, SQL } from 'bun'
import { RowIds } from './ids'

/** The advisory lock class of node claims ("dl" + "node" would not fit: any fixed 32-bit key no other program is likely to pick). */
const NODE_LOCK_CLASS = 0x646c6e64
/** Bits of an id's per-millisecond counter that name the node: 16 servers on one database at most. */
export const NODE_BITS = 4
export const MAX_NODES = 1 << NODE_BITS

/** One server process's place among those on a database: its node number and the ids it may make. */
export interface NodeClaim {
	readonly node: number
	readonly ids: RowIds
	/** Lets the node go (at shutdown). */
	release(): Promise<void>
}

export class NoFreeNodeError extends Error {}

/**
 * Claims the lowest free node number with a session advisory lock on a connection held for the
 * process's life: PostgreSQL releases it when that connection ends, so a crashed server's number
 * is free again at once and two live servers never hold the same one.
 */
export async function claimNode(pool: SQL): Promise<NodeClaim> {
	const held: ReservedSQL = await pool.reserve()
	try {
		for (let node = 0; node < MAX_NODES; node++) {
			const [row] = await held`SELECT pg_try_advisory_lock(${NODE_LOCK_CLASS}::int, ${node}::int) AS ok`
			if (row.ok)
				return {
					node,
					ids: new RowIds(node, NODE_BITS),
					release: async () => {
						await held`SELECT pg_advisory_unlock(${NODE_LOCK_CLASS}::int, ${node}::int)`.catch(() => {})
						held.release()
					},
				}
		}
	} catch (error) {
		held.release()
		throw error
	}
	held.release()
	throw new NoFreeNodeError(`${MAX_NODES} servers already run against this database: stop one before starting another`)
}
