// Apart from index.ts, and imported on the first request for the dashboard: a Bun macro builds the
// dashboard where this file is transpiled (once, into the compiled binary; at run time when the
// server runs from source), so a server from source that is never asked for /ui/ never pays for it.
import type { DashboardFiles } from '.'
import { embedDashboard } from './assets' with { type: 'macro' }

export const embeddedFiles = (): DashboardFiles => embedDashboard().map((file) => ({ path: file.path, type: file.type, gzip: new Uint8Array(Buffer.from(file.gzip, 'base64')) }))
