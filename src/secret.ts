import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { checkSecret, type Config } from './config'
import { dataFolder } from './db/client'

export const SECRET_FILE_NAME = 'jwt-secret'

export interface ResolvedSecret {
	secret: string
	/** Where it came from: the configuration, the data folder's file, or (in-memory database) nowhere. */
	source: 'config' | 'file' | 'generated' | 'ephemeral'
	path?: string
}

/**
 * The dreamlake token secret: JWT_SECRET when set; otherwise the one stored in the data folder,
 * generated on first start (mode 0600) so tokens survive restarts.
 */
export function resolveJwtSecret(config: Pick<Config, 'jwtSecret' | 'databasePath'>): ResolvedSecret {
	if (config.jwtSecret !== undefined) return { secret: config.jwtSecret, source: 'config' }
	const folder = dataFolder(config.databasePath)
	if (folder === null) return { secret: randomSecret(), source: 'ephemeral' }
	const path = join(folder, SECRET_FILE_NAME)
	if (!existsSync(path)) {
		mkdirSync(folder, { recursive: true })
		try {
			writeFileSync(path, randomSecret() + '\n', { mode: 0o600, flag: 'wx' })
			return { secret: readSecretFile(path), source: 'generated', path }
		} catch (error) {
			// another process created it first: use theirs
			if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error
		}
	}
	if ((statSync(path).mode & 0o077) !== 0) chmodSync(path, 0o600)
	return { secret: readSecretFile(path), source: 'file', path }
}

const readSecretFile = (path: string) => checkSecret(`JWT_SECRET (from ${path})`, readFileSync(path, 'utf8').trim())

const randomSecret = () => Buffer.from(crypto.getRandomValues(new Uint8Array(48))).toString('base64url')
