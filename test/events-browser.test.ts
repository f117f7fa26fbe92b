// The dashboard following a run as it writes, in a real browser (Chromium via playwright-core)
// against the real server: a script appends points and lines through the public API while the page
// stays open, and the chart grows, the counts change and the table's rows move, with no reload.
import { afterAll, beforeAll, describe, expect, it, setDefaultTimeout } from 'bun:test'
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Browser, BrowserContext, Page } from 'playwright-core'
import { ARTIFACTS, launchChromium } from './support/browser'
import { spawnServer, type ServerProcess } from './support/process'
import { Client } from './support/seed'

setDefaultTimeout(90_000)

declare const window: any, document: any

let dir: string
let server: ServerProcess
let browser: Browser
let context: BrowserContext
let alice: Client & { namespace: string }
const pageErrors: string[] = []

beforeAll(async () => {
	dir = mkdtempSync(join(tmpdir(), 'dreamlake-events-browser-'))
	server = await spawnServer(['serve', '--dev', '--port', '0'], { cwd: dir })
	browser = await launchChromium()
	alice = await Client.devUser(server.url, 'alice')
	context = await browser.newContext({ viewport: { width: 1280, height: 860 } })
	await context.addCookies([{ name: 'dreamlake_session', value: alice.token, url: server.url, httpOnly: true, sameSite: 'Strict' }])
	context.on('page', (page) => page.on('pageerror', (error) => pageErrors.push(String(error))))
	mkdirSync(ARTIFACTS, { recursive: true })
})

afterAll(async () => {
	await browser?.close()
	await server?.stop()
	rmSync(dir, { recursive: true, force: true })
})

const points = (from: number, n: number) => Array.from({ length: n }, (_, i) => ({ step: from + i, loss: 1 / (from + i + 1) }))
const attr = (page: Page, selector: string, name: string) => page.locator(selector).first().getAttribute(name)
/** Marks the page: a reload (or a navigation away) loses the mark. */
const mark = (page: Page) => page.evaluate(() => (window.__sameDocument = true))
const sameDocument = (page: Page) => page.evaluate(() => window.__sameDocument === true)

