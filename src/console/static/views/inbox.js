// Approver inbox: payouts waiting for a decision, why, who already approved, time left; approve or reject
// with a reason and a TOTP code. A refused decision shows the API's reason.
import { api, every, h, money, mount, session, stateBadge, when } from '../lib.js';

export async function inboxView() {
  const list = h('div', { id: 'inbox' });
  mount(h('h1', {}, 'Waiting for approval'), list);
  await render(list);
  // New payouts arrive while the approver looks; cards being filled in are left alone.
  every(5000, async () => {
    if (!list.querySelector('input:focus') && !list.querySelector('.result')) await render(list);
  });
}

async function render(list) {
  const res = await api('GET', '/v1/payouts?status=pending_approval&limit=100');
  if (!res.ok) return void list.replaceChildren(h('p', { class: 'error' }, res.error));
  // The list is read from the database; each payout's own page adds its live workflow state (approvals so
  // far, why it is held, the escalation timer).
  const live = await Promise.all(res.body.items.map((p) => api('GET', `/v1/payouts/${p.id}`)));
  const items = live
    .map((r, i) => (r.ok ? r.body : res.body.items[i]))
    .filter((p) => p.state === 'pending_approval');
  list.replaceChildren(
    ...(items.length === 0
      ? [h('p', { class: 'muted', 'data-testid': 'inbox-empty' }, 'Nothing waits for a decision.')]
      : []),
    ...items.map(card),
  );
}

function card(p) {
  const approvals = (p.approvals ?? []).filter((a) => a.decision === 'approve');
  const mine = approvals.some((a) => a.actor === session.actor);
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
    const res = await api('POST', `/v1/payouts/${p.id}/${decision}`, {
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
    { class: 'card', 'data-payout-id': p.id },
    h('h2', {}, h('a', { href: `#/payouts/${p.id}` }, p.id), ' ', stateBadge(p.state)),
    h(
      'p',
      {},
      h('strong', {}, money(p.amount)),
      ` to payee ${p.payeeId} by ${p.method}`,
      p.requestedBy ? ` — requested by ${p.requestedBy}` : '',
    ),
    h(
      'p',
      { 'data-testid': 'why' },
      'Why: ',
      (p.reasons ?? []).map((r) => r.message).join('; ') || 'above the approval threshold',
    ),
    h(
      'p',
      { 'data-testid': 'approvals' },
      `Approvals ${approvals.length} of ${p.approvalsRequired}`,
      p.approvalsRequired > 1 ? ' (dual control)' : '',
      approvals.length ? ` — approved by ${approvals.map((a) => a.actor).join(', ')}` : '',
      mine ? ' — you approved already' : '',
    ),
    p.nextTimer
      ? h(
          'p',
          { class: 'muted' },
          `${p.nextTimer.purpose} at ${when(p.nextTimer.at)} (${left(p.nextTimer.at)} left)`,
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

function left(iso) {
  const ms = new Date(iso).getTime() - Date.now();
  if (ms <= 0) return 'no time';
  const m = Math.round(ms / 60000);
  return m >= 120 ? `${Math.round(m / 60)} h` : `${m} min`;
}
