import { displayCode, type FlowOrigin } from './device-flow'

/** Every character of user data that could open markup, an attribute or an entity, escaped. */
export const escapeHtml = (text: string) =>
	text.replace(/[&<>"'`]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;', '`': '&#96;' })[c]!)

/** No script, no outside resource: the page is a form, and its styles are inline. */
export const PAGE_SECURITY_HEADERS = {
	'content-type': 'text/html; charset=utf-8',
	'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
	'x-content-type-options': 'nosniff',
	'referrer-policy': 'no-referrer',
	'cache-control': 'no-store',
}

const STYLE = `
body { font: 16px/1.5 system-ui, sans-serif; background: #f6f7f9; color: #1d2330; margin: 0; }
main { max-width: 28rem; margin: 4rem auto; background: #fff; padding: 2rem; border-radius: 12px; box-shadow: 0 1px 4px #0002; }
h1 { font-size: 1.3rem; margin: 0 0 .5rem; }
.dev { background: #fff4d6; border: 1px solid #f0c36d; padding: .5rem .75rem; border-radius: 8px; font-size: .9rem; }
.error { background: #fde8e8; border: 1px solid #f5a3a3; padding: .5rem .75rem; border-radius: 8px; }
.ok { background: #e6f6ea; border: 1px solid #8fd19e; padding: .5rem .75rem; border-radius: 8px; }
label { display: block; margin: .9rem 0 .2rem; font-weight: 600; }
input { width: 100%; box-sizing: border-box; padding: .5rem; font: inherit; border: 1px solid #c5cad3; border-radius: 6px; }
input[name=code] { font-family: ui-monospace, monospace; letter-spacing: .15em; text-transform: uppercase; }
.buttons { display: flex; gap: .75rem; margin-top: 1.5rem; }
button { flex: 1; padding: .6rem; font: inherit; border-radius: 6px; border: 1px solid #2456d6; cursor: pointer; }
button[value=approve] { background: #2456d6; color: #fff; }
button[value=deny] { background: #fff; color: #2456d6; }
small { color: #5b6475; }
`

/** A page of the sign-in's own (no script, styles inline): the --dev stand-in's and /idp's. */
export const page = (title: string, body: string) =>
	`<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>${escapeHtml(title)}</title><style>${STYLE}</style></head><body><main>${body}</main></body></html>`

/** The page a person opens from `dreamlake login`: the code (filled in from the link), a username, approve or deny. */
export function approvalPage(action: string, code: string, problem?: string, values: { username?: string; name?: string; email?: string } = {}): string {
	const shown = code.length === 8 ? displayCode(code) : code
	return page(
		'Approve a DreamLake login',
		`<h1>Approve a DreamLake login</h1>
<p class="dev">Development mode: this stand-in for vuer-auth signs in whoever types a username. Never run a server with <code>--dev</code> where others can reach it.</p>
${problem ? `<p class="error" role="alert">${escapeHtml(problem)}</p>` : ''}
<form method="post" action="${escapeHtml(action)}">
<label for="code">Code shown by <code>dreamlake login</code></label>
<input id="code" name="code" value="${escapeHtml(shown)}" autocomplete="off" spellcheck="false" required>
<label for="username">Username</label>
<input id="username" name="username" value="${escapeHtml(values.username ?? '')}" autocomplete="username" required>
<small>1 to 39 letters, digits, "_", "." or "-", starting with a letter or digit.</small>
<label for="name">Name <small>(optional)</small></label>
<input id="name" name="name" value="${escapeHtml(values.name ?? '')}" autocomplete="name">
<label for="email">Email <small>(optional)</small></label>
<input id="email" name="email" type="email" value="${escapeHtml(values.email ?? '')}" autocomplete="email">
<div class="buttons"><button type="submit" name="action" value="approve">Approve</button><button type="submit" name="action" value="deny">Deny</button></div>
</form>`,
	)
}

/** What the person sees once they approved or denied, sent back to where the sign-in started. */
export function decisionPage(approved: boolean, from: FlowOrigin, username?: string): string {
	const back = from === 'dashboard' ? 'Go back to the dashboard: it signs you in within a few seconds.' : 'Go back to your terminal: <code>dreamlake login</code> finishes within a few seconds.'
	const again = from === 'dashboard' ? 'Press <strong>Sign in</strong> on the dashboard again' : 'Run <code>dreamlake login</code> again'
	return page(
		approved ? 'Login approved' : 'Login denied',
		approved
			? `<h1>Login approved</h1><p class="ok" role="status">Signed in as <strong>${escapeHtml(username ?? '')}</strong>. ${back} You can close this page.</p>`
			: `<h1>Login denied</h1><p class="error" role="status">The login was denied; nothing was signed in. ${again} if that was a mistake.</p>`,
	)
}

export const html = (body: string, status = 200) => new Response(body, { status, headers: PAGE_SECURITY_HEADERS })

/** A small urlencoded form (a sign-in page's), refused past 8 KiB. */
export async function readForm(request: Request): Promise<URLSearchParams> {
	const text = await request.text()
	return new URLSearchParams(text.length <= 8192 ? text : '')
}
