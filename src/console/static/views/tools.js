// Operator tools: ledger verification, manual provider CSV export and result import, bulk payouts with
// live counts and cancel. All through the same API routes as the CLI and other clients.
import { api, every, h, mount, scaleOf, toMinor, when } from '../lib.js';

export function toolsView() {
  mount(h('h1', {}, 'Operator tools'), verifySection(), manualSection(), bulkSection());
}

function verifySection() {
  const out = h('div', { 'data-testid': 'verify-result' });
  const run = async () => {
    out.replaceChildren(h('p', { class: 'muted' }, 'Checking every account, transaction and entry…'));
    const res = await api('GET', '/v1/ledger/verify');
    if (!res.ok) return void out.replaceChildren(h('p', { class: 'error' }, res.error));
    const r = res.body;
    const counts = `${r.counts.accounts} accounts, ${r.counts.transactions} transactions, ${r.counts.entries} entries`;
    out.replaceChildren(
      h(
        'p',
        { class: r.ok ? 'ok' : 'error' },
        r.ok ? `Ledger OK: ${counts}` : `${r.violations.length} violation(s) in ${counts}`,
      ),
      r.ok
        ? ''
        : h(
            'ul',
            {},
            r.violations.map((v) => h('li', {}, `${v.check}: ${v.message}`)),
          ),
    );
  };
  return h(
    'section',
    { 'data-testid': 'verify' },
    h('h2', {}, 'Ledger verification'),
    h('button', { type: 'button', onclick: run }, 'Verify ledger'),
    out,
  );
}

function manualSection() {
  const name = h('input', { name: 'provider', value: 'manual', size: 16 });
  const download = h('a', { href: '#', 'data-testid': 'export-link' }, 'Download export CSV');
  // Each export marks its rows exported; a lost file is exported again with this ticked.
  const again = h('input', { type: 'checkbox', name: 'includeExported' });
  const setHref = () =>
    download.setAttribute(
      'href',
      `/console/api/v1/providers/${encodeURIComponent(name.value)}/export.csv${again.checked ? '?includeExported=true' : ''}`,
    );
  name.addEventListener('input', setHref);
  again.addEventListener('change', setHref);
  setHref();
  const file = h('input', { type: 'file', name: 'csv', accept: '.csv,text/csv' });
  const out = h('p', { 'data-testid': 'import-result' });
  const upload = async (e) => {
    e.preventDefault();
    const f = file.files?.[0];
    if (!f) {
      out.textContent = 'Choose the CSV with outcomes filled in';
      return;
    }
    const res = await api('POST', `/v1/providers/${encodeURIComponent(name.value)}/import`, {
      csv: await f.text(),
    });
    out.className = res.ok ? 'ok' : 'error';
    out.textContent = res.ok
      ? `Imported: ${res.body.applied} applied, ${res.body.unchanged} unchanged, ${res.body.signalled} signalled`
      : `Refused: ${res.error}`;
  };
  return h(
    'section',
    { 'data-testid': 'manual' },
    h('h2', {}, 'Manual provider'),
    h(
      'form',
      { class: 'inline', onsubmit: upload },
      h('label', {}, 'Provider', name),
      h('label', {}, h('span', {}, again, ' rows exported before too')),
      download,
      h('label', {}, 'Results CSV', file),
      h('button', { type: 'submit' }, 'Import results'),
    ),
    out,
  );
}

function bulkSection() {
  const currency = h('input', { name: 'currency', value: 'USD', size: 4 });
  const method = h(
    'select',
    { name: 'method' },
    ['bank_transfer', 'wallet', 'card', 'crypto'].map((m) => h('option', { value: m }, m)),
  );
  const minBalance = h('input', { name: 'minBalance', placeholder: '0.00', size: 10, inputmode: 'decimal' });
  const instant = h('input', { type: 'checkbox', name: 'instant' });
  const status = h('div', { 'data-testid': 'bulk-status' });
  const create = async (e) => {
    e.preventDefault();
    const code = currency.value.trim().toUpperCase();
    // Typed as a decimal of the currency; the API takes minor units.
    let min;
    if (minBalance.value.trim()) {
      const scale = await scaleOf(code);
      if (scale === undefined)
        return void status.replaceChildren(h('p', { class: 'error' }, `${code} is not a known currency`));
      min = toMinor(minBalance.value, scale);
      if (!min)
        return void status.replaceChildren(
          h(
            'p',
            { class: 'error' },
            `Min balance: enter an amount such as 15.00 (at most ${scale} decimals)`,
          ),
        );
    }
    const body = {
      currency: code,
      method: method.value,
      instant: instant.checked,
      ...(min ? { minBalance: min } : {}),
    };
    const res = await api('POST', '/v1/payouts/bulk', body);
    if (!res.ok) return void status.replaceChildren(h('p', { class: 'error' }, `Refused: ${res.error}`));
    watch(res.body.bulkId, status);
  };
  return h(
    'section',
    { 'data-testid': 'bulk' },
    h('h2', {}, 'Bulk payouts (full available balance)'),
    h(
      'form',
      { class: 'inline', onsubmit: create },
      h('label', {}, 'Currency', currency),
      h('label', {}, 'Method', method),
      h('label', {}, 'Min balance', minBalance),
      h('label', {}, h('span', {}, instant, ' instant')),
      h('button', { type: 'submit' }, 'Create bulk'),
    ),
    status,
  );
}

function watch(bulkId, status) {
  const counts = h('p', { 'data-testid': 'bulk-counts' });
  const cancelled = h('p', { 'data-testid': 'bulk-cancellation' });
  const bar = h('progress', { max: 1, value: 0 });
  const out = h('p');
  const cancel = h(
    'button',
    {
      type: 'button',
      onclick: async () => {
        const res = await api('POST', `/v1/payouts/bulk/${bulkId}/cancel`, {
          reason: 'cancelled in the console',
        });
        out.className = res.ok ? 'ok' : 'error';
        out.textContent = res.ok
          ? 'Cancellation asked: payouts not yet submitted are cancelled'
          : `Refused: ${res.error}`;
      },
    },
    'Cancel bulk',
  );
  status.replaceChildren(
    h('p', {}, 'Bulk ', h('span', { class: 'mono' }, bulkId)),
    bar,
    counts,
    cancelled,
    cancel,
    out,
  );
  const refresh = async () => {
    const res = await api('GET', `/v1/payouts/bulk/${bulkId}`);
    if (!res.ok) return;
    const b = res.body;
    bar.max = Math.max(1, b.payouts.total);
    bar.value = b.payouts.started;
    const by = Object.entries(b.payouts.byState)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ');
    counts.textContent = `${b.status}: ${b.payouts.started} of ${b.payouts.total} started${by ? ` — ${by}` : ''}; ${b.skipped.length} skipped`;
    const c = b.cancellation;
    // Carried out: what the cancel dropped before start, and what it could no longer stop.
    cancelled.textContent = !c
      ? ''
      : c.dropped === undefined && c.refused === undefined
        ? `Cancel asked by ${c.by.actor} at ${when(c.at)}: being carried out`
        : `Cancelled by ${c.by.actor}: ${c.dropped ?? 0} not started dropped, ${c.refused ?? 0} already with a provider run to their end`;
    cancel.disabled = !!c;
  };
  refresh();
  every(1500, refresh);
}
