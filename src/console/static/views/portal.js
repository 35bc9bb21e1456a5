// Payee portal: balances, masked destinations, payouts with live status, and a payout request that shows
// the instant fee, or the next payout window, before the payee confirms.

import { api, decimal, every, h, money, stateBadge, table, toMinor, viewScope, when } from '../lib.js';
import { earningsSection, grantsSection, ordersSection } from './portal-earnings.js';

export async function portalView(payeeId) {
  const mount = viewScope();
  const [payee, wallet, grants] = await Promise.all([
    api('GET', `/v1/payees/${encodeURIComponent(payeeId)}`),
    api('GET', `/v1/payees/${encodeURIComponent(payeeId)}/wallet`),
    api('GET', `/v1/payees/${encodeURIComponent(payeeId)}/credits/grants`),
  ]);
  if (!payee.ok || !wallet.ok) {
    return void mount(
      h('h1', {}, 'Payee portal'),
      h('p', { class: 'error', 'data-testid': 'not-found' }, payee.error ?? wallet.error),
    );
  }
  const p = payee.body;
  const expiries = soonestExpiries(grants.ok ? grants.body.grants : []);
  const list = h('div', { 'data-testid': 'payouts' });
  const balances = h('div', { 'data-testid': 'balances' });
  const refresh = async () => {
    const [w, res] = await Promise.all([
      api('GET', `/v1/payees/${p.id}/wallet`),
      api('GET', `/v1/payouts?payee=${p.id}&limit=20`),
    ]);
    if (w.ok) balances.replaceChildren(balanceTable(w.body, expiries));
    if (res.ok) list.replaceChildren(payoutTable(res.body.items));
  };
  balances.replaceChildren(balanceTable(wallet.body, expiries));
  mount(
    h('h1', {}, p.name),
    h('section', {}, h('h2', {}, 'Balances'), balances),
    h(
      'section',
      { 'data-testid': 'destinations' },
      h('h2', {}, 'Destinations'),
      p.destinations.length
        ? h(
            'ul',
            {},
            p.destinations.map((d) => h('li', {}, `${d.kind}: ${d.masked}`)),
          )
        : h('p', { class: 'muted' }, 'None yet.'),
    ),
    requestForm(p, wallet.body, refresh),
    h('section', {}, h('h2', {}, 'Payouts'), list),
    earningsSection(p.id, (c) => wallet.body.balances.find((b) => b.currency === c)?.available.scale ?? 2),
    grantsSection(grants),
    ordersSection(p.id),
  );
  await refresh();
  every(1500, refresh); // live status while the page is open
}

/** Per currency, the active grant that expires first (what of the restricted balance lapses next). */
function soonestExpiries(grants) {
  const out = new Map();
  for (const g of grants) {
    if (g.status !== 'active' || g.remaining.amount === '0') continue;
    const seen = out.get(g.remaining.currency);
    if (!seen || g.expiresAt < seen.expiresAt) out.set(g.remaining.currency, g);
  }
  return out;
}

function balanceTable(w, expiries) {
  return table(
    ['Currency', 'Available', 'Held', 'Restricted', 'Receivable'],
    w.balances.map((b) =>
      h(
        'tr',
        { 'data-currency': b.currency },
        h('td', {}, b.currency),
        h('td', { 'data-testid': 'available' }, decimal(b.available)),
        h('td', {}, decimal(b.held)),
        h(
          'td',
          { 'data-testid': 'restricted' },
          decimal(b.restricted),
          expiries.has(b.currency) && b.restricted.amount !== '0'
            ? h(
                'span',
                { class: 'muted' },
                ` (${money(expiries.get(b.currency).remaining)} expires ${when(expiries.get(b.currency).expiresAt)})`,
              )
            : '',
        ),
        // Owed back (negative): netted against the next earnings before anything is available.
        h('td', { 'data-testid': 'receivable' }, decimal(b.receivable)),
      ),
    ),
  );
}

function payoutTable(items) {
  if (items.length === 0) return h('p', { class: 'muted' }, 'No payout yet.');
  return table(
    ['Payout', 'State', 'Amount', 'Fee', 'Rail', 'Requested'],
    items.map((o) =>
      h(
        'tr',
        { 'data-payout-id': o.id },
        h('td', { class: 'mono' }, h('a', { href: `#/payouts/${o.id}` }, o.id)),
        h('td', {}, stateBadge(o.state)),
        h('td', {}, money(o.amount)),
        h('td', {}, money(o.fee)),
        h('td', {}, o.rail ?? '—'),
        h('td', {}, when(o.createdAt)),
      ),
    ),
  );
}

function requestForm(p, wallet, refresh) {
  const currency = p.defaultCurrency;
  const scale = wallet.balances.find((b) => b.currency === currency)?.available.scale ?? 2;
  const amount = h('input', {
    name: 'amount',
    required: true,
    size: 12,
    placeholder: '0.00',
    inputmode: 'decimal',
  });
  const instant = h('input', {
    type: 'radio',
    name: 'rail',
    value: 'instant',
    checked: p.payoutPreferences.instantOptIn,
    disabled: !p.payoutPreferences.instantOptIn,
  });
  const scheduled = h('input', {
    type: 'radio',
    name: 'rail',
    value: 'scheduled',
    checked: !p.payoutPreferences.instantOptIn,
  });
  const quote = h('div', { 'data-testid': 'quote' });
  const result = h('p', { 'data-testid': 'request-result' });
  let pending;
  const review = async (e) => {
    e.preventDefault();
    result.textContent = '';
    const minor = toMinor(amount.value, scale);
    if (!minor)
      return void quote.replaceChildren(
        h('p', { class: 'error' }, `Enter an amount such as 25.00 (at most ${scale} decimals)`),
      );
    const q = await api(
      'GET',
      `/v1/payees/${p.id}/payout-quote?amount=${minor}&currency=${currency}&scale=${scale}`,
    );
    if (!q.ok) return void quote.replaceChildren(h('p', { class: 'error' }, q.error));
    const wantsInstant = instant.checked;
    pending = { payeeId: p.id, amount: { amount: minor, currency, scale }, instant: wantsInstant };
    quote.replaceChildren(
      wantsInstant
        ? h(
            'p',
            {},
            `Instant: fee ${money(q.body.instant.fee)}, you receive ${money(q.body.instant.net)}`,
            q.body.instant.available
              ? ''
              : ' (instant is not available for this amount: it would go in the next window)',
          )
        : h(
            'p',
            {},
            `Scheduled: paid in the next payout window, ${when(q.body.scheduled.windowAt)}, no fee; you receive ${money(q.body.scheduled.net)}`,
          ),
      h('button', { type: 'button', onclick: confirm }, 'Confirm payout'),
    );
  };
  const confirm = async () => {
    const body = pending;
    pending = undefined;
    quote.replaceChildren();
    if (!body) return;
    const res = await api('POST', '/v1/payouts', body);
    result.className = res.ok ? 'ok' : 'error';
    result.textContent = res.ok ? `Payout ${res.body.id} requested` : `Refused: ${res.error}`;
    if (res.ok) result.dataset.payoutId = res.body.id;
    await refresh();
  };
  return h(
    'section',
    { 'data-testid': 'request' },
    h('h2', {}, 'Request a payout'),
    h(
      'form',
      { class: 'inline', onsubmit: review },
      h('label', {}, `Amount (${currency})`, amount),
      h('label', {}, h('span', {}, instant, ' Instant (fee)')),
      h('label', {}, h('span', {}, scheduled, ' Next payout window')),
      h('button', { type: 'submit' }, 'Review'),
    ),
    quote,
    result,
  );
}
