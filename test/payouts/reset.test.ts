// An operator's reset (temporal-dev `workflow reset`, Temporal UI "Reset") re-runs a payout workflow from an
// earlier workflow task under a new run id. Every side effect is keyed by business ids (payout id, attempt
// number), never by run ids, so the re-run finds its ledger postings and its provider attempt already done.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { type Stack, startStack } from '../support/stack.ts';

describe('payout workflow reset', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack('payout_reset');
  });
  afterAll(async () => {
    await stack?.close();
  });

  it('re-running a paid payout from its first workflow task pays and posts nothing twice', async () => {
    const payeeId = await stack.createPayee({ credit: '50000' });
    const payoutId = await stack.requestPayout(payeeId, '20000');
    const first = await stack.result(payoutId);
    expect(first.state).toBe('paid');

    const handle = stack.handle(payoutId);
    const oldRunId = (await handle.describe()).runId;
    const history = await handle.fetchHistory();
    const finish = history.events?.find((e) => e.workflowTaskCompletedEventAttributes)?.eventId;
    expect(finish).toBeDefined();
    const { runId } = await stack.temporal.client.workflowService.resetWorkflowExecution({
      namespace: stack.temporal.namespace ?? 'default',
      workflowExecution: { workflowId: handle.workflowId, runId: oldRunId },
      reason: 'operator re-runs the payout after a fix',
      workflowTaskFinishEventId: finish,
      requestId: randomUUID(),
    });
    expect(runId).toBeTruthy();
    expect(runId).not.toBe(oldRunId);

    const rerun = stack.temporal.client.workflow.getHandle(handle.workflowId, runId ?? undefined);
    const again = (await rerun.result()) as typeof first;
    expect(again.state).toBe('paid');
    expect(again.attempts.map((a) => [a.provider, a.idempotencyKey, a.outcome])).toEqual([
      ['sandbox', `${payoutId}:1`, 'paid'],
    ]);
    // The re-run went through the steps again (its history is not the old one) ...
    const rerunHistory = await rerun.fetchHistory();
    const activities = (rerunHistory.events ?? [])
      .map((e) => e.activityTaskScheduledEventAttributes?.activityType?.name)
      .filter(Boolean);
    expect(activities).toContain('submitToProvider');

    // ... and found everything done: one hold and one settle, one disbursement, the wallet charged once.
    const view = stack.expectStatus(await stack.call('GET', `/v1/payouts/${payoutId}`), 200, 'get payout');
    expect(view.body.state).toBe('paid');
    expect(view.body.ledger.map((l: { step: string }) => l.step)).toEqual(['hold', 'settle']);
    const wallet = stack.expectStatus(await stack.call('GET', `/v1/payees/${payeeId}/wallet`), 200, 'wallet');
    expect(wallet.body.balances[0].available.amount).toBe('30000');
    expect(wallet.body.balances[0].held.amount).toBe('0');
    expect(await stack.sandbox().disbursement(`${payoutId}:1`)).toMatchObject({ state: 'paid' });
    await stack.assertInvariants();
  });
});
