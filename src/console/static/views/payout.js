// A payout as an operator reads it: state, a timeline (webhook events and human actions), attempts per
// provider, ledger postings, webhooks sent, audit entries and the workflow history (Temporal client), with
// the operator's actions: resolve an unknown outcome, cancel, clear a compliance hold.
import { api, h, money, payoutStates, session, stateBadge, table, viewScope, when } from '../lib.js';
import { historySection } from './history.js';

/** `notice`: what the operator's last action did, kept on the page it redraws. */
export async function payoutView(id, notice) {
  const mount = viewScope();
  const res = await api('GET', `/v1/payouts/${encodeURIComponent(id)}`);
  if (!res.ok)
    return void mount(
      h('h1', {}, 'Payout'),
      h('p', { class: 'error', 'data-testid': 'not-found' }, res.error),
    );
  const p = res.body;
  const staff = session.role !== 'payee';
  const final = new Set((await payoutStates()).final);
  const [audit, hooks] = staff
    ? await Promise.all([api('GET', `/v1/payouts/${p.id}/audit`), api('GET', `/v1/payouts/${p.id}/webhooks`)])
    : [{ body: { items: [] } }, { body: { items: [] } }];
  mount(
    h('h1', {}, 'Payout ', h('span', { class: 'mono' }, p.id), ' ', stateBadge(p.state)),
    notice ? h('p', { class: 'ok', 'data-testid': 'action-notice' }, notice) : '',
    summary(p),
    session.role === 'operator' && !final.has(p.state) ? actions(p) : '',
    staff ? timeline(audit.body?.items ?? [], hooks.body?.items ?? []) : '',
    attempts(p),
    ledger(p),
    staff ? webhooks(hooks.body?.items ?? []) : '',
    staff ? auditSection(audit.body?.items ?? []) : '',
    staff ? historySection(`/v1/payouts/${p.id}/history`, `payout-${p.id}`) : '',
  );
}

function summary(p) {
  const row = (k, v) => h('tr', {}, h('th', {}, k), h('td', {}, v));
  return h(
    'section',
    { 'data-testid': 'summary' },
    h('h2', {}, 'Summary'),
    table(
      [],
      [
        row('Amount', money(p.amount)),
        row('Fee', money(p.fee)),
        row('Withholding', money(p.withholding)),
        row('Payee', p.payeeId),
        row('Method / rail', `${p.method} / ${p.rail ?? '—'}`),
        row('Provider', p.provider ?? '—'),
        row('Period', p.periodId ?? '—'),
        row('Requested by', p.requestedBy ?? '—'),
        row('Why held', (p.reasons ?? []).map((r) => `${r.code}: ${r.message}`).join('; ') || '—'),
        row(
          'Approvals',
          `${(p.approvals ?? []).map((a) => `${a.actor} ${a.decision === 'reject' ? 'rejected' : 'approved'} (${a.reason})`).join(', ') || 'none'} — ${p.approvalsRequired} required`,
        ),
        row('Next timer', p.nextTimer ? `${p.nextTimer.purpose} at ${when(p.nextTimer.at)}` : '—'),
        row('Created / updated', `${when(p.createdAt)} / ${when(p.updatedAt)}`),
      ],
    ),
  );
}

function actions(p) {
  const result = h('p', { 'data-testid': 'action-result' });
  const reason = h('input', { name: 'reason', required: true, size: 40, placeholder: 'reason (audited)' });
  const run = (path, body) => async (e) => {
    e.preventDefault();
    if (!reason.reportValidity()) return;
    const res = await api('POST', `/v1/payouts/${p.id}/${path}`, { ...body, reason: reason.value });
    result.className = res.ok ? 'ok' : 'error';
    result.textContent = res.ok ? `Done: the payout is now ${res.body.state}` : `Refused: ${res.error}`;
    if (res.ok) setTimeout(() => payoutView(p.id, result.textContent), 300);
  };
  const outcome = h(
    'select',
    { name: 'outcome' },
    h('option', { value: 'paid' }, 'provider paid it'),
    h('option', { value: 'not_paid' }, 'provider did not pay'),
  );
  return h(
    'section',
    { 'data-testid': 'actions' },
    h('h2', {}, 'Actions'),
    h(
      'form',
      { class: 'inline' },
      h('label', {}, 'Reason', reason),
      p.state === 'unknown_outcome' || p.state === 'review'
        ? [
            h('label', {}, 'Outcome', outcome),
            h(
              'button',
              { type: 'button', onclick: (e) => run('resolve', { outcome: outcome.value })(e) },
              'Resolve unknown outcome',
            ),
          ]
        : '',
      p.state === 'compliance_hold'
        ? h('button', { type: 'button', onclick: run('compliance-clear', {}) }, 'Clear compliance hold')
        : '',
      h('button', { type: 'button', onclick: run('cancel', {}) }, 'Cancel payout'),
    ),
    result,
  );
}

