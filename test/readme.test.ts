import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { join } from 'node:path'
import { SETTINGS, type Setting } from '../src/config'
import { Harness } from './support/harness'

const readme = await Bun.file(join(import.meta.dir, '..', 'README.md')).text()
let h: Harness
beforeAll(async () => {
	h = await Harness.start()
})
afterAll(() => h.close())

describe('README.md', () => {
	it.each(SETTINGS.map((s) => [s.env, s] as [string, Setting]))('documents %s with its flag and default', (env, setting) => {
		const row = readme.split('\n').find((line) => line.startsWith(`| \`${env}\` |`))
		expect(row).toBeDefined()
		expect(row).toContain(`\`${setting.flag}\``)
		if (setting.default !== undefined) expect(row).toContain(`\`${setting.default}\``)
	})

	it('documents every route with a curl example', () => {
		const routes = h.app.routes.filter((r) => r.method !== 'ALL').map((r) => `${r.method} ${r.path}`)
		expect(routes).toEqual(expect.arrayContaining(['GET /health', 'POST /auth/exchange', 'GET /auth/me', 'PATCH /auth/me', 'POST /auth/logout']))
		const undocumented = routes.filter((route) => {
			const start = readme.indexOf(`### \`${route}\``)
			if (start < 0) return true
			const section = readme.slice(start).split('\n### ')[0]!
			return !section.includes('curl') || !section.includes(route.split(' ')[1]!)
		})
		expect(undocumented).toEqual([])
	})

	it('lists every route that answers 501 under "Not yet available"', () => {
		const section = readme.slice(readme.indexOf('### Not yet available (501)')).split('\n### ')[0]!.split('\n## ')[0]!
		const missing = h.app.routes.filter((r) => r.method === 'ALL').map((r) => r.path).filter((path) => !section.includes(`\`${path}\``))
		expect(missing).toEqual([])
		expect(section).toContain('curl')
	})

	it('shows the test command and pins the Bun version package.json pins', async () => {
		const pkg = await Bun.file(join(import.meta.dir, '..', 'package.json')).json()
		expect(readme).toContain('bun test')
		expect(readme).toContain(`npm install -g ${pkg.packageManager}`)
		expect(pkg.engines.bun).toBe(pkg.packageManager.split('@')[1])
	})
})

describe('SECURITY.md', () => {
	it('points only at tests that exist', async () => {
		const security = await Bun.file(join(import.meta.dir, '..', 'SECURITY.md')).text()
		let sources = ''
		// the test files, and test/support, where the rows every route shares get their names (access.ts)
		for (const pattern of ['*.test.ts', 'support/*.ts']) {
			for await (const file of new Bun.Glob(pattern).scan(import.meta.dir)) sources += (await Bun.file(join(import.meta.dir, file)).text()).replaceAll("\\'", "'")
		}
		// every quoted test name, or each part of one shortened with "…", must appear in a test file
		const quoted = [...security.matchAll(/"([^"\n]+)"/g)].map((m) => m[1]!.replaceAll('\\"', '"'))
		expect(quoted.length).toBeGreaterThan(20)
		const missing = quoted.flatMap((name) => name.split('…').map((part) => part.trim())
			.filter((part) => part.length > 8)).filter((part) => !sources.includes(part))
		expect(missing).toEqual([])
	})
})
