// On two or more cores, the server gets core 1 and the load generator core 0, so they do not compete.
import { cpus } from 'node:os'

export const pinned = Bun.which('taskset') !== null && cpus().length >= 2
export const onServerCore = (command: string[]) => (pinned ? ['taskset', '-c', '1', ...command] : command)
export const onLoadCore = (command: string[]) => (pinned ? ['taskset', '-c', '0', ...command] : command)
/** As a user runs the binary: a child inherits this process's pinning to the load core otherwise. */
export const onEveryCore = (): string[] => (pinned ? ['taskset', '-c', `0-${cpus().length - 1}`] : [])

/**
 * This process too (all its threads: the key server, the GC's helpers) stays off the server's core:
 * it holds every pre-minted token, and a collection of that heap during a round took from the server.
 */
export function pinThisProcessToLoadCore() {
	if (pinned) Bun.spawnSync(['taskset', '-a', '-p', '-c', '0', String(process.pid)], { stdout: 'ignore' })
}
