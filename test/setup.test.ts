import { afterAll, describe, expect, it } from 'bun:test'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ensureTools, findMissing, missingMessage, namesFiles, PYPI_RETRY_MS, PYTHON, resolveSdk, SDK_VERSION, sdkCheckout } from './support/setup'

// what test/support/preload.ts runs before the suite; here on real folders, a real pip and a real Python
const dir = mkdtempSync(join(tmpdir(), 'dreamlake-setup-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

let folders = 0
/** A fresh folder under the test's own, with `files` (path → content) written into it. */
function folder(files: Record<string, string> = {}): string {
	const root = join(dir, `f${folders++}`)
	mkdirSync(root, { recursive: true })
	for (const [path, content] of Object.entries(files)) {
		mkdirSync(join(root, path, '..'), { recursive: true })
		writeFileSync(join(root, path), content)
	}
	return root
}
const checkout = () => folder({ 'src/dreamlake/__init__.py': '', 'test/test_session.py': '' })
const cachedCopy = () => folder({ [`dreamlake-${SDK_VERSION}/dreamlake/__init__.py`]: '' })

/** pip kept away from the machine's configuration and from PyPI: nothing answers on port 9 (connection refused). */
/** A Python that is not there: a test that must not start pip passes it, and pip's start would throw. */
const noPython = join(dir, 'no-python')
const unreachablePyPI = { PATH: process.env.PATH, PIP_CONFIG_FILE: '/dev/null', PIP_INDEX_URL: 'http://127.0.0.1:9/simple' }

describe('resolveSdk: the SDK the tests run', () => {
	it('DREAMLAKE_SDK first, as a checkout or as its src, over a cached copy and ../shared/clients', () => {
		const sdk = checkout()
		const options = { cache: cachedCopy(), shared: checkout() }
		expect(resolveSdk({ ...options, env: { DREAMLAKE_SDK: sdk } })).toEqual({ src: join(sdk, 'src'), from: 'DREAMLAKE_SDK' })
		expect(resolveSdk({ ...options, env: { DREAMLAKE_SDK: join(sdk, 'src') } })).toEqual({ src: join(sdk, 'src'), from: 'DREAMLAKE_SDK' })
	})

	it('a DREAMLAKE_SDK without the package is an error naming it, not a fall back to another SDK', () => {
		const empty = folder({ 'README.md': '' })
		expect(() => resolveSdk({ env: { DREAMLAKE_SDK: empty }, cache: cachedCopy(), shared: checkout() })).toThrow(`DREAMLAKE_SDK=${empty} holds no dreamlake package`)
	})

	it('then the copy fetched from PyPI before, in the cache, without asking PyPI again', () => {
		const cache = cachedCopy()
		// a Python that does not exist: starting pip would throw
		expect(resolveSdk({ env: unreachablePyPI, cache, shared: checkout(), python: noPython })).toEqual({ src: join(cache, `dreamlake-${SDK_VERSION}`), from: 'cache' })
	})

	it('then PyPI: pip downloads the wheel and it is unpacked into the cache', () => {
		// a wheel of 0.8.0 in a folder pip takes for its index, as it would take PyPI's
		const wheels = folder()
		const wheel = join(wheels, `dreamlake-${SDK_VERSION}-py3-none-any.whl`)
		const made = Bun.spawnSync([PYTHON, '-c', `
import sys, zipfile
with zipfile.ZipFile(sys.argv[1], "w") as wheel:
    wheel.writestr("dreamlake/__init__.py", "VERSION = '${SDK_VERSION}'\\n")
    wheel.writestr("dreamlake-${SDK_VERSION}.dist-info/METADATA", "Metadata-Version: 2.1\\nName: dreamlake\\nVersion: ${SDK_VERSION}\\n")
    wheel.writestr("dreamlake-${SDK_VERSION}.dist-info/WHEEL", "Wheel-Version: 1.0\\nGenerator: test\\nRoot-Is-Purelib: true\\nTag: py3-none-any\\n")
    wheel.writestr("dreamlake-${SDK_VERSION}.dist-info/RECORD", "")
`, wheel])
		expect(made.exitCode).toBe(0)
		const cache = folder()
		const resolved = resolveSdk({ env: { PATH: process.env.PATH, PIP_CONFIG_FILE: '/dev/null', PIP_NO_INDEX: '1', PIP_FIND_LINKS: wheels }, cache, shared: checkout() })
		expect(resolved).toEqual({ src: join(cache, `dreamlake-${SDK_VERSION}`), from: 'PyPI' })
		expect(readFileSync(join(resolved.src, 'dreamlake', '__init__.py'), 'utf8')).toBe(`VERSION = '${SDK_VERSION}'\n`)
		// and the next run finds it in the cache
		expect(resolveSdk({ env: unreachablePyPI, cache }).from).toBe('cache')
	}, 30_000)

	it('a PyPI that refuses the connection fails fast, falls back to ../shared/clients, and is asked again only after an hour', () => {
		const cache = folder()
		const shared = checkout()
		expect(resolveSdk({ env: unreachablePyPI, cache, shared })).toEqual({ src: join(shared, 'src'), from: '../shared/clients' })
		// pip gave up on the refused connection itself, well before its timeout
		const failure = readFileSync(join(cache, 'pypi-failed'), 'utf8')
		expect(failure).toContain('pip download')
		expect(failure).not.toContain('timed out')

		// pip not started again: with a Python that does not exist, starting it would throw
		expect(resolveSdk({ env: unreachablePyPI, cache, shared, python: noPython }).from).toBe('../shared/clients')

		// an hour later it is: the failure is written again
		const stamp = join(cache, 'pypi-failed')
		writeFileSync(stamp, 'old\n')
		const hourAgo = (Date.now() - PYPI_RETRY_MS - 1000) / 1000
		utimesSync(stamp, hourAgo, hourAgo)
		expect(resolveSdk({ env: unreachablePyPI, cache, shared }).from).toBe('../shared/clients')
		expect(readFileSync(stamp, 'utf8')).toContain('pip download')
	}, 30_000) // pip's own start-up takes seconds on a loaded machine

	it('with none of them, the sentence says what is missing and what to set', () => {
		const shared = join(dir, 'no-shared')
		expect(() => resolveSdk({ env: unreachablePyPI, cache: folder(), shared })).toThrow(new RegExp(`The DreamLake SDK \\(dreamlake==${SDK_VERSION}\\) is missing: PyPI could not be reached \\(pip download: .+\\), DREAMLAKE_SDK is unset, and ${shared} does not exist\\. Set DREAMLAKE_SDK`))
		expect(existsSync(join(dir, 'no-shared'))).toBe(false)
	})
})

describe('sdkCheckout: the SDK with its own tests, for scripts/sdk-suite.sh', () => {
	it('DREAMLAKE_SDK (the checkout or its src) before ../shared/clients; a folder without test/ is refused', () => {
		const sdk = checkout()
		expect(sdkCheckout({ env: { DREAMLAKE_SDK: sdk }, shared: checkout() })).toBe(sdk)
		expect(sdkCheckout({ env: { DREAMLAKE_SDK: join(sdk, 'src') }, shared: checkout() })).toBe(sdk)
		const shared = checkout()
		expect(sdkCheckout({ env: {}, shared })).toBe(shared)
		const wheelOnly = cachedCopy()
		expect(() => sdkCheckout({ env: { DREAMLAKE_SDK: join(wheelOnly, `dreamlake-${SDK_VERSION}`) }, shared })).toThrow('is not a checkout of the DreamLake SDK with its tests')
		expect(() => sdkCheckout({ env: {}, shared: join(dir, 'none') })).toThrow('set DREAMLAKE_SDK to one')
	})
})

describe('findMissing and ensureTools: what the machine lacks, and the sentence a run fails with', () => {
	it('a missing Python module, named with the apt-get command that installs its package', () => {
		const missing = findMissing(['python'], process.env, { json: 'python3-minimal', dreamlake_no_such_module: 'python3-no-such-module' })
		expect(missing).toEqual([{ what: 'the Python module dreamlake_no_such_module', package: 'python3-no-such-module' }])
		expect(missingMessage(missing, false)).toBe('The tests need what this machine lacks: the Python module dreamlake_no_such_module. Install it with: sudo apt-get install -y python3-no-such-module')
		expect(missingMessage(missing, true)).toEndWith('Install it with: apt-get install -y python3-no-such-module')
	})

	it('no Debian Python: python3 and every module package, in one command', () => {
		const missing = findMissing(['python'], process.env, { httpx: 'python3-httpx', rich: 'python3-rich' }, join(dir, 'no-python3'))
		expect(missingMessage(missing, true)).toBe(`The tests need what this machine lacks: Debian's Python (${join(dir, 'no-python3')}), the Python module httpx, the Python module rich. Install them with: apt-get install -y python3 python3-httpx python3-rich`)
	})

	it('no curl on PATH, and a CHROMIUM_PATH that is not a program (which no package fixes)', () => {
		const env = { PATH: folder(), CHROMIUM_PATH: join(dir, 'no-chromium') }
		const missing = findMissing(['chromium', 'curl'], env)
		expect(missing).toEqual([{ what: `Chromium at CHROMIUM_PATH=${env.CHROMIUM_PATH}`, package: null }, { what: 'curl', package: 'curl' }])
		expect(missingMessage(missing, true)).toBe(`The tests need what this machine lacks: Chromium at CHROMIUM_PATH=${env.CHROMIUM_PATH}, curl. Install it with: apt-get install -y curl Point CHROMIUM_PATH at a Chromium, or unset it to use Debian's (apt-get install -y chromium).`)
	})

	it('ensureTools throws the sentence at once when it may not install, or when no package would help', () => {
		const env = { PATH: process.env.PATH, CHROMIUM_PATH: join(dir, 'no-chromium') }
		const lines: string[] = []
		for (const install of [false, true]) {
			expect(() => ensureTools(['chromium'], { env, install, log: (line) => lines.push(line) })).toThrow(`Chromium at CHROMIUM_PATH=${env.CHROMIUM_PATH}`)
		}
		expect(lines).toEqual([]) // nothing installed: ensureTools says so before it starts apt-get
		expect(() => ensureTools([], { env, install: false })).not.toThrow()
	})
})

describe('namesFiles: whether the preload checks everything (a whole `bun test`) or leaves it to the files run', () => {
	it.each([
		[['bun', 'test', ''], false],
		[['bun', 'test', '--timeout', '120000', ''], false],
		[['bun', 'test', '-t', 'README', '--bail'], false],
		[['bun', 'test', 'test/db.test.ts'], true],
		[['/usr/bin/bun', 'test', '--timeout', '5000', 'device'], true],
		[['bun', 'run', 'build'], false],
	] as [string[], boolean][])('%j → %p', (argv, expected) => {
		expect(namesFiles(argv)).toBe(expected)
	})
})
