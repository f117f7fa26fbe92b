/** A seeded generator (mulberry32), so a failing fuzz case can be replayed from its seed. */
export class Random {
	private state: number

	constructor(readonly seed: number) {
		this.state = seed >>> 0
	}

	next(): number {
		this.state = (this.state + 0x6d2b79f5) >>> 0
		let t = this.state
		t = Math.imul(t ^ (t >>> 15), t | 1)
		t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
		return ((t ^ (t >>> 14)) >>> 0) / 4294967296
	}

	int(max: number): number {
		return Math.floor(this.next() * max)
	}

	pick<T>(items: readonly T[]): T {
		return items[this.int(items.length)]!
	}

	chance(p: number): boolean {
		return this.next() < p
	}

	/** A string mixing ASCII, punctuation, control characters, RTL/zero-width marks, emoji and lone surrogates. */
	string(maxLength = 40): string {
		const pieces = ['a', 'Z', '0', '9', '_', '.', '-', ' ', "'", '"', ';', '--', '\\', '/', '%', '\u0000', '\n', '\t', '\u202e', '\u200b', 'é', '日', '🤖', '\ud800', '<script>', 'DROP TABLE users', '${x}', '__proto__']
		let out = ''
		const length = this.int(maxLength + 1)
		while (out.length < length) out += this.pick(pieces)
		return out
	}

	json(depth = 0): unknown {
		const kind = this.int(depth > 4 ? 5 : 8)
		switch (kind) {
			case 0:
				return null
			case 1:
				return this.chance(0.5)
			case 2:
				return this.pick([0, -1, 1.5, 1e308, -0, Number.MAX_SAFE_INTEGER + 2])
			case 3:
			case 4:
				return this.string(this.chance(0.05) ? 3000 : 40)
			case 5:
				return Array.from({ length: this.int(4) }, () => this.json(depth + 1))
			default: {
				const object: Record<string, unknown> = {}
				for (let i = this.int(5); i > 0; i--) object[this.chance(0.7) ? this.pick(['name', 'username', 'picture', 'metadata', 'id', 'sub', '__proto__', 'constructor']) : this.string(8)] = this.json(depth + 1)
				return object
			}
		}
	}
}
