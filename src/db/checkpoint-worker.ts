// A worker thread that checkpoints the WAL into the database file on its own connection, so the
// copying and the fsync it needs never stall a request (checkpointer.ts turns the request connection's autocheckpoint off once this runs).
import { Database } from 'bun:sqlite'
import { parentPort, workerData } from 'node:worker_threads'

const { path, intervalMs } = workerData as { path: string; intervalMs: number }
const db = new Database(path)
db.run('PRAGMA busy_timeout = 5000')
const checkpoint = db.prepare('PRAGMA wal_checkpoint(PASSIVE)')
/** The last checkpoint met a full disk: said once, until one works again. */
let full = false
const timer = setInterval(() => {
	try {
		checkpoint.get()
		full = false
	} catch (error) {
		// the database file cannot grow: the request thread could not checkpoint either, and this one does once there is room
		if ((error as { code?: string }).code === 'SQLITE_FULL') {
			if (!full) parentPort?.postMessage({ full: true })
			full = true
			return
		}
		parentPort?.postMessage({ failed: error instanceof Error ? error.message : String(error) })
	}
}, intervalMs)

parentPort?.on('message', (message) => {
	if (message !== 'stop') return
	clearInterval(timer)
	db.close()
	parentPort?.postMessage({ stopped: true })
})
