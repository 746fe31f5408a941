import './styles.css';
import { AuditApp } from './app.js';
import { h, replaceChildren } from './dom.js';
import { takeTokenFromFragment } from './session.js';

// First of all: a token in the fragment leaves the address bar before anything can copy or log it.
takeTokenFromFragment();

const root = document.getElementById('app');
const match = /^\/ui\/([a-z0-9][a-z0-9_-]{0,63})\/audit\/?$/.exec(location.pathname);
if (root && match?.[1]) {
  const app = new AuditApp(root, match[1]);
  app.start();
  // A new `#token=…` on an open page (same document, no reload) signs in with that token.
  window.addEventListener('hashchange', () => {
    if (!new URLSearchParams(location.hash.slice(1)).has('token')) return;
    takeTokenFromFragment();
    app.start();
  });
} else if (root) {
  replaceChildren(
    root,
    h(
      'main',
      { class: 'card signin' },
      h('h1', {}, 'Page not found'),
      h('p', {}, 'The audit log lives at /ui/{tenant}/audit, for example ', h('a', { href: '/ui/main/audit' }, '/ui/main/audit'), '.'),
    ),
  );
}
