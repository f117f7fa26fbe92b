// What /proc tells about a process: its resident memory, its peak, its CPU time, where its RSS goes.
import { readFileSync } from 'node:fs'

/** A `kB` field of /proc/<pid>/status, in MB (0 where there is no /proc). */
function statusField(pid: number, field: string): number {
	try {
		const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
		return match ? Number(match[1]) / 1024 : 0
	} catch {
		return 0
	}
}

export const rssMb = (pid: number) => statusField(pid, 'VmRSS')

/** The kernel's high-water mark of the process's resident memory since it started. */
export const peakRssMb = (pid: number) => statusField(pid, 'VmHWM')

const CLOCK_TICKS_PER_SECOND = Number(Bun.spawnSync(['getconf', 'CLK_TCK']).stdout.toString().trim()) || 100

/** User and system CPU time a process (all its threads) has used so far, in µs; undefined where there is no /proc. */
export function cpuTime(pid: number): { user: number; system: number } | undefined {
	try {
		const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
		// after "pid (comm) ": state, then 10 fields, then utime and stime (fields 14 and 15 of proc(5))
		const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
		const tick = 1e6 / CLOCK_TICKS_PER_SECOND
		return { user: Number(fields[11]) * tick, system: Number(fields[12]) * tick }
	} catch {
		return undefined
	}
}

/** Resident memory by mapping (anonymous heap, the binary, SQLite files…), largest first: where RSS goes (BENCH_SMAPS=1). */
export function smapsSummary(pid: number): string {
	const text = readFileSync(`/proc/${pid}/smaps`, 'utf8')
	const byName = new Map<string, number>()
	let name = ''
	for (const line of text.split('\n')) {
		const header = /^[0-9a-f]+-[0-9a-f]+ \S+ \S+ \S+ \S+\s*(.*)$/.exec(line)
		if (header) name = header[1] || '[anonymous]'
		const rss = /^Rss:\s+(\d+) kB/.exec(line)
		if (rss) byName.set(name, (byName.get(name) ?? 0) + Number(rss[1]))
	}
	return [...byName].sort((a, b) => b[1] - a[1]).slice(0, 6).map(([n, kb]) => `    ${(kb / 1024).toFixed(1)} MB ${n}`).join('\n')
}
