// bun scripts/screenshots.ts [binary]: the README's pictures of the dashboard. Starts a throwaway
// `serve --dev`, logs a small robotics project through the API as the SDK would, signs in through
// the page, and photographs each view into docs/screenshots/ (Debian's Chromium, as the tests use).
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Page } from 'playwright-core'
import { launchChromium } from '../test/support/browser'
import { spawnServer } from '../test/support/process'
import { Client } from '../test/support/seed'

// what the functions passed to the page see: they run there, not here
declare const document: any

const out = join(import.meta.dir, '..', 'docs', 'screenshots')
mkdirSync(out, { recursive: true })
if (process.argv[2]) process.env.DREAMLAKE_BINARY = process.argv[2]
const dir = mkdtempSync(join(tmpdir(), 'dreamlake-shots-'))
const server = await spawnServer(['serve', '--dev', '--port', '0'], { cwd: dir })
const browser = await launchChromium()
try {
	const ada = await Client.devUser(server.url, 'ada')
	const ns = ada.namespace
	let seed = 7
	const noise = () => ((seed = (seed * 16807) % 2147483647) / 2147483647 - 0.5) * 2
	const runs = [
		{ name: 'ppo-baseline', lr: 3e-4, clip: 0.2, status: 'completed', tags: ['ppo', 'baseline'] },
		{ name: 'ppo-lr-1e-3', lr: 1e-3, clip: 0.2, status: 'completed', tags: ['ppo', 'sweep'] },
		{ name: 'ppo-clip-0.1', lr: 3e-4, clip: 0.1, status: 'failed', tags: ['ppo', 'sweep'] },
		{ name: 'sac-grasp-v2', lr: 3e-4, clip: 0, status: 'running', tags: ['sac'] },
	]
	const ids: string[] = []
	for (const [r, run] of runs.entries()) {
		const episode = await ada.episode(ns, 'grasping', { name: run.name, tags: run.tags, status: run.status, description: `Pick-and-place with a UR5 arm in simulation, ${run.name.startsWith('sac') ? 'SAC' : 'PPO'}.`, metadata: { robot: 'ur5e', simulator: 'mujoco-3.1', gpu: 'A100' } })
		ids.push(episode.id)
		await ada.parameters(episode.id, { optimizer: { name: 'adam', lr: run.lr, betas: [0.9, 0.999] }, ppo: { clip: run.clip, epochs: 10 }, env: { name: 'UR5Grasp-v2', horizon: 500 }, seed: 42 + r })
		const steps = 20_000
		const speed = run.lr * 2500 * (run.clip === 0.1 ? 0.4 : 1)
		await ada.track(episode.id, 'train', Array.from({ length: steps }, (_, step) => ({ step, _ts: 1_764_000_000 + step * 0.5, loss: 2 * Math.exp(-step / (4000 / speed)) + 0.05 + 0.04 * noise(), reward: 100 * (1 - Math.exp(-step / (6000 / speed))) + 6 * noise() })))
		await ada.track(episode.id, 'eval/success', Array.from({ length: 40 }, (_, i) => ({ step: i * 500, rate: Math.min(1, (1 - Math.exp(-i / (12 / speed))) * 0.95 + 0.03 * noise()) })))
		const lines = [
			{ message: `episode ${run.name} started on node gpu-07` },
			{ message: 'loaded UR5Grasp-v2 (horizon 500)', metadata: { envs: 64 } },
			...Array.from({ length: 24 }, (_, i) => ({ message: `step ${(i + 1) * 800}: loss ${(2 * Math.exp(-(i + 1) * 800 / (4000 / speed)) + 0.05).toFixed(4)}, reward ${(100 * (1 - Math.exp(-(i + 1) * 800 / (6000 / speed)))).toFixed(1)}` })),
			{ level: 'warn', message: 'gripper contact force above 40 N for 3 steps' },
			...(run.status === 'failed' ? [{ level: 'error', message: 'NaN in policy gradient; stopping' }] : [{ message: 'checkpoint saved to /checkpoints/policy.pt' }]),
		]
		await ada.logs(episode.id, lines)
		if (r === 0) {
			await ada.upload(episode.id, 'config.yaml', new TextEncoder().encode('env: UR5Grasp-v2\nalgo: ppo\nlr: 3.0e-4\nclip: 0.2\nseed: 42\n'), { prefix: '/config', type: 'text/yaml' })
			await ada.upload(episode.id, 'policy.pt', crypto.getRandomValues(new Uint8Array(48_000)), { prefix: '/checkpoints' })
			await ada.upload(episode.id, 'camera.png', await cameraPng(), { prefix: '/frames', type: 'image/png' })
		}
	}

	const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, deviceScaleFactor: 1 })
	const page = await context.newPage()
	const shot = (name: string, fullPage = false) => page.screenshot({ path: join(out, `${name}.png`), fullPage })
	// sign in through the page, as a person does
	await page.goto(`${server.url}/`)
	await page.click('text=Sign in with vuer-auth')
	await page.waitForSelector('[data-testid=user-code]')
	await shot('signin')
	const approve = await context.newPage()
	await approve.goto((await page.locator('a:has-text("Open vuer-auth")').getAttribute('href'))!)
	await approve.fill('#username', 'ada')
	await approve.fill('#name', 'Ada Lovelace')
	await approve.click('button[value=approve]')
	await approve.close()
	await page.waitForSelector('[data-testid=project]', { timeout: 15_000 })
	await shot('projects')

	await page.goto(`${server.url}/ui/projects/grasping?m=${encodeURIComponent('train::reward')}&m=${encodeURIComponent('eval/success::rate')}`)
	await settle(page, () => [...document.querySelectorAll('td.metric')].every((td: any) => td.textContent !== '…'))
	await shot('episodes')
	await page.goto(`${server.url}/ui/episodes/${ids[0]}`)
	await settle(page, () => !!document.querySelector('.overview'))
	await shot('episode-overview')
	await page.goto(`${server.url}/ui/episodes/${ids[0]}/parameters`)
	await settle(page, () => !!document.querySelector('.param-group'))
	await shot('episode-parameters')
	await page.goto(`${server.url}/ui/episodes/${ids[0]}/logs`)
	await settle(page, () => !!document.querySelector('.log'))
	await shot('episode-logs')
	await page.goto(`${server.url}/ui/episodes/${ids[0]}/tracks`)
	await settle(page, () => document.querySelector('[data-testid=tracks]')?.getAttribute('data-drawn') === 'all')
	await shot('episode-tracks', true)
	await page.goto(`${server.url}/ui/episodes/${ids[0]}/files`)
	await settle(page, () => !!document.querySelector('[data-testid=file-row]'))
	await page.click('button:has-text("/frames/camera.png")')
	await settle(page, () => document.querySelector('[data-testid=preview] img')?.complete === true)
	await shot('episode-files')
	await page.goto(`${server.url}/ui/compare?ids=${ids.slice(0, 3).join(',')}&metric=${encodeURIComponent('train::reward')}&x=step`)
	await settle(page, () => !!document.querySelector('[data-testid=compare-chart][data-drawn]'))
	await shot('compare', true)
	console.log(`screenshots in ${out}`)
} finally {
	await browser.close()
	await server.stop()
	rmSync(dir, { recursive: true, force: true })
}

