// Replay safety of the payout workflow: the checked-in histories (recorded from real runs, one per path the
// workflow can take) and the histories of this run must replay against the current workflow code. A change
// that would break an open payout fails here. RECORD_HISTORIES=1 writes this run's histories as the
// fixtures (JSON, reviewable); see "Changing workflows" in the README for when that is allowed.

import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Worker } from '@temporalio/worker';
import { cancelPayoutUpdate } from '../../workflows/payout-contract.ts';
import type { RecordedHistory as History } from '../support/histories.ts';
import {
  historyFixtures,
  type RecordedHistory,
  recordingHistories,
  writeHistoryFixture,
} from '../support/histories.ts';
import { type Stack, startStack, workflowBundle } from '../support/stack.ts';

// The baseline (before 1.0 no payout is open outside tests, so every earlier patch was folded into it).
const RECORDING = 'baseline';
const SHAPES = [
  'failover',
  'approved',
  'rejected',
  'outage',
  'void',
  'reconcile',
  'cancelled',
  'cleared',
  'resolved',
  'data_error',
  'returned',
  'data_error_paid',
] as const;

describe('payout workflow replay', () => {
  let stack: Stack;
  const fresh: { workflowId: string; history: RecordedHistory }[] = [];

  beforeAll(async () => {
    stack = await startStack('replay', {
      providers: [
        { name: 'alpha', capabilities: { priority: 1 }, scenario: { declineRateBps: 10_000 } },
        { name: 'beta', capabilities: { priority: 2 } },
      ],
      env: { APPROVAL_THRESHOLD_SINGLE: 'USD:4000', APPROVAL_THRESHOLD_DUAL: 'USD:1000000' },
    });
    // Three shapes: failover after a decline; approval then pay; insufficient funds.
    const a = await stack.createPayee({ credit: '100000' });
    const failover = await stack.requestPayout(a, '5000');
    await stack.result(failover);
    const approved = await stack.requestPayout(a, '4500');
    await stack.waitForState(approved, ['pending_approval']);
    const alice = await stack.approver('alice-replay');
    await stack.call('POST', `/v1/payouts/${approved}/approve`, {
      key: alice.key,
      body: { reason: 'checked', totp: alice.code() },
    });
    await stack.result(approved);
    const rejected = await stack.requestPayout(a, '4600');
    await stack.waitForState(rejected, ['pending_approval']);
    await stack.call('POST', `/v1/payouts/${rejected}/reject`, {
      key: alice.key,
      body: { reason: 'not this one', totp: alice.code() },
    });
    await stack.result(rejected);
    // Every provider down at routing: waits, routes again once they are back, pays (alpha declines, beta pays).
    const sandboxes = ['alpha', 'beta'].map((n) => stack.sandbox(n));
    const scenarios = sandboxes.map((sb) => sb.scenario);
    for (const sb of sandboxes) sb.setScenario({ outage: true });
    const outage = await stack.requestPayout(a, '3000');
    await stack.waitForState(outage, ['scheduled']);
    for (const [i, sb] of sandboxes.entries()) sb.setScenario(scenarios[i]!);
    await stack.result(outage);
    // Destination ending 0004: every first submission is lost; each key is voided before failing over.
    const b = await stack.createPayee({ credit: '10000', bankAccount: { accountNumber: '7700000004' } });
    const voided = await stack.requestPayout(b, '3000');
    await stack.result(voided);
    // alpha declines; while beta's attempt awaits its webhook, alpha reports the declined attempt paid.
    sandboxes[1]!.setScenario({ instantConfirmation: 'webhook', latencyMs: 1000 });
    const reconcile = await stack.requestPayout(a, '3100');
    await stack.waitForState(reconcile, ['awaiting_confirmation']);
    await stack.reportProviderEvent(reconcile, { provider: 'alpha', attemptNo: 1, type: 'paid' });
    await stack.settleByWebhook(reconcile, 'beta', 2);
    expect((await stack.result(reconcile)).reasons.map((r) => r.code)).toContain('reconcile_required');
    sandboxes[1]!.setScenario(scenarios[1]!);
    // Cancelled while waiting for approval; held for KYC and cleared; lost at alpha, resolved not paid, beta pays.
    const cancelled = await stack.requestPayout(a, '4700');
    await stack.waitForState(cancelled, ['pending_approval']);
    stack.expectStatus(
      await stack.call('POST', `/v1/payouts/${cancelled}/cancel`, { body: { reason: 'not needed' } }),
      200,
      'cancel',
    );
    await stack.result(cancelled);
    const c = await stack.createPayee({ credit: '10000', payee: { kycStatus: 'pending' } });
    const cleared = await stack.requestPayout(c, '3000');
    await stack.waitForState(cleared, ['compliance_hold']);
    stack.expectStatus(
      await stack.call('POST', `/v1/payouts/${cleared}/compliance-clear`, {
        key: stack.keys.operator.key,
        body: { reason: 'KYC checked by hand' },
      }),
      200,
      'compliance clear',
    );
    await stack.result(cleared);
    const resolved = await stack.requestPayout(b, '3000');
    await stack.waitForState(resolved, ['unknown_outcome']);
    stack.expectStatus(
      await stack.call('POST', `/v1/payouts/${resolved}/resolve`, {
        key: stack.keys.operator.key,
        body: { outcome: 'not_paid', reason: 'alpha has no record of it' },
      }),
      200,
      'resolve',
    );
    await stack.result(resolved);
    // A lone surrogate passes every text check but not jsonb: recording the cancel fails, the payout reviews.
    const dataError = await stack.requestPayout(a, '4800');
    await stack.waitForState(dataError, ['pending_approval']);
    await stack.handle(dataError).executeUpdate(cancelPayoutUpdate, {
      args: [{ by: { actor: 'olga', role: 'operator' }, reason: 'bye\ud800' }],
    });
    expect((await stack.result(dataError)).state).toBe('review');
    // alpha declines; beta's attempt awaits its webhook and is reported returned: paid, then the return path.
    sandboxes[1]!.setScenario({ instantConfirmation: 'webhook', latencyMs: 3000 });
    const d = await stack.createPayee({ credit: '100000' });
    const returned = await stack.requestPayout(d, '3200');
    await stack.waitForState(returned, ['awaiting_confirmation']);
    await stack.reportProviderEvent(returned, {
      provider: 'beta',
      attemptNo: 2,
      type: 'returned',
      reason: 'closed',
    });
    expect((await stack.result(returned)).state).toBe('returned');
    // A paid event whose reason the database cannot store: settled, not recordable, so review with funds kept.
    const dataErrorPaid = await stack.requestPayout(d, '3300');
    await stack.waitForState(dataErrorPaid, ['awaiting_confirmation']);
    await stack.reportProviderEvent(dataErrorPaid, {
      provider: 'beta',
      attemptNo: 2,
      type: 'paid',
      reason: 'ok\udc00',
    });
    expect((await stack.result(dataErrorPaid)).state).toBe('review');
    await stack.settleByWebhook(dataErrorPaid, 'beta', 2);
    sandboxes[1]!.setScenario(scenarios[1]!);
    const ids = [
      failover,
      approved,
      rejected,
      outage,
      voided,
      reconcile,
      cancelled,
      cleared,
      resolved,
      dataError,
      returned,
      dataErrorPaid,
    ];
    for (const id of ids) {
      const history = await stack.handle(id).fetchHistory();
      fresh.push({ workflowId: `payout-${id}`, history });
    }
    if (recordingHistories) {
      for (const [i, h] of fresh.entries())
        writeHistoryFixture('payout', `${RECORDING}-${SHAPES[i]}`, h.history);
    }
  }, 120_000);
  afterAll(async () => {
    await stack?.close();
  });

  it('replays the histories of this run', async () => {
    expect(fresh).toHaveLength(SHAPES.length);
    await expectReplays(fresh.map(({ workflowId, history }) => ({ workflowId, history })));
  });

  it('replays every checked-in history, one per path', async () => {
    const fixtures = historyFixtures('payout');
    expect(fixtures.map((f) => f.file).sort()).toEqual(SHAPES.map((s) => `${RECORDING}-${s}.json`).sort());
    await expectReplays(fixtures.map(({ file, history }) => ({ workflowId: file, history })));
  });
});

async function expectReplays(histories: { workflowId: string; history: History }[]): Promise<void> {
  const bundle = await workflowBundle();
  const failed: { workflowId: string; error: string }[] = [];
  for await (const r of Worker.runReplayHistories({ workflowBundle: bundle }, histories)) {
    if (r.error) failed.push({ workflowId: r.workflowId, error: String(r.error) });
  }
  expect(failed).toEqual([]);
}
