import { SQL } from 'bun'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ensureTools, ROOT } from './setup'

/**
 * A real PostgreSQL for a test file: the server DATABASE_URL names when it is a postgres:// URL (CI
 * starts one with scripts/postgres.sh), else a throwaway cluster of the file's own, started with
 * the same script (about 2 s; postgresql-15 installed first when missing and this runs as root,
 * as the bun test preload does), so a plain `bun test` needs nothing set. Each test gets databases
 * of its own, created here and dropped by `stop`.
 */
export interface TestPostgres {
	/** The server's URL (its `postgres` database): for what is not one test's. */
	url: string
	/** A new, empty database on the server; its URL. */
	createDatabase(prefix?: string): Promise<string>
	/** Drops the databases made here, and stops the cluster if it is this file's own. */
	stop(): Promise<void>
	/** Stops the server as an operator would (`pg_ctl stop -m fast`: connections cut); only for a cluster of the file's own. */
	pause(): void
	/** Starts it again on the same port after `pause`. */
	resume(): void
}

const SCRIPT = join(ROOT, 'scripts', 'postgres.sh')

export async function startTestPostgres(env: Record<string, string | undefined> = process.env): Promise<TestPostgres> {
	const given = env.DATABASE_URL
	let url: string
	let folder: string | undefined
	if (given && /^postgres(ql)?:\/\//.test(given)) {
		url = given
	} else {
		ensureTools(['postgres'], { env: { ...env, DATABASE_URL: undefined } })
		folder = mkdtempSync(join(tmpdir(), 'dreamlake-pg-'))
		const started = Bun.spawnSync([SCRIPT, 'start', folder], { stdout: 'pipe', stderr: 'pipe' })
		const line = started.stdout.toString().trim()
		if (started.exitCode !== 0 || !line.startsWith('DATABASE_URL=')) {
			rmSync(folder, { recursive: true, force: true })
			throw new Error(`scripts/postgres.sh could not start a cluster: ${started.stderr.toString().trim() || line}`)
		}
		url = line.slice('DATABASE_URL='.length)
	}
	const own = (what: string): string => {
		if (!folder) throw new Error(`${what} needs a cluster of the test's own: start it with DATABASE_URL unset`)
		return folder
	}
	const admin = new SQL(url, { max: 1 })
	const made: string[] = []
	return {
		url,
		async createDatabase(prefix = 'dreamlake_test') {
			const name = `${prefix}_${process.pid}_${made.length}_${Math.random().toString(36).slice(2, 8)}`
			await admin.unsafe(`CREATE DATABASE "${name}"`)
			made.push(name)
			const database = new URL(url)
			database.pathname = `/${name}`
			return database.href
		},
		pause() {
			const stopped = Bun.spawnSync([SCRIPT, 'stop', own('pause')], { stdout: 'ignore', stderr: 'pipe' })
			if (stopped.exitCode !== 0) throw new Error(`scripts/postgres.sh stop: ${stopped.stderr.toString().trim()}`)
		},
		resume() {
			const started = Bun.spawnSync([SCRIPT, 'start', own('resume'), new URL(url).port], { stdout: 'pipe', stderr: 'pipe' })
			if (started.exitCode !== 0) throw new Error(`scripts/postgres.sh start: ${started.stderr.toString().trim()}`)
		},
		async stop() {
			try {
				for (const name of made) await admin.unsafe(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`)
			} finally {
				await admin.close()
				if (folder) {
					Bun.spawnSync([SCRIPT, 'stop', folder], { stdout: 'ignore', stderr: 'inherit' })
					rmSync(folder, { recursive: true, force: true })
				}
			}
		},
	}
}
