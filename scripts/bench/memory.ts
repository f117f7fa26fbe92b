// The memory check: the server's RSS over a million GET /auth/me, the first half against the second.
import { median } from '../startup'
import { rssMb } from './proc'
import type { Load } from './wrk'

/** RSS samples per half of the memory run. */
export const MEMORY_SAMPLES = 5
const HALF = 500_000

/** Each half: the median of its RSS samples (MB), the samples, and the last one. */
export interface MemoryHalf {
	requests: number
	rssMb: number
	samples: number[]
	endRssMb: number
}

export interface Memory {
	firstHalf: MemoryHalf
	secondHalf: MemoryHalf
	growth: number
	endGrowth: number
}

/** `meRps`, the server's rate on these requests, sizes the slices between samples. */
export async function measureMemory(load: Load, meUrl: string, meLua: string, meRps: number, pid: number): Promise<Memory> {
	console.log(`memory: ${2 * HALF} GET /auth/me requests …`)
	// RSS of a garbage-collected process moves with where the collector happens to be: one snapshot
	// per half gave +2.8%, -6.6% and +11.1% on the same code. Each half is sampled once per fifth,
	// and the halves compare by their medians; the end-of-half snapshots are reported too.
	const runHalf = async (): Promise<MemoryHalf> => {
		let requests = 0
		const samples: number[] = []
		for (let slice = 0; slice < MEMORY_SAMPLES; slice++) {
			requests += (await load(meUrl, meLua, HALF / MEMORY_SAMPLES / meRps)).requests
			samples.push(rssMb(pid))
		}
		return { requests, rssMb: median(samples), samples, endRssMb: samples.at(-1)! }
	}
	const firstHalf = await runHalf()
	const secondHalf = await runHalf()
	return { firstHalf, secondHalf, growth: secondHalf.rssMb / firstHalf.rssMb - 1, endGrowth: secondHalf.endRssMb / firstHalf.endRssMb - 1 }
}
