// What the charts compute from the values they are given: the smoothed line (an exponential moving
// average), the line and band of a group of runs (mean, min and max at each x), and the values a
// log scale can draw. Plain arrays in, plain arrays out: no chart, no DOM.

export type Values = (number | null)[]

/** Smoothing weights the slider offers: 0 (raw) up to 0.99. */
export const SMOOTHING_MAX = 0.99

/** The smoothing weight a query's `smooth=` names: a number in [0, 0.99], else 0. */
export function smoothingOf(text: string | null): number {
	const weight = Number(text)
	return Number.isFinite(weight) && weight > 0 ? Math.min(SMOOTHING_MAX, weight) : 0
}

/**
 * An exponential moving average with weight `weight` on the past (0: the values themselves),
 * debiased as TensorBoard does so the first points are not pulled towards 0. A gap (null) stays a
 * gap and does not reset the average.
 */
export function ema(values: Values, weight: number): Values {
	if (!(weight > 0)) return values.slice()
	let average = 0
	let debias = 1
	return values.map((v) => {
		if (v === null || !Number.isFinite(v)) return null
		average = average * weight + (1 - weight) * v
		debias *= weight
		return average / (1 - debias)
	})
}

export interface Band {
	x: number[]
	mean: Values
	min: Values
	max: Values
}

/** The runs of a group as one line and a band: at each x any run has a value at, the mean, min and max of the runs' values there. */
export function aggregate(runs: { x: number[]; y: Values }[]): Band {
	const at = new Map<number, number[]>()
	for (const run of runs)
		run.x.forEach((x, i) => {
			const y = run.y[i]
			if (y === null || y === undefined || !Number.isFinite(y)) return
			const list = at.get(x)
			if (list) list.push(y)
			else at.set(x, [y])
		})
	const x = [...at.keys()].sort((a, b) => a - b)
	const mean: Values = []
	const min: Values = []
	const max: Values = []
	for (const position of x) {
		const ys = at.get(position)!
		mean.push(ys.reduce((sum, y) => sum + y, 0) / ys.length)
		min.push(Math.min(...ys))
		max.push(Math.max(...ys))
	}
	return { x, mean, min, max }
}

/** The values a log scale draws: a non-positive value has no logarithm and becomes a gap. */
export function logSafe(values: Values): Values {
	return values.map((v) => (v !== null && v > 0 ? v : null))
}

/** How many values a log scale leaves out. */
export const nonPositive = (values: Values) => values.reduce((n: number, v) => n + (v !== null && v <= 0 ? 1 : 0), 0)
