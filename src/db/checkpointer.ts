import { Worker } from 'node:worker_threads'
import { settlesWithin } from '../deadline'
import type { Logger } from '../log'
import { IN_MEMORY, type Db } from './client'

export interface Checkpointer {
	stop(): Promise<void>
}

/**
 * Moves WAL checkpoints off the request thread: half the cost of every write here was the
 * checkpoint SQLite runs inside a commit now and then, with its fsync (bun run bench). A worker
 * checkpoints every `intervalMs` instead; should it fail, the request thread takes the job back
 * (but for a full disk, which the worker only reports: it checkpoints again once there is room).
 *
 * The worker starts one interval after this call, when its first checkpoint would be due anyway:
 * creating it takes the request thread 5-10 ms, which a server that has just started listening
 * spends on its first requests instead. Until then SQLite's own autocheckpoint stays on.
 */
export function startCheckpointer(db: Db, path: string, log: Logger, intervalMs = 500): Checkpointer {
	if (path === IN_MEMORY) return { stop: async () => {} }
	let worker: Worker | undefined
	let stopped = false
	const takeBack = (reason: string) => {
		if (stopped) return
		log.warn('the background checkpointer failed; checkpointing on the request thread again', { reason })
		db.$client.run('PRAGMA wal_autocheckpoint = 1000')
	}
	const start = () => {
		worker = new Worker(new URL('./checkpoint-worker.ts', import.meta.url), { workerData: { path, intervalMs } })
		worker.unref()
		db.$client.run('PRAGMA wal_autocheckpoint = 0')
		worker.on('message', (message: { failed?: string; full?: boolean }) => {
			if (message.full) log.warn('the disk is full: the WAL is not checkpointed into the database until room is freed')
			if (message.failed) takeBack(message.failed)
		})
		worker.on('error', (error: Error) => takeBack(error.message))
		worker.on('exit', () => takeBack('the worker exited'))
	}
	const delay = setTimeout(start, intervalMs)
	delay.unref()
	return {
		async stop() {
			stopped = true
			clearTimeout(delay)
			if (!worker) return
			const running = worker
			const done = new Promise<void>((resolve) => running.on('message', (message: { stopped?: boolean }) => message.stopped && resolve()))
			running.postMessage('stop')
			await settlesWithin(done, 2_000)
			await running.terminate()
		},
	}
}