function timeline(audit, hooks) {
  const items = [
    ...hooks.map((w) => ({ at: w.occurredAt, text: w.type, who: 'system' })),
    ...audit.map((a) => ({ at: a.at, text: a.action, who: `${a.actor} (${a.role})` })),
  ].sort((a, b) => a.at.localeCompare(b.at));
  return h(
    'section',
    { 'data-testid': 'timeline' },
    h('h2', {}, 'State timeline'),
    items.length
      ? h(
          'ol',
          {},
          items.map((i) => h('li', {}, `${when(i.at)} — ${i.text} — ${i.who}`)),
        )
      : h('p', { class: 'muted' }, 'No state change recorded yet.'),
  );
}

function attempts(p) {
  return h(
    'section',
    { 'data-testid': 'attempts' },
    h('h2', {}, 'Attempts'),
    p.attempts.length
      ? table(
          ['#', 'Provider', 'Outcome', 'Idempotency key', 'Detail'],
          p.attempts.map((a) =>
            h(
              'tr',
              {},
              h('td', {}, a.attemptNo),
              h('td', {}, a.provider),
              h('td', {}, a.outcome ?? ''),
              h('td', { class: 'mono' }, a.idempotencyKey),
              h('td', {}, a.detail ?? ''),
            ),
          ),
        )
      : h('p', { class: 'muted' }, 'No provider attempt yet.'),
  );
}

function ledger(p) {
  return h(
    'section',
    { 'data-testid': 'ledger' },
    h('h2', {}, 'Ledger postings'),
    p.ledger.length
      ? table(
          ['Step', 'Transaction', 'At'],
          p.ledger.map((l) =>
            h(
              'tr',
              {},
              h('td', {}, l.step),
              h('td', { class: 'mono' }, l.transactionId),
              h('td', {}, when(l.at)),
            ),
          ),
        )
      : h('p', { class: 'muted' }, 'Nothing posted yet.'),
  );
}

function webhooks(items) {
  return h(
    'section',
    { 'data-testid': 'webhooks' },
    h('h2', {}, 'Webhooks sent'),
    items.length
      ? table(
          ['Event', 'Type', 'Occurred', 'Delivered', 'Attempts'],
          items.map((w) =>
            h(
              'tr',
              {},
              h('td', { class: 'mono' }, w.id),
              h('td', {}, w.type),
              h('td', {}, when(w.occurredAt)),
              h('td', {}, w.deliveredAt ? when(w.deliveredAt) : 'pending'),
              h('td', {}, w.attempts),
            ),
          ),
        )
      : h('p', { class: 'muted' }, 'No webhook event yet.'),
  );
}

function auditSection(items) {
  return h(
    'section',
    { 'data-testid': 'audit' },
    h('h2', {}, 'Audit entries'),
    items.length
      ? table(
          ['At', 'Actor', 'Action', 'Details'],
          items.map((a) =>
            h(
              'tr',
              {},
              h('td', {}, when(a.at)),
              h('td', {}, `${a.actor} (${a.role})`),
              h('td', {}, a.action),
              h('td', { class: 'mono' }, JSON.stringify(a.details)),
            ),
          ),
        )
      : h('p', { class: 'muted' }, 'No human action yet.'),
  );
}
