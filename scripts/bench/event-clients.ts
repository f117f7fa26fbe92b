// The events scenario's clients, each run as a process of its own (so a busy reader does not slow the
// writer's clock, nor the writer the readers): `subscribe` holds raw HTTP event streams and notes
// when each probe arrives; `write` sends the steady load and notes when each probe was sent and
// answered. Times are absolute (timeOrigin + now), comparable across the processes.
const now = () => performance.timeOrigin + performance.now()
const [mode, url, token, episode, arg] = Bun.argv.slice(2) as [string, string, string, string, string]

if (mode === 'subscribe') {
	const count = Number(arg)
	const { hostname, port } = new URL(url)
	const PROBE = Buffer.from('probe:')
	const READY = Buffer.from('event: ready')
	const arrivals: [number, number][][] = []
	let opened = 0
	for (let s = 0; s < count; s++) {
		const seen: [number, number][] = []
		arrivals.push(seen)
		let tail = Buffer.alloc(0)
		let ready = false
		await Bun.connect({
			hostname,
			port: Number(port),
			socket: {
				open(socket) {
					socket.write(`GET /episodes/${episode}/events HTTP/1.1\r\nHost: ${hostname}\r\nAuthorization: Bearer ${token}\r\n\r\n`)
				},
				data(_socket, chunk) {
					const at = now()
					// what a chunk boundary cut off is joined to the next chunk: a probe is never missed
					const bytes = tail.length > 0 ? Buffer.concat([tail, chunk]) : chunk
					if (!ready && bytes.includes(READY)) ((ready = true), ++opened === count && console.log('ready'))
					for (let i = bytes.indexOf(PROBE); i >= 0; i = bytes.indexOf(PROBE, i + 6)) {
						const end = bytes.indexOf(58, i + 6) // ':'
						if (end < 0) break
						seen.push([Number(bytes.toString('latin1', i + 6, end)), at])
					}
					tail = Buffer.from(bytes.subarray(Math.max(0, bytes.length - 16)))
				},
			},
		})
	}
	// told to stop (stdin closes): what arrived, per subscriber
	for await (const _ of Bun.stdin.stream()) {
		// nothing is sent on stdin; it only closes
	}
	console.log(JSON.stringify(arrivals))
	process.exit(0)
}

if (mode === 'write') {
	const [seconds, firstProbe, lines, points, tickMs] = arg.split(',').map(Number) as [number, number, number, number, number]
	const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' }
	const sent: number[] = []
	const answered: number[] = []
	const latencies: number[] = []
	let linesWritten = 0
	let pointsWritten = 0
	const inFlight: Promise<void>[] = []
	const write = async (path: string, body: string, onSent?: (at: number) => void, onAnswered?: (at: number) => void): Promise<boolean> => {
		const at = now()
		onSent?.(at)
		const response = await fetch(`${url}${path}`, { method: 'POST', headers, body })
		await response.arrayBuffer()
		const done = now()
		onAnswered?.(done)
		if (response.status !== 201) throw new Error(`${path}: ${response.status}`)
		latencies.push(done - at)
		return true
	}
	const t0 = now()
	for (let tick = 0; now() - t0 < seconds * 1000; tick++) {
		const probe = firstProbe + tick
		const logs = Array.from({ length: lines }, (_, i) => ({ timestamp: '2026-12-03T10:30:00.123456Z', level: 'info', message: i === 0 ? `probe:${probe}: epoch 1 step ${tick}` : `epoch 1 step ${tick}.${i}: loss=0.2345 acc=0.9123 lr=0.0001 grad_norm=1.234` }))
		const dataPoints = Array.from({ length: points }, (_, i) => ({ _ts: 1_760_000_000 + tick * 0.1 + i / 10_000, step: tick * points + i, loss: 1 / (i + 1), acc: i / points }))
		inFlight.push(
			write(`/episodes/${episode}/logs`, JSON.stringify({ logs }), (at) => (sent[tick] = at), (at) => (answered[tick] = at)).then(() => void (linesWritten += lines)),
			write(`/episodes/${episode}/tracks/train/append-batch`, JSON.stringify({ dataPoints })).then(() => void (pointsWritten += points)),
		)
		// the next tick on the clock, whatever this one took: a steady offered load
		await Bun.sleep(Math.max(0, t0 + (tick + 1) * tickMs - now()))
	}
	await Promise.all(inFlight)
	const elapsed = (now() - t0) / 1000
	console.log(JSON.stringify({ sent, answered, latencies, linesPerSecond: linesWritten / elapsed, pointsPerSecond: pointsWritten / elapsed }))
	process.exit(0)
}

export {}
