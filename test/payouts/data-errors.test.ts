// Issue 14, finding 2: no input can wedge a payout. Text that the API edge would refuse, sent straight to
// the workflow through the Temporal client, is refused by the update validator with nothing taken; text the
// database cannot store (a lone surrogate: JSON.stringify escapes it, jsonb refuses the escape) makes a real
// recordPayoutState fail with a data error, and the payout ends in review, visibly, with the money released.
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { WorkflowUpdateFailedError } from '@temporalio/client';
import { classifyDatabaseError, isDataError } from '../../src/db/errors.ts';
import { sql } from '../../src/db/sql.ts';
import { DEFAULT_SANDBOX_SCENARIO } from '../../src/providers/index.ts';
import {
  cancelPayoutUpdate,
  decideApprovalUpdate,
  providerEventSignal,
} from '../../workflows/payout-contract.ts';
import { type Stack, startStack } from '../support/stack.ts';

describe('data errors end a payout in review', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack('data-errors', {
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

  async function pendingApproval() {
    const payeeId = await stack.createPayee({ credit: '300000' });
    const payoutId = await stack.requestPayout(payeeId, '150000');
    await stack.waitForState(payoutId, ['pending_approval']);
    return { payeeId, payoutId };
  }

  async function reviewEvents(payoutId: string) {
    return sql<{ type: string }>(
      stack.db.em(),
      `SELECT type FROM "${stack.db.schema}".webhook_outbox WHERE type = 'payout.review' AND payload::text LIKE $1`,
      [`%${payoutId}%`],
    );
  }

  it('classifies real PostgreSQL errors: data errors apart from transient ones', async () => {
    const failing = async (text: string, params: unknown[] = []) => {
      try {
        await sql(stack.db.em(), text, params);
      } catch (error) {
        return error;
      }
      throw new Error(`${text} did not fail`);
    };
    expect(isDataError(await failing('SELECT $1::jsonb', ['"\\ud800"']))).toBe(true);
    expect(isDataError(await failing('SELECT $1::jsonb', ['"\\u0000"']))).toBe(true);
    expect(isDataError(await failing('SELECT 1 / 0'))).toBe(true);
    expect(isDataError(await failing('SELECT * FROM no_such_table_here'))).toBe(true);
    expect(classifyDatabaseError(Object.assign(new Error('could not serialize'), { code: '40001' }))).toBe(
      'transient',
    );
    expect(classifyDatabaseError(Object.assign(new Error('connect'), { code: 'ECONNREFUSED' }))).toBe(
      'unavailable',
    );
    expect(classifyDatabaseError(new Error('anything else'))).toBe('other');
  });

  it('refuses a NUL in an approval sent past the API edge: nothing taken, the payout still waits', async () => {
    const { payeeId, payoutId } = await pendingApproval();
    const alice = await stack.approver('alice-data');
    const update = stack.handle(payoutId).executeUpdate(decideApprovalUpdate, {
      args: [
        { approver: { actor: 'alice-data', role: 'approver' }, decision: 'approve', reason: 'ok\u0000' },
      ],
    });
    await expect(update).rejects.toBeInstanceOf(WorkflowUpdateFailedError);
    await expect(update).rejects.toMatchObject({ cause: { message: expect.stringContaining('U+0000') } });
    const after = await stack.waitForState(payoutId, ['pending_approval']);
    expect(after.approvals).toEqual([]);
    expect(await balance(payeeId)).toEqual({ available: '150000', held: '150000' });
    // The same approver can still decide, with storable text.
    stack.expectStatus(
      await stack.call('POST', `/v1/payouts/${payoutId}/approve`, {
        key: alice.key,
        body: { reason: 'checked', totp: alice.code() },
      }),
      200,
      'approve',
    );
    expect((await stack.result(payoutId)).state).toBe('paid');
  });

  it('refuses a NUL in a cancel sent past the API edge', async () => {
    const { payeeId, payoutId } = await pendingApproval();
    const update = stack.handle(payoutId).executeUpdate(cancelPayoutUpdate, {
      args: [{ by: { actor: 'ops', role: 'operator' }, reason: 'bye\u0000' }],
    });
    await expect(update).rejects.toBeInstanceOf(WorkflowUpdateFailedError);
    expect((await stack.waitForState(payoutId, ['pending_approval'])).state).toBe('pending_approval');
    expect(await balance(payeeId)).toEqual({ available: '150000', held: '150000' });
    await stack.handle(payoutId).executeUpdate(cancelPayoutUpdate, {
      args: [{ by: { actor: 'ops', role: 'operator' }, reason: 'bye' }],
    });
    expect((await stack.result(payoutId)).state).toBe('cancelled');
  });

  it('a cancel whose text the database cannot store answers with review; funds released, not wedged', async () => {
    const { payeeId, payoutId } = await pendingApproval();
    const answer = await stack.handle(payoutId).executeUpdate(cancelPayoutUpdate, {
      args: [{ by: { actor: 'ops', role: 'operator' }, reason: 'bye\ud800' }],
    });
    expect(answer.state).toBe('review');
    const reason = answer.reasons.find((r) => r.code === 'data_error');
    expect(reason?.message).toContain('recordPayoutState');
    expect(reason?.message).toContain('funds released');
    const final = await stack.result(payoutId);
    expect(final.state).toBe('review');
    // The row, the status query behind GET and the wallet agree: review, nothing held.
    const res = stack.expectStatus(await stack.call('GET', `/v1/payouts/${payoutId}`), 200, 'get payout');
    expect(res.body.state).toBe('review');
    expect(res.body.ledger.map((l: { step: string }) => l.step)).toEqual(['hold', 'release']);
    expect(await balance(payeeId)).toEqual({ available: '300000', held: '0' });
    expect(await reviewEvents(payoutId)).toHaveLength(1);
    const description = await stack.handle(payoutId).describe();
    const attrs: Record<string, readonly unknown[] | undefined> = description.searchAttributes;
    expect(attrs.PayoutState).toEqual(['review']);
  });

  it('an approval whose text the database cannot store ends in review, not submitting with money held', async () => {
    const { payeeId, payoutId } = await pendingApproval();
    const answer = await stack.handle(payoutId).executeUpdate(decideApprovalUpdate, {
      args: [{ approver: { actor: 'bob-data', role: 'approver' }, decision: 'approve', reason: 'ok\udc00' }],
    });
    expect(answer.state).toBe('review');
    const final = await stack.result(payoutId);
    expect(final.state).toBe('review');
    expect(final.reasons.find((r) => r.code === 'data_error')?.message).toContain('funds released');
    expect(await balance(payeeId)).toEqual({ available: '300000', held: '0' });
    expect(await reviewEvents(payoutId)).toHaveLength(1);
  });

  it('a data error after a submission that may have paid ends in review with the funds kept, and no timer', async () => {
    // The sandbox confirms by webhook after 3 s; before it does, a paid event the database cannot store
    // (a lone surrogate in its reason) reaches the workflow: settling works, recording `paid` cannot.
    stack.sandbox().setScenario({ instantConfirmation: 'webhook', latencyMs: 3000 });
    const payeeId = await stack.createPayee({ credit: '10000' });
    const payoutId = await stack.requestPayout(payeeId, '5000');
    await stack.waitForState(payoutId, ['awaiting_confirmation']);
    await stack.handle(payoutId).signal(providerEventSignal, {
      eventId: `sandbox.paid.${payoutId}:1.bad`,
      idempotencyKey: `${payoutId}:1`,
      type: 'paid',
      provider: 'sandbox',
      reason: 'settled\udc00',
    });
    const final = await stack.result(payoutId);
    expect(final.state).toBe('review');
    expect(final.nextTimer).toBeUndefined();
    const reason = final.reasons.find((r) => r.code === 'data_error');
    expect(reason?.message).toContain('settleAndRecord');
    expect(reason?.message).toContain('funds kept');
    expect(final.attempts).toEqual([expect.objectContaining({ attemptNo: 1, outcome: 'paid' })]);
    // Visible where operators and clients look: the row, its webhook, the search attribute.
    const res = stack.expectStatus(await stack.call('GET', `/v1/payouts/${payoutId}`), 200, 'get payout');
    expect(res.body.state).toBe('review');
    expect(res.body.reasons.map((r: { code: string }) => r.code)).toContain('data_error');
    expect(await reviewEvents(payoutId)).toHaveLength(1);
    const attrs: Record<string, readonly unknown[] | undefined> = (await stack.handle(payoutId).describe())
      .searchAttributes;
    expect(attrs.PayoutState).toEqual(['review']);
    // Nothing released: the money went out (the sandbox pays when its confirmation comes due).
    expect(await balance(payeeId)).toEqual({ available: '5000', held: '0' });
    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline) {
      await stack.sandbox().advance(new Date(Date.now() + 10_000));
      const [row] = await sql<{ n: string }>(
        stack.db.em(),
        `SELECT count(*)::text AS n FROM "${stack.db.schema}".sandbox_disbursements WHERE idempotency_key = $1 AND state = 'paid'`,
        [`${payoutId}:1`],
      );
      if (row?.n === '1') break;
      await new Promise((r) => setTimeout(r, 50));
    }
    stack.sandbox().setScenario(DEFAULT_SANDBOX_SCENARIO);
  });
});

