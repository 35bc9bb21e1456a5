// Approver inbox: payouts waiting for a decision, why, who already approved, time left; approve or reject
// with a reason and a TOTP code. A refused decision shows the API's reason.
import { api, every, h, minorText, money, session, stateBadge, viewScope, when } from '../lib.js';

export async function inboxView() {
  const mount = viewScope();
  const list = h('div', { id: 'inbox' });
  mount(h('h1', {}, 'Waiting for approval'), list);
  await render(list);
  // New payouts arrive while the approver looks; cards being filled in are left alone.
  every(5000, async () => {
    if (!list.querySelector('input:focus') && !list.querySelector('.result')) await render(list);
  });
}

async function render(list) {
  const res = await api('GET', '/v1/approvals/pending');
  if (!res.ok) return void list.replaceChildren(h('p', { class: 'error' }, res.error));
  const items = res.body.items;
  const periods = await Promise.all((res.body.periods ?? []).map(periodCard));
  list.replaceChildren(
    ...periods,
    ...(items.length + periods.length === 0
      ? [h('p', { class: 'muted', 'data-testid': 'inbox-empty' }, 'Nothing waits for a decision.')]
      : []),
    ...items.map(card),
  );
}

function card(p) {
  const result = h('p', { 'data-testid': 'decision-result' });
  const reason = h('input', { name: 'reason', required: true, placeholder: 'why', size: 30 });
  const totp = h('input', {
    name: 'totp',
    required: true,
    inputmode: 'numeric',
    pattern: '\\d{6}',
    size: 8,
    autocomplete: 'one-time-code',
  });
  const decide = (decision) => async (e) => {
    e.preventDefault();
    if (!reason.reportValidity() || !totp.reportValidity()) return;
    const res = await api('POST', `/v1/payouts/${p.payoutId}/${decision}`, {
      reason: reason.value,
      totp: totp.value,
    });
    totp.value = '';
    result.className = `result ${res.ok ? 'ok' : 'error'}`;
    result.textContent = res.ok
      ? `${decision === 'approve' ? 'Approved' : 'Rejected'}: the payout is now ${res.body.state}`
      : `Refused: ${res.error}`;
  };
  return h(
    'section',
    { class: 'card', 'data-payout-id': p.payoutId },
    h('h2', {}, h('a', { href: `#/payouts/${p.payoutId}` }, p.payoutId), ' ', stateBadge('pending_approval')),
    h(
      'p',
      {},
      h('strong', {}, money(p.amount)),
      ` to payee ${p.payeeId} by ${p.method} — requested by ${p.requestedBy} at ${when(p.createdAt)}`,
    ),
    h('p', { 'data-testid': 'why' }, 'Why: ', p.why.join('; ') || 'held for approval'),
    h(
      'p',
      { 'data-testid': 'approvals' },
      `Approvals ${p.approvedBy.length} of ${p.approvalsRequired}`,
      p.approvalsRequired > 1 ? ' (dual control)' : '',
      p.approvedBy.length ? ` — approved by ${p.approvedBy.join(', ')}` : '',
      p.callerMayDecide
        ? ''
        : ` — ${p.requestedBy === session.actor ? 'you requested it' : 'you approved already'}`,
    ),
    p.timer
      ? h(
          'p',
          { class: 'muted', 'data-testid': 'payout-timer' },
          `${timerLabel[p.timer.purpose] ?? p.timer.purpose} at ${when(p.timer.at)} (${left(p.timer.at)} left)`,
        )
      : '',
    h(
      'form',
      { class: 'inline' },
      h('label', {}, 'Reason', reason),
      h('label', {}, 'TOTP code', totp),
      h('button', { type: 'submit', onclick: decide('approve') }, 'Approve'),
      h('button', { type: 'button', onclick: decide('reject') }, 'Reject'),
    ),
    result,
  );
}

async function periodCard(p) {
  // What the approver would release: the run's totals, from the period's progress.
  const progress = await api('GET', `/v1/periods/${encodeURIComponent(p.periodId)}`);
  const totals = progress.ok
    ? await Promise.all(
        Object.entries(progress.body.calculation?.totals ?? {}).map(
          async ([c, m]) => `${await minorText(c, m)} ${c}`,
        ),
      )
    : [];
  return h(
    'section',
    { class: 'card', 'data-period-id': p.periodId },
    h(
      'h2',
      {},
      'Period ',
      h('a', { href: `#/periods/${p.periodId}` }, p.periodId),
      ' ',
      stateBadge('awaiting_approval'),
    ),
    h(
      'p',
      {},
      `Run ${p.run}: statements of ${p.payees} payee${p.payees === 1 ? '' : 's'} wait for approval${p.escalated ? ' (escalated)' : ''}`,
    ),
    progress.ok && progress.body.nextTimer
      ? h(
          'p',
          { class: 'muted', 'data-testid': 'period-timer' },
          `Approval ${progress.body.nextTimer.purpose} due at ${when(progress.body.nextTimer.at)} (${left(progress.body.nextTimer.at)} left)`,
        )
      : '',
    h(
      'p',
      { 'data-testid': 'period-totals' },
      progress.ok
        ? `Totals: ${totals.join(', ') || 'nothing to credit'}`
        : `Totals unavailable: ${progress.error}`,
    ),
    h(
      'p',
      { 'data-testid': 'approvals' },
      `Approvals ${p.approvedBy.length} of ${p.approvalsRequired}`,
      p.approvedBy.length ? ` — approved by ${p.approvedBy.join(', ')}` : '',
      p.callerMayDecide ? '' : ' — not yours to decide (you closed it or approved already)',
    ),
    h('p', {}, h('a', { href: `#/periods/${p.periodId}` }, 'Review the progress and decide')),
  );
}

// What the payout workflow does when its next timer fires, as an approver reads it.
const timerLabel = {
  approval_timeout: 'Escalated if undecided',
  approval_escalation_timeout: 'Rejected (approval timeout) if still undecided',
};

function left(iso) {
  const ms = new Date(iso).getTime() - Date.now();
  if (ms <= 0) return 'no time';
  const m = Math.round(ms / 60000);
  return m >= 120 ? `${Math.round(m / 60)} h` : `${m} min`;
}
