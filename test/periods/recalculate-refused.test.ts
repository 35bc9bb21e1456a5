// A recalculation the period workflow's validator rejects is refused where it is asked: the gateway throws
// the validator's reason, and the API answers 409 (never 202 with nothing done), also when two requests race.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { PeriodDecisionRefused } from '../../src/periods/gateway.ts';
import { type Stack, startStack } from '../support/stack.ts';

let stack: Stack;
const periodId = '2026-04';

beforeAll(async () => {
  stack = await startStack('recalc_refused', {
    env: { PERIOD_APPROVAL_REMINDER: '1h', PERIOD_APPROVAL_ESCALATION: '2h' },
  });
}, 120_000);
afterAll(async () => {
  await stack?.close();
});

describe('a rejected recalculation', () => {
  it('two racing requests: each 202 is a run calculated, the other is 409', async () => {
    const payeeId = await stack.createPayee();
    const sale = {
      externalId: `recalc-refused-${payeeId}`,
      payeeId,
      type: 'sale',
      amount: { amount: '40000', currency: 'USD', scale: 2 },
      occurredAt: '2026-04-10T10:00:00Z',
      volume: 40,
    };
    stack.expectStatus(await stack.call('POST', '/v1/earnings', { body: { events: [sale] } }), 200, 'sale');
    await stack.closePeriod(periodId, { key: stack.keys.operator.key });
    const first = await stack.waitForPeriod(periodId, (p) => p.stage === 'awaiting_approval' && p.run === 1);
    expect([first.stage, first.run]).toEqual(['awaiting_approval', 1]);

    // Whichever way they interleave, a 202 means the workflow accepted it, so the run count tells.
    const ask = () =>
      stack.call('POST', `/v1/periods/${periodId}/recalculate`, {
        key: stack.keys.operator.key,
        body: { planVersion: first.planVersion },
      });
    const answers = await Promise.all([ask(), ask()]);
    const accepted = answers.filter((a) => a.status === 202).length;
    for (const a of answers) expect([202, 409]).toContain(a.status);
    expect(accepted).toBeGreaterThanOrEqual(1);
    for (const refused of answers.filter((a) => a.status === 409))
      expect(refused.body.detail).toMatch(
        /recalculation is possible only before approval|being recalculated/,
      );
    const after = await stack.waitForPeriod(
      periodId,
      (p) => p.stage === 'awaiting_approval' && p.run >= 1 + accepted,
    );
    expect([after.stage, after.run]).toEqual(['awaiting_approval', 1 + accepted]);
  });

  it('the gateway throws the validator reason; the API answers 409 and records nothing', async () => {
    const approver = await stack.approver('rhea-recalc');
    stack.expectStatus(
      await stack.call('POST', `/v1/periods/${periodId}/reject`, {
        key: approver.key,
        body: { reason: 'rates were wrong', totp: approver.code() },
      }),
      200,
      'reject',
    );
    const reopened = await stack.waitForPeriod(periodId, (p) => p.stage === 'open_for_corrections');
    expect(reopened.stage).toBe('open_for_corrections');

    // Past the route's own stage check: the workflow's validator refuses, and the gateway says so.
    const refused = stack.periodGateway.startRecalculation(
      periodId,
      { actor: 'olga', role: 'operator' },
      reopened.planVersion,
    );
    await expect(refused).rejects.toThrow(PeriodDecisionRefused);
    await expect(refused).rejects.toThrow(
      `period ${periodId} is open_for_corrections; recalculation is possible only before approval`,
    );

    const res = await stack.call('POST', `/v1/periods/${periodId}/recalculate`, {
      key: stack.keys.operator.key,
      body: { planVersion: reopened.planVersion },
    });
    expect([res.status, res.contentType]).toEqual([409, 'application/problem+json; charset=utf-8']);
    const still = await stack.periodProgress(periodId);
    expect([still.stage, still.run]).toEqual(['open_for_corrections', reopened.run]);
  });
});
