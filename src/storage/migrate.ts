import type { LocalFileStore } from './local'
import type { S3FileStore } from './s3'

export interface MigrationReport {
	/** Files written to the bucket and checked there. */
	copied: number
	/** Files the bucket had already, with the same size (a commit there was checked, so they are the same bytes). */
	skipped: number
	bytes: number
	/** Checksums whose bytes in the data folder do not have that sha256 (damaged on disk): not copied. */
	damaged: string[]
}

/**
 * Copies every file of the data folder's store into a bucket, each through the bucket's own upload
 * (hashed on the way, committed only when its sha256 is its name), one at a time. Resumable: a
 * file the bucket already holds is skipped, so a run cut off is run again. The data folder keeps
 * its copy; `progress` hears of each file.
 */
export async function migrateFiles(from: LocalFileStore, to: S3FileStore, progress: (done: { checksum: string; size: number; copied: boolean }) => void = () => {}): Promise<MigrationReport> {
	const report: MigrationReport = { copied: 0, skipped: 0, bytes: 0, damaged: [] }
	for await (const { checksum, size } of from.list()) {
		if ((await to.sizeOf(checksum)) === size) {
			report.skipped++
			progress({ checksum, size, copied: false })
			continue
		}
		const stored = await from.open(checksum)
		if (!stored) continue // removed since it was listed
		const body = await stored.body()
		const writer = to.writer(checksum)
		try {
			for await (const chunk of body instanceof Blob ? body.stream() : body) await writer.write(chunk)
			const written = await writer.finish()
			if (written.checksum !== checksum || written.size !== size) {
				report.damaged.push(checksum)
				continue
			}
			;(await writer.commit())()
		} finally {
			await writer.discard() // a no-op once committed
		}
		report.copied++
		report.bytes += size
		progress({ checksum, size, copied: true })
	}
	return report
}
