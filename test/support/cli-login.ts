import { PYTHON } from './setup'
import { pythonEnv } from './sdk'

/** Runs `python3 -m dreamlake.cli <args>` with its own HOME, where it keeps its token (in a keyring file there, or ~/.dreamlake). */
export function dreamlakeCli(args: string[], home: string, env: Record<string, string> = {}) {
	return Bun.spawn([PYTHON, '-m', 'dreamlake.cli', ...args], {
		cwd: home,
		env: { ...pythonEnv(home), COLUMNS: '120', ...env },
		stdout: 'pipe',
		stderr: 'pipe',
	})
}

/** Reads a stream to its end in the background; `until` waits for what it has printed to match. */
export function collect(stream: ReadableStream<Uint8Array>) {
	let text = ''
	const decoder = new TextDecoder()
	const done = (async () => {
		for await (const chunk of stream) text += decoder.decode(chunk, { stream: true })
	})()
	return {
		done,
		get text() {
			return text
		},
		async until(pattern: RegExp): Promise<string> {
			for (let waited = 0; waited < 15_000; waited += 50) {
				const match = pattern.exec(text)
				if (match) return match[0]
				await Bun.sleep(50)
			}
			throw new Error(`never printed ${pattern}:\n${text}`)
		},
	}
}

/** The code `dreamlake login` shows (ABCD-EFGH). */
export const LOGIN_CODE = /[A-HJKMNP-Z2-9]{4}-[A-HJKMNP-Z2-9]{4}/

/** Logs an episode with the SDK as a user's script does, with the token the CLI stored under `home`; prints the episode's id. */
export async function sdkLogsAnEpisode(home: string, url: string, prefix: string): Promise<string> {
	const script = `
import os
from dreamlake import Episode
from dreamlake.auth.token_storage import get_token_storage
os.environ["DREAMLAKE_API_KEY"] = get_token_storage().load("dreamlake-token")
with Episode(prefix=${JSON.stringify(prefix)}, url=${JSON.stringify(url)}, root=None) as episode:
    episode.log("hello from the sdk", level="info")
    episode.params.set(seed=7)
`
	const child = Bun.spawn([PYTHON, '-c', script], { cwd: home, env: pythonEnv(home), stdout: 'pipe', stderr: 'pipe' })
	const [out, err, code] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited])
	if (code !== 0) throw new Error(`the SDK failed (${code}):\n${out}\n${err}`)
	return out
}
