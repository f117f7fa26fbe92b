// How the filter language writes a key, quoting the parts that need it: shared by the server's
// messages (filter.ts) and the dashboard's suggestions (src/ui/filter-keys.ts). No imports: the
// dashboard's bundle takes this file as it is.

/** A part of a key: bare when a word (and not number-like), else quoted. */
export const keyPart = (text: string) => (/^[A-Za-z0-9_-]+$/.test(text) && !/^-?\d/.test(text) ? text : JSON.stringify(text))

/** A parameter key: each dot-part bare or quoted; a key with an empty part, quoted whole (an empty quoted part would not read back). */
export const paramKeyText = (key: string) => (key.split('.').some((p) => p === '') ? `params.${JSON.stringify(key)}` : `params.${key.split('.').map(keyPart).join('.')}`)

/** A metric: the track quoted whole when it holds a dot (a quoted part stays one part). */
export const metricKeyText = (track: string, key: string, stat: string) => `metrics.${track.includes('.') ? JSON.stringify(track) : keyPart(track)}.${keyPart(key)}.${stat}`
