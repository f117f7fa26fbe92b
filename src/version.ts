import pkg from '../package.json'
import { gitCommit } from './build-info' with { type: 'macro' }

export const VERSION: string = pkg.version
/** The commit the program was built from (bundle time), or run from (source). */
export const COMMIT: string = gitCommit()
