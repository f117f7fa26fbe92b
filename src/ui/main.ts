// The DreamLake dashboard: a single page that reads the public API with the session cookie.
import 'uplot/dist/uPlot.min.css'
import './style.css'
import { ApiError, sessionLost } from './api'
import { problem } from './problem'
import { h, replace } from './dom'
import { route, scopeOf, setNotFound, start, type View } from './router'
import { goSignIn, main, mountShell, setCrumbs, SignInNeeded } from './shell'
import { compareView } from './views/compare'
import { episodeView } from './views/episode'
import { episodesView } from './views/episodes'
import { projectsView } from './views/projects'
import { signInView } from './views/signin'

route('/', projectsView)
route('/signin', signInView)
route('/projects/:slug', episodesView)
route('/episodes/:id', episodeView)
route('/episodes/:id/:tab', episodeView)
route('/compare', compareView)
setNotFound(() => {
	setCrumbs({ label: 'Not found' })
	return h('section', { class: 'empty' }, h('h1', null, 'Nothing here'), h('p', null, h('a', { href: '/ui/' }, 'Back to your projects')))
})

let renders = 0
sessionLost.addEventListener('lost', () => {
	if (!location.pathname.startsWith('/ui/signin')) goSignIn()
})

mountShell(document.getElementById('app')!)
start(async (view: View, { params, query }) => {
	const render = ++renders
	const scope = scopeOf()
	main.setAttribute('aria-busy', 'true')
	replace(main, h('p', { class: 'loading' }, 'Loading…'))
	try {
		const content = await view({ params, query, scope })
		if (render === renders) {
			replace(main, content)
			performance.mark('dreamlake:view-shown')
		}
	} catch (error) {
		if (render !== renders || scope.signal.aborted) return
		if (error instanceof SignInNeeded || (error instanceof ApiError && error.status === 401)) return goSignIn()
		replace(main, problem(error))
	} finally {
		if (render === renders) main.removeAttribute('aria-busy')
	}
})
