import { describe, expect, it } from 'bun:test'
import { parseKey } from '../src/episodes/filter'
import { candidates, metricKeyText, paramKeyText, suggest, wordStart } from '../src/ui/filter-keys'
import { aggregate, ema, logSafe } from '../src/ui/series-math'
import { Random } from './support/random'

// The dashboard's own computations, against references computed another way: the keys its filter
// box writes read back by the server's parser as the keys they name; the group band and the
// moving average the charts draw.

const random = new Random(2121)
const PIECES = ['lr', 'optimizer', 'a-b', 'x_1', '0', '1e3', 'train/loss', 'with space', 'dot.ted', 'quo"te', 'back\\slash', 'über', '', 'last', 'min']
const name = () => Array.from({ length: 1 + random.int(3) }, () => random.pick(PIECES)).join(random.pick(['', '.', '/', ' ']))

describe('the keys the filter box writes', () => {
	it('read back through the server’s parser as the parameter or metric they name', () => {
		for (let i = 0; i < 2000; i++) {
			const key = name()
			if (key !== '') expect(parseKey(paramKeyText(key))).toEqual({ kind: 'param', key })
			const track = name()
			const metric = name()
			if (track === '' || metric === '') continue
			const stat = random.pick(['last', 'min', 'max', 'count'] as const)
			expect(parseKey(metricKeyText(track, metric, stat))).toEqual({ kind: 'metric', track, key: metric, stat })
		}
	})

	it('a word starts after the last space, parenthesis or comma outside quotes; suggestions are the keys it starts, then those holding it', () => {
		expect(wordStart('params.lr < 1 and metrics.tr', 28)).toBe(18)
		expect(wordStart('(params."a b', 12)).toBe(1)
		const all = candidates({ params: ['optimizer.lr', 'seed'], metrics: [{ track: 'train/loss', key: 'value' }] })
		expect(suggest(all, 'params.o')).toEqual(['params.optimizer.lr'])
		expect(suggest(all, 'metrics.train/')).toEqual(['metrics."train/loss".value.last', 'metrics."train/loss".value.min', 'metrics."train/loss".value.max', 'metrics."train/loss".value.count'])
		expect(suggest(all, 'seed')).toEqual(['params.seed'])
		expect(suggest(all, 'params.seed')).toEqual([])
		expect(suggest(all, '')).toEqual([])
	})
})

describe('what the charts compute', () => {
	it('a group’s band: at each x any run has, the mean, min and max of the runs there (reference: every x looked up in every run)', () => {
		for (let trial = 0; trial < 200; trial++) {
			const runs = Array.from({ length: 1 + random.int(5) }, () => {
				const x = [...new Set(Array.from({ length: random.int(30) }, () => random.int(40)))].sort((a, b) => a - b)
				return { x, y: x.map(() => (random.chance(0.1) ? null : random.next() * 10 - 5)) }
			})
			const band = aggregate(runs)
			const xs = [...new Set(runs.flatMap((r) => r.x.filter((_, i) => r.y[i] !== null)))].sort((a, b) => a - b)
			expect(band.x).toEqual(xs)
			xs.forEach((x, i) => {
				const ys = runs.flatMap((r) => (r.x.includes(x) && r.y[r.x.indexOf(x)] !== null ? [r.y[r.x.indexOf(x)]!] : []))
				expect(band.mean[i]).toBeCloseTo(ys.reduce((a, b) => a + b, 0) / ys.length, 12)
				expect(band.min[i]).toBe(Math.min(...ys))
				expect(band.max[i]).toBe(Math.max(...ys))
			})
		}
	})

	it('the moving average: weight 0 is the values, a constant stays constant (debiased), a gap stays a gap; reference: a weighted sum over the past', () => {
		for (let trial = 0; trial < 200; trial++) {
			const values = Array.from({ length: random.int(50) }, () => (random.chance(0.1) ? null : random.next() * 100))
			const weight = random.pick([0, 0.3, 0.6, 0.9, 0.99])
			const smoothed = ema(values, weight)
			const present = values.filter((v): v is number => v !== null)
			let k = 0
			values.forEach((v, i) => {
				if (v === null) return expect(smoothed[i]).toBeNull()
				k++
				// the debiased EMA is the average of the k values so far weighted weight^(k-1-j)
				const weights = present.slice(0, k).map((_, j) => weight ** (k - 1 - j))
				const expected = present.slice(0, k).reduce((sum, p, j) => sum + p * weights[j]!, 0) / weights.reduce((a, b) => a + b, 0)
				expect(smoothed[i]).toBeCloseTo(expected, 8)
			})
		}
		expect(ema([5, 5, 5, 5], 0.9).map((v) => +v!.toFixed(12))).toEqual([5, 5, 5, 5])
		expect(logSafe([1, 0, -2, null, 3])).toEqual([1, null, null, null, 3])
	})
})
