// Finding the best run in a real browser (Chromium via playwright-core) against the real server:
// the filter box suggests the project's keys as you type, the table filters and sorts, "Compare all
// matching" charts the runs it matches, grouped by a parameter (a line per value: the mean, with a
// min–max band), several metrics at once, smoothed, on a log axis. What uPlot holds is checked
// against the mean, min, max and moving average computed here from the points this test wrote; the
// URL carries it all, and a reload draws the same.
import { afterAll, beforeAll, describe, expect, it, setDefaultTimeout } from 'bun:test'
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Browser, BrowserContext, Page } from 'playwright-core'
import { ARTIFACTS, launchChromium } from './support/browser'
import { spawnServer, type ServerProcess } from './support/process'
import { Client } from './support/seed'

setDefaultTimeout(120_000)

declare const document: any

let dir: string
let server: ServerProcess
let browser: Browser
let context: BrowserContext
let alice: Client & { namespace: string }
const pageErrors: string[] = []

const LRS = [0.1, 0.01, 0.001]
const SEEDS = [0, 1, 2]
const STEPS = 200
/** What run (lr, seed) wrote at a step: a falling loss, a dip below zero in one run (for the log scale), and an accuracy. */
const loss = (lr: number, seed: number, step: number) => (lr === 0.01 && seed === 0 && step === 3 ? -1 : (1 + seed / 10) * Math.exp(-step * lr * 10) + ((step * 7 + seed * 13) % 11) / 100)
const acc = (lr: number, seed: number, step: number) => 1 - Math.abs(loss(lr, seed, step)) / 2
const ids: Record<string, string> = {}

beforeAll(async () => {
	dir = mkdtempSync(join(tmpdir(), 'dreamlake-compare-browser-'))
	server = await spawnServer(['serve', '--dev', '--port', '0'], { cwd: dir })
	browser = await launchChromium()
	alice = await Client.devUser(server.url, 'alice')
	context = await browser.newContext({ viewport: { width: 1280, height: 900 } })
	await context.addCookies([{ name: 'dreamlake_session', value: alice.token, url: server.url, httpOnly: true, sameSite: 'Strict' }])
	context.on('page', (page) => page.on('pageerror', (error) => pageErrors.push(String(error) + ' @ ' + page.url() + ' ' + error.stack)))
	mkdirSync(ARTIFACTS, { recursive: true })
	for (const lr of [...LRS, 0.5])
		for (const seed of SEEDS) {
			const name = `lr${lr}-s${seed}`
			const { id } = await alice.episode(alice.namespace, 'sweep', { name, status: lr === 0.5 ? 'failed' : 'completed' })
			ids[name] = id
			await alice.parameters(id, { optimizer: { lr, name: 'adam' }, seed })
			await alice.track(id, 'train', Array.from({ length: STEPS }, (_, step) => ({ step, loss: loss(lr, seed, step), acc: acc(lr, seed, step) })))
			await alice.track(id, 'eval/success', [{ rate: lr * 10 + seed }])
		}
})

afterAll(async () => {
	await browser?.close()
	await server?.stop()
	rmSync(dir, { recursive: true, force: true })
})

/** The reference: an exponential moving average with TensorBoard's debiasing, over the values that are there. */
function movingAverage(values: (number | null)[], weight: number): (number | null)[] {
	let last = 0
	let n = 0
	return values.map((v) => {
		if (v === null) return null
		last = last * weight + (1 - weight) * v
		n++
		return last / (1 - weight ** n)
	})
}

/** What a chart's uPlot holds: each series' label and values. */
const held = (page: Page, metric: string) =>
	page.$eval(`[data-testid=compare-chart][data-metric="${metric}"]`, (el: any) => ({
		labels: el.uplot.series.map((s: any) => s.label),
		data: el.uplot.data.map((column: any) => Array.from(column, (v: any) => (v === undefined ? null : v))),
		distr: el.uplot.scales.y.distr,
	})) as Promise<{ labels: string[]; data: (number | null)[][]; distr: number }>

