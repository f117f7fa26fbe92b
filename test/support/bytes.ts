/** `n` random bytes (crypto.getRandomValues takes at most 65,536 at a time). */
export function randomBytes(n: number): Uint8Array<ArrayBuffer> {
	const out = new Uint8Array(n)
	for (let i = 0; i < n; i += 65_536) crypto.getRandomValues(out.subarray(i, Math.min(n, i + 65_536)))
	return out
}

/** The hex sha256 of `bytes`, as an upload's `checksum` names them. */
export const sha256 = (bytes: Uint8Array) => new Bun.CryptoHasher('sha256').update(bytes).digest('hex')
