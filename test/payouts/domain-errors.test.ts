// No input may wedge a payout, outside the database too: a payout in an asset that is taken out of
// DISBURSE_ASSETS while the payout waits for approval (a redeploy with a shorter list) can no longer be
// booked. The settlement after an instant payment fails with the money module's error; no retry can fix it,
// so the payout ends in review with the reason (the step and what went wrong) instead of retrying forever.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { configureAssets, parseAssetList } from '../../src/money/currency.ts';
import { decideApprovalUpdate } from '../../workflows/payout-contract.ts';
import { type Stack, startStack } from '../support/stack.ts';

const ASSETS = 'USDC:6,EURC:6,PTS:2';

describe('a domain error no retry can fix ends a payout in review', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack('domain-errors', {
      providers: [{ name: 'sandbox', capabilities: { currencies: ['USD', 'PTS'] } }],
      env: {
        DISBURSE_ASSETS: ASSETS,
        APPROVAL_THRESHOLD_SINGLE: 'USD:100000',
        APPROVAL_THRESHOLD_DUAL: 'USD:1000000',
        PAYOUT_INSTANT_LIMITS: 'USD:500000,PTS:500000',
      },
    });
    // Every loadConfig installs its asset list, and createTestDatabase's (process.env) came last.
    configureAssets(parseAssetList(ASSETS));
  });
  afterAll(async () => {
    configureAssets(parseAssetList(ASSETS));
    await stack?.close();
  });

  it('a payout whose asset is no longer configured when it is approved goes to review, naming the step', async () => {
    const payeeId = await stack.createPayee();
    await stack.credit(payeeId, '30000', 'PTS');
    const requested = stack.expectStatus(
      await stack.call('POST', '/v1/payouts', {
        body: {
          payeeId,
          amount: { amount: '15000', currency: 'PTS', scale: 2 },
          method: 'bank_transfer',
          instant: true,
        },
      }),
      202,
      'request payout',
    );
    const payoutId = requested.body.id as string;
    // No thresholds for PTS: the strictest control, two approvers.
    await stack.waitForState(payoutId, ['pending_approval']);

    // The redeploy: PTS is gone from the asset list while the payout waits.
    configureAssets(parseAssetList('USDC:6,EURC:6'));
    try {
      for (const actor of ['alice-domain', 'bob-domain']) {
        await stack.handle(payoutId).executeUpdate(decideApprovalUpdate, {
          args: [{ approver: { actor, role: 'approver' }, decision: 'approve', reason: 'checked' }],
        });
      }
      const final = await stack.result(payoutId);
      expect(final.state).toBe('review');
      expect(final.nextTimer).toBeUndefined();
      const reason = final.reasons.find((r) => r.code === 'data_error');
      // The sandbox paid (instant); booking the settlement in PTS is what cannot be done any more.
      expect(reason?.message).toMatch(
        /^step settleAndRecord failed for a data reason and cannot succeed on retry: /,
      );
      expect(reason?.message).toMatch(/unknown currency "PTS"/);
      expect(reason?.message).toContain('funds kept');
      expect(final.attempts).toEqual([expect.objectContaining({ attemptNo: 1, outcome: 'paid' })]);
      // The row says the same as the workflow.
      const res = stack.expectStatus(await stack.call('GET', `/v1/payouts/${payoutId}`), 200, 'get payout');
      expect(res.body.state).toBe('review');
    } finally {
      configureAssets(parseAssetList(ASSETS));
    }
    // Not stack.assertInvariants(): the money left while its settlement is unbooked, for review to resolve.
    const wallet = stack.expectStatus(await stack.call('GET', `/v1/payees/${payeeId}/wallet`), 200, 'wallet');
    expect(wallet.body.balances).toContainEqual(
      expect.objectContaining({ held: expect.objectContaining({ amount: '15000', currency: 'PTS' }) }),
    );
  });
});
