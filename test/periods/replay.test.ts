// Period-close histories replay against today's workflow code: the checked-in ones
// (test/fixtures/histories/period/) and this run's. RECORD_HISTORIES=1 writes this run's history as the
// fixture of this version. `v0-waves` was recorded before startPayouts waited for free slots itself: its
// fan-out sleeps `payoutPollMs` after every wave that found the window full, and must still replay.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Worker } from '@temporalio/worker';
import type { CompletionSummary } from '../../workflows/period-contract.ts';
import { historyFixtures, recordingHistories, writeHistoryFixture } from '../support/histories.ts';
import { type Stack, startStack, workflowBundle } from '../support/stack.ts';

const RECORDING = 'v1';

let stack: Stack;

beforeAll(async () => {
  // A window of one payout: the fan-out meets a full window after every start.
  stack = await startStack('periods-replay', { env: { PERIOD_PAYOUT_WINDOW: '1' } });
}, 120_000);

afterAll(async () => {
  await stack?.close();
});

describe('period-close histories', () => {
  it('replays a close whose fan-out waits for its one-payout window', async () => {
    const periodId = '2026-04';
    const auto = {
      payoutPreferences: { preferredMethod: 'bank_account', instantOptIn: true, autoPayout: true },
    };
    const payees = [
      await stack.createPayee({ payee: auto }),
      await stack.createPayee({ payee: auto }),
      await stack.createPayee({ payee: auto }),
    ];
    const events = payees.map((payeeId, i) => ({
      externalId: `replay-${i}`,
      payeeId,
      type: 'sale',
      amount: { amount: String(40_000 + i * 1_000), currency: 'USD', scale: 2 },
      occurredAt: '2026-04-03T10:00:00Z',
      volume: 200,
    }));
    expect((await stack.call('POST', '/v1/earnings', { body: { events } })).status).toBe(200);
    await stack.closePeriod(periodId);
    await stack.waitForPeriod(periodId, (p) => p.stage === 'awaiting_approval');
    await stack.approvePeriod(periodId, 'alice-replay');
    const summary = (await stack.periodGateway.handle(periodId).result()) as CompletionSummary;
    expect(Object.values(summary.payouts).reduce((n, c) => n + c, 0)).toBe(3);

    const history = await stack.periodGateway.handle(periodId).fetchHistory();
    await Worker.runReplayHistory({ workflowBundle: await workflowBundle() }, history, `period-${periodId}`);
    if (recordingHistories) writeHistoryFixture('period', `${RECORDING}-waves`, history);
  }, 180_000);

  it('replays every checked-in period history', async () => {
    const fixtures = historyFixtures('period');
    expect(fixtures.map((f) => f.file)).toEqual(expect.arrayContaining(['v0-waves.json', 'v1-waves.json']));
    const bundle = await workflowBundle();
    for (const { file, history } of fixtures) {
      await expect(
        Worker.runReplayHistory({ workflowBundle: bundle }, history, file),
      ).resolves.toBeUndefined();
    }
  });
});
