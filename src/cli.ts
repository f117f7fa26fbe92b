import pkg from '../package.json'
import { gitCommit } from './build-info' with { type: 'macro' }
import { ConfigError, loadConfig, SETTINGS, type Config, type RawSettings, type SettingName } from './config'
import { closeDatabase, openDatabase } from './db/client'
import { migrateDatabase } from './db/migrate'
import { createLogger, type Logger } from './log'
import { startServer } from './server'

export const VERSION = pkg.version
export const COMMIT = gitCommit()

const COMMANDS = {
	serve: 'run the API server (the default)',
	migrate: 'apply database migrations and exit',
	version: 'print the version and the commit it was built from',
	help: 'show this help',
} as const
type Command = keyof typeof COMMANDS

/** A command line the program cannot act on: exit code 2. */
export class UsageError extends Error {}

export interface Invocation {
	command: Command
	flags: RawSettings
}

export function parseArgs(argv: string[]): Invocation {
	let command: Command | undefined
	const flags: RawSettings = {}
	for (let i = 0; i < argv.length; i++) {
		const arg = argv[i]!
		if (arg === '--help' || arg === '-h') return { command: 'help', flags }
		if (arg === '--version' || arg === '-v') return { command: 'version', flags }
		if (!arg.startsWith('-')) {
			if (command) throw new UsageError(`Unexpected argument "${arg}" (the command is already "${command}").`)
			if (!(arg in COMMANDS)) throw new UsageError(`Unknown command "${arg}". Commands: ${Object.keys(COMMANDS).join(', ')}.`)
			command = arg as Command
			continue
		}
		const [name, inline] = arg.split(/=(.*)/s, 2) as [string, string | undefined]
		const setting = SETTINGS.find((s) => s.flag === name)
		if (!setting) throw new UsageError(`Unknown flag "${name}". Run with --help to see every flag.`)
		const value = inline ?? argv[++i]
		if (value === undefined) throw new UsageError(`Flag ${name} needs a value.`)
		flags[setting.env as SettingName] = value
	}
	return { command: command ?? 'serve', flags }
}

export function helpText(): string {
	const width = Math.max(...SETTINGS.map((s) => `${s.flag} <value>`.length))
	const lines = [
		`dreamlake-server ${VERSION}: the DreamLake API server (auth via vuer-auth token exchange)`,
		'',
		'Usage: dreamlake-server [command] [flags]',
		'',
		'Commands:',
		...Object.entries(COMMANDS).map(([name, text]) => `  ${name.padEnd(10)} ${text}`),
		'',
		'Flags (each also an environment variable; a flag wins over the variable):',
		...SETTINGS.flatMap((s) => [
			`  ${`${s.flag} <value>`.padEnd(width)}  ${s.env}${'default' in s ? ` (default: ${s.default})` : ''}`,
			`  ${''.padEnd(width)}  ${s.help}`,
		]),
		'  --help, -h, --version, -v',
	]
	return lines.join('\n')
}

/** Runs one invocation; returns the exit code. */
export async function main(argv: string[], env: Record<string, string | undefined> = process.env): Promise<number> {
	let invocation: Invocation
	let config: Config
	try {
		invocation = parseArgs(argv)
		if (invocation.command === 'help') return print(helpText(), 0)
		if (invocation.command === 'version') return print(`dreamlake-server ${VERSION} (${COMMIT})`, 0)
		config = loadConfig(env, invocation.flags)
	} catch (error) {
		if (error instanceof UsageError) return print(`dreamlake-server: ${error.message}`, 2, true)
		if (error instanceof ConfigError) return print(`dreamlake-server: invalid configuration: ${error.message}`, 1, true)
		throw error
	}
	const log = createLogger({
		format: config.logFormat === 'auto' ? (process.stdout.isTTY ? 'pretty' : 'json') : config.logFormat,
		level: config.logLevel,
	})
	try {
		if (invocation.command === 'migrate') return migrate(config, log)
		const server = await startServer(config, log)
		await untilSignalled(log)
		await server.stop()
		log.info('stopped')
		return 0
	} catch (error) {
		if (error instanceof ConfigError) return print(`dreamlake-server: invalid configuration: ${error.message}`, 1, true)
		log.error('could not start', { reason: startFailure(error) })
		return 1
	}
}

function migrate(config: Config, log: Logger): number {
	const db = openDatabase(config.databasePath)
	try {
		const { applied, total } = migrateDatabase(db)
		log.info(applied > 0 ? 'database migrated' : 'database already up to date', { applied, total, path: config.databasePath })
		return 0
	} finally {
		closeDatabase(db)
	}
}

function untilSignalled(log: Logger): Promise<void> {
	return new Promise((resolve) => {
		const onSignal = (signal: NodeJS.Signals) => {
			log.info('shutting down', { signal })
			process.off('SIGINT', onSignal)
			process.off('SIGTERM', onSignal)
			resolve()
		}
		process.on('SIGINT', onSignal)
		process.on('SIGTERM', onSignal)
	})
}

function startFailure(error: unknown): string {
	const code = (error as { code?: unknown }).code
	if (code === 'EADDRINUSE') return 'the port is already in use (set PORT or --port)'
	if (code === 'EACCES') return 'permission denied (the port, the data folder or the database file)'
	return error instanceof Error ? error.message.split('\n')[0]!.slice(0, 200) : String(error)
}

function print(text: string, code: number, toStderr = false): number {
	;(toStderr ? process.stderr : process.stdout).write(text + '\n')
	return code
}
