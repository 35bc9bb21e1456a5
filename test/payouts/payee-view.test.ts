// What a payee token sees of its own payouts over HTTP: state, amounts, rail, timer and attempt outcomes, but
// no sanctions or risk details, no requester or approver identities; API keys keep seeing everything.
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { publicReasons } from '../../src/payouts/payee-view.ts';
import { type Stack, startStack } from '../support/stack.ts';

describe('payouts as a payee token sees them', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack('payee_view', {
      env: {
        APPROVAL_THRESHOLD_SINGLE: 'USD:10000000',
        APPROVAL_THRESHOLD_DUAL: 'USD:20000000',
        // Every new destination is in its cool-off: payouts are risk-flagged for one approval.
        RISK_DESTINATION_COOL_OFF: '72h',
      },
    });
  });
  afterEach(async () => {
    await stack.assertInvariants();
  });
  afterAll(async () => {
    await stack?.close();
  });

  async function tokenFor(payeeId: string): Promise<string> {
    const res = await stack.call('POST', `/v1/payees/${payeeId}/tokens`, { body: {} });
    return stack.expectStatus(res, 201, 'token').body.token;
  }

  const UNDER_REVIEW = { code: 'under_review', message: 'The payout is being reviewed before it is sent' };

  /** GET of one payout and the payee's list, as `key` sees them. */
  async function seen(payoutId: string, payeeId: string, key: string) {
    const one = stack.expectStatus(await stack.call('GET', `/v1/payouts/${payoutId}`, { key }), 200, 'get');
    const list = stack.expectStatus(
      await stack.call('GET', `/v1/payouts?payee=${payeeId}`, { key }),
      200,
      'list',
    );
    return { one, listed: list.body.items.find((p: { id: string }) => p.id === payoutId), list };
  }

  it('hides a sanctions match, the requester and who cancelled, behind under_review', async () => {
    const payeeId = await stack.createPayee({ credit: '10000', payee: { name: 'Ivan Sanctionov' } });
    const token = await tokenFor(payeeId);
    const created = await stack.call('POST', '/v1/payouts', {
      key: token,
      body: { payeeId, amount: { amount: '5000', currency: 'USD', scale: 2 }, method: 'bank_transfer' },
    });
    stack.expectStatus(created, 202, 'request');
    expect(created.body).not.toHaveProperty('requestedBy');
    const payoutId = created.body.id as string;
    await stack.waitForState(payoutId, ['compliance_hold']);

    const asPayee = await seen(payoutId, payeeId, token);
    for (const view of [asPayee.one.body, asPayee.listed]) {
      expect(view).toMatchObject({
        state: 'compliance_hold',
        amount: { amount: '5000', currency: 'USD', scale: 2 },
        reasons: [UNDER_REVIEW],
      });
      expect(view).not.toHaveProperty('requestedBy');
      expect(view).not.toHaveProperty('approvals');
    }
    expect(asPayee.one.body.nextTimer.purpose).toBe('compliance_wait');
    for (const text of [asPayee.one.text, asPayee.list.text]) {
      expect(text).not.toMatch(/sanction|SDN|SAMPLE|payee:/i);
    }

    const asOperator = await seen(payoutId, payeeId, stack.keys.operator.key);
    expect(asOperator.one.body.requestedBy).toBe(`payee:${payeeId}`);
    expect(asOperator.one.body.reasons).toContainEqual({
      code: 'sanctions_name_match',
      message: expect.stringContaining('SDN-0002'),
    });
    expect(asOperator.listed.reasons.map((r: { code: string }) => r.code)).toContain('sanctions_name_match');

    const cancel = await stack.call('POST', `/v1/payouts/${payoutId}/cancel`, {
      key: token,
      body: { reason: 'changed my mind' },
    });
    stack.expectStatus(cancel, 200, 'cancel');
    expect(cancel.text).not.toMatch(/sanction|SDN|payee:/i);
    expect((await stack.result(payoutId)).state).toBe('cancelled');
    const after = await seen(payoutId, payeeId, token);
    expect(after.one.body.reasons).toEqual([
      {
        code: 'cancelled',
        message: 'The payout was cancelled before it was sent; the funds are back in the wallet',
      },
    ]);
    expect(after.one.text).not.toMatch(/sanction|SDN|payee:|changed my mind/i);
    const full = await seen(payoutId, payeeId, stack.keys.platform.key);
    expect(full.one.body.reasons.at(-1).message).toContain(`payee:${payeeId}`);
  });

  it('hides risk codes and the approver of a risk-flagged payout, keeping rail and attempt outcomes', async () => {
    const payeeId = await stack.createPayee({ credit: '10000' });
    const token = await tokenFor(payeeId);
    const payoutId = await stack.requestPayout(payeeId, '4000');
    await stack.waitForState(payoutId, ['pending_approval']);
    const waiting = await seen(payoutId, payeeId, token);
    expect(waiting.one.body).toMatchObject({ state: 'pending_approval', reasons: [UNDER_REVIEW] });
    expect(waiting.one.text).not.toMatch(/cool|risk|acme-backend/i);

    const approver = await stack.approver('vera-approver');
    stack.expectStatus(
      await stack.call('POST', `/v1/payouts/${payoutId}/approve`, {
        key: approver.key,
        body: { reason: 'known payee, new bank verified by phone', totp: approver.code() },
      }),
      200,
      'approve',
    );
    // Risk-flagged payouts go on the batch rail: run the sandbox's batches until the payout is paid.
    let batching = true;
    const batches = (async () => {
      while (batching) {
        await stack.sandbox().runBatch();
        await new Promise((r) => setTimeout(r, 20));
      }
    })();
    const final = await stack.result(payoutId);
    batching = false;
    await batches;
    expect(final.state).toBe('paid');

    const asPayee = await seen(payoutId, payeeId, token);
    for (const view of [asPayee.one.body, asPayee.listed]) {
      expect(view).toMatchObject({
        state: 'paid',
        rail: 'scheduled',
        amount: { amount: '4000', currency: 'USD', scale: 2 },
        reasons: [{ code: 'route_scheduled', message: 'Scheduled for the next payout window' }],
        attempts: [{ attemptNo: 1, provider: 'sandbox', outcome: 'paid' }],
      });
      expect(view).not.toHaveProperty('approvals');
      expect(view).not.toHaveProperty('requestedBy');
      for (const attempt of view.attempts) expect(attempt).not.toHaveProperty('detail');
    }
    for (const text of [asPayee.one.text, asPayee.list.text]) {
      expect(text).not.toMatch(/vera|verified by phone|cool|risk|acme-backend/i);
    }

    const asPlatform = await seen(payoutId, payeeId, stack.keys.platform.key);
    expect(asPlatform.one.body.approvals).toEqual([
      expect.objectContaining({ actor: 'vera-approver', decision: 'approve' }),
    ]);
    expect(asPlatform.one.body.requestedBy).toBe('acme-backend');
    expect(asPlatform.one.body.reasons.map((r: { code: string }) => r.code)).toEqual([
      'destination_cool_off',
      'route_scheduled',
    ]);
  });

  it('maps every reason to what a payee may read', () => {
    const r = (code: string, message = `internal ${code} detail`) => ({ code, message });
    const cases: [Parameters<typeof publicReasons>[0], string[], { code: string; message: string }[]][] = [
      ['compliance_hold', ['kyc_not_verified', 'sanctions_identifier_match'], [UNDER_REVIEW]],
      ['pending_approval', ['velocity_count', 'amount_anomaly'], [UNDER_REVIEW]],
      ['scheduled', ['kyc_not_verified', 'compliance_cleared'], []],
      [
        'rejected',
        ['destination_shared', 'approval_rejected'],
        [r('not_approved', 'The payout was not approved after review; the funds are back in the wallet')],
      ],
      [
        'failed',
        ['compliance_timeout'],
        [r('not_approved', 'The payout was not approved after review; the funds are back in the wallet')],
      ],
      ['rejected', ['insufficient_funds'], [r('insufficient_funds')]],
      ['failed', ['no_destination'], [r('no_destination')]],
      [
        'returned',
        ['route_instant', 'returned'],
        [r('route_instant', 'Sent on the instant rail'), r('returned')],
      ],
      ['paid', ['some_future_code', 'operator_resolution'], []],
    ];
    for (const [state, codes, expected] of cases) {
      expect([
        state,
        codes,
        publicReasons(
          state,
          codes.map((c) => r(c)),
        ),
      ]).toEqual([state, codes, expected]);
    }
  });
});
