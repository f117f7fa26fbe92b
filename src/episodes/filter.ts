/**
 * The episode filter language (README, "Finding runs"): a tokenizer and a recursive-descent parser
 * from text to a tree of comparisons, checked for the type each key takes. Nothing here builds SQL
 * (episodes/search.ts does, from the tree, with every value bound).
 *
 *   filter     := or
 *   or         := and ( "or" and )*
 *   and        := operand ( "and" operand )*
 *   operand    := "(" or ")" | comparison
 *   comparison := key op value | key ["not"] "in" "(" value ( "," value )* ")"
 *   op         := "=" | "!=" | "<" | "<=" | ">" | ">=" | "~"
 *   key        := attribute | "params" ( "." part )+ | "metrics" "." part ( "." part )+
 *   part       := word | string
 *   value      := number | string | "true" | "false"
 */
import { EPISODE_STATUSES } from '../db/schema'

export const FILTER_MAX_BYTES = 4096
export const FILTER_MAX_COMPARISONS = 32
export const COLUMNS_MAX = 20

export const ATTRIBUTES = ['name', 'description', 'status', 'tags', 'createdAt', 'updatedAt', 'lastActivityAt', 'createdBy'] as const
export type Attribute = (typeof ATTRIBUTES)[number]
/** What a metric key reads of its summary; `last` when none is named. */
export const STATS = ['last', 'min', 'max', 'count', 'minStep', 'maxStep', 'minIndex', 'maxIndex'] as const
export type Stat = (typeof STATS)[number]

export type Key = { kind: 'attribute'; name: Attribute } | { kind: 'param'; key: string } | { kind: 'metric'; track: string; key: string; stat: Stat }
export type Value = { type: 'number'; value: number } | { type: 'string'; value: string } | { type: 'boolean'; value: boolean }
export type Op = '=' | '!=' | '<' | '<=' | '>' | '>=' | '~'

export type Filter =
	| { kind: 'and'; left: Filter; right: Filter }
	| { kind: 'or'; left: Filter; right: Filter }
	| { kind: 'compare'; key: Key; op: Op; value: Value }
	| { kind: 'in'; key: Key; values: Value[]; negated: boolean }

/** Bad input to the language: `message` is the sentence the 400 carries. */
export class FilterError extends Error {}

type Token =
	| { kind: 'word'; text: string; at: number }
	| { kind: 'string'; text: string; at: number }
	| { kind: 'number'; value: number; text: string; at: number }
	| { kind: 'op'; text: Op; at: number }
	| { kind: '(' | ')' | ',' | '.' | 'end'; text: string; at: number }

const WORD = /[A-Za-z0-9_-]/
const NUMBER = /^-?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?/

/** The tokens of `text`; strings in double (or single) quotes with \" \' \\ escapes. Positions count characters from 1. */
function tokenize(text: string): Token[] {
	const tokens: Token[] = []
	let i = 0
	while (i < text.length) {
		const c = text[i]!
		const at = i + 1
		if (c === ' ' || c === '\t' || c === '\n' || c === '\r') {
			i++
			continue
		}
		if (c === '"' || c === "'") {
			let value = ''
			let j = i + 1
			for (;;) {
				if (j >= text.length) throw new FilterError(`the text opened with ${c} at character ${at} is never closed`)
				const d = text[j]!
				if (d === c) break
				if (d === '\\' && (text[j + 1] === c || text[j + 1] === '\\')) {
					value += text[j + 1]
					j += 2
					continue
				}
				value += d
				j++
			}
			tokens.push({ kind: 'string', text: value, at })
			i = j + 1
			continue
		}
		const two = text.slice(i, i + 2)
		if (two === '!=' || two === '<=' || two === '>=') {
			tokens.push({ kind: 'op', text: two, at })
			i += 2
			continue
		}
		if (c === '=' || c === '<' || c === '>' || c === '~') {
			tokens.push({ kind: 'op', text: c, at })
			i++
			continue
		}
		if (c === '(' || c === ')' || c === ',' || c === '.') {
			// a number may start with a dot (.5), but only where a value can be: after an operator or in a list
			const previous = tokens[tokens.length - 1]
			const number = c === '.' && (previous?.kind === 'op' || previous?.kind === ',' || previous?.kind === '(') ? NUMBER.exec(text.slice(i)) : null
			if (!number) {
				tokens.push({ kind: c, text: c, at })
				i++
				continue
			}
		}
		const previous = tokens[tokens.length - 1]
		// after a dot comes a part of a key, whatever its characters (params.0.lr), never a number
		const number = previous?.kind !== '.' ? NUMBER.exec(text.slice(i)) : null
		if (number && !WORD.test(text[i + number[0].length] ?? '')) {
			tokens.push({ kind: 'number', value: Number(number[0]), text: number[0], at })
			i += number[0].length
			continue
		}
		if (WORD.test(c)) {
			let j = i
			while (j < text.length && WORD.test(text[j]!)) j++
			tokens.push({ kind: 'word', text: text.slice(i, j), at })
			i = j
			continue
		}
		throw new FilterError(`unexpected ${JSON.stringify(c)} at character ${at}: put a name holding it in double quotes (metrics."robot/pose".x)`)
	}
	tokens.push({ kind: 'end', text: '', at: text.length + 1 })
	return tokens
}

