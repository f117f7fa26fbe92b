import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, relative, resolve } from 'node:path'
import { spawnServer, type ServerProcess } from './support/process'
import { pythonEnv } from './support/sdk'
import { ensureTools, PYTHON, ROOT } from './support/setup'

/**
 * Every ```sh and ```python block of README.md, run in order against one throwaway `serve --dev`
 * with the real SDK and CLI, so no snippet can rot. A block that cannot run here says why in the
 * comment right before it: `<!-- snippet: not run (reason) -->`, `<!-- snippet: run by test/x.test.ts -->`;
 * `<!-- snippet: expect 501 -->` makes each curl of the block answer that status instead of a success;
 * `<!-- snippet: starts the server the next snippets use -->` is the server this test starts.
 */

// bash, curl and Debian's Python with the SDK: there, or the file fails saying what is missing
ensureTools(['python', 'curl'])

const README = join(ROOT, 'README.md')
const text = await Bun.file(README).text()
/** What the README's snippets name as the server; each is pointed at this test's server instead. */
const README_URL = 'http://127.0.0.1:10334'
/** Fenced languages the README may use: sh and python are run, the rest are data or configuration. */
const LANGUAGES = new Set(['sh', 'python', 'json', 'nginx', 'ini', ''])

type Mark = { kind: 'not run'; reason: string } | { kind: 'run by'; file: string } | { kind: 'expect'; status: number } | { kind: 'server' }

interface Block {
	lang: string
	code: string
	/** The line of the opening fence. */
	line: number
	section: string
	mark: Mark | null
	markText: string | null
}

function parseMark(comment: string): Mark {
	const body = comment.replace(/^<!--\s*snippet:\s*/, '').replace(/\s*-->$/, '')
	let m: RegExpMatchArray | null
	if ((m = body.match(/^not run \((.+)\)$/))) return { kind: 'not run', reason: m[1]! }
	if ((m = body.match(/^run by (test\/[\w-]+\.test\.ts)$/))) return { kind: 'run by', file: m[1]! }
	if ((m = body.match(/^expect (\d{3})$/))) return { kind: 'expect', status: Number(m[1]) }
	if (body === 'starts the server the next snippets use') return { kind: 'server' }
	throw new Error(`README.md: unknown snippet mark ${comment}`)
}

function fencedBlocks(markdown: string): Block[] {
	const lines = markdown.split('\n')
	const blocks: Block[] = []
	let section = ''
	for (let i = 0; i < lines.length; i++) {
		const line = lines[i]!
		if (/^#{1,6} /.test(line)) section = line.replace(/^#+ /, '')
		const open = /^```(\S*)\s*$/.exec(line)
		if (!open) continue
		const start = i
		const body: string[] = []
		while (++i < lines.length && lines[i] !== '```') body.push(lines[i]!)
		let before = start - 1
		while (before >= 0 && lines[before]!.trim() === '') before--
		const comment = before >= 0 && lines[before]!.startsWith('<!-- snippet:') ? lines[before]!.trim() : null
		blocks.push({ lang: open[1]!, code: body.join('\n') + '\n', line: start + 1, section, mark: comment ? parseMark(comment) : null, markText: comment })
	}
	return blocks
}

const blocks = fencedBlocks(text)
const runnable = blocks.filter((b) => (b.lang === 'sh' || b.lang === 'python') && (b.mark === null || b.mark.kind === 'expect'))
const notRun = blocks.filter((b) => b.mark?.kind === 'not run' || b.mark?.kind === 'run by')
const serverBlock = blocks.find((b) => b.mark?.kind === 'server')
const name = (b: Block) => `${b.section} (README.md:${b.line})`

let work: string
let server: ServerProcess
let env: Record<string, string>
let base = ''
const prelude = () => join(work, 'prelude.sh')
const state = () => join(work, 'state.sh')

beforeAll(async () => {
	work = mkdtempSync(join(tmpdir(), 'dreamlake-readme-'))
	// the reader's clone: `bun src/index.ts …` run here is the source, and ./data is this folder's own
	const clone = join(work, 'clone')
	mkdirSync(clone)
	for (const entry of ['src', 'node_modules', 'package.json', 'drizzle', 'tsconfig.json']) symlinkSync(join(ROOT, entry), join(clone, entry))
	const home = join(work, 'home')
	mkdirSync(home)
	const bin = join(work, 'bin')
	mkdirSync(bin)
	symlinkSync(PYTHON, join(bin, 'python3')) // Debian's, with the SDK's packages, ahead of any other
	// the browser the CLI opens: does what the reader does on the stand-in's page, approves the code as alice
	writeFileSync(
		join(bin, 'approve-in-browser'),
		'#!/bin/sh\nset -e\ncurl -sf "$1" >/dev/null\ncurl -sf -o /dev/null -X POST "${1%%\\?*}" -d "code=${1##*code=}" -d username=alice -d action=approve\n',
	)
	chmodSync(join(bin, 'approve-in-browser'), 0o755)
	// curl fails on an HTTP error (4xx, 5xx), or, in a block marked `expect N`, on any status but N
	writeFileSync(
		prelude(),
		[
			'curl() {',
			'\tif [ -z "${SNIPPET_EXPECT:-}" ]; then command curl --fail-with-body "$@"; return; fi',
			'\tlocal err status',
			'\terr=$(mktemp)',
			'\tcommand curl "$@" -w \'%{stderr}%{http_code}\' 2>"$err" || { cat "$err" >&2; return 1; }',
			'\tstatus=$(tail -c 3 "$err")',
			'\t[ "$status" = "$SNIPPET_EXPECT" ] || { echo "curl: HTTP $status, not the $SNIPPET_EXPECT the README shows" >&2; return 1; }',
			'}',
			`dreamlake-server() { bun ${JSON.stringify(join(ROOT, 'src', 'index.ts'))} "$@"; }`,
			'',
		].join('\n'),
	)
	writeFileSync(state(), '')
	if (!serverBlock) throw new Error('README.md: no block is marked as the server the snippets use')
	const command = serverBlock.code.split('#')[0]!.trim().split(/\s+/)
	expect(command.slice(0, 2)).toEqual(['bun', 'src/index.ts'])
	server = await spawnServer([...command.slice(2), '--port', '0'], { cwd: clone, env: { HOME: home } })
	env = { ...pythonEnv(home), PATH: `${bin}:${process.env.PATH ?? ''}`, BROWSER: join(bin, 'approve-in-browser'), COLUMNS: '120' }
	// the variables bash itself, the prelude and this environment define, which a block's state leaves out
	const names = Bun.spawn(['bash', '-c', `source ${prelude()}; compgen -v`], { env: { ...env, SNIPPET_EXPECT: '', SNIPPET_BASE: '' }, stdout: 'pipe' })
	base = (await new Response(names.stdout).text()).split('\n').filter(Boolean).join(' ')
})
afterAll(async () => {
	await server?.stop()
	rmSync(work, { recursive: true, force: true })
})

/** Runs one block in the clone: a python block as a file, a shell block with bash -euo pipefail, carrying the variables the blocks before it set. */
async function run(block: Block): Promise<{ code: number | null; output: string }> {
	const code = block.code.replaceAll(README_URL, server.url)
	const clone = join(work, 'clone')
	let cmd: string[]
	if (block.lang === 'python') {
		const file = join(clone, `readme-${block.line}.py`)
		writeFileSync(file, code)
		cmd = [PYTHON, file]
	} else {
		const script = join(work, `readme-${block.line}.sh`)
		// the block's own variables (names in capitals) are kept for the blocks after it
		writeFileSync(script, `source ${prelude()}\nsource ${state()}\nset -euo pipefail\n${code}\nfor name in $(compgen -v | grep -E '^[A-Z][A-Z0-9_]*$'); do case " $SNIPPET_BASE " in *" $name "*) ;; *) declare -p "$name" ;; esac; done >${state()}.next\nmv ${state()}.next ${state()}\n`)
		cmd = ['bash', script]
	}
	const expectStatus = block.mark?.kind === 'expect' ? String(block.mark.status) : ''
	const child = Bun.spawn(cmd, { cwd: clone, env: { ...env, SNIPPET_EXPECT: expectStatus, SNIPPET_BASE: base }, stdout: 'pipe', stderr: 'pipe', timeout: 30_000 })
	const [stdout, stderr, exit] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited])
	return { code: exit, output: `${stdout}${stderr}`.slice(-4000) }
}