describe('data errors through the API', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack('data-errors-api', {
      env: { APPROVAL_THRESHOLD_SINGLE: 'USD:100000', APPROVAL_THRESHOLD_DUAL: 'USD:1000000' },
    });
  });
  afterAll(async () => {
    await stack?.assertInvariants();
    await stack?.close();
  });

  it('an approve with a lone surrogate is a 400 with nothing taken (it would have failed the API’s own write)', async () => {
    const payeeId = await stack.createPayee({ credit: '300000' });
    const payoutId = await stack.requestPayout(payeeId, '150000');
    await stack.waitForState(payoutId, ['pending_approval']);
    const alice = await stack.approver('alice-api-data');
    const res = await stack.call('POST', `/v1/payouts/${payoutId}/approve`, {
      key: alice.key,
      body: { reason: 'ok\ud800', totp: alice.code() },
    });
    expect(res.status).toBe(400);
    expect(res.contentType).toContain('application/problem+json');
    expect(res.text).toContain('body.reason');
    const now = await stack.waitForState(payoutId, ['pending_approval']);
    expect(now.approvals).toEqual([]);
    stack.expectStatus(
      await stack.call('POST', `/v1/payouts/${payoutId}/approve`, {
        key: alice.key,
        body: { reason: 'checked', totp: alice.code() },
      }),
      200,
      'approve',
    );
    expect((await stack.result(payoutId)).state).toBe('paid');
  });
});
