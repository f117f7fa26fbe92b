import { accessSync, constants, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'

/**
 * What the tests need from the machine beyond Bun and node_modules, found (or installed, as CI
 * does) once by the `bun test` preload (test/support/preload.ts), and again by each test that
 * needs it when a run names its files: Debian's Chromium for the browser tests, Debian's Python
 * with the SDK's packages and the DreamLake SDK itself for the SDK and CLI tests, curl for the
 * README's snippets.
 */

export const ROOT = resolve(import.meta.dir, '..', '..')
/** Debian's python3, which the apt packages belong to, not a pyenv one ahead in PATH. */
export const PYTHON = '/usr/bin/python3'
export const SDK_VERSION = '0.8.0'
/** Where a copy fetched from PyPI is kept (.gitignore ignores .cache/). */
export const CACHE = join(ROOT, '.cache')
/** Where CI has the SDK's checkout, beside the repository. */
export const SHARED_SDK = resolve(ROOT, '..', 'shared', 'clients', 'dreamlake-py')
/** A failed download from PyPI is not tried again for this long: it would cost every run pip's start-up. */
export const PYPI_RETRY_MS = 60 * 60 * 1000

export type Need = 'chromium' | 'python' | 'curl' | 'postgres'
export const ALL_NEEDS: Need[] = ['chromium', 'python', 'curl', 'postgres']

/** The modules the SDK and its CLI import, with the Debian package of each (.ci/run installs them, and pytest for the SDK's own suite). */
export const PYTHON_MODULES: Record<string, string> = {
	httpx: 'python3-httpx',
	jwt: 'python3-jwt',
	msgpack: 'python3-msgpack',
	numpy: 'python3-numpy',
	PIL: 'python3-pil',
	rich: 'python3-rich',
}

export interface Missing {
	what: string
	/** The Debian package that provides it; null when no package can (a path set by hand). */
	package: string | null
}

type Env = Record<string, string | undefined>

const executable = (path: string) => {
	try {
		accessSync(path, constants.X_OK)
		return statSync(path).isFile()
	} catch {
		return false
	}
}

/** Debian's Chromium, or CHROMIUM_PATH (test/support/browser.ts launches the same). */
export const chromiumPath = (env: Env = process.env) => env.CHROMIUM_PATH || '/usr/bin/chromium'

/** Debian's PostgreSQL 15 binaries (initdb, pg_ctl), or POSTGRES_BIN: what scripts/postgres.sh starts a test cluster with. */
export const postgresBin = (env: Env = process.env) => env.POSTGRES_BIN || '/usr/lib/postgresql/15/bin'

/** What of `needs` this machine lacks, each with the Debian package to install. */
export function findMissing(needs: Need[], env: Env = process.env, modules = PYTHON_MODULES, python = PYTHON): Missing[] {
	const missing: Missing[] = []
	if (needs.includes('chromium') && !executable(chromiumPath(env))) {
		missing.push(env.CHROMIUM_PATH ? { what: `Chromium at CHROMIUM_PATH=${env.CHROMIUM_PATH}`, package: null } : { what: 'Chromium (/usr/bin/chromium)', package: 'chromium' })
	}
	if (needs.includes('curl') && !Bun.which('curl', { PATH: env.PATH ?? '' })) missing.push({ what: 'curl', package: 'curl' })
	// a DATABASE_URL naming a PostgreSQL server is used instead of a cluster of our own (test/support/postgres.ts)
	if (needs.includes('postgres') && !/^postgres(ql)?:\/\//.test(env.DATABASE_URL ?? '') && !executable(join(postgresBin(env), 'initdb'))) {
		missing.push({ what: `PostgreSQL 15 (${postgresBin(env)})`, package: 'postgresql-15' })
	}
	if (needs.includes('python')) {
		if (!executable(python)) missing.push({ what: `Debian's Python (${python})`, package: 'python3' }, ...Object.entries(modules).map(([module, pkg]) => ({ what: `the Python module ${module}`, package: pkg })))
		else {
			// find_spec locates a module without importing it: numpy alone takes 100 ms to import
			const probe = Bun.spawnSync([python, '-c', 'import sys, importlib.util as u; print(" ".join(m for m in sys.argv[1:] if u.find_spec(m) is None))', ...Object.keys(modules)], { env: { PATH: env.PATH ?? '' } })
			const absent = probe.exitCode === 0 ? probe.stdout.toString().split(/\s+/).filter(Boolean) : Object.keys(modules)
			for (const module of absent) missing.push({ what: `the Python module ${module}`, package: modules[module]! })
		}
	}
	return missing
}

/** The sentence a run fails with: what is missing, and the command that installs it. */
export function missingMessage(missing: Missing[], root = process.getuid?.() === 0): string {
	const packages = [...new Set(missing.map((m) => m.package).filter((p): p is string => p !== null))]
	const what = missing.map((m) => m.what).join(', ')
	const install = packages.length > 0 ? ` Install ${packages.length === 1 ? 'it' : 'them'} with: ${root ? '' : 'sudo '}apt-get install -y ${packages.join(' ')}` : ''
	const byHand = missing.some((m) => m.package === null) ? ' Point CHROMIUM_PATH at a Chromium, or unset it to use Debian\'s (apt-get install -y chromium).' : ''
	return `The tests need what this machine lacks: ${what}.${install}${byHand}`
}

/** Installs the missing Debian packages when that is possible (root with apt-get, as on CI); else throws the sentence. */
export function ensureTools(needs: Need[], options: { env?: Env; install?: boolean; log?: (line: string) => void } = {}): void {
	const env = options.env ?? process.env
	const missing = findMissing(needs, env)
	if (missing.length === 0) return
	const packages = [...new Set(missing.map((m) => m.package).filter((p): p is string => p !== null))]
	const canInstall = options.install ?? (process.getuid?.() === 0 && Bun.which('apt-get') !== null)
	if (!canInstall || packages.length < missing.length) throw new Error(missingMessage(missing))
	;(options.log ?? console.log)(`bun test: installing Debian's ${packages.join(' ')} (missing: ${missing.map((m) => m.what).join(', ')})`)
	const apt = Bun.spawnSync(['sh', '-c', 'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@"', 'apt', ...packages], { stdout: 'ignore', stderr: 'pipe' })
	const still = findMissing(needs, env)
	if (still.length > 0) throw new Error(`${missingMessage(still)} (apt-get install failed: ${lastLine(apt.stderr.toString()) || `exit ${apt.exitCode}`})`)
}

export interface ResolvedSdk {
	/** The folder that holds the `dreamlake` package: what goes on PYTHONPATH. */
	src: string
	from: 'DREAMLAKE_SDK' | 'cache' | 'PyPI' | '../shared/clients'
}

export interface SdkOptions {
	env?: Env
	cache?: string
	shared?: string
	python?: string
	/** How long pip may take to fetch the package. */
	timeoutMs?: number
	now?: number
}

/**
 * The DreamLake SDK (dreamlake==0.8.0) the tests run, in this order: DREAMLAKE_SDK (a checkout
 * or its src), a copy fetched from PyPI before (in .cache/), PyPI itself (pip download, unless it
 * failed within the hour), the checkout CI has in ../shared/clients. Throws a sentence when none is there.
 */
export function resolveSdk(options: SdkOptions = {}): ResolvedSdk {
	const env = options.env ?? process.env
	const cache = options.cache ?? CACHE
	const shared = options.shared ?? SHARED_SDK
	if (env.DREAMLAKE_SDK) {
		const given = resolve(env.DREAMLAKE_SDK)
		for (const src of [join(given, 'src'), given]) if (existsSync(join(src, 'dreamlake', '__init__.py'))) return { src, from: 'DREAMLAKE_SDK' }
		throw new Error(`DREAMLAKE_SDK=${env.DREAMLAKE_SDK} holds no dreamlake package (neither src/dreamlake/ nor dreamlake/ in it): point it at a checkout of the DreamLake SDK ${SDK_VERSION} or at its src folder.`)
	}
	const cached = join(cache, `dreamlake-${SDK_VERSION}`)
	if (existsSync(join(cached, 'dreamlake', '__init__.py'))) return { src: cached, from: 'cache' }
	const failure = downloadSdk(cached, { ...options, env, cache })
	if (failure === null) return { src: cached, from: 'PyPI' }
	if (existsSync(join(shared, 'src', 'dreamlake', '__init__.py'))) return { src: join(shared, 'src'), from: '../shared/clients' }
	throw new Error(
		`The DreamLake SDK (dreamlake==${SDK_VERSION}) is missing: PyPI could not be reached (${failure}), DREAMLAKE_SDK is unset, and ${shared} does not exist. ` +
			`Set DREAMLAKE_SDK to a checkout of it (fortyfive-labs/dreamlake ${SDK_VERSION}) or to its src folder, or run bun test where PyPI is reachable (it keeps a copy in .cache/).`,
	)
}

/** `pip download` of the wheel, unpacked into `into`; null when it worked, else why not (remembered for an hour). */
function downloadSdk(into: string, options: SdkOptions & { env: Env; cache: string }): string | null {
	const stamp = join(options.cache, 'pypi-failed')
	const now = options.now ?? Date.now()
	if (existsSync(stamp) && now - statSync(stamp).mtimeMs < PYPI_RETRY_MS) return `${readFileSync(stamp, 'utf8').trim()}; not tried again until an hour after, or delete ${stamp}`
	mkdirSync(options.cache, { recursive: true })
	const work = mkdtempSync(join(options.cache, 'download-'))
	try {
		const python = options.python ?? PYTHON
		const timeoutMs = options.timeoutMs ?? 20_000
		const pip = Bun.spawnSync(
			[python, '-m', 'pip', 'download', `dreamlake==${SDK_VERSION}`, '--no-deps', '--only-binary', ':all:', '--dest', join(work, 'wheel'), '--timeout', String(Math.ceil(timeoutMs / 4000)), '--retries', '0', '--no-input', '--disable-pip-version-check', '-q'],
			{ env: { ...options.env, PATH: options.env.PATH ?? '' } as Record<string, string>, stdout: 'pipe', stderr: 'pipe', timeout: timeoutMs },
		)
		const wheel = pip.exitCode === 0 ? readdirSync(join(work, 'wheel')).find((name) => name.endsWith('.whl')) : undefined
		let failure: string | null = null
		if (pip.exitedDueToTimeout) failure = `pip download timed out after ${timeoutMs} ms`
		else if (!wheel) failure = `pip download: ${lastLine(pip.stderr.toString()) || `exit ${pip.exitCode}`}`
		else {
			const unzip = Bun.spawnSync([python, '-m', 'zipfile', '-e', join(work, 'wheel', wheel), join(work, 'sdk')], { stderr: 'pipe' })
			if (unzip.exitCode !== 0 || !existsSync(join(work, 'sdk', 'dreamlake', '__init__.py'))) failure = `unpacking ${wheel}: ${lastLine(unzip.stderr.toString()) || 'no dreamlake package in it'}`
			else renameSync(join(work, 'sdk'), into)
		}
		if (failure !== null) writeFileSync(stamp, failure + '\n')
		else rmSync(stamp, { force: true })
		return failure
	} finally {
		rmSync(work, { recursive: true, force: true })
	}
}

/** A checkout of the SDK with its own tests (scripts/sdk-suite.sh runs them; the PyPI package carries none). */
export function sdkCheckout(options: { env?: Env; shared?: string } = {}): string {
	const env = options.env ?? process.env
	const shared = options.shared ?? SHARED_SDK
	const isCheckout = (dir: string) => existsSync(join(dir, 'src', 'dreamlake', '__init__.py')) && existsSync(join(dir, 'test'))
	if (env.DREAMLAKE_SDK) {
		const given = resolve(env.DREAMLAKE_SDK)
		if (isCheckout(given)) return given
		if (isCheckout(resolve(given, '..'))) return resolve(given, '..')
		throw new Error(`DREAMLAKE_SDK=${env.DREAMLAKE_SDK} is not a checkout of the DreamLake SDK with its tests (src/dreamlake/ and test/): the SDK's remote suite needs one.`)
	}
	if (isCheckout(shared)) return shared
	throw new Error(`The SDK's remote suite needs a checkout of the DreamLake SDK ${SDK_VERSION} with its tests, and ${shared} does not exist: set DREAMLAKE_SDK to one (fortyfive-labs/dreamlake ${SDK_VERSION}).`)
}

// flags of `bun test` whose value is the next argument, so that value is not taken for a filter
const VALUE_FLAGS = new Set(['-t', '--test-name-pattern', '--timeout', '--rerun-each', '--seed', '-r', '--preload', '--reporter', '--reporter-outfile', '--coverage-reporter', '--coverage-dir', '--max-concurrency', '--path-ignore-patterns', '-c', '--config', '--cwd', '--env-file', '--tsconfig-override', '-d', '--define', '-l', '--loader', '--conditions'])

/** Whether `bun test` was given files or filters (Bun tells a preload only the first file: the command line is in /proc). */
export function namesFiles(argv: string[]): boolean {
	const start = argv.indexOf('test')
	if (start < 0) return false
	for (let i = start + 1; i < argv.length; i++) {
		const arg = argv[i]!
		if (arg === '') continue
		if (VALUE_FLAGS.has(arg)) i++
		else if (!arg.startsWith('-')) return true
	}
	return false
}

const lastLine = (text: string) => text.trim().split('\n').at(-1)?.trim() ?? ''
