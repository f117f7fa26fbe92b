import { ApiError } from './api'
import { h } from './dom'
import { dispatch } from './router'

/** What went wrong, in the server's words; never a stack trace. */
export function problem(error: unknown) {
	const message = error instanceof ApiError ? error.message : 'Something went wrong showing this page.'
	const notFound = error instanceof ApiError && error.status === 404
	return h(
		'section',
		{ class: 'empty', role: 'alert' },
		h('h1', null, notFound ? 'Not found' : 'Could not load this page'),
		h('p', null, message),
		h('p', null, notFound ? h('a', { href: '/ui/' }, 'Back to your projects') : h('button', { type: 'button', onclick: () => dispatch() }, 'Try again')),
	)
}