const shown = (token: Token) => (token.kind === 'end' ? 'the end' : token.kind === 'string' ? JSON.stringify(token.text) : `"${token.text}"`)
const keyword = (token: Token, word: string) => token.kind === 'word' && token.text.toLowerCase() === word

class Parser {
	private i = 0
	comparisons = 0
	constructor(private readonly tokens: Token[]) {}

	private peek(): Token {
		return this.tokens[this.i]!
	}
	private next(): Token {
		return this.tokens[this.i++]!
	}
	private expected(what: string, token = this.peek()): never {
		throw new FilterError(`expected ${what} at character ${token.at}, found ${shown(token)}`)
	}

	filter(): Filter {
		const tree = this.or()
		if (this.peek().kind !== 'end') this.expected('"and", "or" or the end')
		return tree
	}

	private or(): Filter {
		let left = this.and()
		while (keyword(this.peek(), 'or')) {
			this.next()
			left = { kind: 'or', left, right: this.and() }
		}
		return left
	}

	private and(): Filter {
		let left = this.operand()
		while (keyword(this.peek(), 'and')) {
			this.next()
			left = { kind: 'and', left, right: this.operand() }
		}
		return left
	}

	private operand(): Filter {
		if (this.peek().kind === '(') {
			this.next()
			const inner = this.or()
			if (this.peek().kind !== ')') this.expected('")"')
			this.next()
			return inner
		}
		return this.comparison()
	}

	private comparison(): Filter {
		const start = this.peek()
		const key = this.key()
		if (++this.comparisons > FILTER_MAX_COMPARISONS) throw new FilterError(`a filter may hold at most ${FILTER_MAX_COMPARISONS} comparisons (one more starts at character ${start.at})`)
		const token = this.peek()
		const negated = keyword(token, 'not')
		if (negated || keyword(token, 'in')) {
			this.next()
			if (negated) {
				if (!keyword(this.peek(), 'in')) this.expected('"in" after "not"')
				this.next()
			}
			if (this.peek().kind !== '(') this.expected('"(" opening the list after "in"')
			this.next()
			const values: Value[] = []
			for (;;) {
				const at = this.peek()
				values.push(checked(key, negated ? '!=' : '=', this.value(), at))
				const after = this.next()
				if (after.kind === ')') break
				if (after.kind !== ',') this.expected('"," or ")" in the list', after)
			}
			return { kind: 'in', key, values, negated }
		}
		if (token.kind !== 'op') this.expected('an operator (=, !=, <, <=, >, >=, ~, in, not in)')
		this.next()
		const at = this.peek()
		return { kind: 'compare', key, op: token.text, value: checked(key, token.text, this.value(), at) }
	}

	/** A key: an attribute, `params.<key>` or `metrics.<track>.<key>[.<stat>]`. */
	key(): Key {
		const head = this.peek()
		if (head.kind !== 'word') this.expected('a key (an attribute such as name or status, params.<key>, or metrics.<track>.<key>)')
		this.next()
		const attribute = ATTRIBUTES.find((a) => a.toLowerCase() === head.text.toLowerCase())
		if (attribute && this.peek().kind !== '.') return { kind: 'attribute', name: attribute }
		if (head.text !== 'params' && head.text !== 'metrics') {
			throw new FilterError(`unknown key "${head.text}" at character ${head.at}: use one of ${ATTRIBUTES.join(', ')}, params.<key> or metrics.<track>.<key>`)
		}
		const parts: { text: string; quoted: boolean }[] = []
		while (this.peek().kind === '.') {
			this.next()
			const part = this.next()
			if (part.kind !== 'word' && part.kind !== 'string') this.expected(`a name after "."`, part)
			if (part.text === '') throw new FilterError(`an empty name at character ${part.at}`)
			parts.push({ text: part.text, quoted: part.kind === 'string' })
		}
		if (head.text === 'params') {
			if (parts.length === 0) this.expected('"." and a parameter after params')
			return { kind: 'param', key: parts.map((p) => p.text).join('.') }
		}
		// metrics.<track>.<key>[.<stat>]: an unquoted last part naming a stat is the stat when two parts come before it; the key is the part before, the track all the rest
		const last = parts[parts.length - 1]
		let stat: Stat = 'last'
		if (parts.length >= 3 && last && !last.quoted && (STATS as readonly string[]).includes(last.text)) {
			stat = last.text as Stat
			parts.pop()
		}
		if (parts.length < 2) this.expected('metrics.<track>.<key> (a track and one of its keys)')
		const key = parts.pop()!.text
		return { kind: 'metric', track: parts.map((p) => p.text).join('.'), key, stat }
	}

