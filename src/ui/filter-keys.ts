// The keys a filter over a project can name, as the filter language writes them, and which of
// them a word being typed calls for. No DOM: the filter box (key-suggest.ts) shows them.

export interface ProjectKeys {
	params: string[]
	metrics: { track: string; key: string }[]
}

const SHOWN = 12
const STATS = ['last', 'min', 'max', 'count']

/** A part of a key as the language reads it: bare when a word (and not number-like), else quoted (as keyName in src/episodes/filter.ts). */
const part = (text: string) => (/^[A-Za-z0-9_-]+$/.test(text) && !/^-?\d/.test(text) ? text : JSON.stringify(text))

/** A parameter key in the language: each dot-part bare or quoted; a key with an empty part, quoted whole. */
export const paramKeyText = (key: string) => (key.split('.').some((p) => p === '') ? `params.${JSON.stringify(key)}` : `params.${key.split('.').map(part).join('.')}`)
/** A metric in the language: the track quoted whole when it holds a dot (a quoted part stays one part). */
export const metricKeyText = (track: string, key: string, stat: string) => `metrics.${track.includes('.') ? JSON.stringify(track) : part(track)}.${part(key)}.${stat}`

/** Every key a filter over the project can name, as the language writes it, with its plain reading to match typing against. */
export function candidates(keys: ProjectKeys): { text: string; plain: string }[] {
	return [
		...keys.params.map((key) => ({ text: paramKeyText(key), plain: `params.${key}` })),
		...keys.metrics.flatMap(({ track, key }) => STATS.map((stat) => ({ text: metricKeyText(track, key, stat), plain: `metrics.${track}.${key}.${stat}` }))),
	]
}

/** Where the word being typed at `caret` starts: after the last space, parenthesis or comma outside quotes. */
export function wordStart(text: string, caret: number): number {
	let start = 0
	let quote: string | null = null
	for (let i = 0; i < caret; i++) {
		const c = text[i]!
		if (quote) {
			if (c === '\\') i++
			else if (c === quote) quote = null
		} else if (c === '"' || c === "'") quote = c
		else if (c === ' ' || c === '(' || c === ')' || c === ',' || c === '\t' || c === '\n') start = i + 1
	}
	return start
}

/** The suggestions for a typed word: keys it starts (as written or read plainly) first, then keys holding it. */
export function suggest(all: { text: string; plain: string }[], word: string): string[] {
	const typed = word.toLowerCase()
	if (typed === '') return []
	const starts: string[] = []
	const holds: string[] = []
	for (const { text, plain } of all) {
		if (text === word) return []
		if (text.toLowerCase().startsWith(typed) || plain.toLowerCase().startsWith(typed)) starts.push(text)
		else if (!typed.includes('.') && typed.length >= 2 && plain.toLowerCase().includes(typed)) holds.push(text)
	}
	return [...starts, ...holds].slice(0, SHOWN)
}
