// Approval thresholds (single, dual), requester-cannot-approve, rejection, timeout with escalation, and the
// compliance gate (block then clear, timeout, withholding) — through the HTTP API with TOTP.
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { type Stack, startStack } from '../support/stack.ts';

describe('payout approvals and compliance', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack('approvals', {
      env: {
        // Above 100.00 one approver, above 1,000.00 two; 1,000,000.00 instant limit keeps routing out of the way.
        APPROVAL_THRESHOLD_SINGLE: 'USD:10000',
        APPROVAL_THRESHOLD_DUAL: 'USD:100000',
        PAYOUT_INSTANT_LIMITS: 'USD:100000000',
        APPROVAL_TIMEOUT: '48h',
        APPROVAL_ESCALATION_TIMEOUT: '24h',
        COMPLIANCE_WAIT: '7d',
      },
    });
  });
  afterEach(async () => {
    await stack.assertInvariants();
  });
  afterAll(async () => {
    await stack?.close();
  });

  const decide = (
    payoutId: string,
    who: { key: string; code: () => string },
    decision: 'approve' | 'reject',
  ) =>
    stack.call('POST', `/v1/payouts/${payoutId}/${decision}`, {
      key: who.key,
      body: { reason: `${decision} after review`, totp: who.code() },
    });

  it('pays below the single-approval threshold without waiting', async () => {
    const payeeId = await stack.createPayee({ credit: '50000' });
    const final = await stack.result(await stack.requestPayout(payeeId, '10000'));
    expect(final.approvalsRequired).toBe(0);
    expect(final.state).toBe('paid');
  });

  it('needs one approver above A; the approval is recorded with identity and reason', async () => {
    const alice = await stack.approver('alice-1');
    const payeeId = await stack.createPayee({ credit: '50000' });
    const payoutId = await stack.requestPayout(payeeId, '20000');
    const waiting = await stack.waitForState(payoutId, ['pending_approval']);
    expect(waiting.approvalsRequired).toBe(1);
    expect(waiting.nextTimer?.purpose).toBe('approval_timeout');
    const res = stack.expectStatus(await decide(payoutId, alice, 'approve'), 200, 'approve');
    expect(res.body.approvals).toEqual([expect.objectContaining({ actor: 'alice-1', decision: 'approve' })]);
    const final = await stack.result(payoutId);
    expect(final.state).toBe('paid');
  });

  it('needs two distinct approvers above B and refuses the same approver twice', async () => {
    const a = await stack.approver('ann-2');
    const b = await stack.approver('bob-2');
    const payeeId = await stack.createPayee({ credit: '500000' });
    const payoutId = await stack.requestPayout(payeeId, '200000');
    expect((await stack.waitForState(payoutId, ['pending_approval'])).approvalsRequired).toBe(2);
    stack.expectStatus(await decide(payoutId, a, 'approve'), 200, 'first approval');
    const again = await decide(payoutId, a, 'approve');
    expect(again.status).toBe(409);
    expect(again.contentType).toContain('application/problem+json');
    expect(again.body.detail).toContain('already decided');
    expect((await stack.gateway.status(payoutId))?.state).toBe('pending_approval');
    stack.expectStatus(await decide(payoutId, b, 'approve'), 200, 'second approval');
    expect((await stack.result(payoutId)).state).toBe('paid');
  });

  it('asks two approvers for any amount in a currency without configured thresholds, saying why', async () => {
    const a = await stack.approver('cat-9');
    const payeeId = await stack.createPayee({ credit: '50000' });
    await stack.credit(payeeId, '50000', 'EUR'); // only USD has thresholds in this stack
    const res = await stack.call('POST', '/v1/payouts', {
      body: { payeeId, amount: { amount: '100', currency: 'EUR', scale: 2 }, method: 'bank_transfer' },
    });
    stack.expectStatus(res, 202, 'request EUR payout');
    const payoutId = res.body.id as string;
    const waiting = await stack.waitForState(payoutId, ['pending_approval']);
    expect(waiting.approvalsRequired).toBe(2);
    expect(waiting.reasons.map((r) => r.code)).toContain('approval_thresholds_unset');
    expect(waiting.reasons.find((r) => r.code === 'approval_thresholds_unset')?.message).toContain(
      'APPROVAL_THRESHOLD_SINGLE',
    );
    stack.expectStatus(await decide(payoutId, a, 'reject'), 200, 'rejection');
    const final = await stack.result(payoutId);
    expect(final.state).toBe('rejected');
    const wallet = await stack.call('GET', `/v1/payees/${payeeId}/wallet`);
    const eur = wallet.body.balances.find((b: { currency: string }) => b.currency === 'EUR');
    expect(eur.available.amount).toBe('50000');
  });

  it('refuses an approval by the requester, a wrong TOTP, and a non-approver role', async () => {
    const requester = await stack.approver('acme-backend'); // same actor name as the platform key that requests
    const payeeId = await stack.createPayee({ credit: '50000' });
    const payoutId = await stack.requestPayout(payeeId, '20000');
    await stack.waitForState(payoutId, ['pending_approval']);
    const self = await decide(payoutId, requester, 'approve');
    expect(self.status).toBe(409);
    expect(self.body.detail).toContain('cannot approve');
    const badCode = await stack.call('POST', `/v1/payouts/${payoutId}/approve`, {
      key: (await stack.approver('carl-3')).key,
      body: { reason: 'looks fine', totp: '000000' },
    });
    expect(badCode.status).toBe(403);
    const operator = await stack.call('POST', `/v1/payouts/${payoutId}/approve`, {
      key: stack.keys.operator.key,
      body: { reason: 'looks fine', totp: '123456' },
    });
    expect(operator.status).toBe(403);
    const status = await stack.gateway.status(payoutId);
    expect(status?.approvals).toEqual([]);
    // Clean up: reject so the hold is released.
    stack.expectStatus(await decide(payoutId, await stack.approver('dana-3'), 'reject'), 200, 'reject');
    expect((await stack.result(payoutId)).state).toBe('rejected');
  });

  it('rejection releases the hold', async () => {
    const payeeId = await stack.createPayee({ credit: '50000' });
    const payoutId = await stack.requestPayout(payeeId, '20000');
    await stack.waitForState(payoutId, ['pending_approval']);
    stack.expectStatus(await decide(payoutId, await stack.approver('erin-4'), 'reject'), 200, 'reject');
    const final = await stack.result(payoutId);
    expect(final.state).toBe('rejected');
    expect(final.reasons.map((r) => r.code)).toContain('approval_rejected');
    const wallet = await stack.call('GET', `/v1/payees/${payeeId}/wallet`);
    expect(wallet.body.balances[0]).toMatchObject({ available: { amount: '50000' }, held: { amount: '0' } });
  });

  it('escalates after the approval timeout, then auto-rejects and releases', async () => {
    const payeeId = await stack.createPayee({ credit: '50000' });
    const payoutId = await stack.requestPayout(payeeId, '20000');
    await stack.waitForState(payoutId, ['pending_approval']);
    const final = await stack.result(payoutId); // the test server skips the 48 h + 24 h timers
    expect(final.state).toBe('rejected');
    expect(final.reasons.map((r) => r.code)).toContain('approval_timeout');
    const { rows } = await stack.db
      .em()
      .getConnection()
      .execute(
        `SELECT type FROM "${stack.db.schema}".webhook_outbox WHERE id LIKE '%${payoutId}%' ORDER BY occurred_at`,
        [],
        'all',
      )
      .then((r) => ({ rows: r as { type: string }[] }));
    expect(rows.map((r) => r.type)).toEqual(
      expect.arrayContaining(['payout.pending_approval', 'payout.approval_escalated', 'payout.rejected']),
    );
    const wallet = await stack.call('GET', `/v1/payees/${payeeId}/wallet`);
    expect(wallet.body.balances[0].available.amount).toBe('50000');
  });

  it('holds a payout for KYC until an operator clears it', async () => {
    const payeeId = await stack.createPayee({ credit: '50000', payee: { kycStatus: 'pending' } });
    const payoutId = await stack.requestPayout(payeeId, '5000');
    const held = await stack.waitForState(payoutId, ['compliance_hold']);
    expect(held.reasons.map((r) => r.code)).toContain('kyc_not_verified');
    expect(held.nextTimer?.purpose).toBe('compliance_wait');
    const platformTry = await stack.call('POST', `/v1/payouts/${payoutId}/compliance-clear`, {
      body: { reason: 'KYC documents verified manually' },
    });
    expect(platformTry.status).toBe(403);
    stack.expectStatus(
      await stack.call('POST', `/v1/payouts/${payoutId}/compliance-clear`, {
        key: stack.keys.operator.key,
        body: { reason: 'KYC documents verified manually' },
      }),
      200,
      'clear',
    );
    expect((await stack.result(payoutId)).state).toBe('paid');
  });

  it('releases a compliance-blocked payout when nobody clears it in time', async () => {
    const payeeId = await stack.createPayee({ credit: '50000', payee: { kycStatus: 'pending' } });
    const payoutId = await stack.requestPayout(payeeId, '5000');
    await stack.waitForState(payoutId, ['compliance_hold']);
    const final = await stack.result(payoutId);
    expect(final.state).toBe('failed');
    expect(final.reasons.map((r) => r.code)).toContain('compliance_timeout');
    const wallet = await stack.call('GET', `/v1/payees/${payeeId}/wallet`);
    expect(wallet.body.balances[0].available.amount).toBe('50000');
  });

  it('withholds tax when no form is on file, as its own ledger leg', async () => {
    const payeeId = await stack.createPayee({ credit: '50000', payee: { taxProfile: { form: 'none' } } });
    const payoutId = await stack.requestPayout(payeeId, '10000', { instant: false });
    const sandbox = stack.sandbox();
    let batching = true;
    const batches = (async () => {
      while (batching) {
        await sandbox.runBatch();
        await new Promise((r) => setTimeout(r, 20));
      }
    })();
    const final = await stack.result(payoutId);
    batching = false;
    await batches;
    expect(final.state).toBe('paid');
    expect(final.withholding?.amount).toBe('2400'); // 24% of 100.00
    expect((await sandbox.disbursement(`${payoutId}:1`))?.amountMinor).toBe(7600n);
  });
});
