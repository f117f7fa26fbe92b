// The download buttons of the dashboard in a real browser (Debian's Chromium via playwright-core),
// against a real server: a track's chart (CSV of the window it shows), the logs tab (with its
// filters) and the episodes table; each download is what the export route answers.
import { afterAll, beforeAll, describe, expect, it, setDefaultTimeout } from 'bun:test'
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Browser, BrowserContext, Page } from 'playwright-core'
import { ARTIFACTS, launchChromium } from './support/browser'
import { spawnServer, type ServerProcess } from './support/process'
import { Client } from './support/seed'

setDefaultTimeout(120_000)

let dir: string
let server: ServerProcess
let browser: Browser
let context: BrowserContext
let alice: Client & { namespace: string }
let episode: string

beforeAll(async () => {
	dir = mkdtempSync(join(tmpdir(), 'dreamlake-export-browser-'))
	server = await spawnServer(['serve', '--dev', '--port', '0'], { cwd: dir })
	browser = await launchChromium()
	alice = await Client.devUser(server.url, 'alice')
	context = await browser.newContext({ viewport: { width: 1280, height: 860 }, acceptDownloads: true })
	await context.addCookies([{ name: 'dreamlake_session', value: alice.token, url: server.url, httpOnly: true, sameSite: 'Strict' }])
	mkdirSync(ARTIFACTS, { recursive: true })
	episode = (await alice.episode(alice.namespace, 'arm', { name: 'baseline', tags: ['sim'] })).id
	await alice.episode(alice.namespace, 'arm', { name: 'tuned', status: 'completed' })
	await alice.parameters(episode, { model: { lr: 0.001 }, seed: 1 })
	await alice.logs(episode, [{ message: 'starting' }, { level: 'warn', message: 'gripper "slow", again' }, { level: 'error', message: 'dropped' }])
	await alice.track(episode, 'train/loss', Array.from({ length: 2000 }, (_, step) => ({ step, _ts: 1_760_000_000 + step, loss: 1 / (step + 1) })))
})

afterAll(async () => {
	await browser?.close()
	await server?.stop()
	rmSync(dir, { recursive: true, force: true })
})

/** Clicks `selector` and reads the file the browser downloads: its suggested name and text. */
async function download(page: Page, selector: string): Promise<{ name: string; text: string }> {
	const [file] = await Promise.all([page.waitForEvent('download'), page.click(selector)])
	return { name: file.suggestedFilename(), text: readFileSync((await file.path())!, 'utf8') }
}

async function dragAcross(page: Page, chart: string, from: number, to: number) {
	const box = (await page.locator(`${chart} .u-over`).boundingBox())!
	await page.mouse.move(box.x + box.width * from, box.y + box.height / 2)
	await page.mouse.down()
	await page.mouse.move(box.x + box.width * to, box.y + box.height / 2, { steps: 5 })
	await page.mouse.up()
}

describe('download buttons', () => {
	it('a track: CSV of the whole track, then of the window a drag zoomed to; Parquet beside it', async () => {
		const page = await context.newPage()
		await page.goto(`${server.url}/ui/episodes/${episode}/tracks?x=index`)
		await page.waitForSelector('[data-testid=tracks][data-drawn=all]')
		const whole = await download(page, '[data-testid=track] [data-testid=export-csv]')
		expect(whole.name).toBe(`${episode}-train_loss.csv`)
		const lines = whole.text.split('\r\n')
		expect(lines[0]).toBe('index,_ts,step,loss')
		expect(lines.length).toBe(2002)
		expect(lines[1]).toBe('0,1760000000,0,1')
		await dragAcross(page, '[data-testid=chart][data-key=loss]', 0.3, 0.4)
		await page.waitForSelector('button:has-text("Reset zoom"):visible')
		await page.waitForFunction(() => (document.querySelector('[data-testid=export-csv]') as HTMLAnchorElement).href.includes('startIndex'))
		const zoomed = (await download(page, '[data-testid=track] [data-testid=export-csv]')).text.split('\r\n').slice(1, -1)
		const first = Number(zoomed[0]!.split(',')[0])
		expect(first).toBeWithin(400, 800)
		expect(zoomed.length).toBeWithin(100, 400)
		expect(await page.locator('[data-testid=track] [data-testid=export-parquet]').getAttribute('href')).toContain('format=parquet&startIndex=')
		await page.screenshot({ path: join(ARTIFACTS, 'export-track.png') })
		await page.close()
	})

	it('the logs tab: NDJSON and text of the lines its filters match', async () => {
		const page = await context.newPage()
		await page.goto(`${server.url}/ui/episodes/${episode}/logs`)
		await page.waitForSelector('[data-testid=logs] li.log')
		const all = await download(page, '[data-testid=export-ndjson]')
		expect(all.name).toBe(`${episode}-logs.ndjson`)
		expect(all.text.trim().split('\n').map((l) => JSON.parse(l).message)).toEqual(['starting', 'gripper "slow", again', 'dropped'])
		await page.check('label.level-warn input')
		await page.waitForFunction(() => (document.querySelector('[data-testid=export-text]') as HTMLAnchorElement).href.includes('level=warn'))
		const warn = await download(page, '[data-testid=export-text]')
		expect(warn.name).toBe(`${episode}-logs.txt`)
		expect(warn.text).toMatch(/^\S+Z WARN  gripper "slow", again\n$/)
		await page.close()
	})

	it('the episodes table: CSV of every episode the filters match, with the parameters', async () => {
		const page = await context.newPage()
		await page.goto(`${server.url}/ui/projects/arm`)
		await page.waitForSelector('[data-testid=episode-row]')
		const table = await download(page, '[data-testid=export-csv]')
		expect(table.name).toBe(`${alice.namespace}-arm-episodes.csv`)
		const [header, ...rows] = table.text.trim().split('\r\n')
		expect(header).toBe('id,name,status,description,tags,writeProtected,createdAt,createdBy,updatedAt,lastActivityAt,metadata,params.model.lr,params.seed')
		expect(rows.map((r) => r.split(',')[1]).sort()).toEqual(['baseline', 'tuned'])
		await page.selectOption('select[aria-label=Status]', 'completed')
		await page.waitForFunction(() => (document.querySelector('[data-testid=export-csv]') as HTMLAnchorElement).href.includes('status=completed'))
		const completed = (await download(page, '[data-testid=export-csv]')).text.trim().split('\r\n')
		expect(completed.slice(1).map((r) => r.split(',')[1])).toEqual(['tuned'])
		await page.screenshot({ path: join(ARTIFACTS, 'export-episodes.png') })
		await page.close()
	})
})

declare const document: any
declare type HTMLAnchorElement = any
