import { ConfigError, duration, loadConfig, SETTINGS, type Config, type RawSettings, type SettingName } from './config'
import { BackupError, backupDatabase, backupFiles, backupFilesFolder, backupTarget } from './db/backup'
import { closeDatabase, dataFolder, openDatabase } from './db/client'
import { migrateDatabase } from './db/migrate'
import { closePostgres, connectPostgres, describePostgresUrl, PostgresUnavailableError, type PostgresSettings } from './db/postgres-client'
import { migratePostgres } from './db/postgres-migrate'
import { migrateData, MigrateDataError } from './db/migrate-data'
import { purgeDeleted } from './db/purge'
import { acquireServerLock, ServerLockError } from './db/server-lock'
import { DevIdentityProvider, InvalidDevUsername } from './dev/identity-provider'
import { FileReferences } from './files/repository'
import { PasswordAccountRepository } from './accounts/repository'
import { PasswordAccounts, type PasswordLink } from './accounts/service'
import { AccountRepository } from './auth/repository'
import { DbMeter } from './db/meter'
import { WriteQueue } from './db/write-queue'
import { ApiError } from './http/errors'
import { NamespaceRepository } from './namespaces/repository'
import { sweepUnreferenced } from './files/sweep'
import { createLogger, type Logger } from './log'
import { checkBucket, describeStorage, openFileStore, startServer, StartupError } from './server'
import { LocalFileStore } from './storage/local'
import { migrateFiles } from './storage/migrate'
import { S3FileStore } from './storage/s3'
import { join } from 'node:path'
import { COMMIT, VERSION } from './version'

const COMMANDS = {
	serve: { args: [], help: 'run the API server (the default)' },
	migrate: { args: [], help: 'apply database migrations and exit' },
	backup: { args: ['target'], help: 'write a consistent copy of the database and its files (safe while the server runs): into the folder <target>/ as dreamlake-<time>.db, or to the file <target>, the files beside it in <copy>.files/' },
	purge: { args: [], help: 'remove for good what was deleted more than --older-than <duration> ago (safe while the server runs)' },
	'migrate-data': { args: [], help: "copy the SQLite database (--data <folder>, else DATABASE_URL's file) into the empty PostgreSQL database --to postgres://…, in one transaction, then check every table's row count and sha256; the files stay where they are" },
	'migrate-files': { args: [], help: "copy the data folder's files/ into the bucket --to s3://<bucket>/<prefix> (with the S3_ settings), checking every checksum; run again to resume" },
	user: { args: ['action', 'username'], help: 'IDENTITY=builtin accounts: "user add <username> [--admin]" and "user reset-password <username>" print a one-time link to set the password; "user disable <username>"; "user list"' },
	'dev-token': { args: ['username'], help: 'print a vuer-auth token for <username> from the --dev stand-in provider' },
	version: { args: [], help: 'print the version and the commit it was built from' },
	help: { args: [], help: 'show this help' },
} as const satisfies Record<string, { args: readonly string[]; help: string }>
type Command = keyof typeof COMMANDS

/** Flags of one command only (the settings' flags apply to every command). */
const COMMAND_FLAGS: Record<string, { command: Command | readonly Command[]; help: string; boolean?: true }> = {
	'--older-than': { command: 'purge', help: 'how long ago something must have been deleted to be purged: 30d, 12h, 2w, 3600, or 0 for everything deleted' },
	'--to': { command: ['migrate-files', 'migrate-data'], help: 'migrate-files: the bucket to copy the files into, s3://<bucket>/<prefix> (what FILE_STORAGE will then say); migrate-data: the empty PostgreSQL database, postgres://user:password@host:5432/database' },
	'--data': { command: 'migrate-data', help: 'the data folder whose dreamlake.db is copied (default: the SQLite file DATABASE_URL names)' },
	'--admin': { command: 'user', help: 'user add: the account is an administrator', boolean: true },
}

const USER_ACTIONS = ['add', 'reset-password', 'disable', 'list'] as const

/** A command line the program cannot act on: exit code 2. */
export class UsageError extends Error {}

export interface Invocation {
	command: Command
	args: string[]
	flags: RawSettings
	/** Flags of the command itself (`purge --older-than 30d`). */
	options: Record<string, string>
	/** `serve --dev`: a flag only, never an environment variable, so it cannot be switched on by a stray setting. */
	dev: boolean
}

