import { expect } from 'bun:test'

/**
 * RFC 4180, as a reader other than ours parses it: quoted fields may hold commas, quotes ("") and
 * line breaks; a quoted empty field reads as `""` and an unquoted one as nothing, so the two stay apart.
 */
export function parseCsv(text: string): string[][] {
	const rows: string[][] = []
	let row: string[] = []
	let field = ''
	let quoted = false
	let wasQuoted = false
	for (let i = 0; i < text.length; i++) {
		const c = text[i]!
		if (quoted) {
			if (c === '"' && text[i + 1] === '"') (field += '"'), i++
			else if (c === '"') quoted = false
			else field += c
		} else if (c === '"') (quoted = true), (wasQuoted = true)
		else if (c === ',') row.push(wasQuoted && field === '' ? '""' : field), (field = ''), (wasQuoted = false)
		else if (c === '\r' && text[i + 1] === '\n') {
			row.push(wasQuoted && field === '' ? '""' : field)
			rows.push(row)
			;(row = []), (field = ''), (wasQuoted = false), i++
		} else field += c
	}
	expect(field).toBe('')
	expect(row).toEqual([])
	return rows
}