	private value(): Value {
		const token = this.next()
		if (token.kind === 'number') {
			if (!Number.isFinite(token.value)) throw new FilterError(`the number at character ${token.at} is too large`)
			return { type: 'number', value: token.value }
		}
		if (token.kind === 'string') return { type: 'string', value: token.text }
		if (keyword(token, 'true') || keyword(token, 'false')) return { type: 'boolean', value: keyword(token, 'true') }
		this.expected('a value (a number, "text" in double quotes, true or false)', token)
	}

	atEnd(): boolean {
		return this.peek().kind === 'end'
	}
	expectEnd(what: string): void {
		if (!this.atEnd()) this.expected(what)
	}
}

const ORDERING: readonly Op[] = ['<', '<=', '>', '>=']
const TIMES: readonly Attribute[] = ['createdAt', 'updatedAt', 'lastActivityAt']

/** The value, if the key takes its type with this operator; else a 400 sentence saying what it takes. */
function checked(key: Key, op: Op, value: Value, at: Token): Value {
	const name = keyName(key)
	const refuse: (takes: string) => never = (takes) => {
		throw new FilterError(`${name} ${op} at character ${at.at}: ${takes}`)
	}
	if (key.kind === 'metric') {
		if (value.type !== 'number') refuse('a metric compares with a number (it is one)')
		if (op === '~') refuse('~ matches text; a metric is a number')
		return value
	}
	if (key.kind === 'param') {
		if (op === '~' && value.type !== 'string') refuse('~ takes a pattern in double quotes ("adam*")')
		if (ORDERING.includes(op) && value.type !== 'number') refuse(`< <= > >= compare a parameter with a number; ${value.type === 'string' ? JSON.stringify(value.value) : String(value.value)} is not one (text takes = != in ~)`)
		return value
	}
	const attribute = key.name
	if (value.type !== 'string') refuse(TIMES.includes(attribute) ? 'compare it with a date or time in double quotes ("2026-11-01")' : 'compare it with text in double quotes')
	if (TIMES.includes(attribute)) {
		if (op === '~') refuse('a time takes = != < <= > >=, not ~')
		const ms = Date.parse(value.value)
		if (!/^\d{4}-\d\d-\d\d/.test(value.value) || Number.isNaN(ms)) refuse(`${JSON.stringify(value.value)} is not a date or time (2026-11-01, 2026-11-01T12:00:00Z)`)
		return { type: 'number', value: ms }
	}
	if (attribute === 'status') {
		if (op !== '=' && op !== '!=') refuse('status takes = != in')
		const statuses = [...EPISODE_STATUSES, 'stale']
		if (!statuses.includes(value.value)) refuse(`status is one of ${statuses.join(', ')}`)
	}
	if (attribute === 'tags' && ORDERING.includes(op)) refuse('tags takes = (has the tag) != ~ in')
	return value
}

/** A key as the language writes it (metrics.train.loss.min), quoting the parts that need it. */
export function keyName(key: Key): string {
	const part = (text: string) => (/^[A-Za-z0-9_-]+$/.test(text) && !/^-?\d/.test(text) ? text : JSON.stringify(text))
	if (key.kind === 'attribute') return key.name
	if (key.kind === 'param') return `params.${key.key.split('.').map(part).join('.')}`
	const track = key.track.includes('.') ? JSON.stringify(key.track) : part(key.track)
	return `metrics.${track}.${part(key.key)}.${key.stat}`
}

/** `filter=`: the tree of the text, or a FilterError. */
export function parseFilter(text: string): Filter {
	if (Buffer.byteLength(text, 'utf8') > FILTER_MAX_BYTES) throw new FilterError(`a filter may be at most ${FILTER_MAX_BYTES} bytes`)
	return new Parser(tokenize(text)).filter()
}

/** One key alone (`order=`, each of `columns=`), or a FilterError. */
export function parseKey(text: string): Key {
	const parser = new Parser(tokenize(text))
	const key = parser.key()
	parser.expectEnd('the end of the key')
	return key
}
