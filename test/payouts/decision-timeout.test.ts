// A decision the payout's workflow does not answer in time (no worker polls its task queue): 503
// problem+json with Retry-After, the Idempotency-Key's lease released, not the 503 stored; once the worker
// is back, the same request under the same key is the same update and gets the decision's real answer.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { eventually, type Stack, startStack } from '../support/stack.ts';

describe('a decision whose workflow does not answer in time', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack('decision-timeout', {
      env: { APPROVAL_THRESHOLD_SINGLE: 'USD:100000', APPROVAL_THRESHOLD_DUAL: 'USD:1000000' },
    });
  });
  afterAll(async () => {
    await stack?.close();
  });

  /** The raw response, headers included (stack.call does not keep them). */
  async function post(path: string, key: string, idempotencyKey: string, body: unknown) {
    const res = await fetch(`${stack.url}${path}`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${key}`,
        'content-type': 'application/json',
        'idempotency-key': idempotencyKey,
      },
      body: JSON.stringify(body),
    });
    // biome-ignore lint/suspicious/noExplicitAny: responses are inspected dynamically in tests
    return { status: res.status, headers: res.headers, body: (await res.json()) as any };
  }
  const cancel = (payoutId: string, idempotencyKey: string) =>
    post(`/v1/payouts/${payoutId}/cancel`, stack.keys.operator.key, idempotencyKey, {
      reason: 'payee asked to stop it',
    });

  /** With the worker stopped: the decision's 503 (problem+json, Retry-After, what to do); the worker restarted. */
  async function unansweredWhileNoWorker(decide: () => Promise<Awaited<ReturnType<typeof post>>>) {
    await stack.stopWorker();
    try {
      const first = await decide();
      expect(first.status).toBe(503);
      expect(first.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      expect(Number(first.headers.get('retry-after'))).toBeGreaterThan(0);
      expect(first.body).toMatchObject({ status: 503, kind: 'unavailable' });
      expect(first.body.detail).toContain('same Idempotency-Key');
      expect(first.body.detail).toContain('GET /v1/payouts/');
    } finally {
      await stack.startWorker();
    }
  }

  it('answers 503 with Retry-After while no worker polls, then the retry gets the decision (200)', async () => {
    const payeeId = await stack.createPayee({ credit: '300000' });
    const payoutId = await stack.requestPayout(payeeId, '150000');
    await stack.waitForState(payoutId, ['pending_approval']);

    const key = `cancel-${randomBytes(8).toString('hex')}`;
    await unansweredWhileNoWorker(async () => {
      const first = await cancel(payoutId, key);
      // Not taken (yet): the row still waits for approval.
      const row = stack.expectStatus(await stack.call('GET', `/v1/payouts/${payoutId}`), 200, 'get');
      expect(row.body.state).toBe('pending_approval');
      return first;
    });

    // The same request and key: the lease was released (no 409 in flight, no stored 503), the same update id.
    const answered = await eventually(
      'cancel answered after the worker is back',
      () => cancel(payoutId, key),
      (r) => r.status !== 503,
      180_000,
    );
    expect(answered.status).toBe(200);
    expect(answered.headers.get('idempotent-replayed')).toBeNull();
    expect(answered.body.id).toBe(payoutId);
    expect(answered.body.state).toBe('cancelled');
    const row = stack.expectStatus(await stack.call('GET', `/v1/payouts/${payoutId}`), 200, 'get');
    expect(row.body.state).toBe('cancelled');

    // The 200 is now the key's stored answer.
    const replay = await cancel(payoutId, key);
    expect(replay.status).toBe(200);
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    await stack.assertInvariants();
  });

  it('an approval retried with the same key and TOTP code after its 503 gets the approval (200)', async () => {
    const payeeId = await stack.createPayee({ credit: '300000' });
    const payoutId = await stack.requestPayout(payeeId, '150000');
    await stack.waitForState(payoutId, ['pending_approval']);
    const alice = await stack.approver('alice-dt');
    // The same body each time: a retry is the same request (its TOTP code was checked by the first one).
    const body = { totp: alice.code(), reason: 'checked with the payee' };
    const key = `approve-${randomBytes(8).toString('hex')}`;
    const approve = () => post(`/v1/payouts/${payoutId}/approve`, alice.key, key, body);
    await unansweredWhileNoWorker(approve);

    const answered = await eventually(
      'approve answered after the worker is back',
      approve,
      (r) => r.status !== 503,
      180_000,
    );
    expect(answered.status).toBe(200);
    expect(answered.body.approvals).toEqual([
      expect.objectContaining({ actor: 'alice-dt', decision: 'approve' }),
    ]);
    // The approval answers before the provider submission: the invariants hold once the payout is final.
    await stack.waitForState(payoutId, ['paid'], 120_000);
    await stack.assertInvariants();
  });

  it('a period approval answered 503 while no worker polls gets the approval on its retry', async () => {
    const periodId = '2026-03';
    const payeeId = await stack.createPayee();
    const sale = {
      externalId: 'dt-sale-1',
      payeeId,
      type: 'sale',
      amount: { amount: '5000', currency: 'USD', scale: 2 },
      occurredAt: '2026-03-10T10:00:00Z',
      volume: 1,
    };
    stack.expectStatus(
      await stack.call('POST', '/v1/earnings', { body: { events: [sale] } }),
      200,
      'earnings',
    );
    await stack.closePeriod(periodId);
    await stack.waitForPeriod(periodId, (p) => p.stage === 'awaiting_approval');
    const bob = await stack.approver('bob-dt');
    const body = { totp: bob.code(), reason: 'figures checked' };
    const key = `period-approve-${randomBytes(8).toString('hex')}`;
    const approve = () => post(`/v1/periods/${periodId}/approve`, bob.key, key, body);
    await unansweredWhileNoWorker(approve);

    const answered = await eventually(
      'period approval answered after the worker is back',
      approve,
      (r) => r.status !== 503,
      180_000,
    );
    expect(answered.status).toBe(200);
    expect(answered.body.approvals).toEqual([expect.objectContaining({ actor: 'bob-dt' })]);
  });
});
