import { resolve } from 'node:path'
import { chromium } from 'playwright-core'

/** Debian's Chromium (.ci/run installs it); playwright-core drives it and downloads no browser of its own. */
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'
/** Screenshots the browser tests keep (git ignores the folder). */
export const ARTIFACTS = resolve(import.meta.dir, '..', '..', 'test-artifacts')

/** Headless Chromium with the flags a root sandbox with no network needs: no sandbox, no GPU, nothing fetched in the background. */
export const launchChromium = () =>
	chromium.launch({
		executablePath: CHROMIUM,
		args: ['--headless=new', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
	})
