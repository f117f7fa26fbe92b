import { readFileSync } from 'node:fs'
import { ALL_NEEDS, ensureTools, namesFiles, resolveSdk } from './setup'

/**
 * bunfig.toml's `[test] preload`: before the first test of a whole `bun test`, finds (or, as root
 * with apt-get, installs) what the suite needs, or fails at once with a sentence naming what is
 * missing and the command that installs it; and resolves the DreamLake SDK for the tests
 * (DREAMLAKE_SDK_SRC, read by test/support/sdk.ts). A run that names files or filters leaves that to
 * the tests it runs, so a run of test/db.test.ts needs no Chromium.
 */

let argv: string[] = []
try {
	argv = readFileSync('/proc/self/cmdline', 'utf8').split('\0')
} catch {}

if (!namesFiles(argv)) {
	try {
		ensureTools(ALL_NEEDS)
		process.env.DREAMLAKE_SDK_SRC = resolveSdk().src
	} catch (error) {
		// once, before any test: thrown here, Bun would repeat it for every test file
		console.error(`bun test: ${(error as Error).message}`)
		process.exit(1)
	}
}
