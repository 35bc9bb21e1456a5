// Operator search: payouts by state, payee, period, bulk, provider, amount range and creation date (the
// filters of GET /v1/payouts). The URL keeps what the operator typed (decimals, calendar days); the query
// sent to the API is built from it: amounts in minor units of the chosen currency, days as UTC bounds.
import {
  api,
  h,
  money,
  payoutStates,
  scaleOf,
  session,
  stateBadge,
  table,
  toMinor,
  viewScope,
  when,
} from '../lib.js';

// URL parameters passed to the API as they are (page size and cursor only from the URL, not the form).
const PLAIN = ['state', 'payee', 'periodId', 'bulkId', 'provider', 'currency', 'limit', 'cursor'];
const FORM = ['state', 'payee', 'periodId', 'bulkId', 'provider', 'currency', 'min', 'max', 'from', 'to'];

export async function searchView(params) {
  const mount = viewScope();
  const input = (name, label, attrs = {}) =>
    h('label', {}, label, h('input', { name, value: params.get(name) ?? '', size: 14, ...attrs }));
  const { states } = await payoutStates();
  const options = [
    ['', 'any state'],
    ['unknown_outcome,review', 'unknown outcome or review'],
    ...states.map((s) => [s, s]),
  ];
  const state = h(
    'select',
    { name: 'state' },
    options.map(([value, label]) => h('option', { value, selected: params.get('state') === value }, label)),
  );
  const form = h(
    'form',
    {
      class: 'inline card',
      onsubmit: (e) => {
        e.preventDefault();
        const q = new URLSearchParams();
        for (const [k, v] of new FormData(form))
          if (FORM.includes(k) && String(v).trim()) q.set(k, String(v).trim());
        location.hash = `#/payouts?${q}`;
      },
    },
    h('label', {}, 'State', state),
    input('payee', 'Payee id', { size: 24 }),
    input('periodId', 'Period', { size: 9 }),
    input('bulkId', 'Bulk id', { size: 20 }),
    input('provider', 'Provider', { size: 10 }),
    input('currency', 'Currency', { size: 6, placeholder: 'USD' }),
    input('min', 'Amount from', { size: 10, inputmode: 'decimal', placeholder: '0.00' }),
    input('max', 'Amount to', { size: 10, inputmode: 'decimal', placeholder: '0.00' }),
    input('from', 'Created from', { type: 'date' }),
    input('to', 'Created until', { type: 'date' }),
    h('button', { type: 'submit' }, 'Search'),
  );
  const out = h('div', { id: 'results' });
  mount(h('h1', {}, 'Payouts'), form, out);
  const refuse = (text) =>
    out.replaceChildren(h('p', { class: 'error', 'data-testid': 'search-error' }, text));
  const q = await apiQuery(params);
  if (typeof q === 'string') return void refuse(q);
  const res = await api('GET', `/v1/payouts?${q}`);
  if (!res.ok) return void refuse(res.error);
  const rows = res.body.items.map((p) =>
    h(
      'tr',
      { 'data-payout-id': p.id },
      h('td', {}, h('a', { href: `#/payouts/${p.id}` }, p.id)),
      h('td', {}, stateBadge(p.state)),
      h('td', {}, money(p.amount)),
      h('td', {}, p.payeeId),
      h('td', {}, p.provider ?? ''),
      h('td', {}, p.periodId ?? ''),
      h('td', {}, when(p.createdAt)),
    ),
  );
  const next = res.body.nextCursor
    ? h(
        'a',
        {
          href: `#/payouts?${new URLSearchParams({ ...formValues(params), cursor: res.body.nextCursor })}`,
        },
        'Next page',
      )
    : '';
  // Every match (not only this page) as CSV, for offline reconciliation; the export is for staff who run it.
  const all = new URLSearchParams(q);
  all.delete('cursor');
  const csv =
    rows.length && (session.role === 'operator' || session.role === 'platform')
      ? h(
          'a',
          { href: `/console/api/v1/payouts/export.csv?${all}`, 'data-testid': 'export-csv' },
          'Download all matches as CSV',
        )
      : '';
  out.replaceChildren(
    rows.length
      ? table(['Payout', 'State', 'Amount', 'Payee', 'Provider', 'Period', 'Created'], rows)
      : h('p', { class: 'muted' }, 'No payout matches.'),
    h('p', {}, next, next && csv ? ' · ' : '', csv),
  );
}

/** The search in the URL without its cursor (a next page keeps the filters and page size). */
function formValues(params) {
  return Object.fromEntries([...FORM, 'limit'].filter((k) => params.get(k)).map((k) => [k, params.get(k)]));
}

/** The API's query for the form in the URL, or what to correct (nothing is asked of the API then). */
async function apiQuery(params) {
  const q = new URLSearchParams();
  for (const k of PLAIN) if (params.get(k)) q.set(k, params.get(k));
  const currency = params.get('currency')?.toUpperCase();
  if (currency) q.set('currency', currency);
  for (const [field, name, label] of [
    ['min', 'amountMin', 'Amount from'],
    ['max', 'amountMax', 'Amount to'],
  ]) {
    const text = params.get(field);
    if (!text) continue;
    if (!currency) return `${label}: choose a currency too (amounts are compared in one currency)`;
    const scale = await scaleOf(currency);
    if (scale === undefined) return `Currency: ${currency} is not a known currency or asset`;
    const minor = toMinor(text, scale);
    if (!minor) return `${label}: enter a positive amount such as 25.00 (at most ${scale} decimals)`;
    q.set(name, minor);
  }
  // Calendar days in UTC: "from" is the start of its day, "until" includes its whole day.
  if (params.get('from')) q.set('createdFrom', params.get('from'));
  if (params.get('to')) {
    const end = Date.parse(`${params.get('to')}T00:00:00Z`);
    if (Number.isNaN(end)) return 'Created until: pick a day';
    q.set('createdTo', new Date(end + 86_400_000).toISOString().slice(0, 10));
  }
  return q;
}
