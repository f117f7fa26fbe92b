import { displayCode } from '../dev/device-flow'
import { escapeHtml, page } from '../dev/device-page'
import { MIN_PASSWORD_LENGTH } from './service'

const problemOf = (problem?: string) => (problem ? `<p class="error" role="alert">${escapeHtml(problem)}</p>` : '')

/** The /idp page a person opens from `dreamlake login` (or the dashboard's device sign-in): the code, username and password. */
export function passwordApprovalPage(action: string, code: string, problem?: string, username = ''): string {
	const shown = code.length === 8 ? displayCode(code) : code
	return page(
		'Sign in to DreamLake',
		`<h1>Sign in to DreamLake</h1>
<p>Approve the login waiting for this code with your DreamLake account.</p>
${problemOf(problem)}
<form method="post" action="${escapeHtml(action)}">
<label for="code">Code shown by <code>dreamlake login</code></label>
<input id="code" name="code" value="${escapeHtml(shown)}" autocomplete="off" spellcheck="false" required>
<label for="username">Username</label>
<input id="username" name="username" value="${escapeHtml(username)}" autocomplete="username" required>
<label for="password">Password</label>
<input id="password" name="password" type="password" autocomplete="current-password" required>
<div class="buttons"><button type="submit" name="action" value="approve">Approve</button><button type="submit" name="action" value="deny" formnovalidate>Deny</button></div>
</form>`,
	)
}

/** The page a set-password link opens. */
export function setPasswordPage(action: string, token: string, username: string, problem?: string): string {
	return page(
		'Set your DreamLake password',
		`<h1>Set your password</h1>
<p>For the DreamLake account <strong>${escapeHtml(username)}</strong>. This link works once.</p>
${problemOf(problem)}
<form method="post" action="${escapeHtml(action)}">
<input type="hidden" name="token" value="${escapeHtml(token)}">
<input type="text" name="username" value="${escapeHtml(username)}" autocomplete="username" hidden readonly>
<label for="password">New password</label>
<input id="password" name="password" type="password" autocomplete="new-password" minlength="${MIN_PASSWORD_LENGTH}" required>
<small>At least ${MIN_PASSWORD_LENGTH} characters.</small>
<label for="confirm">The same password again</label>
<input id="confirm" name="confirm" type="password" autocomplete="new-password" minlength="${MIN_PASSWORD_LENGTH}" required>
<div class="buttons"><button type="submit" name="action" value="approve">Set password</button></div>
</form>`,
	)
}

export function passwordSetPage(username: string): string {
	return page(
		'Password set',
		`<h1>Password set</h1><p class="ok" role="status">The password of <strong>${escapeHtml(username)}</strong> is set. Sign in on the <a href="/">dashboard</a>, or in a terminal with <code>dreamlake login</code>.</p>`,
	)
}

export function linkGonePage(problem: string): string {
	return page('Link expired', `<h1>This link does not work</h1><p class="error" role="alert">${escapeHtml(problem)}</p>`)
}
