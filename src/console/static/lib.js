// Shared helpers: DOM building (text only, never HTML strings), the API through the console's session,
// and money in integer minor units (strings; no floating point).
export const session = { signedIn: false, csrf: '' };

/** Reads the session (role, actor, CSRF token; never the credential) from the server. */
export async function loadSession() {
  const res = await fetch('/console/session', { credentials: 'same-origin' });
  for (const k of Object.keys(session)) delete session[k];
  Object.assign(session, { signedIn: false, payeeId: null }, await res.json());
}

/** h('tag', { attr }, ...children): children are nodes or text (set as text, never parsed as HTML). */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs ?? {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat())
    if (c !== undefined && c !== null && c !== false) el.append(c instanceof Node ? c : String(c));
  return el;
}

/** Counts navigations, so a view that finishes loading after the user moved on does not draw over the next. */
export const nav = { seq: 0 };

export function mount(...nodes) {
  const app = document.getElementById('app');
  app.replaceChildren(...nodes);
}

/** A mount() bound to the current navigation: a no-op once the user has navigated elsewhere. */
export function viewScope() {
  const seq = nav.seq;
  return (...nodes) => {
    if (seq === nav.seq) mount(...nodes);
  };
}

function idempotencyKey() {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return `console-${Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('')}`;
}

/** Calls the HTTP API through /console/api with the session (cookie) and its CSRF token. */
export async function api(method, path, body) {
  const headers = { accept: 'application/json' };
  if (method !== 'GET') {
    headers['x-csrf-token'] = session.csrf;
    headers['idempotency-key'] = idempotencyKey();
  }
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(`/console/api${path}`, {
    method,
    headers,
    credentials: 'same-origin',
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  let data = text;
  try {
    data = text ? JSON.parse(text) : undefined;
  } catch {
    /* CSV or text */
  }
  if (res.status === 401) location.hash = '#/signin';
  return {
    ok: res.ok,
    status: res.status,
    body: data,
    error: res.ok ? undefined : problemText(data, res.status),
  };
}

/** A problem+json answer as text: its detail, then each invalid field on its own line. */
export function problemText(p, status) {
  if (!p || typeof p !== 'object') return `HTTP ${status}`;
  const fields = Array.isArray(p.errors) ? p.errors.map((e) => `\n${e.path}: ${e.message}`) : [];
  return `${p.detail ?? p.title ?? `HTTP ${status}`}${fields.join('')}`;
}

/** "1250" scale 2 → "12.50". */
export function decimal(m) {
  if (!m) return '';
  const neg = m.amount.startsWith('-');
  const digits = (neg ? m.amount.slice(1) : m.amount).padStart(m.scale + 1, '0');
  const whole = digits.slice(0, digits.length - m.scale);
  const frac = m.scale > 0 ? `.${digits.slice(digits.length - m.scale)}` : '';
  return `${neg ? '-' : ''}${whole}${frac}`;
}
export const money = (m) => (m ? `${decimal(m)} ${m.currency}` : '');

/** "12.5" with scale 2 → "1250"; undefined when it is not a plain positive decimal of at most `scale` places. */
export function toMinor(text, scale) {
  const m = /^(\d{1,15})(?:\.(\d*))?$/.exec(text.trim());
  if (!m || (m[2] ?? '').length > scale) return undefined;
  const minor = `${m[1]}${(m[2] ?? '').padEnd(scale, '0')}`.replace(/^0+(?=\d)/, '');
  return minor === '0' ? undefined : minor;
}

const references = new Map();
/** A list the console server serves from the deployment's own definitions, read once per page load. */
function reference(path, empty) {
  let answer = references.get(path);
  if (!answer) {
    answer = fetch(path, { credentials: 'same-origin' })
      .then((r) => (r.ok ? r.json() : Promise.reject(new Error(`HTTP ${r.status}`))))
      .catch(() => {
        references.delete(path); // asked again next time
        return empty;
      });
    references.set(path, answer);
  }
  return answer;
}

/** Decimal places of a currency or asset's minor unit (from the server's list), or undefined if unknown. */
export async function scaleOf(code) {
  return (await reference('/console/currencies', {}))[code];
}

/** The payout states, in the order a payout moves through them, and those it never leaves. */
export const payoutStates = () => reference('/console/payout-states', { states: [], final: [] });

/** Signed minor units of `currency` as a decimal ("-1250" USD → "-12.50"); the raw units if the currency is unknown. */
export async function minorText(currency, minor) {
  const scale = await scaleOf(currency);
  return scale === undefined ? `${minor} (minor units)` : decimal({ amount: String(minor), currency, scale });
}

export const when = (iso) =>
  iso
    ? new Date(iso)
        .toISOString()
        .replace('T', ' ')
        .replace(/\.\d+Z$/, 'Z')
    : '';
export const stateBadge = (s) => h('span', { class: `state state-${s}`, 'data-state': s }, s);

/** Until the view is left: calls fn every `ms` (live status); returns nothing, stops on hash change. */
export function every(ms, fn) {
  const hash = location.hash;
  const tick = async () => {
    if (location.hash !== hash) return;
    await fn();
    setTimeout(tick, ms);
  };
  setTimeout(tick, ms);
}

export function table(headers, rows) {
  return h(
    'table',
    {},
    h(
      'thead',
      {},
      h(
        'tr',
        {},
        headers.map((x) => h('th', {}, x)),
      ),
    ),
    h('tbody', {}, rows),
  );
}
