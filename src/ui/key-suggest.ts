// The filter box's suggestions as you type: the project's parameter keys and metrics (each metric
// with last, min, max and count), written the way the filter language reads them, in a listbox
// under the box. Arrow keys move through them, Enter or Tab takes one, Escape closes the list; a
// click takes one too. The box stays a plain text input (a combobox to a screen reader).
import { h, replace } from './dom'
import { candidates, suggest, wordStart, type ProjectKeys } from './filter-keys'

export type { ProjectKeys }

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
