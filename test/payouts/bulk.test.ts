// Bulk payouts run by their workflow (`bulk-<bulkId>`): the snapshot taken at the request, waves bounded by
// the window, payees whose balance moved before their turn, the completion summary and its webhook event.
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { Worker } from '@temporalio/worker';
import { sql } from '../../src/db/sql.ts';
import type { BulkCriteria } from '../../src/payouts/bulk.ts';
import { payoutIdFor } from '../../src/payouts/gateway.ts';
import { bulkWorkflowId } from '../../workflows/bulk-contract.ts';
import { historyFixtures, recordingHistories, writeHistoryFixture } from '../support/histories.ts';
import { type Stack, startStack, workflowBundle } from '../support/stack.ts';

// RECORD_HISTORIES=1 writes this run's bulk history as the fixture of this version.
const RECORDING = 'v1';

describe('bulk payouts', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack('bulk', { env: { PAYOUT_BULK_WINDOW: '2' } });
  });
  afterEach(async () => {
    await stack.assertInvariants();
  });
  afterAll(async () => {
    await stack?.close();
  });

  const operator = { actor: 'olga', role: 'operator' as const };

  /** Commits a bulk's snapshot as the API does, for payees of `country`; returns its id and payout ids. */
  async function snapshot(country: string, extra: Partial<BulkCriteria> = {}) {
    const key = `bulk-${country}-${Date.now()}`;
    const bulkId = payoutIdFor('olga', `bulk:${key}`).replace(/^po_/, 'bulk_');
    const payoutIdOf = (payeeId: string) => payoutIdFor('olga', `bulk:${key}:${payeeId}`);
    const created = await stack.services.bulks.snapshot(stack.db.em(), {
      bulkId,
      criteria: { currency: 'USD', method: 'bank_transfer', country, instant: true, ...extra },
      requestedBy: operator,
      payoutIdOf,
      audit: { ...operator, action: 'payout.bulk', objectType: 'bulk', objectId: bulkId },
    });
    expect(created).toBe(true);
    return { bulkId, payoutIdOf };
  }

  it('starts payouts in waves of at most the window, then completes with a summary and its webhook event', async () => {
    const payees: string[] = [];
    for (let i = 0; i < 5; i++)
      payees.push(await stack.createPayee({ credit: `${1000 + i}`, payee: { country: 'FR' } }));
    const { bulkId, payoutIdOf } = await snapshot('FR');
    const noop = () => {};
    // Without a worker nothing started finishes: the window (2) caps what a wave starts.
    await stack.stopWorker();
    try {
      expect(await stack.services.bulks.startWave(stack.gateway, bulkId, 2, noop)).toEqual({
        started: 2,
        inFlight: 2,
        waiting: 3,
        total: 5,
      });
      expect(await stack.services.bulks.startWave(stack.gateway, bulkId, 2, noop)).toEqual({
        started: 0,
        inFlight: 2,
        waiting: 3,
        total: 5,
      });
    } finally {
      await stack.startWorker();
    }
    // In the order of the snapshot (payee id): the first two.
    const ordered = [...payees].sort();
    for (const p of ordered.slice(0, 2)) expect((await stack.result(payoutIdOf(p))).state).toBe('paid');
    const status = await stack.call('GET', `/v1/payouts/bulk/${bulkId}`);
    expect(status.body.payouts).toEqual({ total: 5, started: 2, byState: { paid: 2, not_started: 3 } });

    // The workflow starts the rest (two, then one) and completes once none is in flight.
    await stack.gateway.startBulk(bulkId);
    const summary = await stack.bulkResult(bulkId);
    expect(summary).toEqual({ bulkId, payouts: { paid: 5 }, total: 5, skipped: 0 });
    for (const p of payees) {
      const payout = await stack.result(payoutIdOf(p));
      expect(payout.state).toBe('paid');
    }
    const done = stack.expectStatus(
      await stack.call('GET', `/v1/payouts/bulk/${bulkId}`),
      200,
      'bulk status',
    );
    expect(done.body).toMatchObject({
      status: 'completed',
      summary,
      payouts: { started: 5, byState: { paid: 5 } },
    });
    const [event] = await sql<{ type: string; payload: unknown }>(
      stack.db.em(),
      `SELECT type, payload FROM "${stack.db.schema}".webhook_outbox WHERE id = $1`,
      [`payout.bulk_completed:${bulkId}`],
    );
    expect(event?.type).toBe('payout.bulk_completed');
    // Starting the workflow again (a retried request) changes nothing.
    await stack.gateway.startBulk(bulkId);
    expect(await stack.bulkResult(bulkId)).toEqual(summary);

    // Its history replays against the current workflow code.
    const history = await stack.temporal.client.workflow.getHandle(bulkWorkflowId(bulkId)).fetchHistory();
    await Worker.runReplayHistory(
      { workflowBundle: await workflowBundle() },
      history,
      bulkWorkflowId(bulkId),
    );
    if (recordingHistories) writeHistoryFixture('bulk', `${RECORDING}-waves`, history);
  });

  it('replays every checked-in bulk history', async () => {
    const fixtures = historyFixtures('bulk');
    expect(fixtures.length).toBeGreaterThanOrEqual(1);
    const bundle = await workflowBundle();
    for (const { file, history } of fixtures) {
      await expect(
        Worker.runReplayHistory({ workflowBundle: bundle }, history, file),
      ).resolves.toBeUndefined();
    }
  });

  it('pays the snapshot amounts: a payee who spent the balance before their turn is rejected, nobody is paid twice', async () => {
    const spender = await stack.createPayee({ credit: '5000', payee: { country: 'IT' } });
    const saver = await stack.createPayee({ credit: '7000', payee: { country: 'IT' } });
    const { bulkId, payoutIdOf } = await snapshot('IT');
    // Before the bulk's workflow runs, the spender withdraws everything themselves.
    const own = await stack.requestPayout(spender, '5000', { instant: true });
    expect((await stack.result(own)).state).toBe('paid');

    await stack.gateway.startBulk(bulkId);
    expect(await stack.bulkResult(bulkId)).toEqual({
      bulkId,
      payouts: { paid: 1, rejected: 1 },
      total: 2,
      skipped: 0,
    });
    const rejected = await stack.result(payoutIdOf(spender));
    expect(rejected.state).toBe('rejected');
    expect(rejected.reasons.map((r) => r.code)).toContain('insufficient_funds');
    expect((await stack.result(payoutIdOf(saver))).state).toBe('paid');
    const wallet = await stack.call('GET', `/v1/payees/${saver}/wallet`);
    expect(wallet.body.balances[0].available.amount).toBe('0');
  });

  it('cancels a bulk: payouts not started are dropped, started ones still waiting are cancelled, funds released', async () => {
    const payees: string[] = [];
    for (let i = 0; i < 4; i++)
      payees.push(await stack.createPayee({ credit: `${2000 + i}`, payee: { country: 'ES' } }));
    // Scheduled (not instant): started payouts wait for the payout window, where a cancel still reaches them.
    const { bulkId, payoutIdOf } = await snapshot('ES', { instant: false });
    await stack.stopWorker();
    let cancel: ReturnType<typeof stack.call>;
    try {
      expect(await stack.services.bulks.startWave(stack.gateway, bulkId, 2, () => {})).toMatchObject({
        started: 2,
      });
      await stack.gateway.startBulk(bulkId);
      // Answered once a worker has taken the update (the bulk's first task).
      cancel = stack.call('POST', `/v1/payouts/bulk/${bulkId}/cancel`, {
        key: stack.keys.operator.key,
        body: { reason: 'wrong country selected' },
      });
    } finally {
      await stack.startWorker();
    }
    const accepted = stack.expectStatus(await cancel, 202, 'bulk cancel');
    expect(accepted.body.cancellation).toMatchObject({ by: operator, reason: 'wrong country selected' });

    const summary = await stack.bulkResult(bulkId);
    expect(summary).toMatchObject({
      payouts: { cancelled: 2 },
      total: 2,
      skipped: 2,
      cancellation: { by: operator, reason: 'wrong country selected', dropped: 2, refused: 0 },
    });
    const [first, second, third, fourth] = [...payees].sort();
    for (const p of [first!, second!]) expect((await stack.result(payoutIdOf(p))).state).toBe('cancelled');
    for (const p of [third!, fourth!]) expect(await stack.gateway.status(payoutIdOf(p))).toBeUndefined();
    for (const [i, p] of payees.entries()) {
      const wallet = await stack.call('GET', `/v1/payees/${p}/wallet`);
      expect(wallet.body.balances[0].available.amount).toBe(`${2000 + i}`);
    }
    const status = await stack.call('GET', `/v1/payouts/bulk/${bulkId}`);
    expect(status.body.status).toBe('completed');
    expect(status.body.skipped).toEqual(
      [third, fourth].map((payeeId) => ({
        payeeId,
        reason: 'bulk cancelled by olga: wrong country selected',
      })),
    );
    const again = await stack.call('POST', `/v1/payouts/bulk/${bulkId}/cancel`, {
      key: stack.keys.operator.key,
      body: { reason: 'once more' },
    });
    expect(again.status).toBe(409);
    expect(again.body.detail).toMatch(/finished|already cancelled/);
    const missing = await stack.call('POST', '/v1/payouts/bulk/bulk_000000000000000000000000/cancel', {
      body: { reason: 'no such bulk' },
    });
    expect(missing.status).toBe(404);
  });

  it('a bulk with nothing to pay completes at once', async () => {
    const { bulkId } = await snapshot('IS', { minBalance: '999999999' });
    await stack.gateway.startBulk(bulkId);
    expect(await stack.bulkResult(bulkId)).toEqual({ bulkId, payouts: {}, total: 0, skipped: 0 });
  });
});
