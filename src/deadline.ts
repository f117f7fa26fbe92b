/**
 * Whether `promise` settles within `ms`. The timer is cleared either way: a pending one would keep
 * the process alive after everything else has stopped.
 */
export async function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
	let timer: Timer | undefined
	const expired = new Promise<false>((resolve) => (timer = setTimeout(resolve, ms, false)))
	try {
		return await Promise.race([promise.then(() => true), expired])
	} finally {
		clearTimeout(timer)
	}
}
