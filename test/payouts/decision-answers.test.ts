// A decision's HTTP answer shows the payout after the decision, as committed: approve, reject, cancel,
// compliance-clear and resolve each answer once the workflow acted on the decision (its ledger steps and the
// recorded state), never with the state the decision was taken in.
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { sql } from '../../src/db/sql.ts';
import { type CallResult, type Stack, startStack } from '../support/stack.ts';

describe('decision answers', () => {
  let stack: Stack;
  beforeAll(async () => {
    // Above 100.00 one approver.
    stack = await startStack('decision_answers', {
      env: { APPROVAL_THRESHOLD_SINGLE: 'USD:10000', APPROVAL_THRESHOLD_DUAL: 'USD:10000000' },
    });
  });
  afterEach(async () => {
    await stack.assertInvariants();
  });
  afterAll(async () => {
    await stack?.close();
  });

  /** The state the database holds for the payout (what the workflow recorded). */
  async function recorded(payoutId: string): Promise<string | undefined> {
    const rows = await sql<{ state: string }>(
      stack.db.em(),
      `SELECT state FROM "${stack.db.schema}".payouts WHERE id = $1`,
      [payoutId],
    );
    return rows[0]?.state;
  }

  /**
   * The answer is 200 with a state other than `before`, already committed: the database holds that state, or
   * one of `later` when the payout went on at once (a provider paying instantly).
   */
  async function answered(res: CallResult, payoutId: string, before: string, later: string[] = []) {
    stack.expectStatus(res, 200, 'decision');
    expect(res.body.state).not.toBe(before);
    expect([res.body.state, ...later]).toContain(await recorded(payoutId));
    return res.body;
  }
  const ON_ITS_WAY = ['submitting', 'awaiting_confirmation', 'scheduled', 'paid'];

  async function awaitingApproval(): Promise<string> {
    const payeeId = await stack.createPayee({ credit: '50000' });
    const payoutId = await stack.requestPayout(payeeId, '20000');
    await stack.waitForState(payoutId, ['pending_approval']);
    return payoutId;
  }

  it('approve answers with the payout on its way to the provider', async () => {
    const alice = await stack.approver('alice-answers');
    const payoutId = await awaitingApproval();
    const res = await stack.call('POST', `/v1/payouts/${payoutId}/approve`, {
      key: alice.key,
      body: { reason: 'looks right', totp: alice.code() },
    });
    const body = await answered(res, payoutId, 'pending_approval', ON_ITS_WAY);
    expect(ON_ITS_WAY).toContain(body.state);
    expect(body.approvals).toEqual([
      expect.objectContaining({ actor: 'alice-answers', decision: 'approve' }),
    ]);
    expect((await stack.result(payoutId)).state).toBe('paid');
  });

  it('a first approval of two answers with the payout still waiting for the second', async () => {
    const [ann, bob] = [await stack.approver('ann-answers'), await stack.approver('bob-answers')];
    const payeeId = await stack.createPayee({ credit: '20000000' });
    const payoutId = await stack.requestPayout(payeeId, '10000001');
    expect((await stack.waitForState(payoutId, ['pending_approval'])).approvalsRequired).toBe(2);
    const first = stack.expectStatus(
      await stack.call('POST', `/v1/payouts/${payoutId}/approve`, {
        key: ann.key,
        body: { reason: 'first look', totp: ann.code() },
      }),
      200,
      'first approval',
    );
    expect(first.body.state).toBe('pending_approval');
    expect(first.body.approvals).toHaveLength(1);
    const second = await stack.call('POST', `/v1/payouts/${payoutId}/approve`, {
      key: bob.key,
      body: { reason: 'second look', totp: bob.code() },
    });
    expect(ON_ITS_WAY).toContain((await answered(second, payoutId, 'pending_approval', ON_ITS_WAY)).state);
  });

  it('reject answers rejected, with the hold already released', async () => {
    const alice = await stack.approver('alice-rejects');
    const payoutId = await awaitingApproval();
    const res = await stack.call('POST', `/v1/payouts/${payoutId}/reject`, {
      key: alice.key,
      body: { reason: 'unknown payee', totp: alice.code() },
    });
    const body = await answered(res, payoutId, 'pending_approval');
    expect(body.state).toBe('rejected');
    expect(body.ledger.map((l: { step: string }) => l.step)).toEqual(['hold', 'release']);
  });

  it('cancel answers cancelled, with the hold already released', async () => {
    const payoutId = await awaitingApproval();
    const res = await stack.call('POST', `/v1/payouts/${payoutId}/cancel`, {
      body: { reason: 'payee asked to stop it' },
    });
    const body = await answered(res, payoutId, 'pending_approval');
    expect(body.state).toBe('cancelled');
    expect(body.ledger.map((l: { step: string }) => l.step)).toEqual(['hold', 'release']);
  });

  it('the same decision sent again under its update id gets the same answer, not a refusal', async () => {
    // What a request retried with its Idempotency-Key does once its first try's response was lost.
    const payoutId = await awaitingApproval();
    const by = { actor: 'acme-backend', role: 'platform' as const };
    const first = await stack.gateway.cancel(payoutId, by, 'payee asked', 'cancel-once');
    const again = await stack.gateway.cancel(payoutId, by, 'payee asked', 'cancel-once');
    expect(first.state).toBe('cancelled');
    expect(again).toEqual(first);
    // Another update id is another cancel: refused (by the validator, or because the workflow has closed:
    // then by the workflow's end or by the row's final state).
    await expect(stack.gateway.cancel(payoutId, by, 'payee asked', 'cancel-twice')).rejects.toThrow(
      /is cancelled|has finished|is final/,
    );
  });

  it('compliance-clear answers with the payout gone on, and refuses one not on hold', async () => {
    const payeeId = await stack.createPayee({ credit: '50000', payee: { kycStatus: 'pending' } });
    const payoutId = await stack.requestPayout(payeeId, '5000');
    await stack.waitForState(payoutId, ['compliance_hold']);
    const clear = () =>
      stack.call('POST', `/v1/payouts/${payoutId}/compliance-clear`, {
        key: stack.keys.operator.key,
        body: { reason: 'KYC documents verified manually' },
      });
    const body = await answered(await clear(), payoutId, 'compliance_hold', ON_ITS_WAY);
    expect(ON_ITS_WAY).toContain(body.state);
    expect(body.reasons.map((r: { code: string }) => r.code)).toContain('compliance_cleared');
    // Refused by the running workflow, or, paid at once with no webhook to deliver, by its end: then from
    // the row (the workflow may close before, or while, this update reaches it).
    const again = await clear();
    expect([again.status, again.body.kind]).toEqual([409, 'conflict']);
    expect(again.body.detail).toMatch(/not on compliance hold|has finished; there is nothing to clear/);
    expect((await stack.result(payoutId)).state).toBe('paid');
    // Once the workflow has closed there is nothing to clear either; the answer says where it ended.
    const closed = await clear();
    expect([closed.status, closed.body.kind]).toEqual([409, 'conflict']);
    expect(closed.body.detail).toContain('has finished; there is nothing to clear (the payout is paid)');
  });

  it('resolve answers with the verdict carried out: not paid, no provider left, failed and released', async () => {
    // Destination ending 0004: the sandbox loses the submission, so the outcome is unknown.
    const payeeId = await stack.createPayee({
      credit: '50000',
      bankAccount: { accountNumber: '7700000004' },
    });
    const payoutId = await stack.requestPayout(payeeId, '5000');
    await stack.waitForState(payoutId, ['unknown_outcome']);
    const res = await stack.call('POST', `/v1/payouts/${payoutId}/resolve`, {
      key: stack.keys.operator.key,
      body: { outcome: 'not_paid', reason: 'the provider has no record of it' },
    });
    const body = await answered(res, payoutId, 'unknown_outcome');
    expect(body.state).toBe('failed');
    expect(body.ledger.map((l: { step: string }) => l.step)).toEqual(['hold', 'release']);
  });
});
