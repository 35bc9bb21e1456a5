// The approver inbox (GET /v1/approvals/pending) lists a closed period awaiting approval with who approved,
// whether the caller may decide, and its next deadline (reminder, then escalation) from the period workflow;
// once rejected it leaves the inbox and a recalculation is refused.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { eventually, type Stack, startStack } from '../support/stack.ts';

let stack: Stack;

beforeAll(async () => {
  stack = await startStack('pending_periods', {
    // Timers long enough that none fires before the inbox is read (they fire on the real clock too).
    env: { PERIOD_APPROVAL_REMINDER: '1h', PERIOD_APPROVAL_ESCALATION: '2h' },
  });
}, 120_000);
afterAll(async () => {
  await stack?.close();
});

interface PendingPeriod {
  periodId: string;
  approvedBy: string[];
  callerMayDecide: boolean;
  timer: { purpose: string; at: string } | null;
}

async function pendingPeriod(periodId: string, key: string): Promise<PendingPeriod | undefined> {
  const res = await stack.call('GET', '/v1/approvals/pending', { key });
  expect(res.status).toBe(200);
  return (res.body.periods as PendingPeriod[]).find((p) => p.periodId === periodId);
}

describe('pending period approvals', () => {
  it('shows the period with its reminder deadline; the operator who closed it may not decide', async () => {
    const periodId = '2026-03';
    const payee = await stack.createPayee();
    const sale = {
      externalId: 'pending-period-1',
      payeeId: payee,
      type: 'sale',
      amount: { amount: '50000', currency: 'USD', scale: 2 },
      occurredAt: '2026-03-10T10:00:00Z',
      volume: 10,
    };
    expect((await stack.call('POST', '/v1/earnings', { body: { events: [sale] } })).status).toBe(200);
    await stack.closePeriod(periodId, { key: stack.keys.operator.key });
    const listed = await eventually(
      'the period in the inbox',
      () => pendingPeriod(periodId, stack.keys.approver.key),
      (p) => p !== undefined,
    );
    expect(listed).toEqual(
      expect.objectContaining({
        periodId,
        approvedBy: [],
        callerMayDecide: true,
        timer: { purpose: 'reminder', at: expect.any(String) },
      }),
    );
    const progress = await stack.call('GET', `/v1/periods/${periodId}`);
    expect(listed!.timer).toEqual(progress.body.nextTimer);
    expect((await pendingPeriod(periodId, stack.keys.operator.key))!.callerMayDecide).toBe(false);

    // Rejected: open for corrections, so a recalculation is refused (409), not accepted with nothing done.
    const approver = await stack.approver('rita-periods');
    const rejected = await stack.call('POST', `/v1/periods/${periodId}/reject`, {
      key: approver.key,
      body: { reason: 'wrong rates', totp: approver.code() },
    });
    expect(rejected.status).toBe(200);
    const until = Date.now() + 60_000;
    let stage = rejected.body.stage as string;
    while (stage !== 'open_for_corrections' && Date.now() < until) {
      await new Promise((r) => setTimeout(r, 100));
      stage = (await stack.call('GET', `/v1/periods/${periodId}`)).body.stage;
    }
    expect(stage).toBe('open_for_corrections');
    const recalc = await stack.call('POST', `/v1/periods/${periodId}/recalculate`, {
      key: stack.keys.operator.key,
      body: { planVersion: progress.body.planVersion },
    });
    expect(recalc.status).toBe(409);
    expect(recalc.body.detail).toBe(
      `period ${periodId} is open_for_corrections; recalculation is possible only before approval`,
    );
    expect(await pendingPeriod(periodId, stack.keys.approver.key)).toBeUndefined();
  });
});
