// Operator search: payouts by state, payee, period or bulk (the filters GET /v1/payouts offers).
import { api, h, money, stateBadge, table, viewScope, when } from '../lib.js';

const states = [
  '',
  'requested',
  'reserved',
  'compliance_hold',
  'pending_approval',
  'scheduled',
  'submitting',
  'awaiting_confirmation',
  'unknown_outcome',
  'review',
  'paid',
  'returned',
  'failed',
  'rejected',
  'cancelled',
];

export async function searchView(params) {
  const mount = viewScope();
  const field = (name, label) =>
    h('label', {}, label, h('input', { name, value: params.get(name) ?? '', size: 24 }));
  const status = h(
    'select',
    { name: 'status' },
    states.map((s) => h('option', { value: s, selected: params.get('status') === s }, s || 'any state')),
  );
  const form = h(
    'form',
    {
      class: 'inline card',
      onsubmit: (e) => {
        e.preventDefault();
        const q = new URLSearchParams();
        for (const [k, v] of new FormData(form)) if (v) q.set(k, String(v));
        location.hash = `#/payouts?${q}`;
      },
    },
    h('label', {}, 'State', status),
    field('payee', 'Payee id'),
    field('periodId', 'Period'),
    field('bulkId', 'Bulk id'),
    h('button', { type: 'submit' }, 'Search'),
  );
  const out = h('div', { id: 'results' });
  mount(h('h1', {}, 'Payouts'), form, out);
  const q = new URLSearchParams();
  for (const k of ['status', 'payee', 'periodId', 'bulkId', 'cursor'])
    if (params.get(k)) q.set(k, params.get(k));
  const res = await api('GET', `/v1/payouts?${q}`);
  if (!res.ok) return void out.replaceChildren(h('p', { class: 'error' }, res.error));
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
          href: `#/payouts?${new URLSearchParams({ ...Object.fromEntries(q), cursor: res.body.nextCursor })}`,
        },
        'Next page',
      )
    : '';
  out.replaceChildren(
    rows.length
      ? table(['Payout', 'State', 'Amount', 'Payee', 'Provider', 'Period', 'Created'], rows)
      : h('p', { class: 'muted' }, 'No payout matches.'),
    next,
  );
}
