// The console's shell: reads the session, shows each role its views, routes on the URL hash.
import { h, loadSession, nav, session } from './lib.js';
import { inboxView } from './views/inbox.js';
import { payoutView } from './views/payout.js';
import { periodsView, periodView } from './views/period.js';
import { portalView } from './views/portal.js';
import { searchView } from './views/search.js';
import { signInView, signOut } from './views/signin.js';
import { toolsView } from './views/tools.js';

const home = { approver: '#/inbox', operator: '#/payouts', platform: '#/payouts', payee: '#/portal' };
const navFor = {
  approver: [
    ['#/inbox', 'Approvals'],
    ['#/payouts', 'Payouts'],
    ['#/periods', 'Periods'],
  ],
  operator: [
    ['#/payouts', 'Payouts'],
    ['#/periods', 'Periods'],
    ['#/tools', 'Tools'],
  ],
  platform: [
    ['#/payouts', 'Payouts'],
    ['#/periods', 'Periods'],
  ],
  payee: [['#/portal', 'My payouts']],
};

function renderChrome() {
  const nav = document.getElementById('nav');
  const who = document.getElementById('who');
  if (!session.signedIn) {
    nav.replaceChildren();
    who.replaceChildren();
    return;
  }
  nav.replaceChildren(...navFor[session.role].map(([href, label]) => h('a', { href }, label)));
  who.replaceChildren(
    h('span', { 'data-testid': 'who' }, `${session.actor} (${session.role})`),
    ' ',
    h('button', { type: 'button', onclick: signOut }, 'Sign out'),
  );
}

async function route() {
  nav.seq++;
  renderChrome();
  const [path, query = ''] = location.hash.slice(1).split('?');
  const parts = (path || '/').split('/').filter(Boolean);
  const params = new URLSearchParams(query);
  if (!session.signedIn || parts[0] === 'signin') return signInView();
  if (parts.length === 0) {
    location.hash = home[session.role];
    return;
  }
  if (parts[0] === 'inbox') return inboxView();
  if (parts[0] === 'tools') return toolsView();
  if (parts[0] === 'periods' && parts[1]) return periodView(decodeURIComponent(parts[1]));
  if (parts[0] === 'periods') return periodsView();
  if (parts[0] === 'payouts' && parts[1]) return payoutView(decodeURIComponent(parts[1]));
  if (parts[0] === 'payouts') return searchView(params);
  if (parts[0] === 'portal') return portalView(decodeURIComponent(parts[1] ?? session.payeeId ?? ''));
  location.hash = home[session.role];
}

async function start() {
  await loadSession();
  window.addEventListener('hashchange', route);
  await route();
}

start();
