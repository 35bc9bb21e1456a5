// A commission period's close: progress bars (batches calculated, batches posted, payouts started), totals
// and approvals, live while the page is open, with the statements of the latest run to review, what a
// recalculation changed, and the completion summary. Operators and the platform close it; operators and
// approvers recalculate it with another plan version; approvers decide (TOTP).
import { api, every, h, minorText, mount, session, table, viewScope, when } from '../lib.js';
import { historySection } from './history.js';

const PAGE = 50;

export function periodsView() {
  const id = h('input', { name: 'period', required: true, size: 12, placeholder: '2026-11' });
  const staff = session.role === 'operator' || session.role === 'platform';
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
    staff ? scheduleSection() : '',
  );
}

/** 86400000 → "1 day", 7200000 → "2 h", 90000 → "2 min" (rounded). */
function span(ms) {
  if (ms >= 86_400_000 && ms % 86_400_000 === 0) return count(ms / 86_400_000, 'day');
  if (ms >= 3_600_000 && ms % 3_600_000 === 0) return `${ms / 3_600_000} h`;
  return `${Math.round(ms / 60_000)} min`;
}

/** The period-close schedule (a Temporal Schedule): when periods close on their own; operators pause it. */
function scheduleSection() {
  const out = h('div', {});
  const result = h('p', { 'data-testid': 'schedule-result' });
  const section = h('section', { 'data-testid': 'schedule' }, h('h2', {}, 'Automatic close'), out, result);
  const render = (v) => {
    const note = h('input', {
      name: 'note',
      required: true,
      size: 40,
      placeholder: 'why (kept on the schedule)',
    });
    const toggle = async (e) => {
      e.preventDefault();
      if (!note.reportValidity()) return;
      const res = await api('POST', `/v1/periods/schedule/${v.paused ? 'unpause' : 'pause'}`, {
        note: note.value,
      });
      result.className = res.ok ? 'ok' : 'error';
      result.textContent = res.ok ? (res.body.paused ? 'Paused' : 'Running again') : `Refused: ${res.error}`;
      if (res.ok) render(res.body);
    };
    out.replaceChildren(
      h(
        'p',
        { 'data-testid': 'schedule-state' },
        v.paused ? `Paused: ${v.note || 'no note'}` : 'Running',
        ` — ${v.calendar.kind} periods in ${v.calendar.timezone}, closed ${span(v.graceWindowMs)} after they end`,
      ),
      v.nextCloses.length
        ? table(
            ['Next close', 'At'],
            v.nextCloses.map((n) =>
              h(
                'tr',
                {},
                h('td', {}, h('a', { href: `#/periods/${encodeURIComponent(n.periodId)}` }, n.periodId)),
                h('td', {}, when(n.at)),
              ),
            ),
          )
        : h('p', { class: 'muted' }, 'No close ahead.'),
      v.recentCloses.length
        ? table(
            ['Closed', 'Scheduled', 'Started'],
            v.recentCloses.map((r) =>
              h(
                'tr',
                {},
                h('td', {}, h('a', { href: `#/periods/${encodeURIComponent(r.periodId)}` }, r.periodId)),
                h('td', {}, when(r.scheduledAt)),
                h('td', {}, when(r.takenAt)),
              ),
            ),
          )
        : h('p', { class: 'muted' }, 'No period closed by the schedule yet.'),
      session.role === 'operator'
        ? h(
            'form',
            { class: 'inline', onsubmit: toggle },
            h('label', {}, 'Note', note),
            h('button', { type: 'submit' }, v.paused ? 'Resume automatic close' : 'Pause automatic close'),
          )
        : '',
    );
  };
  api('GET', '/v1/periods/schedule').then((res) => {
    if (res.ok) render(res.body);
    else out.replaceChildren(h('p', { class: res.status === 404 ? 'muted' : 'error' }, res.error));
  });
  return section;
}

