import { describe, expect, it } from 'bun:test'
import { FilterError, keyName, parseFilter, parseKey, type Filter } from '../src/episodes/filter'

/** The tree as a short string: (a and b), key op value. */
function shape(filter: Filter): string {
	if (filter.kind === 'and') return `(${shape(filter.left)} and ${shape(filter.right)})`
	if (filter.kind === 'or') return `(${shape(filter.left)} or ${shape(filter.right)})`
	if (filter.kind === 'in') return `${keyName(filter.key)} ${filter.negated ? 'not in' : 'in'} [${filter.values.map((v) => JSON.stringify(v.value)).join(',')}]`
	return `${keyName(filter.key)} ${filter.op} ${JSON.stringify(filter.value.value)}`
}

const error = (text: string): string => {
	try {
		parseFilter(text)
	} catch (e) {
		if (e instanceof FilterError) return e.message
		throw e
	}
	throw new Error(`parsed: ${text}`)
}

describe('the filter language', () => {
	it('parses the issue’s example', () => {
		const text = 'params.optimizer.lr = 0.0003 and metrics.train.loss.min < 0.2 and metrics."eval/success".rate > 0.8 and tags = "sweep" and status != "failed" and name ~ "ppo-*" and createdAt > "2026-11-01"'
		expect(shape(parseFilter(text))).toBe(
			`((((((params.optimizer.lr = 0.0003 and metrics.train.loss.min < 0.2) and metrics."eval/success".rate.last > 0.8) and tags = "sweep") and status != "failed") and name ~ "ppo-*") and createdAt > ${Date.parse('2026-11-01')})`,
		)
	})

	it('and binds tighter than or; parentheses override; keywords in any case', () => {
		expect(shape(parseFilter('name = "a" or name = "b" and name = "c"'))).toBe('(name = "a" or (name = "b" and name = "c"))')
		expect(shape(parseFilter('(name = "a" OR name = "b") AND name = "c"'))).toBe('((name = "a" or name = "b") and name = "c")')
		expect(shape(parseFilter('name = "a" or name = "b" or name = "c"'))).toBe('((name = "a" or name = "b") or name = "c")')
		expect(shape(parseFilter('((((name = "a"))))'))).toBe('name = "a"')
	})

	it('in and not in take lists of values', () => {
		expect(shape(parseFilter('params.opt in ("adam", "sgd") and status not in ("failed", "stale")'))).toBe('(params.opt in ["adam","sgd"] and status not in ["failed","stale"])')
		expect(shape(parseFilter('metrics.a.b IN (1, -2.5, 3e-4, .5)'))).toBe('metrics.a.b.last in [1,-2.5,0.0003,0.5]')
	})

	it('numbers, text in double or single quotes with escapes, true and false', () => {
		expect(shape(parseFilter('params.x = -1.5e3'))).toBe('params.x = -1500')
		expect(shape(parseFilter(`params.x = 'it''s'`.replace("''", "\\'")))).toBe(`params.x = "it's"`)
		expect(shape(parseFilter('params.x = "a \\"quoted\\" \\\\ word"'))).toBe('params.x = "a \\"quoted\\" \\\\ word"')
		expect(shape(parseFilter('params.on = true or params.on = FALSE'))).toBe('(params.on = true or params.on = false)')
	})

	describe('keys', () => {
		it('params: the parts joined by dots (quoted or not), so params."optimizer.lr" is params.optimizer.lr', () => {
			expect(parseKey('params.optimizer.lr')).toEqual({ kind: 'param', key: 'optimizer.lr' })
			expect(parseKey('params."optimizer.lr"')).toEqual({ kind: 'param', key: 'optimizer.lr' })
			expect(parseKey('params."my key/with spaces"')).toEqual({ kind: 'param', key: 'my key/with spaces' })
			expect(parseKey('params.layers.0.size')).toEqual({ kind: 'param', key: 'layers.0.size' })
			expect(parseKey('params.warm-up')).toEqual({ kind: 'param', key: 'warm-up' })
		})

		it('metrics: the last part is the key and the rest the track, less a stat named last', () => {
			expect(parseKey('metrics.train.loss')).toEqual({ kind: 'metric', track: 'train', key: 'loss', stat: 'last' })
			expect(parseKey('metrics.train.loss.min')).toEqual({ kind: 'metric', track: 'train', key: 'loss', stat: 'min' })
			expect(parseKey('metrics."robot/pose".x.max')).toEqual({ kind: 'metric', track: 'robot/pose', key: 'x', stat: 'max' })
			// an unquoted track with dots: everything before the key
			expect(parseKey('metrics.eval.v2.acc')).toEqual({ kind: 'metric', track: 'eval.v2', key: 'acc', stat: 'last' })
			expect(parseKey('metrics.eval.v2.acc.count')).toEqual({ kind: 'metric', track: 'eval.v2', key: 'acc', stat: 'count' })
			expect(parseKey('metrics."eval.v2".acc.count')).toEqual({ kind: 'metric', track: 'eval.v2', key: 'acc', stat: 'count' })
			// with two parts a stat's name is the key; quoted it is never a stat
			expect(parseKey('metrics.train.min')).toEqual({ kind: 'metric', track: 'train', key: 'min', stat: 'last' })
			expect(parseKey('metrics.train.loss."max"')).toEqual({ kind: 'metric', track: 'train.loss', key: 'max', stat: 'last' })
			expect(parseKey('metrics.train.loss.minStep')).toEqual({ kind: 'metric', track: 'train', key: 'loss', stat: 'minStep' })
			expect(parseKey('metrics."a \\"b\\"".c')).toEqual({ kind: 'metric', track: 'a "b"', key: 'c', stat: 'last' })
		})

		it('attributes, in any case', () => {
			for (const name of ['name', 'description', 'status', 'tags', 'createdAt', 'updatedAt', 'lastActivityAt', 'createdBy']) expect(parseKey(name)).toEqual({ kind: 'attribute', name } as never)
			expect(parseKey('CREATEDAT')).toEqual({ kind: 'attribute', name: 'createdAt' })
		})
	})

	describe('syntax errors name the position and what was expected', () => {
		it.each([
			['', 'expected a key (an attribute such as name or status, params.<key>, or metrics.<track>.<key>) at character 1, found the end'],
			['name', 'expected an operator (=, !=, <, <=, >, >=, ~, in, not in) at character 5, found the end'],
			['name =', 'expected a value (a number, "text" in double quotes, true or false) at character 7, found the end'],
			['name = "a" and', 'expected a key (an attribute such as name or status, params.<key>, or metrics.<track>.<key>) at character 15, found the end'],
			['name = "a" name = "b"', 'expected "and", "or" or the end at character 12, found "name"'],
			['(name = "a"', 'expected ")" at character 12, found the end'],
			['name = "a")', 'expected "and", "or" or the end at character 11, found ")"'],
			['name = "abc', 'the text opened with " at character 8 is never closed'],
			['name = ppo', 'expected a value (a number, "text" in double quotes, true or false) at character 8, found "ppo"'],
			['params = 1', 'expected "." and a parameter after params at character 8, found "="'],
			['params. = 1', 'expected a name after "." at character 9, found "="'],
			['metrics.loss = 1', 'expected metrics.<track>.<key> (a track and one of its keys) at character 14, found "="'],
			['metrics.robot/pose.x = 1', 'unexpected "/" at character 14: put a name holding it in double quotes (metrics."robot/pose".x)'],
			['loss < 1', 'unknown key "loss" at character 1: use one of name, description, status, tags, createdAt, updatedAt, lastActivityAt, createdBy, params.<key> or metrics.<track>.<key>'],
			['status in "a"', 'expected "(" opening the list after "in" at character 11, found "a"'],
			['status in ("failed" "x")', 'expected "," or ")" in the list at character 21, found "x"'],
			['status not ("failed")', 'expected "in" after "not" at character 12, found "("'],
			['name == "a"', 'expected a value (a number, "text" in double quotes, true or false) at character 7, found "="'],
			['params.x = """"', 'expected "and", "or" or the end at character 14, found ""'],
			['params.x = 1 ; DROP TABLE episodes', 'unexpected ";" at character 14: put a name holding it in double quotes (metrics."robot/pose".x)'],
		])('%p', (text, message) => {
			expect(error(text)).toBe(message)
		})
	})

	describe('a value of the wrong type for its key is refused with a sentence', () => {
		it.each([
			['params.lr > "abc"', 'params.lr > at character 13: < <= > >= compare a parameter with a number; "abc" is not one (text takes = != in ~)'],
			['params.on < true', 'params.on < at character 13: < <= > >= compare a parameter with a number; true is not one (text takes = != in ~)'],
			['params.opt ~ 3', 'params.opt ~ at character 14: ~ takes a pattern in double quotes ("adam*")'],
			['metrics.train.loss < "low"', 'metrics.train.loss.last < at character 22: a metric compares with a number (it is one)'],
			['metrics.train.loss ~ "1*"', 'metrics.train.loss.last ~ at character 22: a metric compares with a number (it is one)'],
			['metrics.train.loss in (1, "x")', 'metrics.train.loss.last = at character 27: a metric compares with a number (it is one)'],
			['name = 3', 'name = at character 8: compare it with text in double quotes'],
			['createdAt > 5', 'createdAt > at character 13: compare it with a date or time in double quotes ("2026-11-01")'],
			['createdAt > "yesterday"', 'createdAt > at character 13: "yesterday" is not a date or time (2026-11-01, 2026-11-01T12:00:00Z)'],
			['createdAt ~ "2026*"', 'createdAt ~ at character 13: a time takes = != < <= > >=, not ~'],
			['status = "done"', 'status = at character 10: status is one of running, completed, failed, cancelled, archived, stale'],
			['status < "failed"', 'status < at character 10: status takes = != in'],
			['tags > "a"', 'tags > at character 8: tags takes = (has the tag) != ~ in'],
		])('%p', (text, message) => {
			expect(error(text)).toBe(message)
		})
	})

	it('limits: 4 KiB, 32 comparisons', () => {
		const comparisons = (n: number) => Array.from({ length: n }, (_, i) => `params.k${i} = ${i}`).join(' or ')
		expect(() => parseFilter(comparisons(32))).not.toThrow()
		expect(error(comparisons(33))).toMatch(/^a filter may hold at most 32 comparisons \(one more starts at character \d+\)$/)
		expect(error(`name = "${'x'.repeat(4100)}"`)).toBe('a filter may be at most 4096 bytes')
		// bytes, not characters
		expect(error(`name = "${'é'.repeat(2045)}"`)).toBe('a filter may be at most 4096 bytes')
	})

	it('injection attempts are values or names like any other', () => {
		expect(shape(parseFilter(`params.x = "1' OR 1=1 --"`))).toBe(`params.x = "1' OR 1=1 --"`)
		expect(shape(parseFilter(`params."x') OR 1=1 --" = 1`))).toBe(`params."x') OR 1=1 --" = 1`)
		expect(parseKey(`metrics."t\\" OR 1=1 --".k`)).toEqual({ kind: 'metric', track: 't" OR 1=1 --', key: 'k', stat: 'last' })
	})
})
