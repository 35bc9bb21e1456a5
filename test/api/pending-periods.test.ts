// The approver inbox (GET /v1/approvals/pending) lists a closed period awaiting approval with who approved,
// whether the caller may decide, and its next deadline (reminder, then escalation) from the period workflow.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { type Stack, startStack } from '../support/stack.ts';

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
    const closed = await stack.call('POST', `/v1/periods/${periodId}/close`, {
      key: stack.keys.operator.key,
      body: {},
    });
    expect(closed.status).toBe(202);
    const deadline = Date.now() + 60_000;
    let listed: PendingPeriod | undefined;
    while (!listed && Date.now() < deadline) {
      listed = await pendingPeriod(periodId, stack.keys.approver.key);
      if (!listed) await new Promise((r) => setTimeout(r, 100));
    }
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
  });
});