export async function periodView(periodId) {
  const mount = viewScope();
  const body = h('div', { 'data-testid': 'period' });
  const result = h('p', { 'data-testid': 'period-result' });
  const statements = statementsSection(periodId);
  // Staff read the close workflow's history once there is one (the period has been closed).
  const history = h('div', {});
  mount(
    h('h1', {}, `Period ${periodId}`),
    body,
    actions(periodId, result),
    result,
    statements.section,
    history,
  );
  const refresh = async () => {
    const res = await api('GET', `/v1/periods/${encodeURIComponent(periodId)}`);
    if (!res.ok)
      return void body.replaceChildren(h('p', { class: 'error', 'data-testid': 'not-found' }, res.error));
    body.replaceChildren(await progress(res.body));
    if (session.role !== 'payee' && res.body.stage !== 'open' && !history.firstChild)
      history.append(
        historySection(`/v1/periods/${encodeURIComponent(periodId)}/history`, `period-${periodId}`),
      );
    const p = res.body;
    // A run's statements are complete once all its batches are calculated.
    if (p.calculation && p.run > 0 && p.calculation.batchesDone === p.calculation.batchesTotal)
      await statements.show(p.run);
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

async function progress(p) {
  if (!p.calculation) return h('section', {}, h('p', { 'data-testid': 'stage' }, `Stage: ${p.stage}`));
  // This run's: a recalculation starts the approvals again.
  const approvals = (p.approvals ?? [])
    .filter((a) => a.decision === 'approve' && a.run === p.run)
    .map((a) => a.actor);
  return h(
    'section',
    {},
    h(
      'p',
      { 'data-testid': 'stage' },
      `Stage: ${p.stage} (run ${p.run}, plan ${p.planVersion})${p.escalated ? ' — escalated' : ''}`,
    ),
    p.nextTimer
      ? h(
          'p',
          { 'data-testid': 'next-timer' },
          `Approval ${p.nextTimer.purpose} due at ${when(p.nextTimer.at)}`,
        )
      : '',
    bar('Batches calculated', p.calculation.batchesDone, p.calculation.batchesTotal, 'calculated'),
    bar('Batches posted', p.posting.batchesDone, p.posting.batchesTotal, 'posted'),
    bar('Payouts started', p.payouts.started, p.payouts.total, 'payouts'),
    h(
      'p',
      {},
      `${count(p.calculation.payees, 'payee')}; closed by ${p.closedBy}; approvals ${approvals.length} of ${p.approvalsRequired}${approvals.length ? ` (${approvals.join(', ')})` : ''}`,
    ),
    await totalsTable(p.calculation.totals),
    p.lastDiff ? await diff(p.lastDiff) : '',
    p.summary ? await summary(p.summary) : '',
  );
}

async function totalsTable(totals) {
  const rows = await Promise.all(
    Object.entries(totals).map(async ([currency, minor]) =>
      h('tr', {}, h('td', {}, currency), h('td', {}, await minorText(currency, minor))),
    ),
  );
  return h(
    'div',
    { 'data-testid': 'totals' },
    rows.length ? table(['Currency', 'Total of the run'], rows) : h('p', { class: 'muted' }, 'No total yet.'),
  );
}

async function diff(d) {
  const changes = await Promise.all(
    d.totals.map(
      async (t) =>
        `${t.currency} ${await minorText(t.currency, t.before)} → ${await minorText(t.currency, t.after)} (${t.delta.startsWith('-') ? '' : '+'}${await minorText(t.currency, t.delta)})`,
    ),
  );
  return h(
    'p',
    { 'data-testid': 'diff' },
    `Recalculation run ${d.fromRun} → ${d.toRun}: ${count(d.changedStatements, 'statement')} changed, ${d.addedStatements} added, ${d.removedStatements} removed`,
    changes.length ? `; ${changes.join(', ')}` : '',
  );
}

async function summary(s) {
  const totals = await Promise.all(
    Object.entries(s.totals).map(async ([c, m]) => `${await minorText(c, m)} ${c}`),
  );
  const payouts = Object.entries(s.payouts).map(([state, n]) => `${state} ${n}`);
  // The carried receivable is one figure; it reads as money when the period has a single currency.
  const currencies = Object.keys(s.totals);
  const receivable =
    s.receivableCarried === '0'
      ? 'no receivable carried'
      : currencies.length === 1
        ? `${await minorText(currencies[0], s.receivableCarried)} ${currencies[0]} carried as receivable`
        : `${s.receivableCarried} minor units carried as receivable`;
  return h(
    'p',
    { 'data-testid': 'summary' },
    `Completed: run ${s.run} posted in ${count(s.postings, 'posting')} (${totals.join(', ') || 'nothing'}); ` +
      `payouts: ${payouts.join(', ') || 'none'}; ${receivable}`,
  );
}

const count = (n, noun) => `${n} ${noun}${n === 1 ? '' : 's'}`;

/** The latest run's statements, a page at a time (by payee id); reloaded when a new run is calculated. */
function statementsSection(periodId) {
  const out = h('div', {});
  const more = h('button', { type: 'button', hidden: true }, 'More payees');
  const section = h(
    'section',
    { 'data-testid': 'statements', hidden: true },
    h('h2', {}, 'Statements of the latest run'),
    out,
    more,
  );
  let shown = 0;
  let after = null;
  let body;
  const load = async (run) => {
    const q = new URLSearchParams({ run: String(run), limit: String(PAGE) });
    if (after) q.set('after', after);
    const res = await api('GET', `/v1/periods/${encodeURIComponent(periodId)}/statements?${q}`);
    if (!res.ok) return void out.replaceChildren(h('p', { class: 'error' }, res.error));
    const amount = (s, k) => minorText(s.currency, s[k] ?? '0');
    const rows = await Promise.all(
      res.body.statements.map(async (s) =>
        h(
          'tr',
          { 'data-payee-id': s.payeeId },
          h('td', { class: 'mono' }, s.payeeId),
          h('td', {}, s.currency),
          h('td', {}, s.rank ?? '—'),
          h('td', {}, await amount(s, 'commission')),
          h('td', {}, await amount(s, 'overrides')),
          h('td', {}, await amount(s, 'bonus')),
          h('td', {}, await amount(s, 'adjustments')),
          h('td', {}, h('strong', {}, await amount(s, 'total'))),
        ),
      ),
    );
    body.append(...rows);
    after = res.body.next;
    more.hidden = !after;
  };
  more.addEventListener('click', () => load(shown));
  return {
    section,
    async show(run) {
      if (run === shown) return;
      shown = run;
      after = null;
      body = h('tbody', {});
      section.hidden = false;
      out.replaceChildren(
        h('p', { class: 'muted' }, `Run ${run}`),
        h(
          'table',
          {},
          h(
            'thead',
            {},
            h(
              'tr',
              {},
              ['Payee', 'Currency', 'Rank', 'Commission', 'Overrides', 'Bonus', 'Adjustments', 'Total'].map(
                (x) => h('th', {}, x),
              ),
            ),
          ),
          body,
        ),
      );
      await load(run);
    },
  };
}

function actions(periodId, result) {
  const show = (res, ok) => {
    result.className = res.ok ? 'ok' : 'error';
    result.textContent = res.ok ? ok : `Refused: ${res.error}`;
  };
  const forms = [];
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
      // The stage moves on once the workflow acts; the approvals say whether another approver is needed.
      const p = res.body ?? {};
      const given = (p.approvals ?? []).filter((a) => a.decision === 'approve' && a.run === p.run).length;
      show(
        res,
        d === 'approve'
          ? `Approved: stage ${p.stage}, approvals ${given} of ${p.approvalsRequired}`
          : `Rejected: stage ${p.stage}`,
      );
    };
    forms.push(
      h(
        'form',
        { class: 'inline card' },
        h('label', {}, 'Reason', reason),
        h('label', {}, 'TOTP code', totp),
        h('button', { type: 'submit', onclick: decide('approve') }, 'Approve period'),
        h('button', { type: 'button', onclick: decide('reject') }, 'Reject period'),
      ),
    );
  } else {
    const close = async () =>
      show(await api('POST', `/v1/periods/${encodeURIComponent(periodId)}/close`, {}), 'Close started');
    forms.push(h('p', {}, h('button', { type: 'button', onclick: close }, 'Close period')));
  }
  if (session.role === 'approver' || session.role === 'operator') {
    // Before approval only: the workflow refuses it otherwise, and the page shows why.
    const plan = h('input', { name: 'planVersion', required: true, size: 16, placeholder: 'plan version' });
    const recalculate = async (e) => {
      e.preventDefault();
      if (!plan.reportValidity()) return;
      const res = await api('POST', `/v1/periods/${encodeURIComponent(periodId)}/recalculate`, {
        planVersion: plan.value.trim(),
      });
      show(res, `Recalculation started: run ${res.body?.toRun} with plan ${res.body?.planVersion}`);
    };
    forms.push(
      h(
        'form',
        { class: 'inline card', onsubmit: recalculate },
        h('label', {}, 'Plan version', plan),
        h('button', { type: 'submit' }, 'Recalculate'),
      ),
    );
  }
  return h('div', {}, forms);
}
