// The load generator: wrk driven by a Lua script of pre-formatted requests, or, without wrk (smoke
// only), a few fetch loops; either charges the server's CPU time to the requests it answered.
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { onLoadCore } from './cores'
import { cpuTime } from './proc'

export const hasWrk = Bun.which('wrk') !== null
/** The fetch stand-in's concurrency, reported as its connections. */
export const FETCH_LOOPS = 8

export interface LoadResult {
	requests: number
	rps: number
	p50: number
	p99: number
	non2xx: number
	/** CPU time the server spent per request (user + system), and the system part of it; where /proc tells. */
	cpuMicros?: number
	sysMicros?: number
}

/**
 * Each request takes the next line of `file` (threads start at different offsets): a token, or a
 * token, a space and the path to send it to (else `path`). The requests are formatted once, in
 * init(): formatting one per request in Lua capped wrk's single thread at about 42k req/s on this
 * machine, below what the bare baseline serves.
 */
export function luaRotate(file: string, method: string, path: string, body?: string): string {
	return `
local lines = {}
for line in io.lines("${file}") do lines[#lines + 1] = line end
local requests = {}
local i = 0
function init(args)
  for k, line in ipairs(lines) do
    local token, target = line:match("^(%S+) (%S+)$")
    if not token then token, target = line, "${path}" end
    requests[k] = wrk.format("${method}", target, { ["Authorization"] = "Bearer " .. token${body ? ', ["Content-Type"] = "application/json"' : ''} }${body ? `, '${body}'` : ''})
  end
  i = math.random(#requests) - 1
end
function request()
  i = i + 1
  if i > #requests then i = 1 end
  return requests[i]
end
`
}

export type Load = (target: string, lua: string, seconds: number, pid?: number, conns?: number) => Promise<LoadResult>

/**
 * A `load(target, lua, seconds, pid?, conns?)` that writes its wrk scripts into `scriptDir` and
 * opens `connections` unless told otherwise; with `pid`, it also charges that process's CPU time.
 */
export function loadGenerator(scriptDir: string, connections: number): Load {
	return async (target, lua, seconds, pid, conns = connections) => {
		const before = pid === undefined ? undefined : cpuTime(pid)
		const result = hasWrk ? wrkLoad(scriptDir, target, lua, seconds, conns) : await fetchLoad(target, lua, seconds)
		const after = pid === undefined ? undefined : cpuTime(pid)
		if (!before || !after || result.requests === 0) return result
		return { ...result, cpuMicros: (after.user + after.system - before.user - before.system) / result.requests, sysMicros: (after.system - before.system) / result.requests }
	}
}

function wrkLoad(scriptDir: string, target: string, lua: string, seconds: number, conns: number): LoadResult {
	const script = join(scriptDir, `script-${Math.random().toString(36).slice(2)}.lua`)
	writeFileSync(script, lua + '\ndone = function(summary, latency, requests)\n  io.write(string.format("RESULT %d %d %f %f %d\\n", summary.requests, summary.duration, latency:percentile(50), latency:percentile(99), summary.errors.status))\nend\n')
	const wrk = Bun.spawnSync(onLoadCore(['wrk', '-t1', `-c${conns}`, `-d${Math.max(1, Math.round(seconds))}s`, '--latency', '-s', script, target]))
	const out = wrk.stdout.toString()
	const match = /RESULT (\d+) (\d+) ([\d.]+) ([\d.]+) (\d+)/.exec(out)
	if (!match) throw new Error(`wrk failed: ${out}${wrk.stderr.toString()}`)
	const [, requests, micros, p50, p99, non2xx] = match.map(Number) as number[]
	return { requests: requests!, rps: requests! / (micros! / 1e6), p50: p50! / 1000, p99: p99! / 1000, non2xx: non2xx! }
}

/** Smoke-only stand-in for wrk: a few concurrent fetch loops; numbers from it are not comparable. */
async function fetchLoad(target: string, lua: string, seconds: number): Promise<LoadResult> {
	const method = /wrk\.format\("(\w+)"/.exec(lua)?.[1] ?? 'GET'
	const file = /io\.lines\("([^"]+)"\)/.exec(lua)?.[1]
	const tokens = file ? (await Bun.file(file).text()).trim().split('\n') : ['']
	const body = /'(\{.*\})'\)/.exec(lua)?.[1]
	const latencies: number[] = []
	let non2xx = 0
	const deadline = performance.now() + seconds * 1000
	let i = 0
	await Promise.all(
		Array.from({ length: FETCH_LOOPS }, async () => {
			while (performance.now() < deadline) {
				const [token, path] = tokens[i++ % tokens.length]!.split(' ')
				const started = performance.now()
				const response = await fetch(path ? `${target}${path}` : target, { method, body, headers: { authorization: `Bearer ${token}`, ...(body && { 'content-type': 'application/json' }) } })
				await response.arrayBuffer()
				latencies.push(performance.now() - started)
				if (response.status >= 300) non2xx++
			}
		}),
	)
	latencies.sort((a, b) => a - b)
	const at = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? 0
	return { requests: latencies.length, rps: latencies.length / seconds, p50: at(0.5), p99: at(0.99), non2xx }
}
