// A commission period's close: progress bars (batches calculated, batches posted, payouts started), totals
// and approvals, live while the page is open; operators and the platform close it, approvers decide (TOTP).
import { api, every, h, mount, session, viewScope } from '../lib.js';

export function periodsView() {
  const id = h('input', { name: 'period', required: true, size: 12, placeholder: '2026-11' });
  mount(
    h('h1', {}, 'Commission periods'),
    h(
      'form',
      {
        class: 'inline card',
        onsubmit: (e) => {
          e.preventDefault();
          location.hash = `#/periods/${encodeURIComponent(id.value.trim())}`;
        },
      },
      h('label', {}, 'Period id', id),
      h('button', { type: 'submit' }, 'Open'),
    ),
  );
}

export async function periodView(periodId) {
  const mount = viewScope();
  const body = h('div', { 'data-testid': 'period' });
  const result = h('p', { 'data-testid': 'period-result' });
  mount(h('h1', {}, `Period ${periodId}`), body, actions(periodId, result), result);
  const refresh = async () => {
    const res = await api('GET', `/v1/periods/${encodeURIComponent(periodId)}`);
    if (!res.ok)
      return void body.replaceChildren(h('p', { class: 'error', 'data-testid': 'not-found' }, res.error));
    body.replaceChildren(progress(res.body));
  };
  await refresh();
  every(1500, refresh);
}

function bar(label, done, total, testid) {
  return h(
    'p',
    { 'data-testid': testid },
    // A total below zero means not known yet (the stage has not started).
    h('span', {}, total < 0 ? `${label}: not started` : `${label}: ${done} of ${total}`),
    ' ',
    h('progress', { max: Math.max(1, total), value: Math.max(0, done) }),
  );
}

function progress(p) {
  if (!p.calculation) return h('section', {}, h('p', {}, `Stage: ${p.stage}`));
  const approvals = (p.approvals ?? []).filter((a) => a.decision === 'approve').map((a) => a.actor);
  return h(
    'section',
    {},
    h(
      'p',
      { 'data-testid': 'stage' },
      `Stage: ${p.stage} (run ${p.run}, plan ${p.planVersion})${p.escalated ? ' — escalated' : ''}`,
    ),
    bar('Batches calculated', p.calculation.batchesDone, p.calculation.batchesTotal, 'calculated'),
    bar('Batches posted', p.posting.batchesDone, p.posting.batchesTotal, 'posted'),
    bar('Payouts started', p.payouts.started, p.payouts.total, 'payouts'),
    h(
      'p',
      {},
      `${p.calculation.payees} payees; approvals ${approvals.length} of ${p.approvalsRequired}${approvals.length ? ` (${approvals.join(', ')})` : ''}`,
    ),
    h('pre', { class: 'mono' }, JSON.stringify(p.calculation.totals, null, 2)),
  );
}

function actions(periodId, result) {
  const show = (res, ok) => {
    result.className = res.ok ? 'ok' : 'error';
    result.textContent = res.ok ? ok : `Refused: ${res.error}`;
  };
  if (session.role === 'approver') {
    const reason = h('input', { name: 'reason', size: 30, placeholder: 'reason' });
    const totp = h('input', {
      name: 'totp',
      required: true,
      size: 8,
      inputmode: 'numeric',
      autocomplete: 'one-time-code',
    });
    const decide = (d) => async (e) => {
      e.preventDefault();
      if (!totp.reportValidity()) return;
      const res = await api('POST', `/v1/periods/${encodeURIComponent(periodId)}/${d}`, {
        totp: totp.value,
        ...(reason.value ? { reason: reason.value } : {}),
      });
      totp.value = '';
      show(res, `${d === 'approve' ? 'Approved' : 'Rejected'}: stage ${res.body?.stage}`);
    };
    return h(
      'form',
      { class: 'inline card' },
      h('label', {}, 'Reason', reason),
      h('label', {}, 'TOTP code', totp),
      h('button', { type: 'submit', onclick: decide('approve') }, 'Approve period'),
      h('button', { type: 'button', onclick: decide('reject') }, 'Reject period'),
    );
  }
  const close = async () =>
    show(await api('POST', `/v1/periods/${encodeURIComponent(periodId)}/close`, {}), 'Close started');
  return h('p', {}, h('button', { type: 'button', onclick: close }, 'Close period'));
}
