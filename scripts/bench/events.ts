// Issue 22's figures for server-sent events: subscribers on one episode while it is written at a
// steady rate (1,000 log lines and 10,000 track points a second), against the same load with no
// subscriber: how long from a write to its event at each subscriber, the server's RSS, and what the
// write path does (its rate, its latency, the server's CPU).
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { onLoadCore } from './cores'
import type { KeyServer } from '../../test/support/key-server'
import { cpuTime, rssMb } from './proc'
import { seedEpisodes, seedUsers } from './seed'
import { startServer } from './servers'
import type { Workspace } from './work'

export interface EventFigures {
	subscribers: number
	seconds: number
	offered: { linesPerSecond: number; pointsPerSecond: number }
	alone: WritePhase
	watched: WritePhase & {
		/** From the write's request sent (an upper bound of its commit) to the event at a subscriber. */
		fromSentMs: { p50: number; p99: number; max: number }
		/** From the write's answer received (after its commit) to the event at a subscriber. */
		fromAnsweredMs: { p50: number; p99: number }
		/** Probes every subscriber received, of those sent. */
		delivered: number
		/** CPU the subscriber processes used per second (all of them): near 1,000 ms, the readers were the limit. */
		readersCpuMsPerSecond: number
		expected: number
	}
	rss: { beforeMb: number; subscribedMb: number; peakMb: number; growthMb: number }
}

interface WritePhase {
	linesPerSecond: number
	pointsPerSecond: number
	writeP50Ms: number
	writeP99Ms: number
	/** Server CPU (all threads) per second of the phase, in ms. */
	serverCpuMsPerSecond: number
}

const TICK_MS = 100
const LINES_PER_TICK = 100
const POINTS_PER_TICK = 1000
/** Subscriber processes: reading 1,000 streams is a core's work for one. */
const SUBSCRIBER_PROCESSES = 2
const CLIENTS = join(import.meta.dir, 'event-clients.ts')

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? Number.NaN

interface Written {
	sent: number[]
	answered: number[]
	latencies: number[]
	linesPerSecond: number
	pointsPerSecond: number
}

/**
 * A server of its own (its RSS is the events' alone), one user and episode. Phase 1: the load for
 * `seconds` with nobody watching. Then `subscribers` raw HTTP streams held by client processes
 * (only a marker is looked for in the bytes, so they keep up), and phase 2: the same load. Each log
 * append's first line carries a probe number; each subscriber notes when it sees it. The writer is
 * a process of its own, so it keeps its clock however busy the readers are.
 */
