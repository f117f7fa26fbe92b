import { join } from 'node:path'
import { ensureTools, PYTHON, resolveSdk, sdkCheckout } from './setup'

/** test/support/python: file_keyring.py, the keyring the CLI stores its token in under test. */
export const PYTHON_SUPPORT = join(import.meta.dir, 'python')

/**
 * The DreamLake SDK's src folder for every test that runs the SDK or its CLI: the one the preload
 * resolved (DREAMLAKE_SDK_SRC), else resolved now, with Debian's Python checked (or installed).
 */
export function sdkSrc(): string {
	if (!process.env.DREAMLAKE_SDK_SRC) {
		ensureTools(['python'])
		process.env.DREAMLAKE_SDK_SRC = resolveSdk().src
	}
	return process.env.DREAMLAKE_SDK_SRC
}

/**
 * The environment to run Debian's python3 with the SDK in: its own HOME, where the CLI keeps its
 * config, and a keyring in a file under that HOME. Where the `keyring` package is installed the
 * SDK stores its token there (a headless machine's Secret Service is locked: "Failed to unlock the
 * collection"); where it is not, the SDK ignores the variable and stores the token in ~/.dreamlake.
 */
export function pythonEnv(home: string): Record<string, string> {
	return {
		PATH: process.env.PATH ?? '',
		HOME: home,
		PYTHONPATH: `${sdkSrc()}:${PYTHON_SUPPORT}`,
		PYTHON_KEYRING_BACKEND: 'file_keyring.FileKeyring',
		PYTHONDONTWRITEBYTECODE: '1',
	}
}

/** The dreamlake token the CLI stored under `home`, read back by the SDK's own token storage (keyring or ~/.dreamlake); null when none. */
export async function storedToken(home: string): Promise<string | null> {
	const child = Bun.spawn([PYTHON, '-c', 'from dreamlake.auth.token_storage import get_token_storage; print(get_token_storage().load("dreamlake-token") or "")'], { cwd: home, env: pythonEnv(home), stdout: 'pipe', stderr: 'pipe' })
	const [out, err, code] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited])
	if (code !== 0) throw new Error(`reading the stored token failed:\n${err}`)
	return out.trim() || null
}

// scripts/sdk-suite.sh asks here for the checkout whose remote suite it runs
if (import.meta.main) {
	try {
		console.log(process.argv.includes('--checkout') ? sdkCheckout() : sdkSrc())
	} catch (error) {
		console.error((error as Error).message)
		process.exit(1)
	}
}
