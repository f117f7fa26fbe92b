// The DreamLake dashboard: a single page that reads the public API with the session cookie.
import 'uplot/dist/uPlot.min.css'
import './style.css'
import { ApiError, sessionLost } from './api'
import { problem } from './problem'
import { h, replace } from './dom'
import { route, scopeOf, setNotFound, start, type View } from './router'
import { goSignIn, listNamespaces, main, mountShell, renderAccount, setCrumbs, setNamespace, signedIn, SignInNeeded } from './shell'
import { compareView } from './views/compare'
import { episodeView } from './views/episode'
import { episodesView, ownEpisodesView } from './views/episodes'
import { invitationView } from './views/invitation'
import { keysView } from './views/keys'
import { membersView, newTeamView } from './views/members'
import { namespaceView, ownProjectsView } from './views/projects'
import { passwordView } from './views/password'
import { signInView } from './views/signin'

// your own namespace at the paths it always had; any namespace under /n/<slug>
route('/', ownProjectsView)
route('/projects/:slug', ownEpisodesView)
route('/n/:ns', namespaceView)
route('/n/:ns/projects/:slug', episodesView)
route('/n/:ns/members', membersView)
route('/n/:ns/keys', keysView)
route('/teams/new', newTeamView)
route('/invitations/:token', invitationView)
route('/signin', signInView)
route('/password', passwordView)
route('/episodes/:id', episodeView)
route('/episodes/:id/:tab', episodeView)
route('/compare', compareView)
setNotFound(() => {
	setCrumbs({ label: 'Not found' })
	return h('section', { class: 'empty' }, h('h1', null, 'Nothing here'), h('p', null, h('a', { href: '/ui/' }, 'Back to your projects')))
})

let renders = 0
// a session the page believed in answered 401: it was lost (signed out elsewhere, expired, revoked);
// signed out, a 401 only says what was asked is not public, and the view sends the person to sign in
sessionLost.addEventListener('lost', () => {
	if (signedIn() && !location.pathname.startsWith('/ui/signin')) goSignIn()
})

mountShell(document.getElementById('app')!)
start(async (view: View, { params, query }) => {
	const render = ++renders
	const scope = scopeOf()
	setNamespace(null)
	renderAccount()
	void listNamespaces()
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
