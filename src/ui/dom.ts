// The page's one way to make DOM: elements with properties and children, text always as text
// nodes. Nothing user-supplied ever goes through innerHTML, so a log line, a name or metadata that
// holds `<script>` or `"onerror=` shows as those characters and does nothing.

export type Child = Node | string | number | null | undefined | false | Child[]

type Handler<E extends Event = Event> = (event: E) => void
export interface Props {
	class?: string
	title?: string
	href?: string
	type?: string
	value?: string
	placeholder?: string
	min?: number
	max?: number
	step?: number
	maxlength?: number
	readonly?: boolean
	required?: boolean
	autocomplete?: string
	spellcheck?: string
	disabled?: boolean
	checked?: boolean
	selected?: boolean
	hidden?: boolean
	open?: boolean
	name?: string
	id?: string
	for?: string
	role?: string
	src?: string
	alt?: string
	download?: string
	target?: string
	rel?: string
	colspan?: number
	tabindex?: number
	autofocus?: boolean
	/** `data-*` attributes. */
	data?: Record<string, string>
	/** `aria-*` attributes. */
	aria?: Record<string, string>
	onclick?: Handler<MouseEvent>
	oninput?: Handler<InputEvent>
	onchange?: Handler
	onsubmit?: Handler<SubmitEvent>
	onkeydown?: Handler<KeyboardEvent>
	ontoggle?: Handler
}

const PROPERTIES = new Set(['value', 'checked', 'selected', 'disabled', 'hidden', 'open', 'autofocus'])

export function h<K extends keyof HTMLElementTagNameMap>(tag: K, props?: Props | null, ...children: Child[]): HTMLElementTagNameMap[K] {
	const el = document.createElement(tag)
	if (props) {
		for (const [key, value] of Object.entries(props)) {
			if (value === undefined || value === null || value === false) continue
			if (key === 'data') for (const [k, v] of Object.entries(value as Record<string, string>)) el.dataset[k] = v
			else if (key === 'aria') for (const [k, v] of Object.entries(value as Record<string, string>)) el.setAttribute(`aria-${k}`, v)
			else if (key.startsWith('on')) el.addEventListener(key.slice(2), value as EventListener)
			else if (key === 'href' || key === 'src') el.setAttribute(key, safeUrl(String(value)))
			else if (PROPERTIES.has(key)) (el as unknown as Record<string, unknown>)[key] = value
			else el.setAttribute(key === 'class' ? 'class' : key, value === true ? '' : String(value))
		}
	}
	append(el, children)
	return el
}

export function append(parent: Node, children: Child[]): void {
	for (const child of children) {
		if (child === null || child === undefined || child === false) continue
		if (Array.isArray(child)) append(parent, child)
		else parent.appendChild(child instanceof Node ? child : document.createTextNode(String(child)))
	}
}

/** Replaces everything in `el` with `children`. */
export function replace(el: Element, ...children: Child[]): void {
	el.replaceChildren()
	append(el, children)
}

/** Only our own paths and http(s) links: never `javascript:` or `data:` from data. */
function safeUrl(url: string): string {
	if (url.startsWith('/') || url.startsWith('#') || url.startsWith('blob:')) return url
	try {
		const parsed = new URL(url)
		return parsed.protocol === 'https:' || parsed.protocol === 'http:' ? parsed.href : '#'
	} catch {
		return '#'
	}
}

/** Calls `fn` once `ms` have passed without another call. */
export function debounce<A extends unknown[]>(fn: (...args: A) => void, ms: number): (...args: A) => void {
	let timer: ReturnType<typeof setTimeout> | undefined
	return (...args: A) => {
		clearTimeout(timer)
		timer = setTimeout(() => fn(...args), ms)
	}
}
