import { loadConfig, type FileStorage } from '../../src/config'
import { S3FileStore, type S3StoreOptions } from '../../src/storage/s3'

/**
 * The bucket the tests use when FILE_STORAGE=s3://… is set (with the S3_ settings, e.g. from
 * scripts/s3-swift.sh); undefined when the files live in the data folder (the default).
 */
export const testBucket: Extract<FileStorage, { kind: 's3' }> | undefined = (() => {
	const names = ['FILE_STORAGE', 'S3_ENDPOINT', 'S3_REGION', 'S3_ACCESS_KEY_ID', 'S3_SECRET_ACCESS_KEY', 'S3_VIRTUAL_HOSTED_STYLE'] as const
	const storage = loadConfig(Object.fromEntries(names.map((name) => [name, process.env[name]]))).fileStorage
	return storage.kind === 's3' ? storage : undefined
})()

/** A store in the test bucket under a prefix of its own (nothing another test wrote is seen), with small parts. */
export function testS3Store(options: Partial<S3StoreOptions> = {}): S3FileStore {
	if (!testBucket) throw new Error('FILE_STORAGE=s3://… is not set')
	return new S3FileStore({ ...testBucket, prefix: `${testBucket.prefix}test-${crypto.randomUUID()}/`, partSize: 5 * 2 ** 20, ...options })
}
