// The filter box's suggestions as you type: the project's parameter keys and metrics (each metric
// with last, min, max and count), written the way the filter language reads them, in a listbox
// under the box. Arrow keys move through them, Enter or Tab takes one, Escape closes the list; a
// click takes one too. The box stays a plain text input (a combobox to a screen reader).
import { h, replace } from './dom'

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

let lists = 0

/** Suggestions under `input` from `keys` (asked for the first time the person types); `element` goes right after the input. */
export function keySuggestions(input: HTMLInputElement, keys: () => Promise<ProjectKeys>): HTMLElement {
	const id = `key-suggestions-${++lists}`
	const list = h('ul', { id, role: 'listbox', class: 'suggestions', hidden: true, aria: { label: 'Keys' }, data: { testid: 'key-suggestions' } })
	input.setAttribute('role', 'combobox')
	input.setAttribute('aria-autocomplete', 'list')
	input.setAttribute('aria-controls', id)
	input.setAttribute('aria-expanded', 'false')
	let all: { text: string; plain: string }[] | undefined
	let loading: Promise<void> | undefined
	let shown: string[] = []
	let active = -1

	const close = () => {
		shown = []
		active = -1
		list.hidden = true
		input.setAttribute('aria-expanded', 'false')
		input.removeAttribute('aria-activedescendant')
	}
	const mark = () => {
		list.querySelectorAll('[role=option]').forEach((option, i) => option.setAttribute('aria-selected', String(i === active)))
		if (active >= 0) input.setAttribute('aria-activedescendant', `${id}-${active}`)
		else input.removeAttribute('aria-activedescendant')
	}
	const take = (text: string) => {
		const caret = input.selectionStart ?? input.value.length
		const start = wordStart(input.value, caret)
		const after = input.value.slice(caret)
		const insert = after.startsWith(' ') ? text : `${text} `
		input.value = input.value.slice(0, start) + insert + after
		const at = start + insert.length
		input.setSelectionRange(at, at)
		close()
		input.focus()
	}
	const update = () => {
		if (!all) {
			loading ??= keys()
				.then((k) => void (all = candidates(k)))
				.catch(() => void (all = []))
				.then(() => update())
			return
		}
		const caret = input.selectionStart ?? input.value.length
		shown = suggest(all, input.value.slice(wordStart(input.value, caret), caret))
		if (shown.length === 0 || document.activeElement !== input) return close()
		active = -1
		replace(
			list,
			shown.map((text, i) => {
				const option = h('li', { id: `${id}-${i}`, role: 'option' }, h('code', null, text))
				// on mousedown, before the box's blur closes the list
				option.addEventListener('mousedown', (event) => (event.preventDefault(), take(text)))
				return option
			}),
		)
		list.hidden = false
		input.setAttribute('aria-expanded', 'true')
		mark()
	}

	input.addEventListener('input', update)
	input.addEventListener('blur', close)
	input.addEventListener('keydown', (event) => {
		if (list.hidden) return
		if (event.key === 'ArrowDown' || event.key === 'ArrowUp') {
			event.preventDefault()
			active = (active + (event.key === 'ArrowDown' ? 1 : -1) + shown.length + 1) % (shown.length + 1)
			if (active === shown.length) active = -1
			mark()
		} else if ((event.key === 'Enter' || event.key === 'Tab') && active >= 0) {
			event.preventDefault()
			take(shown[active]!)
		} else if (event.key === 'Escape') {
			event.preventDefault()
			close()
		}
	})
	return list
}
