import type { Database } from 'bun:sqlite'
import { tally } from './meter'

/**
 * Whether another connection committed to the database since the last look: SQLite's
 * `PRAGMA data_version`, which the connection's own writes leave alone. A command run beside the
 * server (`dreamlake-server user disable`) is seen at the server's next request.
 */
export class ExternalWrites {
	private readonly statement
	private last: number

	constructor(client: Database) {
		this.statement = client.prepare<{ data_version: number }, []>('PRAGMA data_version')
		this.last = this.read()
	}

	changed(): boolean {
		const now = this.read()
		tally()
		if (now === this.last) return false
		this.last = now
		return true
	}

	private read(): number {
		return this.statement.get()!.data_version
	}
}