export function parseArgs(argv: string[]): Invocation {
	let command: Command | undefined
	const args: string[] = []
	const flags: RawSettings = {}
	const options: Record<string, string> = {}
	let dev = false
	for (let i = 0; i < argv.length; i++) {
		const arg = argv[i]!
		if (arg === '--help' || arg === '-h') return { command: 'help', args: [], flags, options, dev }
		if (arg === '--version' || arg === '-v') return { command: 'version', args: [], flags, options, dev }
		if (arg === '--dev') {
			dev = true
			continue
		}
		if (!arg.startsWith('-') || arg === '-') {
			if (command === undefined) {
				if (!(arg in COMMANDS)) throw new UsageError(`Unknown command "${arg}". Commands: ${Object.keys(COMMANDS).join(', ')}.`)
				command = arg as Command
			} else if (args.length < COMMANDS[command].args.length) {
				args.push(arg)
			} else {
				throw new UsageError(`Unexpected argument "${arg}" after "${command}".`)
			}
			continue
		}
		const [name, inline] = arg.split(/=(.*)/s, 2) as [string, string | undefined]
		if (COMMAND_FLAGS[name]?.boolean && inline === undefined) {
			options[name] = 'true'
			continue
		}
		const setting = SETTINGS.find((s) => s.flag === name)
		if (!setting && !(name in COMMAND_FLAGS)) throw new UsageError(`Unknown flag "${name}". Run with --help to see every flag.`)
		const value = inline ?? argv[++i]
		if (value === undefined) throw new UsageError(`Flag ${name} needs a value.`)
		if (setting) flags[setting.env as SettingName] = value
		else options[name] = value
	}
	const chosen = command ?? 'serve'
	if (chosen === 'user') {
		if (args[0] !== undefined && !(USER_ACTIONS as readonly string[]).includes(args[0])) throw new UsageError(`"user ${args[0]}" is not a user command: use ${USER_ACTIONS.map((a) => `user ${a}`).join(', ')}.`)
		if (args[0] === 'list' && args.length > 1) throw new UsageError('"user list" takes no username.')
		if (options['--admin'] !== undefined && args[0] !== 'add') throw new UsageError('--admin only applies to "user add".')
	}
	// `user list` names nobody
	const missing = COMMANDS[chosen].args.slice(args.length).filter((arg) => !(chosen === 'user' && args[0] === 'list' && arg === 'username'))
	if (missing.length > 0) throw new UsageError(`"${chosen}" needs <${missing.join('> <')}>.`)
	if (dev && chosen !== 'serve') throw new UsageError('--dev only applies to "serve".')
	for (const name of Object.keys(options)) {
		const commands = ([] as Command[]).concat(COMMAND_FLAGS[name]!.command)
		if (!commands.includes(chosen)) throw new UsageError(`${name} only applies to ${commands.map((c) => `"${c}"`).join(' and ')}.`)
	}
	if (chosen === 'purge') olderThanSeconds(options['--older-than'])
	if (chosen === 'migrate-files' && !options['--to']?.startsWith('s3://')) throw new UsageError('"migrate-files" needs --to s3://<bucket>/<prefix>.')
	if (chosen === 'migrate-data' && !/^postgres(ql)?:\/\//i.test(options['--to'] ?? '')) throw new UsageError('"migrate-data" needs --to postgres://user:password@host:5432/database (an empty database).')
	return { command: chosen, args, flags, options, dev }
}

/** `purge --older-than`: seconds, from a duration such as 30d, or 0 (everything deleted so far). */
export function olderThanSeconds(value: string | undefined): number {
	if (value === undefined) throw new UsageError('"purge" needs --older-than <duration> (e.g. 30d; 0 for everything deleted).')
	if (value.trim() === '0') return 0
	try {
		const seconds = duration('--older-than', value.trim())
		if (seconds !== null) return seconds
	} catch {}
	throw new UsageError(`--older-than "${value}" is not a duration: use e.g. 30d, 12h, 2w, 3600, or 0 for everything deleted.`)
}

export function helpText(): string {
	const width = Math.max(...SETTINGS.map((s) => `${s.flag} <value>`.length))
	const lines = [
		`dreamlake-server ${VERSION}: the DreamLake API server (auth via vuer-auth token exchange)`,
		'',
		'Usage: dreamlake-server [command] [flags]',
		'',
		'Commands:',
		...Object.entries(COMMANDS).map(([name, { args, help }]) => `  ${[name, ...args.map((a) => `<${a}>`)].join(' ').padEnd(22)} ${help}`),
		'',
		'Command flags:',
		...Object.entries(COMMAND_FLAGS).flatMap(([flag, { command, help }]) => [`  ${`${flag} <value>`.padEnd(width)}  ${typeof command === 'string' ? `${command}: ` : ''}${help}`]),
		'',
		'Development:',
		`  ${'--dev'.padEnd(width)}  serve also runs a local stand-in for vuer-auth (GET /dev/vuer-auth/jwks,`,
		`  ${''.padEnd(width)}  POST /dev/vuer-auth/token) and trusts only it; loopback HOST only. Never in production.`,
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
		if (invocation.command === 'migrate-data') return await migrateDataTo(config, invocation, env)
		if (config.postgres && invocation.command !== 'dev-token') return await onPostgres(invocation.command, config.postgres, log)
		if (invocation.command === 'migrate') return migrate(config, log)
		if (invocation.command === 'backup') return await backup(config, invocation.args[0]!, log)
		if (invocation.command === 'purge') return await purge(config, invocation.options['--older-than']!, log)
		if (invocation.command === 'migrate-files') return await migrateFilesTo(config, loadConfig({ ...env, FILE_STORAGE: invocation.options['--to'] }, { ...invocation.flags, FILE_STORAGE: undefined }), log)
		if (invocation.command === 'user') return await userCommand(config, invocation)
		if (invocation.command === 'dev-token') return print(await (await DevIdentityProvider.open(dataFolder(config.databasePath))).mint(invocation.args[0]!), 0)
		// listen for signals before listening for requests, so a SIGTERM during start-up still stops cleanly
		const signalled = untilSignalled(log)
		const server = await startServer(config, log, { dev: invocation.dev })
		await signalled
		await server.stop()
		log.info('stopped')
		return 0
	} catch (error) {
		if (error instanceof ConfigError) return print(`dreamlake-server: invalid configuration: ${error.message}`, 1, true)
		if (error instanceof MigrateDataError) return print(`dreamlake-server: migrate-data: ${error.message}`, 1, true)
		if (error instanceof BackupError) return print(`dreamlake-server: backup failed: ${error.message}`, 1, true)
		if (error instanceof ServerLockError || error instanceof StartupError || error instanceof PostgresUnavailableError) return print(`dreamlake-server: ${error.message}`, 1, true)
		if (error instanceof InvalidDevUsername) return print(`dreamlake-server: ${error.message}`, 2, true)
		log.error(`could not ${invocation.command}`, { reason: startFailure(error) })
		return 1
	}
}

/**
 * `user add | reset-password | disable | list`, straight on the database (safe while the server
 * runs: its writes wait for the server's, and the server sees them at its next request).
 */
async function userCommand(config: Config, invocation: Invocation): Promise<number> {
	const [action, username = ''] = invocation.args as [(typeof USER_ACTIONS)[number], string?]
	const db = openDatabase(config.databasePath)
	try {
		migrateDatabase(db)
		const writes = new WriteQueue(db.$client)
		const accounts = new AccountRepository(db, writes, new NamespaceRepository(db, writes))
		const passwords = new PasswordAccounts(new PasswordAccountRepository(db, writes), { publicUrl: config.publicUrl ?? `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${config.port}`, perMinute: 0, revokeTokens: (tx, sub) => accounts.revokeEveryToken(tx, sub) })
		const meter = new DbMeter()
		if (config.identity.mode !== 'builtin') process.stderr.write(`note: IDENTITY is ${config.identity.mode}; these accounts sign in once the server runs with IDENTITY=builtin.\n`)
		const linkLines = (name: string, link: PasswordLink) => [`Send ${name} this link to set the password; it works once, until ${link.expiresAt.toISOString().slice(0, 16).replace('T', ' ')} UTC:`, `  ${link.url}`]
		switch (action) {
			case 'add': {
				const { account, link } = await passwords.add(meter, username, invocation.options['--admin'] !== undefined)
				return print([`Account "${account.username}" added${account.isAdmin ? ' (administrator)' : ''}.`, ...linkLines(account.username, link)].join('\n'), 0)
			}
			case 'reset-password': {
				const { account, link } = await passwords.resetPassword(meter, username)
				return print([`A new password link for "${account.username}"; the current password works until it is used.`, ...linkLines(account.username, link)].join('\n'), 0)
			}
			case 'disable': {
				const account = await passwords.disable(meter, username)
				return print(`Account "${account.username}" disabled: it cannot sign in, and its dreamlake tokens stopped working.`, 0)
			}
			case 'list': {
				const rows = passwords.list(meter)
				if (rows.length === 0) return print('No accounts yet: dreamlake-server user add <username> [--admin].', 0)
				const now = Date.now()
				const status = (row: (typeof rows)[number]) => (row.disabledAt ? 'disabled' : row.passwordHash === null ? 'no password yet' : row.lockedUntil && row.lockedUntil.getTime() > now ? `locked until ${row.lockedUntil.toISOString().slice(11, 16)} UTC` : 'active')
				const width = Math.max(8, ...rows.map((r) => r.username.length))
				return print([`${'USERNAME'.padEnd(width)}  ADMIN  ${'STATUS'.padEnd(16)}  CREATED`, ...rows.map((r) => `${r.username.padEnd(width)}  ${(r.isAdmin ? 'yes' : 'no').padEnd(5)}  ${status(r).padEnd(16)}  ${r.createdAt.toISOString().slice(0, 10)}`)].join('\n'), 0)
			}
		}
	} catch (error) {
		if (error instanceof ApiError) return print(`dreamlake-server: ${error.message}`, 1, true)
		throw error
	} finally {
		closeDatabase(db)
	}
}

async function backup(config: Config, to: string, log: Logger): Promise<number> {
	const started = performance.now()
	const target = backupTarget(to)
	const { bytes } = backupDatabase(config.databasePath, target)
	if (config.fileStorage.kind === 's3') {
		log.info('backup written', { from: config.databasePath, to: target, bytes, ms: Math.round(performance.now() - started) })
		log.warn(`the files' bytes are in ${describeStorage(config.fileStorage)} and were not copied: back the bucket up on its own (README, Backups)`)
		return 0
	}
	const opened = openFileStore(config.databasePath)
	try {
		const { files } = await backupFiles(target, opened.store)
		log.info('backup written', { from: config.databasePath, to: target, bytes, files, filesTo: backupFilesFolder(target), ms: Math.round(performance.now() - started) })
	} finally {
		opened.close()
	}
	return 0
}

async function purge(config: Config, olderThan: string, log: Logger): Promise<number> {
	const seconds = olderThanSeconds(olderThan)
	const started = performance.now()
	const db = openDatabase(config.databasePath)
	try {
		migrateDatabase(db)
		const cutoff = Date.now() - seconds * 1000
		const report = purgeDeleted(db, cutoff)
		log.info('purged', { deletedBefore: new Date(cutoff).toISOString(), ...report, ms: Math.round(performance.now() - started) })
		await freeFileBytes(config, db, log)
		if (report.restoredMeanwhile > 0) log.warn('episodes were restored while they were being purged; they are kept, but lines removed before the restore are gone', { episodes: report.restoredMeanwhile })
		return 0
	} finally {
		closeDatabase(db)
	}
}

/**
 * Frees the bytes no file row points at any more, when no server runs (this takes its lock for the
 * moment). A running server may be moving an upload's bytes into place this very moment, so there
 * it is the server's job: it sweeps every 10 minutes and at every start.
 */
async function freeFileBytes(config: Config, db: ReturnType<typeof openDatabase>, log: Logger): Promise<void> {
	let lock: ReturnType<typeof acquireServerLock>
	try {
		lock = acquireServerLock(config.databasePath)
	} catch (error) {
		if (!(error instanceof ServerLockError)) throw error
		log.info('a server is running on this database: it frees the files\' bytes within 10 minutes')
		return
	}
	const opened = openFileStore(config.databasePath, config.fileStorage)
	try {
		const freed = await sweepUnreferenced(opened.store, new FileReferences(db))
		log.info('file bytes freed', freed)
	} finally {
		opened.close()
		lock.release()
	}
}

/** `migrate-files --to s3://…`: the data folder's files into the bucket (migrate.ts), after a probe of the bucket. */
async function migrateFilesTo(config: Config, target: Config, log: Logger): Promise<number> {
	const folder = dataFolder(config.databasePath)
	if (folder === null || target.fileStorage.kind !== 's3') throw new StartupError('migrate-files copies the files of a data folder (DATABASE_URL) into a bucket (--to s3://…).')
	const bucket = new S3FileStore(target.fileStorage)
	await checkBucket(bucket, target.fileStorage)
	const started = performance.now()
	let seen = 0
	const report = await migrateFiles(new LocalFileStore(join(folder, 'files')), bucket, ({ checksum, copied }) => {
		if (++seen % 100 === 0) log.info('migrating files', { files: seen, last: checksum, copied })
	})
	const to = describeStorage(target.fileStorage)
	log.info('files migrated', { to, copied: report.copied, alreadyThere: report.skipped, bytes: report.bytes, ms: Math.round(performance.now() - started) })
	if (report.damaged.length > 0) {
		log.error("files in the data folder whose bytes do not match their checksum were not copied (restore them from a backup)", { damaged: report.damaged.length, checksums: report.damaged.slice(0, 20) })
		return 1
	}
	log.info(`once the server runs with FILE_STORAGE=s3://${target.fileStorage.bucket}/${target.fileStorage.prefix} (and migrate-files was run again after it last stopped), the data folder's files/ can go`)
	return 0
}

/**
 * `migrate-data --to postgres://…`: the SQLite database into an empty PostgreSQL one (db/migrate-data.ts),
 * with a line per table (rewritten as it goes on a terminal), and done only once every table checks out.
 */
async function migrateDataTo(config: Config, invocation: Invocation, env: Record<string, string | undefined>): Promise<number> {
	const folder = invocation.options['--data']
	if (folder === undefined && config.postgres) throw new MigrateDataError('"migrate-data" copies a SQLite database: DATABASE_URL names PostgreSQL, so give the data folder with --data <folder>.')
	const source = folder === undefined ? config.databasePath : join(folder, 'dreamlake.db')
	const to = loadConfig({ ...env, DATABASE_URL: invocation.options['--to'] }, { ...invocation.flags, DATABASE_URL: undefined }).postgres!
	const shown = describePostgresUrl(to.url)
	const started = performance.now()
	const tty = process.stdout.isTTY === true
	const target = await connectPostgres({ ...to, poolSize: 1 })
	try {
		process.stdout.write(`copying ${source} into ${shown}\n`)
		const report = await migrateData(source, target, ({ table, copied, total }) => {
			const line = `  ${table.padEnd(18)} ${copied.toLocaleString('en-US')}/${total.toLocaleString('en-US')} rows`
			if (tty) process.stdout.write(`\r${line}${copied === total ? '\n' : ''}`)
			else if (copied === total) process.stdout.write(`${line}\n`)
		})
		const seconds = ((performance.now() - started) / 1000).toFixed(1)
		return print(
			[
				`verified: the ${report.tables.length} tables' row counts and sha256 checksums match between SQLite and PostgreSQL (${report.rows.toLocaleString('en-US')} rows copied in ${(report.copyMs / 1000).toFixed(1)} s, checked in ${(report.verifyMs / 1000).toFixed(1)} s; ${report.sequences} sequences reset).`,
				...(report.surrogatesReplaced > 0 ? [`note: ${report.surrogatesReplaced} JSON values held a lone UTF-16 surrogate, which PostgreSQL cannot store: each is U+FFFD there, as SQLite already stores one in text.`] : []),
				`done in ${seconds} s. The files' bytes were not moved: they stay where FILE_STORAGE says (${describeStorage(config.fileStorage)}); the SQLite database is kept as it was (keep it until PostgreSQL serves).`,
			].join('\n'),
			0,
		)
	} finally {
		await closePostgres(target)
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

/**
 * PostgreSQL is in progress (README, "PostgreSQL (in progress)"): `migrate` applies its migrations;
 * `serve` does the same, then stops, since the repositories speak SQLite only so far.
 */
async function onPostgres(command: Command, settings: PostgresSettings, log: Logger): Promise<number> {
	if (command === 'backup') return print(`dreamlake-server: backup copies a SQLite database; DATABASE_URL names PostgreSQL (${describePostgresUrl(settings.url)}): back it up with pg_dump instead (nothing was written), e.g.\n  pg_dump --format=custom --file=dreamlake.dump "$DATABASE_URL"\nand restore into an empty database with\n  pg_restore --no-owner --dbname="$DATABASE_URL" dreamlake.dump`, 1, true)
	if (command === 'purge') return print('dreamlake-server: purge does not support PostgreSQL yet; unset DATABASE_URL to purge a SQLite database.', 1, true)
	const db = await connectPostgres(settings)
	try {
		const { applied, total } = await migratePostgres(db)
		log.info(applied > 0 ? 'database migrated' : 'database already up to date', { applied, total, database: describePostgresUrl(settings.url) })
	} finally {
		await closePostgres(db)
	}
	if (command === 'migrate') return 0
	log.flush()
	return print('dreamlake-server: DATABASE_URL names PostgreSQL: its database is migrated, but serving from PostgreSQL is not supported yet; unset DATABASE_URL to serve from SQLite.', 1, true)
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
	const path = (error as { path?: unknown }).path
	if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS') return `permission denied${typeof path === 'string' ? `: ${path}` : ''}`
	return error instanceof Error ? error.message.split('\n')[0]!.slice(0, 200) : String(error)
}

function print(text: string, code: number, toStderr = false): number {
	;(toStderr ? process.stderr : process.stdout).write(text + '\n')
	return code
}
