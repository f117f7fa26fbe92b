// `bun run dev` (DASHBOARD_SOURCE=src/ui): the server builds the dashboard from source and rebuilds
// it when a file there changes; a change that does not build leaves the last good build served.
import { afterAll, beforeAll, describe, expect, it, setDefaultTimeout } from 'bun:test'
import { appendFileSync, cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ARTIFACTS } from './support/browser'
import { spawnServer, type ServerProcess } from './support/process'

setDefaultTimeout(60_000)

let source: string
let dir: string
let server: ServerProcess
beforeAll(async () => {
	// a copy of the dashboard's source, inside the repository so its imports (uplot) resolve
	mkdirSync(ARTIFACTS, { recursive: true })
	source = mkdtempSync(join(ARTIFACTS, 'ui-source-'))
	cpSync(join(import.meta.dir, '..', 'src', 'ui'), source, { recursive: true })
	dir = mkdtempSync(join(tmpdir(), 'dreamlake-dev-ui-'))
	server = await spawnServer(['serve', '--port', '0', '--database-url', ':memory:'], { cwd: dir, env: { DASHBOARD_SOURCE: source } })
})
afterAll(async () => {
	await server?.stop()
	rmSync(source, { recursive: true, force: true })
	rmSync(dir, { recursive: true, force: true })
})

const assets = async () => [...(await (await fetch(`${server.url}/ui/`)).text()).matchAll(/\/ui\/assets\/[^"]+/g)].map((m) => m[0])

async function until<T>(read: () => Promise<T>, done: (value: T) => boolean, ms = 10_000): Promise<T> {
	const deadline = Date.now() + ms
	for (;;) {
		const value = await read()
		if (done(value) || Date.now() > deadline) return value
		await Bun.sleep(50)
	}
}

describe('the dashboard built from source', () => {
	it('serves the build of the folder, and a new build (new hashed names) moments after a file changes', async () => {
		expect(server.output.join('\n')).toContain('dashboard built from source')
		const before = await assets()
		expect(before.some((a) => a.endsWith('.css'))).toBe(true)
		appendFileSync(join(source, 'style.css'), '\n.dev-rebuild-marker { color: rebeccapurple; }\n')
		const after = await until(assets, (list) => list.join() !== before.join())
		expect(after).not.toEqual(before)
		const css = after.find((a) => a.endsWith('.css'))!
		expect(await (await fetch(`${server.url}${css}`)).text()).toContain('.dev-rebuild-marker')
	})

	it('a change that does not build is logged, and the last good build stays served', async () => {
		const before = await assets()
		writeFileSync(join(source, 'broken.ts'), 'export const broken = (\n')
		appendFileSync(join(source, 'main.ts'), "\nimport './broken'\n")
		const logged = await until(async () => server.output.join('\n'), (out) => out.includes('dashboard did not build'))
		expect(logged).toContain('dashboard did not build')
		expect(await assets()).toEqual(before)
		for (const asset of before) expect((await fetch(`${server.url}${asset}`)).status).toBe(200)
	})
})