describe('README.md snippets, run in order against one serve --dev with the real SDK and CLI', () => {
	it.each(runnable.map((b) => [name(b), b] as [string, Block]))('%s', async (_, block) => {
		const result = await run(block)
		expect(result).toEqual({ code: 0, output: expect.any(String) })
	}, 40_000)
})

describe('the snippet runner', () => {
	const block = (code: string, mark: Mark | null = null): Block => ({ lang: 'sh', code, line: 0, section: 'runner', mark, markText: null })

	it('fails a block whose curl answers an HTTP error, or another status than its mark expects', async () => {
		expect((await run(block(`curl -s ${README_URL}/no-such-route\n`))).code).not.toBe(0)
		expect((await run(block(`curl -s ${README_URL}/health\n`, { kind: 'expect', status: 501 }))).output).toContain('HTTP 200, not the 501 the README shows')
		expect((await run(block(`curl -s ${README_URL}/health\n`))).code).toBe(0)
	})

	it('fails a block on an unset variable or a failing command inside a pipe', async () => {
		expect((await run(block('echo $NO_SUCH_VARIABLE_SET_BEFORE\n'))).code).not.toBe(0)
		expect((await run(block('false | cat\n'))).code).not.toBe(0)
	})

	it('carries the variables a block sets to the blocks after it', async () => {
		expect((await run(block('RUNNER_CHECK="a b"\n'))).code).toBe(0)
		expect(await run(block('[ "$RUNNER_CHECK" = "a b" ]\n'))).toEqual({ code: 0, output: '' })
	})
})

describe('README.md blocks not run here, each with its reason', () => {
	it('uses only fenced languages this test knows, and marks only runnable blocks', () => {
		expect(blocks.filter((b) => !LANGUAGES.has(b.lang)).map(name)).toEqual([])
		expect(blocks.filter((b) => b.mark !== null && b.lang !== 'sh' && b.lang !== 'python').map(name)).toEqual([])
		expect(runnable.length).toBeGreaterThan(50)
	})

	it.each(notRun.map((b) => [`${name(b)}: ${b.markText}`, b] as [string, Block]))('%s', (_, block) => {
		const mark = block.mark!
		if (mark.kind === 'not run') expect(mark.reason).toMatch(/^\S.{10,}$/)
		else if (mark.kind === 'run by') expect(existsSync(join(ROOT, mark.file))).toBe(true)
		else throw new Error(`not a mark of a block not run: ${block.markText}`)
	})
})

describe('README.md links', () => {
	it('point at files of the repository, or at public web pages', () => {
		const targets = [...text.matchAll(/\]\(([^)\s]+)\)/g)].map((m) => m[1]!)
		const outside = targets.filter((target) => {
			if (/^https:\/\//.test(target) || target.startsWith('#')) return false
			const path = resolve(ROOT, target.split('#')[0]!)
			return relative(ROOT, path).startsWith('..') || !existsSync(path)
		})
		expect(outside).toEqual([])
		expect(targets.length).toBeGreaterThan(10)
	})
})
