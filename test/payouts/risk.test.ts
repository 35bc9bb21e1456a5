// Each risk rule flags a payout for review (one approval) with its reason code; a clear payout goes instant.
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { type Stack, startStack } from '../support/stack.ts';

describe('payout risk rules', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack('risk', {
      env: {
        RISK_MAX_DAILY_COUNT: '2',
        RISK_MAX_DAILY_AMOUNT: 'USD:50000',
        RISK_DESTINATION_COOL_OFF: '72h',
        RISK_MAX_SHARED_DESTINATION_PAYEES: '0',
        RISK_ANOMALY_MULTIPLE: '3',
        APPROVAL_THRESHOLD_SINGLE: 'USD:10000000',
        APPROVAL_THRESHOLD_DUAL: 'USD:20000000',
      },
    });
  });
  afterEach(async () => {
    await stack.assertInvariants();
  });
  afterAll(async () => {
    await stack?.close();
  });

  /** Ages the payee's destination past the cool-off, as if it had been added long ago. */
  async function ageDestination(payeeId: string) {
    await stack.db
      .em()
      .getConnection()
      .execute(
        `UPDATE "${stack.db.schema}".payee_destinations SET added_at = now() - interval '30 days', changed_at = now() - interval '30 days' WHERE payee_id = ?`,
        [payeeId],
      );
  }

  async function reasonsOf(payoutId: string): Promise<string[]> {
    const st = await stack.waitForState(payoutId, ['pending_approval', 'paid']);
    return st.reasons.map((r) => r.code).filter((c) => !c.startsWith('route_'));
  }

  async function reject(payoutId: string) {
    const who = await stack.approver(`risk-${payoutId.slice(-6)}`);
    stack.expectStatus(
      await stack.call('POST', `/v1/payouts/${payoutId}/reject`, {
        key: who.key,
        body: { reason: 'risk review: not ok', totp: who.code() },
      }),
      200,
      'reject',
    );
    expect((await stack.result(payoutId)).state).toBe('rejected');
  }

  it('lets a clear payout through without review', async () => {
    const payeeId = await stack.createPayee({ credit: '100000' });
    await ageDestination(payeeId);
    const payoutId = await stack.requestPayout(payeeId, '1000');
    expect(await reasonsOf(payoutId)).toEqual([]);
    expect((await stack.result(payoutId)).state).toBe('paid');
  });

  it('flags a destination changed within the cool-off window', async () => {
    const payeeId = await stack.createPayee({ credit: '100000' });
    const payoutId = await stack.requestPayout(payeeId, '1000');
    expect(await reasonsOf(payoutId)).toEqual(['destination_cool_off']);
    const st = await stack.gateway.status(payoutId);
    expect(st?.approvalsRequired).toBe(1);
    await reject(payoutId);
  });

  it('flags daily count velocity and daily amount velocity', async () => {
    const payeeId = await stack.createPayee({ credit: '200000' });
    await ageDestination(payeeId);
    for (const amount of ['1000', '1000']) {
      expect((await stack.result(await stack.requestPayout(payeeId, amount))).state).toBe('paid');
    }
    const third = await stack.requestPayout(payeeId, '1000');
    expect(await reasonsOf(third)).toContain('velocity_count');
    await reject(third);

    const other = await stack.createPayee({ credit: '200000' });
    await ageDestination(other);
    expect((await stack.result(await stack.requestPayout(other, '40000'))).state).toBe('paid');
    const big = await stack.requestPayout(other, '20000');
    expect(await reasonsOf(big)).toContain('velocity_amount');
    await reject(big);
  });

  it('flags a destination shared with another payee', async () => {
    const account = { accountNumber: '5555123498', routingNumber: '011000015' };
    const first = await stack.createPayee({ credit: '100000', bankAccount: account });
    const second = await stack.createPayee({ credit: '100000', bankAccount: account });
    await ageDestination(first);
    await ageDestination(second);
    const payoutId = await stack.requestPayout(second, '1000');
    expect(await reasonsOf(payoutId)).toEqual(['destination_shared']);
    await reject(payoutId);
  });

  it('flags an amount far above the payee trailing average', async () => {
    const payeeId = await stack.createPayee({ credit: '300000' });
    await ageDestination(payeeId);
    expect((await stack.result(await stack.requestPayout(payeeId, '1000'))).state).toBe('paid');
    // Next day, so the velocity rules do not fire as well.
    await stack.db
      .em()
      .getConnection()
      .execute(
        `UPDATE "${stack.db.schema}".payouts SET created_at = now() - interval '2 days' WHERE payee_id = ?`,
        [payeeId],
      );
    const payoutId = await stack.requestPayout(payeeId, '4000');
    expect(await reasonsOf(payoutId)).toEqual(['amount_anomaly']);
    await reject(payoutId);
  });
});