describe('the dashboard follows a run live', () => {
	it('on the tracks tab a chart grows as points are appended, the counts change, a new track gets its chart; with no reload', async () => {
		const episode = await alice.episode(alice.namespace, 'live-run', { name: 'training' })
		await alice.track(episode.id, 'train', points(0, 50))
		await alice.logs(episode.id, [{ message: 'started' }])
		const page = await context.newPage()
		await page.goto(`${server.url}/ui/episodes/${episode.id}/tracks?x=index`)
		const chart = '[data-testid="track"][data-track="train"] [data-testid="chart"][data-key="loss"]'
		await page.waitForSelector(`${chart}[data-drawn]`)
		await page.waitForSelector('[data-testid="live"][data-state="live"]')
		await mark(page)
		expect(await attr(page, chart, 'data-points')).toBe('50')
		expect(await page.textContent('[data-testid="episode-counts"]')).toBe('1 log line · 1 track · 0 files')

		// a few points at a time: each event carries them, and they join the chart
		for (let i = 0; i < 5; i++) await alice.call('POST', `/episodes/${episode.id}/tracks/train/append-batch`, { dataPoints: points(50 + i * 6, 6) })
		await page.waitForSelector(`${chart}[data-points="80"]`)
		expect(await page.textContent('[data-testid="track"][data-track="train"] [data-testid="track-total"]')).toBe('80 points')
		// many at once: the event names the range, and only that range is read (folded)
		await alice.track(episode.id, 'train', points(80, 2000))
		await page.waitForFunction((selector) => Number(document.querySelector(selector)?.getAttribute('data-points')) > 80, chart)
		expect(await page.textContent('[data-testid="track"][data-track="train"] [data-testid="track-total"]')).toBe('2,080 points')

		// log lines and a new track move the counts
		await alice.logs(episode.id, [{ message: 'a' }, { message: 'b' }])
		await alice.track(episode.id, 'eval', points(0, 10))
		await page.waitForFunction(() => document.querySelector('[data-testid="episode-counts"]')?.textContent === '3 log lines · 2 tracks · 0 files')
		expect(await page.textContent('[data-testid="count-logs"]')).toBe('3')
		await page.waitForSelector('[data-testid="track"][data-track="eval"] [data-testid="chart"][data-drawn]')
		// the status, from a PATCH elsewhere
		await alice.call('PATCH', `/episodes/${episode.id}`, { status: 'completed' })
		await page.waitForFunction(() => document.querySelector('[data-testid="episode-status"]')?.textContent === 'completed')
		await page.screenshot({ path: join(ARTIFACTS, 'events-live-tracks.png'), fullPage: true })
		expect(await sameDocument(page)).toBe(true)
		expect(pageErrors).toEqual([])
		await page.close()
	})

	it('a zoomed chart keeps its window while points are appended', async () => {
		const episode = await alice.episode(alice.namespace, 'live-run', { name: 'zoomed' })
		await alice.track(episode.id, 'train', points(0, 400))
		const page = await context.newPage()
		await page.goto(`${server.url}/ui/episodes/${episode.id}/tracks?x=index`)
		const chart = '[data-testid="track"][data-track="train"] [data-testid="chart"][data-key="loss"]'
		await page.waitForSelector(`${chart}[data-drawn]`)
		await page.waitForSelector('[data-testid="live"][data-state="live"]')
		await mark(page)
		const box = (await page.locator(`${chart} .u-over`).boundingBox())!
		await page.mouse.move(box.x + box.width * 0.2, box.y + box.height / 2)
		await page.mouse.down()
		await page.mouse.move(box.x + box.width * 0.4, box.y + box.height / 2, { steps: 5 })
		await page.mouse.up()
		await page.waitForSelector('[data-testid="track"][data-track="train"] button:has-text("Reset zoom"):visible')
		await page.waitForFunction((selector) => !document.querySelector(selector)?.getAttribute('data-window')?.startsWith('0..'), chart)
		const zoomed = await attr(page, chart, 'data-window')
		const held = Number(await attr(page, chart, 'data-points'))
		for (let i = 0; i < 3; i++) await alice.call('POST', `/episodes/${episode.id}/tracks/train/append-batch`, { dataPoints: points(400 + i * 10, 10) })
		await page.waitForFunction((selector) => document.querySelector('[data-testid="track-total"]')?.textContent === '430 points', chart)
		await page.waitForFunction(([selector, n]) => Number(document.querySelector(selector)?.getAttribute('data-points')) === n, [chart, held + 30] as const)
		expect(await attr(page, chart, 'data-window')).toBe(zoomed)
		expect(await sameDocument(page)).toBe(true)
		await page.close()
	})

	it("on the logs tab new lines appear as they are written; the project's table changes a row's status and gains a new episode", async () => {
		const episode = await alice.episode(alice.namespace, 'live-table', { name: 'first' })
		const page = await context.newPage()
		await page.goto(`${server.url}/ui/episodes/${episode.id}/logs`)
		await page.waitForSelector('[data-testid="live"][data-state="live"]')
		await mark(page)
		await alice.logs(episode.id, [{ message: 'hello <b>there</b>' }, { level: 'warn', message: 'careful' }])
		await page.waitForFunction(() => document.querySelectorAll('[data-testid="logs"] li.log').length === 2)
		expect(await page.textContent('[data-testid="logs"] li.log .message')).toBe('hello <b>there</b>')
		expect(await page.textContent('[data-testid="count-logs"]')).toBe('2')

		const table = await context.newPage()
		await table.goto(`${server.url}/ui/n/${alice.namespace}/projects/live-table`)
		await table.waitForSelector('[data-testid="episode-row"]')
		await table.waitForSelector('[data-testid="live"][data-state="live"]')
		await mark(table)
		await alice.call('PATCH', `/episodes/${episode.id}`, { status: 'failed' })
		await table.waitForFunction((id) => document.querySelector(`[data-testid="episode-row"][data-id="${id}"] [data-testid="episode-status"]`)?.textContent === 'failed', episode.id)
		await alice.episode(alice.namespace, 'live-table', { name: 'second' })
		await table.waitForFunction(() => document.querySelectorAll('[data-testid="episode-row"]').length === 2)
		await table.screenshot({ path: join(ARTIFACTS, 'events-live-table.png'), fullPage: true })
		expect(await sameDocument(page)).toBe(true)
		expect(await sameDocument(table)).toBe(true)
		expect(pageErrors).toEqual([])
	})
})
