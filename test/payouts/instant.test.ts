import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { type Stack, startStack } from '../support/stack.ts';

describe('payout: instant path', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack('instant');
  });
  afterAll(async () => {
    await stack?.close();
  });

  it('pays instantly through the sandbox with the instant fee as its own ledger leg', async () => {
    const payeeId = await stack.createPayee({ credit: '50000' });
    const payoutId = await stack.requestPayout(payeeId, '20000');
    const final = await stack.result(payoutId);
    expect(final.state).toBe('paid');
    expect(final.rail).toBe('instant');
    expect(final.attempts).toHaveLength(1);
    expect(final.attempts[0]).toMatchObject({
      provider: 'sandbox',
      outcome: 'paid',
      idempotencyKey: `${payoutId}:1`,
    });
    // Default fee: 0.25 + 1% of 200.00 = 2.25
    expect(final.fee?.amount).toBe('225');

    const res = stack.expectStatus(await stack.call('GET', `/v1/payouts/${payoutId}`), 200, 'get payout');
    expect(res.body.state).toBe('paid');
    expect(res.body.ledger.map((l: { step: string }) => l.step)).toEqual(['hold', 'settle']);

    const wallet = stack.expectStatus(await stack.call('GET', `/v1/payees/${payeeId}/wallet`), 200, 'wallet');
    expect(wallet.body.balances[0].available.amount).toBe('30000');
    expect(wallet.body.balances[0].held.amount).toBe('0');
    const disbursed = await stack.sandbox().disbursement(`${payoutId}:1`);
    // The provider pays the net: 200.00 - 2.25 fee (W-9 on file: no withholding).
    expect(disbursed).toMatchObject({ amountMinor: 19775n, state: 'paid', rail: 'instant' });
    await stack.assertInvariants();
  });
});