export async function measureEvents(work: Workspace, binary: string, keys: KeyServer, { smoke }: { smoke: boolean }): Promise<EventFigures> {
	const subscribers = smoke ? 50 : 1000
	const seconds = smoke ? 2 : 10
	const cwd = work.path('events')
	mkdirSync(cwd, { recursive: true })
	const server = await startServer(work, binary, keys.jwksUrl, { cwd, args: ['--events-max-streams', String(subscribers * 2), '--events-max-streams-per-user', String(subscribers * 2)] })
	const serverPid = server.process.pid
	const [user] = await seedUsers(keys, server.url, 1)
	const [episode] = await seedEpisodes(server.url, [user!])
	const client = (args: string[], stdin: 'pipe' | 'ignore') => work.adopt(Bun.spawn(onLoadCore([process.execPath, CLIENTS, args[0]!, server.url, user!.dreamlake, episode!.id, args[1]!]), { stdin, stdout: 'pipe', stderr: 'inherit' }))

	const phase = async (firstProbe: number): Promise<WritePhase & Written> => {
		const cpu0 = cpuTime(serverPid)
		const t0 = performance.now()
		const writer = client(['write', [seconds, firstProbe, LINES_PER_TICK, POINTS_PER_TICK, TICK_MS].join(',')], 'ignore')
		const written = JSON.parse(await new Response(writer.stdout).text()) as Written
		const elapsed = (performance.now() - t0) / 1000
		const cpu1 = cpuTime(serverPid)
		const latencies = [...written.latencies].sort((a, b) => a - b)
		return {
			...written,
			writeP50Ms: percentile(latencies, 0.5),
			writeP99Ms: percentile(latencies, 0.99),
			serverCpuMsPerSecond: cpu0 && cpu1 ? (cpu1.user + cpu1.system - cpu0.user - cpu0.system) / 1000 / elapsed : Number.NaN,
		}
	}

	const alone = await phase(0)
	const firstWatchedProbe = 1_000_000
	Bun.gc(true)
	await Bun.sleep(500)
	const beforeMb = rssMb(serverPid)

	const readers = Array.from({ length: SUBSCRIBER_PROCESSES }, (_, i) => client(['subscribe', String(Math.floor(subscribers / SUBSCRIBER_PROCESSES) + (i < subscribers % SUBSCRIBER_PROCESSES ? 1 : 0))], 'pipe'))
	const outputs = readers.map((reader) => collect(reader.stdout as ReadableStream<Uint8Array>))
	// each prints "ready" once every stream of its own has its opening event
	await Promise.all(outputs.map((output) => output.ready))
	const subscribedMb = rssMb(serverPid)
	const readersCpu0 = readers.map((reader) => cpuTime(reader.pid))
	let peakMb = subscribedMb
	const sampler = setInterval(() => (peakMb = Math.max(peakMb, rssMb(serverPid))), 100)
	const watchedStart = performance.now()
	const watched = await phase(firstWatchedProbe)
	const readersCpuMsPerSecond = readers.reduce((sum, reader, i) => {
		const [a, b] = [readersCpu0[i], cpuTime(reader.pid)]
		return a && b ? sum + (b.user + b.system - a.user - a.system) / 1000 : Number.NaN
	}, 0) / ((performance.now() - watchedStart) / 1000)
	// the last events on their way
	await Bun.sleep(1000)
	clearInterval(sampler)
	peakMb = Math.max(peakMb, rssMb(serverPid))
	for (const reader of readers) (reader.stdin as import('bun').FileSink).end()
	const arrivals = (await Promise.all(outputs.map((output) => output.text))).flatMap((text) => JSON.parse(text.slice(text.indexOf('['))) as [number, number][][])

	const fromSent: number[] = []
	const fromAnswered: number[] = []
	let delivered = 0
	const probes = watched.sent.length
	const expected = probes * subscribers
	for (const seen of arrivals) {
		const first = new Map<number, number>()
		for (const [probe, at] of seen) if (probe >= firstWatchedProbe && !first.has(probe)) first.set(probe, at)
		for (const [probe, at] of first) {
			const tick = probe - firstWatchedProbe
			if (watched.sent[tick] === undefined) continue
			delivered++
			fromSent.push(at - watched.sent[tick]!)
			fromAnswered.push(at - watched.answered[tick]!)
		}
	}
	fromSent.sort((a, b) => a - b)
	fromAnswered.sort((a, b) => a - b)
	server.process.kill('SIGTERM')
	await server.process.exited
	const strip = ({ linesPerSecond, pointsPerSecond, writeP50Ms, writeP99Ms, serverCpuMsPerSecond }: WritePhase): WritePhase => ({ linesPerSecond, pointsPerSecond, writeP50Ms, writeP99Ms, serverCpuMsPerSecond })
	const figures: EventFigures = {
		subscribers,
		seconds,
		offered: { linesPerSecond: (LINES_PER_TICK * 1000) / TICK_MS, pointsPerSecond: (POINTS_PER_TICK * 1000) / TICK_MS },
		alone: strip(alone),
		watched: {
			...strip(watched),
			fromSentMs: { p50: percentile(fromSent, 0.5), p99: percentile(fromSent, 0.99), max: fromSent.at(-1) ?? Number.NaN },
			fromAnsweredMs: { p50: percentile(fromAnswered, 0.5), p99: percentile(fromAnswered, 0.99) },
			delivered,
			expected,
			readersCpuMsPerSecond,
		},
		rss: { beforeMb, subscribedMb, peakMb, growthMb: peakMb - beforeMb },
	}
	const w = figures.watched
	console.log(
		`  events: ${subscribers} subscribers, ${seconds} s a phase; write→event p50 ${w.fromSentMs.p50.toFixed(1)} ms, p99 ${w.fromSentMs.p99.toFixed(1)} ms (from the answer: p99 ${w.fromAnsweredMs.p99.toFixed(1)}); ${delivered}/${expected} delivered; RSS ${beforeMb.toFixed(1)} → ${subscribedMb.toFixed(1)} → peak ${peakMb.toFixed(1)} MB; writes ${alone.linesPerSecond.toFixed(0)}/${w.linesPerSecond.toFixed(0)} lines/s, p99 ${alone.writeP99Ms.toFixed(1)}/${w.writeP99Ms.toFixed(1)} ms, server CPU ${alone.serverCpuMsPerSecond.toFixed(0)}/${w.serverCpuMsPerSecond.toFixed(0)} ms/s (alone/watched), readers' CPU ${readersCpuMsPerSecond.toFixed(0)} ms/s`,
	)
	return figures
}

/** A child's stdout: `ready` once it has printed the line "ready", `text` all of it once it ends. */
function collect(stdout: ReadableStream<Uint8Array>): { ready: Promise<void>; text: Promise<string> } {
	let ready!: () => void
	const readyPromise = new Promise<void>((resolve) => (ready = resolve))
	const text = (async () => {
		let all = ''
		const decoder = new TextDecoder()
		for await (const chunk of stdout) {
			all += decoder.decode(chunk, { stream: true })
			if (all.includes('ready\n')) ready()
		}
		ready()
		return all
	})()
	return { ready: readyPromise, text }
}
