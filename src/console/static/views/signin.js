// Sign-in: an API key or a payee token becomes a session cookie; the page never keeps the credential.
import { h, loadSession, mount, session } from '../lib.js';

const home = { approver: '#/inbox', operator: '#/payouts', platform: '#/payouts', payee: '#/portal' };

export function signInView() {
  const error = h('p', { class: 'error', role: 'alert' });
  const input = h('input', {
    name: 'credential',
    type: 'password',
    autocomplete: 'off',
    size: 60,
    required: true,
  });
  const form = h(
    'form',
    { class: 'card', onsubmit: (e) => submit(e, input, error) },
    h('h1', {}, 'Sign in'),
    h('p', { class: 'muted' }, 'Paste an API key (approver, operator or platform) or a payee token.'),
    h('label', {}, 'API key or payee token', input),
    h('p', {}, h('button', { type: 'submit' }, 'Sign in')),
    error,
  );
  mount(form);
  input.focus();
}

async function submit(e, input, error) {
  e.preventDefault();
  error.textContent = '';
  const res = await fetch('/console/session', {
    method: 'POST',
    credentials: 'same-origin',
    headers: { 'content-type': 'application/json', 'x-csrf-token': session.csrf },
    body: JSON.stringify({ credential: input.value }),
  });
  input.value = '';
  if (!res.ok) {
    const p = await res.json().catch(() => ({}));
    error.textContent = p.detail ?? `Sign-in failed (HTTP ${res.status})`;
    await loadSession(); // a fresh CSRF token for the next try
    return;
  }
  await loadSession();
  location.hash = home[session.role];
  if (location.hash === home[session.role]) window.dispatchEvent(new HashChangeEvent('hashchange'));
}

export async function signOut() {
  await fetch('/console/session/end', {
    method: 'POST',
    credentials: 'same-origin',
    headers: { 'x-csrf-token': session.csrf },
  });
  await loadSession();
  location.hash = '#/signin';
}
