import { resolve } from 'node:path'
import { chromium } from 'playwright-core'
import { chromiumPath, ensureTools } from './setup'

// before the first browser test: there, or installed (root with apt-get), or the file fails saying how to install it
ensureTools(['chromium'])

/** Debian's Chromium, or CHROMIUM_PATH; playwright-core drives it and downloads no browser of its own. */
export const CHROMIUM = chromiumPath()
/** Screenshots the browser tests keep (git ignores the folder). */
export const ARTIFACTS = resolve(import.meta.dir, '..', '..', 'test-artifacts')

/** Headless Chromium with the flags a root sandbox with no network needs: no sandbox, no GPU, nothing fetched in the background. */
export const launchChromium = () =>
	chromium.launch({
		executablePath: CHROMIUM,
		args: ['--headless=new', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
	})
