/** The site's entry: a tiny client-side router over four pages (the hub serves index.html for them). */
import './style.css'
import { renderHome } from './pages/home.js'
import { renderRunNode } from './pages/run-node.js'
import { renderNetwork } from './pages/network.js'
import { renderDevelopers } from './pages/developers.js'

type Page = { title: string; render: (main: HTMLElement) => (() => void) | void }
const PAGES: Record<string, Page> = {
  '/': { title: 'BitCDN — content delivery paid per verified byte', render: renderHome },
  '/run-a-node': { title: 'Run a node — BitCDN', render: renderRunNode },
  '/network': { title: 'Network — BitCDN', render: renderNetwork },
  '/developers': { title: 'Developers — BitCDN', render: renderDevelopers },
}

const main = document.querySelector<HTMLElement>('#main')!
let cleanup: (() => void) | void

function show(path: string, focus: boolean): void {
  cleanup?.()
  const page = PAGES[path.replace(/\/+$/, '') || '/']
  document.querySelectorAll<HTMLAnchorElement>('nav a').forEach((a) => (a.pathname === path ? a.setAttribute('aria-current', 'page') : a.removeAttribute('aria-current')))
  if (!page) {
    document.title = 'Not found — BitCDN'
    main.innerHTML = '<h1>Not found</h1><p>No such page. <a href="/" data-link>Home</a></p>'
    cleanup = undefined
  } else {
    document.title = page.title
    cleanup = page.render(main)
  }
  // move focus to the new content so keyboard and screen-reader users land on it
  if (focus) main.focus()
}

document.addEventListener('click', (e) => {
  const a = (e.target as Element).closest<HTMLAnchorElement>('a[data-link]')
  if (!a || e.metaKey || e.ctrlKey || e.shiftKey || e.button !== 0) return
  e.preventDefault()
  if (a.pathname !== location.pathname) history.pushState(null, '', a.pathname)
  show(a.pathname, true)
})
window.addEventListener('popstate', () => show(location.pathname, true))
show(location.pathname, false)