async function settle(page: Page, ready: () => boolean) {
	await page.waitForFunction(ready, undefined, { timeout: 15_000 })
	await page.waitForTimeout(150) // the last frame painted
}

/** A small picture for the file preview: a gradient drawn by the browser itself. */
async function cameraPng(): Promise<Uint8Array<ArrayBuffer>> {
	const page = await browser.newPage()
	const base64 = await page.evaluate(() => {
		const canvas = document.createElement('canvas')
		canvas.width = 320
		canvas.height = 200
		const ctx = canvas.getContext('2d')!
		const sky = ctx.createLinearGradient(0, 0, 0, 200)
		sky.addColorStop(0, '#93c5fd')
		sky.addColorStop(1, '#e0f2fe')
		ctx.fillStyle = sky
		ctx.fillRect(0, 0, 320, 200)
		ctx.fillStyle = '#475569'
		ctx.fillRect(0, 150, 320, 50)
		ctx.fillStyle = '#f97316'
		ctx.fillRect(140, 120, 40, 30)
		ctx.strokeStyle = '#1e293b'
		ctx.lineWidth = 8
		ctx.beginPath()
		ctx.moveTo(60, 150)
		ctx.lineTo(100, 60)
		ctx.lineTo(160, 90)
		ctx.lineTo(160, 115)
		ctx.stroke()
		return canvas.toDataURL('image/png').split(',')[1]!
	})
	await page.close()
	return Uint8Array.from(atob(base64), (c) => c.charCodeAt(0))
}
