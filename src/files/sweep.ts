import { DbMeter } from '../db/meter'
import type { FileStore } from '../storage/store'
import type { FileReferences } from './repository'

/**
 * Frees the file bytes no row points at any more (after a purge, or left by a crash between a
 * file's bytes and its row), but for the checksums an upload is committing right now (in this
 * process). Returns how many files and bytes it removed. Run only where no other process uploads:
 * by the server itself, or by `purge` when no server runs.
 */
export async function sweepUnreferenced(store: FileStore, references: FileReferences): Promise<{ files: number; bytes: number }> {
	// no request's: its statements are charged to a meter of its own
	const meter = new DbMeter()
	const referenced = references.all(meter)
	const freed = { files: 0, bytes: 0 }
	for await (const { checksum, size } of store.list()) {
		if (referenced.has(checksum)) continue
		// uploads go on while the store is listed: one committed since the set was read is asked about
		// again, in the same turn as the removal starts
		if (store.isCommitting(checksum) || references.has(meter, checksum)) continue
		if (await store.remove(checksum)) {
			freed.files++
			freed.bytes += size
		}
	}
	return freed
}
