// Operator resolution of an unknown provider outcome, end to end: a payout whose provider neither confirms nor
// fails it passes its confirmation deadline into `unknown_outcome`, then its status-check deadline into
// operator `review`; an operator then resolves it over HTTP (POST /v1/payouts/:id/resolve). `paid` settles the
// payout; `not_paid` fails it over to the next provider, or fails it with the hold released when none is left.
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { sql } from '../../src/db/sql.ts';
import type { PayoutStateDoc } from '../../src/payouts/state.ts';
import { DEFAULT_SANDBOX_SCENARIO, listSandboxDisbursements } from '../../src/providers/index.ts';
import { type Stack, startStack } from '../support/stack.ts';

describe('unknown outcome → operator review → resolution', () => {
  let stack: Stack;
  beforeAll(async () => {
    // Scheduled payouts go to the batch rail, where the sandbox keeps a submission pending until its batch runs:
    // nothing settles it by itself, so the outcome stays unknown for as long as the test wants.
    stack = await startStack('unknown_outcome', {
      providers: [
        { name: 'alpha', capabilities: { priority: 1 } },
        { name: 'beta', capabilities: { priority: 2 } },
      ],
    });
  });
  afterEach(async () => {
    for (const s of stack.services.providers.sandboxes()) s.setScenario(DEFAULT_SANDBOX_SCENARIO);
    await stack.assertInvariants();
  });
  afterAll(async () => {
    await stack?.close();
  });

  const resolve = (payoutId: string, outcome: string, key = stack.keys.operator.key) =>
    stack.call('POST', `/v1/payouts/${payoutId}/resolve`, {
      key,
      body: { outcome, reason: 'checked the provider statement' },
    });

  async function outboxTypes(payoutId: string) {
    const rows = await sql<{ type: string }>(
      stack.db.em(),
      `SELECT type FROM "${stack.db.schema}".webhook_outbox WHERE id LIKE $1 ORDER BY occurred_at`,
      [`%${payoutId}%`],
    );
    return rows.map((r) => r.type);
  }

  async function wallet(payeeId: string) {
    const res = await stack.call('GET', `/v1/payees/${payeeId}/wallet`);
    return { available: res.body.balances[0].available.amount, held: res.body.balances[0].held.amount };
  }

  /** A scheduled payout driven through virtual time past both deadlines, into operator review. */
  async function payoutInReview(): Promise<{ payeeId: string; payoutId: string; review: PayoutStateDoc }> {
    const payeeId = await stack.createPayee({ credit: '10000' });
    const payoutId = await stack.requestPayout(payeeId, '5000', { instant: false });
    const scheduled = await stack.waitForState(payoutId, ['scheduled']);
    // Before review there is nothing to resolve.
    const early = await resolve(payoutId, 'paid');
    expect([early.status, early.body.kind]).toEqual([409, 'conflict']);
    const wait = Date.parse(scheduled.nextTimer!.at) - (await stack.temporal.currentTimeMs());
    await stack.temporal.sleep(Math.max(0, wait) + 1_000);
    await stack.waitForState(payoutId, ['awaiting_confirmation']);
    // Confirmation deadline (2h), then the unknown-outcome deadline (1h) of status checks.
    for (let i = 0; i < 24; i++) {
      await stack.temporal.sleep(15 * 60_000);
      const status = await stack.gateway.status(payoutId);
      if (status?.state === 'review') {
        expect(await outboxTypes(payoutId)).toEqual(
          expect.arrayContaining(['payout.unknown_outcome', 'payout.review']),
        );
        expect(status.attempts).toEqual([
          expect.objectContaining({ provider: 'alpha', outcome: 'unknown', idempotencyKey: `${payoutId}:1` }),
        ]);
        expect(status.nextTimer?.purpose).toBe('review_recheck');
        expect(await wallet(payeeId)).toEqual({ available: '5000', held: '5000' });
        const api = await stack.call('GET', `/v1/payouts/${payoutId}`);
        expect(api.body.state).toBe('review');
        return { payeeId, payoutId, review: status };
      }
    }
    throw new Error(
      `payout ${payoutId} never reached review: ${JSON.stringify(await stack.gateway.status(payoutId))}`,
    );
  }

  it('a return the provider reports only through its status is settled and then reversed to the wallet', async () => {
    const { payeeId, payoutId } = await payoutInReview();
    // The provider paid and the bank returned it, and no webhook ever said so: only status() knows.
    await sql(
      stack.db.em(),
      `UPDATE "${stack.db.schema}".sandbox_disbursements
          SET state = 'returned', paid_at = now(), returned_at = now(), reason = 'returned: account_closed'
        WHERE idempotency_key = $1`,
      [`${payoutId}:1`],
    );
    const final = await stack.result(payoutId); // the next review re-check asks the provider
    expect(final.state).toBe('returned');
    expect(final.attempts).toEqual([expect.objectContaining({ provider: 'alpha', outcome: 'paid' })]);
    const api = await stack.call('GET', `/v1/payouts/${payoutId}`);
    expect(api.body.ledger.map((l: { step: string }) => l.step)).toEqual(['hold', 'settle', 'return']);
    expect(await wallet(payeeId)).toEqual({ available: '10000', held: '0' });
  });

  it('resolved as paid (the provider did pay): the payout settles, and no other provider is tried', async () => {
    const { payeeId, payoutId } = await payoutInReview();
    const res = await resolve(payoutId, 'paid');
    expect(res.status).toBe(200);
    expect(res.body.id).toBe(payoutId);
    // The provider's records agree: its batch pays the payout. (Run only after the verdict: the sandbox posts
    // its webhook at once, which would otherwise race the operator and settle the payout first.)
    await stack.sandbox('alpha').runBatch();
    const final = await stack.result(payoutId);
    expect(final.state).toBe('paid');
    expect(final.attempts).toEqual([expect.objectContaining({ provider: 'alpha', outcome: 'paid' })]);
    expect(final.reasons).toEqual(
      expect.arrayContaining([
        { code: 'operator_resolution', message: expect.stringMatching(/^olga resolved as paid: /) },
      ]),
    );
    const api = await stack.call('GET', `/v1/payouts/${payoutId}`);
    expect(api.body.ledger.map((l: { step: string }) => l.step)).toEqual(['hold', 'settle']);
    expect(await wallet(payeeId)).toEqual({ available: '5000', held: '0' });
    const rows = await listSandboxDisbursements(stack.db, { payoutId });
    expect(rows.map((r) => [r.provider, r.state])).toEqual([['alpha', 'paid']]);
    // Only once.
    const again = await resolve(payoutId, 'not_paid');
    expect([again.status, again.contentType.includes('problem+json')]).toEqual([409, true]);
  });

  it('resolved as not paid: the payout fails over to the next provider, which pays it', async () => {
    // Alpha's batch will fail this payout: the operator's verdict is the truth.
    stack.sandbox('alpha').setScenario({ asyncFailureRateBps: 10_000 });
    const { payoutId } = await payoutInReview();
    expect((await resolve(payoutId, 'not_paid')).status).toBe(200);
    await stack.sandbox('alpha').runBatch(); // alpha's records agree: failed
    const final = await stack.resultWithBatches(payoutId, 'beta');
    expect(final.state).toBe('paid');
    expect(final.attempts.map((a) => [a.provider, a.outcome])).toEqual([
      ['alpha', 'not_paid'],
      ['beta', 'paid'],
    ]);
    expect(final.reasons.map((r) => r.code)).toContain('operator_resolution');
    const rows = await listSandboxDisbursements(stack.db, { payoutId });
    expect(rows.map((r) => [r.provider, r.state]).sort()).toEqual([
      ['alpha', 'failed'],
      ['beta', 'paid'],
    ]);
  });

  it('resolved as not paid with no provider left to pay: the payout fails and the hold is released', async () => {
    stack.sandbox('alpha').setScenario({ asyncFailureRateBps: 10_000 });
    stack.sandbox('beta').setScenario({ declineRateBps: 10_000 });
    const { payeeId, payoutId } = await payoutInReview();
    expect((await resolve(payoutId, 'not_paid')).status).toBe(200);
    await stack.sandbox('alpha').runBatch(); // alpha's records agree: failed
    const final = await stack.result(payoutId);
    expect(final.state).toBe('failed');
    expect(final.attempts.map((a) => [a.provider, a.outcome])).toEqual([
      ['alpha', 'not_paid'],
      ['beta', 'declined'],
    ]);
    expect(final.reasons.at(-1)?.code).toBe('all_providers_failed');
    const api = await stack.call('GET', `/v1/payouts/${payoutId}`);
    expect(api.body.ledger.map((l: { step: string }) => l.step)).toEqual(['hold', 'release']);
    expect(await wallet(payeeId)).toEqual({ available: '10000', held: '0' });
    expect(await outboxTypes(payoutId)).toContain('payout.failed');
  });

  it('only an operator resolves, and only with paid or not_paid', async () => {
    const { payoutId } = await payoutInReview();
    for (const key of [stack.keys.platform.key, stack.keys.approver.key]) {
      const res = await resolve(payoutId, 'paid', key);
      expect([res.status, res.body.kind]).toEqual([403, 'forbidden']);
    }
    const bad = await resolve(payoutId, 'maybe');
    expect(bad.status).toBe(400);
    expect(bad.contentType).toContain('application/problem+json');
    expect((await stack.gateway.status(payoutId))?.state).toBe('review');
    // Leave it settled: the operator says paid, and alpha's batch pays it.
    expect((await resolve(payoutId, 'paid')).status).toBe(200);
    await stack.sandbox('alpha').runBatch();
    expect((await stack.result(payoutId)).state).toBe('paid');
  });

  // The provider may still hold the attempt (a batch not yet run): it is cancelled there before failing over,
  // so it cannot pay after the next provider has (patch payout-stop-attempt-before-operator-failover).
  it('resolved as not paid while the first provider still holds the attempt: it is cancelled there before failing over', async () => {
    const { payoutId } = await payoutInReview();
    const key = `${payoutId}:1`;
    try {
      expect((await stack.sandbox('alpha').disbursement(key))?.state).toBe('pending');
      expect((await resolve(payoutId, 'not_paid')).status).toBe(200);
      const final = await stack.resultWithBatches(payoutId, 'beta');
      expect(final.attempts.map((a) => [a.provider, a.outcome])).toEqual([
        ['alpha', 'not_paid'],
        ['beta', 'paid'],
      ]);
      // Alpha's attempt must not be able to pay any more.
      expect((await stack.sandbox('alpha').disbursement(key))?.state).not.toBe('pending');
    } finally {
      // Whatever the outcome, keep alpha's next batch from paying this payout a second time.
      await stack.sandbox('alpha').cancel(key);
    }
  });
});
