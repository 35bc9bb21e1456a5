// Cancelling payouts over HTTP (POST /v1/payouts/:id/cancel): a payout still waiting (for approval, or for its
// payout window) is cancelled with its hold released and nothing sent to a provider; a paid payout is not.
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { listSandboxDisbursements } from '../../src/providers/index.ts';
import { type Stack, startStack } from '../support/stack.ts';

describe('payout cancellation over HTTP', () => {
  let stack: Stack;
  beforeAll(async () => {
    // Above 1,000.00 one approver is needed (the default threshold, spelled out).
    stack = await startStack('cancel', {
      env: { APPROVAL_THRESHOLD_SINGLE: 'USD:100000', APPROVAL_THRESHOLD_DUAL: 'USD:1000000' },
    });
  });
  afterEach(async () => {
    await stack.assertInvariants();
  });
  afterAll(async () => {
    await stack?.close();
  });

  async function balance(payeeId: string) {
    const wallet = stack.expectStatus(await stack.call('GET', `/v1/payees/${payeeId}/wallet`), 200, 'wallet');
    const [b] = wallet.body.balances;
    return { available: b.available.amount as string, held: b.held.amount as string };
  }

  async function cancel(payoutId: string, key?: string) {
    return stack.call('POST', `/v1/payouts/${payoutId}/cancel`, {
      ...(key ? { key } : {}),
      body: { reason: 'payee asked to stop it' },
    });
  }

  /** After a cancellation: state cancelled, hold released, wallet as before, the provider never asked. */
  async function expectCancelled(payoutId: string, payeeId: string, credited: string) {
    const final = await stack.result(payoutId);
    expect(final.state).toBe('cancelled');
    expect(final.attempts).toEqual([]);
    expect(final.reasons.at(-1)).toMatchObject({ code: 'cancelled' });
    expect(final.reasons.at(-1)?.message).toContain('payee asked to stop it');
    const res = stack.expectStatus(await stack.call('GET', `/v1/payouts/${payoutId}`), 200, 'get payout');
    expect(res.body.state).toBe('cancelled');
    expect(res.body.ledger.map((l: { step: string }) => l.step)).toEqual(['hold', 'release']);
    expect(await balance(payeeId)).toEqual({ available: credited, held: '0' });
    expect(await listSandboxDisbursements(stack.db, { payoutId })).toEqual([]);
  }

  it('cancels a payout waiting for approval: hold released, nothing disbursed', async () => {
    const payeeId = await stack.createPayee({ credit: '300000' });
    const payoutId = await stack.requestPayout(payeeId, '150000');
    await stack.waitForState(payoutId, ['pending_approval']);
    expect(await balance(payeeId)).toEqual({ available: '150000', held: '150000' });

    const res = await cancel(payoutId, stack.keys.operator.key);
    expect(res.status).toBe(200);
    expect(res.body.id).toBe(payoutId);
    await expectCancelled(payoutId, payeeId, '300000');
  });

  it('cancels a payout scheduled into a payout window, by the payee who asked for it', async () => {
    const payeeId = await stack.createPayee({ credit: '10000' });
    const token = stack.expectStatus(
      await stack.call('POST', `/v1/payees/${payeeId}/tokens`, { body: {} }),
      201,
      'token',
    ).body.token as string;
    const payoutId = await stack.requestPayout(payeeId, '4000', { instant: false, key: token });
    const scheduled = await stack.waitForState(payoutId, ['scheduled']);
    expect(scheduled.nextTimer?.purpose).toBe('payout_window');
    expect(await balance(payeeId)).toEqual({ available: '6000', held: '4000' });

    const res = await cancel(payoutId, token);
    expect(res.status).toBe(200);
    await expectCancelled(payoutId, payeeId, '10000');
  });

  it('refuses to cancel a paid payout (409 problem+json) and changes nothing', async () => {
    const payeeId = await stack.createPayee({ credit: '10000' });
    const payoutId = await stack.requestPayout(payeeId, '5000');
    // Paid; its workflow may still be open (draining) or closed: refused either way, saying paid.
    await stack.waitForState(payoutId, ['paid']);
    const before = await balance(payeeId);

    const res = await cancel(payoutId);
    expect(res.status).toBe(409);
    expect(res.contentType).toContain('application/problem+json');
    expect(res.body).toMatchObject({ status: 409, kind: 'conflict' });
    expect(res.body.detail).toMatch(/paid/);

    expect((await stack.result(payoutId)).state).toBe('paid');
    expect(await balance(payeeId)).toEqual(before);
    const rows = await listSandboxDisbursements(stack.db, { payoutId });
    expect(rows.map((r) => r.state)).toEqual(['paid']);
  });

  it('refuses to cancel a payout whose workflow has finished (409 problem+json)', async () => {
    const payeeId = await stack.createPayee({ credit: '10000' });
    const payoutId = await stack.requestPayout(payeeId, '5000');
    expect((await stack.result(payoutId)).state).toBe('paid'); // the workflow ends at paid

    const res = await cancel(payoutId);
    expect(res.status).toBe(409);
    expect(res.contentType).toContain('application/problem+json');
    expect(res.body.kind).toBe('conflict');
    const after = await stack.call('GET', `/v1/payouts/${payoutId}`);
    expect(after.body.state).toBe('paid');
  });

  it('a cancelled payout cannot be cancelled again', async () => {
    const payeeId = await stack.createPayee({ credit: '300000' });
    const payoutId = await stack.requestPayout(payeeId, '150000');
    await stack.waitForState(payoutId, ['pending_approval']);
    expect((await cancel(payoutId)).status).toBe(200);
    await expectCancelled(payoutId, payeeId, '300000');
    const again = await cancel(payoutId);
    expect(again.status).toBe(409);
    expect(again.contentType).toContain('application/problem+json');
    expect(await balance(payeeId)).toEqual({ available: '300000', held: '0' });
  });
});
