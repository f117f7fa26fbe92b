import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { loadConfig, type FileStorage } from '../../src/config'
import { S3FileStore, type S3StoreOptions } from '../../src/storage/s3'
import { ROOT } from './setup'

export type TestBucket = Extract<FileStorage, { kind: 's3' }>

const S3_SETTINGS = ['FILE_STORAGE', 'S3_ENDPOINT', 'S3_REGION', 'S3_ACCESS_KEY_ID', 'S3_SECRET_ACCESS_KEY', 'S3_VIRTUAL_HOSTED_STYLE', 'S3_PRESIGNED_DOWNLOADS'] as const

/** The bucket settings `env` names (FILE_STORAGE=s3://… with the S3_ settings); undefined for the data folder. */
function bucketOf(env: Record<string, string | undefined>): TestBucket | undefined {
	const storage = loadConfig(Object.fromEntries(S3_SETTINGS.map((name) => [name, env[name]]))).fileStorage
	return storage.kind === 's3' ? storage : undefined
}

/**
 * The bucket the tests use when FILE_STORAGE=s3://… is set (with the S3_ settings, e.g. from
 * scripts/s3-swift.sh); undefined when the files live in the data folder (the default).
 */
export const testBucket: TestBucket | undefined = bucketOf(process.env)

/**
 * A bucket for a test file that is about buckets, whatever the environment: the one FILE_STORAGE
 * names, else a Swift of the file's own (scripts/s3-swift.sh on a port of its own, a few seconds;
 * it installs Debian's swift packages first when they are missing and this runs as root), so the
 * plain `bun test` runs such a file instead of skipping it. `stop` ends what was started here.
 */
export function startTestBucket(): { bucket: TestBucket; stop: () => void } {
	if (testBucket) return { bucket: testBucket, stop: () => {} }
	const folder = mkdtempSync(join(tmpdir(), 'dreamlake-s3-'))
	const script = join(ROOT, 'scripts', 's3-swift.sh')
	const port = 20_000 + Math.floor(Math.random() * 9_000)
	const started = Bun.spawnSync([script, 'start', folder, String(port), 'dreamlake-test'], { stdout: 'pipe', stderr: 'pipe' })
	const settings = Object.fromEntries(
		started.stdout
			.toString()
			.split('\n')
			.filter((line) => line.includes('='))
			.map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]),
	)
	const bucket = started.exitCode === 0 ? bucketOf(settings) : undefined
	const stop = () => {
		Bun.spawnSync([script, 'stop', folder], { stdout: 'ignore', stderr: 'inherit' })
		rmSync(folder, { recursive: true, force: true })
	}
	if (!bucket) {
		stop()
		throw new Error(`scripts/s3-swift.sh could not start a store: ${started.stderr.toString().trim().split('\n').slice(-3).join(' ')}`)
	}
	return { bucket, stop }
}

/** A store in `bucket` under a prefix of its own (nothing another test wrote is seen), with small parts. */
export function testS3Store(options: Partial<S3StoreOptions> = {}, bucket: TestBucket | undefined = testBucket): S3FileStore {
	if (!bucket) throw new Error('FILE_STORAGE=s3://… is not set')
	return new S3FileStore({ ...bucket, prefix: `${bucket.prefix}test-${crypto.randomUUID()}/`, partSize: 5 * 2 ** 20, ...options })
}