const closeTo = (actual: (number | null)[], expected: (number | null)[]) => {
	expect(actual.length).toBe(expected.length)
	actual.forEach((v, i) => {
		if (expected[i] === null) expect(v).toBeNull()
		else expect(Math.abs((v as number) - expected[i]!)).toBeLessThan(1e-9)
	})
}

/** Sets a range input as a person letting go of it does: input, then change. */
const slide = (page: Page, selector: string, value: number) =>
	page.$eval(
		selector,
		(el: any, v: number) => {
			el.value = String(v)
			el.dispatchEvent(new Event('input', { bubbles: true }))
			el.dispatchEvent(new Event('change', { bubbles: true }))
		},
		value,
	)

describe('find the best run', () => {
	it('the filter box suggests the project’s keys as you type, quoted as the language wants, and takes one by keyboard', async () => {
		const page = await context.newPage()
		await page.goto(`${server.url}/ui/projects/sweep`)
		await page.waitForSelector('[data-testid=episode-row]')
		const filter = page.locator('input.filter')
		expect(await filter.getAttribute('role')).toBe('combobox')
		await filter.click()
		await filter.pressSequentially('params.opt')
		await page.waitForSelector('[data-testid=key-suggestions]:not([hidden])')
		expect(await page.locator('[data-testid=key-suggestions] [role=option]').allTextContents()).toEqual(['params.optimizer.lr', 'params.optimizer.name'])
		await filter.press('ArrowDown')
		expect(await filter.getAttribute('aria-activedescendant')).toBeTruthy()
		await filter.press('Enter')
		expect(await filter.inputValue()).toBe('params.optimizer.lr ')
		expect(await page.locator('[data-testid=key-suggestions]').isHidden()).toBe(true)
		// a track with a slash is quoted; each metric comes with its four stats
		await filter.pressSequentially('< 0.05 and metrics.eval')
		await page.waitForSelector('[data-testid=key-suggestions]:not([hidden])')
		expect(await page.locator('[data-testid=key-suggestions] [role=option]').allTextContents()).toEqual(['metrics."eval/success".rate.last', 'metrics."eval/success".rate.min', 'metrics."eval/success".rate.max', 'metrics."eval/success".rate.count'])
		await filter.press('Escape')
		expect(await page.locator('[data-testid=key-suggestions]').isHidden()).toBe(true)
		// typing again opens it again
		await filter.press('Backspace')
		await page.waitForSelector('[data-testid=key-suggestions]:not([hidden])')
		await filter.press('ArrowDown')
		await filter.press('Enter')
		expect(await filter.inputValue()).toBe('params.optimizer.lr < 0.05 and metrics."eval/success".rate.last ')
		// the Enter that took a suggestion ran nothing; this one runs the filter
		expect(await page.locator('[data-testid=episode-row]').count()).toBe(12)
		await filter.pressSequentially('< 2')
		await filter.press('Enter')
		await page.waitForFunction(() => document.querySelectorAll('[data-testid=episode-row]').length === 4)
		// lr < 0.05: 0.01 and 0.001; rate = lr × 10 + seed < 2: seeds 0 and 1
		expect((await page.locator('[data-testid=episode-row] td a').allTextContents()).sort()).toEqual(['lr0.001-s0', 'lr0.001-s1', 'lr0.01-s0', 'lr0.01-s1'])
		await page.close()
	})

	it('filters and sorts the table, compares all it matches grouped by a parameter, two metrics, smoothed; what uPlot holds is the group’s mean, min, max and moving average; the URL restores it', async () => {
		const page = await context.newPage()
		const filter = 'params.optimizer.lr < 0.5'
		// the table's metric column (train · loss) is the metric the compare view opens on
		await page.goto(`${server.url}/ui/projects/sweep?filter=${encodeURIComponent(filter)}&p=optimizer.lr&m=${encodeURIComponent('train::loss')}`)
		await page.waitForFunction(() => document.querySelectorAll('[data-testid=episode-row]').length === 9)
		// sort by the lr column: descending first
		await page.locator('th.metric button.sort', { hasText: 'optimizer.lr' }).click()
		await page.waitForFunction(() => document.querySelector('th.metric')?.getAttribute('aria-sort') === 'descending')
		const lrs = (await page.locator('[data-testid=episode-row] td.param').allTextContents()).map(Number)
		expect(lrs).toEqual([...lrs].sort((a, b) => b - a))
		expect(new Set(lrs)).toEqual(new Set(LRS))

		await page.getByRole('button', { name: /Compare all 9 matching/ }).click()
		await page.waitForSelector('[data-testid=compare-chart] canvas')
		expect(new URL(page.url()).searchParams.get('filter')).toBe(filter)
		await page.getByLabel('Group by parameter').selectOption('optimizer.lr')
		await page.locator('[data-testid=compare-metrics] label', { hasText: 'train · acc' }).locator('input').check()
		await slide(page, '[data-testid=smoothing]', 0.6)
		await page.waitForFunction(() => document.querySelectorAll('[data-testid=compare-chart] canvas').length === 2 && document.querySelector('[data-testid=compare-chart]')?.uplot?.series.length === 13)
		await page.screenshot({ path: join(ARTIFACTS, 'compare-grouped.png'), fullPage: true })

		for (const [metric, f] of [['train::loss', loss], ['train::acc', acc]] as const) {
			const chart = await held(page, metric)
			expect(chart.data[0]).toEqual(Array.from({ length: STEPS }, (_, i) => i))
			for (const lr of LRS) {
				const label = `${lr} (3 runs)`
				const at = chart.labels.indexOf(label)
				expect(at).toBeGreaterThan(0)
				expect(chart.labels.slice(at, at + 4)).toEqual([label, `${label} (raw)`, `${label} min`, `${label} max`])
				const values = (step: number) => SEEDS.map((seed) => f(lr, seed, step))
				const mean = Array.from({ length: STEPS }, (_, step) => values(step).reduce((a, b) => a + b, 0) / SEEDS.length)
				closeTo(chart.data[at + 1]!, mean)
				closeTo(chart.data[at]!, movingAverage(mean, 0.6))
				closeTo(chart.data[at + 2]!, Array.from({ length: STEPS }, (_, step) => Math.min(...values(step))))
				closeTo(chart.data[at + 3]!, Array.from({ length: STEPS }, (_, step) => Math.max(...values(step))))
			}
		}
		const url = new URL(page.url())
		expect(url.searchParams.getAll('metric')).toEqual(['train::loss', 'train::acc'])
		expect(url.searchParams.get('group')).toBe('optimizer.lr')
		expect(url.searchParams.get('smooth')).toBe('0.6')
		expect(url.searchParams.get('order')).toBe('params."optimizer.lr"')

		// the log scale: non-positive values are gaps, and said so
		const before = await held(page, 'train::loss')
		await page.getByTestId('log-scale').first().check()
		await page.waitForFunction(() => document.querySelector('[data-testid=compare-chart]')?.uplot?.scales.y.distr === 3)
		const logged = await held(page, 'train::loss')
		const min01 = logged.labels.indexOf('0.01 (3 runs) min')
		expect(before.data[min01]![3]).toBe(-1)
		expect(logged.data[min01]![3]).toBeNull()
		expect(logged.data[min01]!.filter((v) => v === null)).toHaveLength(1)
		// lr 0.1's loss falls to 1e-87: the axis spans 12 decades at most, not 88 (uPlot would split it forever)
		const range = await page.$eval('[data-testid=compare-chart][data-metric="train::loss"]', (el: any) => [el.uplot.scales.y.min, el.uplot.scales.y.max])
		expect(range[1] / range[0]).toBeLessThanOrEqual(1e13)
		expect(await page.locator('.compare-metric', { has: page.locator('[data-metric="train::loss"]') }).innerText()).toContain('1 value ≤ 0 is not drawn on the log scale')
		expect(await page.locator('.compare-metric', { has: page.locator('[data-metric="train::acc"]') }).innerText()).not.toContain('log scale')
		expect(new URL(page.url()).searchParams.get('log')).toBe('1')

		// a shared link: the same view, the same data
		const link = page.url()
		const other = await context.newPage()
		await other.goto(link)
		await other.waitForFunction(() => document.querySelectorAll('[data-testid=compare-chart] canvas').length === 2 && document.querySelector('[data-testid=compare-chart]')?.uplot?.scales.y.distr === 3)
		expect(await other.getByLabel('Group by parameter').inputValue()).toBe('optimizer.lr')
		expect(await other.getByTestId('smoothing').first().inputValue()).toBe('0.6')
		expect(await other.getByTestId('log-scale').first().isChecked()).toBe(true)
		expect(await held(other, 'train::loss')).toEqual(logged)
		expect(await held(other, 'train::acc')).toEqual(await held(page, 'train::acc'))
		await other.close()
		await page.close()
	})

	it('an episode’s track charts smooth and take a log axis too, from the URL', async () => {
		const page = await context.newPage()
		await page.goto(`${server.url}/ui/episodes/${ids['lr0.01-s0']}/tracks?x=step&smooth=0.5&log=1`)
		await page.waitForSelector('[data-testid=tracks][data-drawn=all]')
		const chart = await page.$eval('[data-testid=chart][data-key=loss]', (el: any) => ({
			labels: el.uplot.series.map((s: any) => s.label),
			data: el.uplot.data.map((column: any) => Array.from(column, (v: any) => (v === undefined ? null : v))),
			distr: el.uplot.scales.y.distr,
		}))
		expect(chart.distr).toBe(3)
		expect(chart.labels).toEqual(['step', 'loss (raw)', 'min', 'max', 'loss (smoothed 0.5)'])
		const raw = Array.from({ length: STEPS }, (_, step) => loss(0.01, 0, step))
		const positive = (v: number | null) => (v !== null && v > 0 ? v : null)
		closeTo(chart.data[1] as (number | null)[], raw.map(positive))
		closeTo(chart.data[4] as (number | null)[], movingAverage(raw, 0.5).map(positive))
		expect(await page.getByTestId('smoothing').inputValue()).toBe('0.5')
		expect(await page.getByTestId('log-scale').isChecked()).toBe(true)
		expect(await page.locator('[data-testid=track][data-track=train] .chart-status').innerText()).toContain('1 value ≤ 0 is not drawn')
		// off again: the URL loses them, the chart is raw and linear
		await page.getByTestId('log-scale').uncheck()
		await page.waitForFunction(() => document.querySelector('[data-testid=chart][data-key=loss]')?.uplot?.scales.y.distr === 1)
		expect(new URL(page.url()).searchParams.get('log')).toBeNull()
		expect(new URL(page.url()).searchParams.get('smooth')).toBe('0.5')
		await page.close()
	})

	it('compare all matching stops at 50, and says so', async () => {
		for (let i = 0; i < 51; i++) await alice.episode(alice.namespace, 'many', { name: `m-${String(i).padStart(2, '0')}` })
		const page = await context.newPage()
		await page.goto(`${server.url}/ui/projects/many`)
		await page.getByRole('button', { name: 'Compare first 50 matching' }).click()
		await page.waitForSelector('[data-testid=compare-bounded]')
		expect(await page.getByTestId('compare-bounded').innerText()).toBe('The first 50 of 51 matching episodes, in the table’s order: narrow the filter to compare others.')
		expect(await page.locator('.legend-list li').count()).toBe(50)
		await page.close()
	})

	it('no page threw a script error', () => {
		expect(pageErrors).toEqual([])
	})
})
