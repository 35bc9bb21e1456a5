// Payee portal, further sections: earnings of a period with its statement as CSV, and promotional credit
// grants with what is left and when each expires.
import { api, decimal, h, money, table, when } from '../lib.js';

const AMOUNTS = new Set(['commission', 'overrides', 'bonus', 'adjustments', 'total']);
const COLUMNS = [
  'currency',
  'personalVolume',
  'groupVolume',
  'rank',
  'commission',
  'overrides',
  'bonus',
  'adjustments',
  'total',
];

export function earningsSection(payeeId, scaleOf) {
  const period = h('input', { name: 'period', size: 10, placeholder: 'current' });
  const out = h('div', { 'data-testid': 'earnings' });
  const load = async (e) => {
    e?.preventDefault();
    const q = period.value ? `?period=${encodeURIComponent(period.value)}` : '';
    const res = await api('GET', `/v1/payees/${payeeId}/earnings${q}`);
    if (!res.ok) return void out.replaceChildren(h('p', { class: 'error' }, res.error));
    const r = res.body;
    const m = (currency, minor) => decimal({ amount: String(minor), currency, scale: scaleOf(currency) });
    const rows = r.statements.map((s) =>
      h(
        'tr',
        {},
        h('td', {}, s.currency),
        h('td', {}, s.rank ?? '—'),
        h('td', {}, m(s.currency, s.commission)),
        h('td', {}, m(s.currency, s.overrides)),
        h('td', {}, m(s.currency, s.bonus)),
        h('td', {}, m(s.currency, s.adjustments)),
        h('td', {}, h('strong', {}, m(s.currency, s.total))),
      ),
    );
    const csv = [
      COLUMNS.join(','),
      // Amounts as decimals in the statement's currency, as the page shows them.
      ...r.statements.map((s) =>
        COLUMNS.map((c) => csvCell(AMOUNTS.has(c) ? m(s.currency, s[c]) : s[c])).join(','),
      ),
    ].join('\r\n');
    const link = h(
      'a',
      {
        href: URL.createObjectURL(new Blob([`${csv}\r\n`], { type: 'text/csv' })),
        download: `statement-${r.periodId}.csv`,
      },
      'Download statement CSV',
    );
    out.replaceChildren(
      h('p', {}, `Period ${r.periodId} (${r.periodStatus}${r.provisional ? ', provisional' : ''})`),
      rows.length
        ? table(['Currency', 'Rank', 'Commission', 'Overrides', 'Bonus', 'Adjustments', 'Total'], rows)
        : h('p', { class: 'muted' }, 'No statement for this period yet.'),
      r.events.length
        ? h(
            'p',
            { class: 'muted' },
            r.events.map((e) => `${e.count} ${e.type} (${m(e.currency, e.amount)} ${e.currency})`).join(', '),
          )
        : '',
      rows.length ? link : '',
    );
  };
  load();
  return h(
    'section',
    {},
    h('h2', {}, 'Earnings'),
    h(
      'form',
      { class: 'inline', onsubmit: load },
      h('label', {}, 'Period', period),
      h('button', { type: 'submit' }, 'Show'),
    ),
    out,
  );
}

function csvCell(v) {
  const s = v === null || v === undefined ? '' : String(v);
  // A leading = + - @ would be a formula in a spreadsheet.
  const safe = /^[=+\-@]/.test(s) && !/^-?\d+(\.\d+)?$/.test(s) ? `'${s}` : s;
  return /[",\r\n]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}

/** The payee's grants (the GET /credits/grants answer the portal already read). */
export function grantsSection(res) {
  const out = h('div', { 'data-testid': 'grants' });
  if (!res.ok) out.replaceChildren(h('p', { class: 'error' }, res.error));
  else {
    const g = res.body.grants;
    out.replaceChildren(
      g.length
        ? table(
            ['Granted', 'Remaining', 'Status', 'Expires', 'Why'],
            g.map((x) =>
              h(
                'tr',
                {},
                h('td', {}, money(x.amount)),
                h('td', {}, money(x.remaining)),
                h('td', {}, x.status),
                h('td', {}, when(x.expiresAt)),
                h('td', {}, x.reason ?? x.reference),
              ),
            ),
          )
        : h('p', { class: 'muted' }, 'No credit grant.'),
    );
  }
  return h('section', {}, h('h2', {}, 'Credit grants (spendback only)'), out);
}

export function ordersSection(payeeId) {
  const out = h('div', { 'data-testid': 'orders' });
  api('GET', `/v1/payees/${payeeId}/spendback-orders`).then((res) => {
    if (!res.ok) return void out.replaceChildren(h('p', { class: 'error' }, res.error));
    const o = res.body.items;
    out.replaceChildren(
      o.length
        ? table(
            ['Order', 'Amount', 'From credit', 'From balance', 'Refunded', 'At'],
            o.map((x) =>
              h(
                'tr',
                {},
                h('td', { class: 'mono' }, x.orderReference),
                h('td', {}, money(x.amount)),
                h('td', {}, money(x.fromRestricted)),
                h('td', {}, money(x.fromAvailable)),
                h('td', {}, money(x.refundedAvailable)),
                h('td', {}, when(x.createdAt)),
              ),
            ),
          )
        : h('p', { class: 'muted' }, 'No spendback order.'),
    );
  });
  return h('section', {}, h('h2', {}, 'Spendback orders'), out);
}
