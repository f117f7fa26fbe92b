// Evaluated as a Bun macro: at bundle time for the compiled binary, at transpile time from source.
export function gitCommit(): string {
	try {
		const result = Bun.spawnSync(['git', 'rev-parse', '--short=12', 'HEAD'], { cwd: import.meta.dir, stderr: 'ignore' })
		const commit = result.stdout.toString().trim()
		if (!result.success || commit === '') return 'unknown'
		const dirty = Bun.spawnSync(['git', 'status', '--porcelain', '--untracked-files=no'], { cwd: import.meta.dir }).stdout.toString().trim()
		return dirty ? `${commit}-dirty` : commit
	} catch {
		return 'unknown'
	}
}
