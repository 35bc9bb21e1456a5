// Approval of a period: reminder and escalation timers (time-skipping), dual control above the threshold,
// rejection back to open-for-corrections, corrections, closing again, then approval by two approvers.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { CompletionSummary } from '../../workflows/period-contract.ts';
import { type Stack, startStack } from '../support/stack.ts';

let stack: Stack;

beforeAll(async () => {
  stack = await startStack('periods-approval', {
    env: {
      // Short timers: they fire whether or not the stack holds time skipping locked between results.
      PERIOD_APPROVAL_REMINDER: '2s',
      PERIOD_APPROVAL_ESCALATION: '4s',
      PERIOD_DUAL_CONTROL_THRESHOLD: 'USD:1000',
    },
  });
}, 120_000);

afterAll(async () => {
  await stack?.close();
});

const usd = (amount: string) => ({ amount, currency: 'USD', scale: 2 });

describe('period approval', () => {
  it('reminds, escalates, reopens on rejection, and needs two distinct approvers above the threshold', async () => {
    const periodId = '2026-02';
    const payee = await stack.createPayee();
    const sale = (id: string, amount: string) => ({
      externalId: id,
      payeeId: payee,
      type: 'sale',
      amount: usd(amount),
      occurredAt: '2026-02-10T10:00:00Z',
      volume: 200,
    });
    expect(
      (await stack.call('POST', '/v1/earnings', { body: { events: [sale('a-1', '500000')] } })).status,
    ).toBe(200);
    await stack.closePeriod(periodId);
    const first = await stack.waitForPeriod(periodId, (p) => p.stage === 'awaiting_approval');
    expect(first.approvalsRequired).toBe(2); // total above USD 10.00

    // Nobody approves: a reminder after the first timer, an escalation after the second (webhook events).
    // Approvers see when the next reminder or the escalation is due, until it has escalated.
    if (!first.escalated) expect(first.nextTimer?.purpose).toBe(first.reminders ? 'escalation' : 'reminder');
    const reminded = await stack.waitForPeriod(periodId, (p) => p.reminders === 1);
    if (!reminded.escalated) {
      expect(reminded.nextTimer?.purpose).toBe('escalation');
      expect(Date.parse(reminded.nextTimer!.at)).toBeGreaterThan(0);
    }
    expect(await stack.services.outbox.get(`period.approval_reminder:${periodId}:1`)).toBeDefined();
    const escalated = await stack.waitForPeriod(periodId, (p) => p.escalated);
    expect(escalated.nextTimer).toBeUndefined();
    expect(await stack.services.outbox.get(`period.approval_escalation:${periodId}:1`)).toBeDefined();

    // Rejection needs TOTP and a reason; it reopens the period for corrections.
    const alice = await stack.approver('alice-approval');
    const bob = await stack.approver('bob-approval');
    const badTotp = await stack.call('POST', `/v1/periods/${periodId}/reject`, {
      key: alice.key,
      body: { totp: '000000', reason: 'wrong' },
    });
    expect(badTotp.status).toBe(403);
    const rejected = await stack.call('POST', `/v1/periods/${periodId}/reject`, {
      key: alice.key,
      body: { totp: alice.code(), reason: 'sale a-1 is missing its correction' },
    });
    expect(rejected.status).toBe(200);
    await stack.waitForPeriod(periodId, (p) => p.stage === 'open_for_corrections');
    const approveWhileOpen = await stack.call('POST', `/v1/periods/${periodId}/approve`, {
      key: bob.key,
      body: { totp: bob.code() },
    });
    expect(approveWhileOpen.status).toBe(409);

    // Corrections land in the period again; closing again recalculates (run 2).
    const correction = await stack.call('POST', '/v1/earnings', {
      body: {
        events: [
          {
            externalId: 'a-1-fix',
            payeeId: payee,
            type: 'adjustment',
            amount: usd('-1000'),
            occurredAt: '2026-02-11T10:00:00Z',
          },
        ],
      },
    });
    expect(correction.body).toMatchObject({ accepted: 1, periods: [{ periodId, events: 1 }] });
    const reclosed = await stack.closePeriod(periodId);
    expect(reclosed.body.workflow).toBe('resubmitted');
    const second = await stack.waitForPeriod(periodId, (p) => p.stage === 'awaiting_approval' && p.run === 2);
    expect(BigInt(second.calculation.totals.USD ?? '0')).toBe(
      BigInt(first.calculation.totals.USD ?? '0') - 1000n,
    );
    expect(second.lastDiff).toMatchObject({ fromRun: 1, toRun: 2, changedStatements: 1 });

    // Dual control: one approval is not enough, the same approver twice is refused, a second one completes.
    const a1Body = { totp: alice.code() };
    const a1 = await stack.call('POST', `/v1/periods/${periodId}/approve`, {
      key: alice.key,
      body: a1Body,
      idempotencyKey: 'period-approve-a1',
    });
    expect(a1.status).toBe(200);
    expect((await stack.periodProgress(periodId)).stage).toBe('awaiting_approval');
    // The same request retried (same Idempotency-Key, lease mode): the stored answer, one approval taken.
    const a1Again = await stack.call('POST', `/v1/periods/${periodId}/approve`, {
      key: alice.key,
      body: a1Body,
      idempotencyKey: 'period-approve-a1',
    });
    expect(a1Again.status).toBe(200);
    expect(a1Again.body).toEqual(a1.body);
    const run2Approvals = (await stack.periodProgress(periodId)).approvals.filter((x) => x.run === 2);
    expect(run2Approvals.map((x) => x.actor)).toEqual(['alice-approval']);
    const again = await stack.call('POST', `/v1/periods/${periodId}/approve`, {
      key: alice.key,
      body: { totp: alice.code() },
    });
    expect(again.status).toBe(409);
    expect(again.body.detail).toContain('already decided');
    const b1 = await stack.call('POST', `/v1/periods/${periodId}/approve`, {
      key: bob.key,
      body: { totp: bob.code() },
    });
    expect(b1.status).toBe(200);
    const summary = (await stack.periodGateway.handle(periodId).result()) as CompletionSummary;
    expect(summary.totals.USD).toBe(second.calculation.totals.USD);
    const [balance] = await stack.services.ledger.balances(payee);
    expect(balance?.available.amount).toBe(second.calculation.totals.USD);
    await stack.assertInvariants();
  }, 180_000);
});
