// Search attributes of the payout workflow (what operators filter on in Temporal UI): PayeeId, PayoutState,
// PayoutAmount, Currency, Provider and, for a period's payouts, PeriodId — read back by describing the workflow
// through the Temporal client, while it waits and after it completes.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { newPayoutFrom } from '../../src/payouts/service.ts';
import type { PayoutInput } from '../../src/payouts/state.ts';
import { PayoutStore } from '../../src/payouts/store.ts';
import { type Stack, startStack } from '../support/stack.ts';

describe('payout search attributes', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack('search_attributes', {
      env: { APPROVAL_THRESHOLD_SINGLE: 'USD:100000', APPROVAL_THRESHOLD_DUAL: 'USD:1000000' },
    });
  });
  afterAll(async () => {
    await stack?.assertInvariants();
    await stack?.close();
  });

  /**
   * The workflow's search attributes as the server returns them in DescribeWorkflowExecution, one value each.
   * (The untyped view: bin/temporal-dev returns the payloads without their `type` metadata, so the SDK's typed
   * view is empty there — see the failing test at the end.)
   */
  async function attributes(payoutId: string): Promise<Record<string, unknown>> {
    const description = await stack.handle(payoutId).describe();
    const out: Record<string, unknown> = {};
    const untyped: Record<string, readonly unknown[] | undefined> = description.searchAttributes;
    for (const [name, values = []] of Object.entries(untyped)) {
      if (name !== 'TemporalChangeVersion') out[name] = values.length === 1 ? values[0] : values;
    }
    return out;
  }

  it('a completed instant payout carries payee, final status, amount, currency and provider', async () => {
    const payeeId = await stack.createPayee({ credit: '50000' });
    const payoutId = await stack.requestPayout(payeeId, '12345');
    expect((await stack.result(payoutId)).state).toBe('paid');
    expect((await stack.handle(payoutId).describe()).status.name).toBe('COMPLETED');
    expect(await attributes(payoutId)).toMatchObject({
      PayeeId: payeeId,
      PayoutState: 'paid',
      PayoutAmount: 12345,
      Currency: 'USD',
      Provider: 'sandbox',
    });
    expect(await attributes(payoutId)).not.toHaveProperty('PeriodId');
  });

  it('follow the state while the payout waits, and end with the final one', async () => {
    const payeeId = await stack.createPayee({ credit: '300000' });
    const payoutId = await stack.requestPayout(payeeId, '150000');
    await stack.waitForState(payoutId, ['pending_approval']);
    const waiting = await attributes(payoutId);
    expect(waiting).toMatchObject({
      PayeeId: payeeId,
      PayoutState: 'pending_approval',
      PayoutAmount: 150000,
      Currency: 'USD',
    });
    expect(waiting).not.toHaveProperty('Provider'); // no provider asked yet
    stack.expectStatus(
      await stack.call('POST', `/v1/payouts/${payoutId}/cancel`, { body: { reason: 'changed my mind' } }),
      200,
      'cancel',
    );
    expect((await stack.result(payoutId)).state).toBe('cancelled');
    expect(await attributes(payoutId)).toMatchObject({ PayeeId: payeeId, PayoutState: 'cancelled' });
  });

  it("a period's payout carries its PeriodId", async () => {
    const payeeId = await stack.createPayee({ credit: '10000' });
    const payoutId = 'po_searchattributes00000001';
    // Started as a fan-out starts it: the row first, then the workflow, which reads it.
    const input: PayoutInput = {
      payoutId,
      payeeId,
      amount: { amount: '4000', currency: 'USD', scale: 2 },
      method: 'bank_transfer',
      instantRequested: true,
      requestedBy: { actor: 'period-close', role: 'platform' },
      periodId: '2026-11',
    };
    await new PayoutStore(stack.db.schema).insert(stack.db.em(), newPayoutFrom(input));
    await stack.gateway.start(input);
    expect((await stack.result(payoutId)).state).toBe('paid');
    expect(await attributes(payoutId)).toMatchObject({
      PayeeId: payeeId,
      PayoutState: 'paid',
      PayoutAmount: 4000,
      Currency: 'USD',
      Provider: 'sandbox',
      PeriodId: '2026-11',
    });
  });

  // Typed clients read attributes with the type the server's registry gives them (bin/temporal-dev adds it as a
  // real server does).
  it('typed clients see the same attributes with their registered types', async () => {
    const payeeId = await stack.createPayee({ credit: '10000' });
    const payoutId = await stack.requestPayout(payeeId, '3000');
    expect((await stack.result(payoutId)).state).toBe('paid');
    const typed = (await stack.handle(payoutId).describe()).typedSearchAttributes.getAll();
    expect(Object.fromEntries(typed.map((p) => [p.key.name, [p.key.type, p.value]]))).toMatchObject({
      PayeeId: ['KEYWORD', payeeId],
      PayoutState: ['KEYWORD', 'paid'],
      PayoutAmount: ['INT', 3000],
      Currency: ['KEYWORD', 'USD'],
      Provider: ['KEYWORD', 'sandbox'],
    });
  });
});
