// A paid payout whose `payout-<id>` workflow Temporal deleted after the namespace retention: the id is
// free again, so REJECT_DUPLICATE no longer keeps a retried start (the API's `existing` path, a fan-out
// wave) from running it a second time. The row does: the new run ends in its first step, holding,
// submitting, settling and recording nothing.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { WorkflowFailedError, WorkflowNotFoundError } from '@temporalio/client';
import { sql } from '../../src/db/sql.ts';
import { payoutInputFrom } from '../../src/payouts/service.ts';
import { PayoutStore } from '../../src/payouts/store.ts';
import { PayoutFailure } from '../../workflows/payout-activities.ts';
import { type Stack, startStack } from '../support/stack.ts';

let stack: Stack;

beforeAll(async () => {
  stack = await startStack('payouts-after-retention');
}, 120_000);

afterAll(async () => {
  await stack?.close();
});

/** What a second run must leave as it was: the row, the ledger, the provider, the outgoing webhooks. */
async function footprint(payoutId: string) {
  const s = `"${stack.db.schema}"`;
  const [row] = await sql<Record<string, string>>(
    stack.db.em(),
    `SELECT p.state, p.state_doc::text AS doc, p.updated_at::text AS updated,
            (SELECT count(*) FROM ${s}.ledger_transactions WHERE idempotency_key LIKE $2)::text AS ledger,
            (SELECT coalesce(sum(attempts), 0) FROM ${s}.sandbox_submit_attempts)::text AS submits,
            (SELECT count(*) FROM ${s}.sandbox_disbursements)::text AS disbursements,
            (SELECT count(*) FROM ${s}.webhook_outbox)::text AS webhooks
       FROM ${s}.payouts p WHERE p.id = $1`,
    [payoutId, `payout:${payoutId}:%`],
  );
  return row;
}

/** Simulates the namespace retention: the closed workflow is deleted (temporal-dev serves the call). */
async function deleteWorkflow(payoutId: string) {
  const handle = stack.handle(payoutId);
  await stack.temporal.connection.workflowService.deleteWorkflowExecution({
    namespace: stack.temporal.namespace ?? 'default',
    workflowExecution: { workflowId: handle.workflowId },
  });
  for (;;) {
    try {
      await handle.describe();
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) return;
      throw err;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe('a paid payout past retention', () => {
  it('started again, ends in its first step with nothing held, submitted, settled or recorded', async () => {
    const payee = await stack.createPayee({ credit: '1000' });
    const payoutId = await stack.requestPayout(payee, '400');
    expect((await stack.result(payoutId)).state).toBe('paid');
    const before = await footprint(payoutId);
    expect(before).toMatchObject({ state: 'paid', ledger: '2' });

    await deleteWorkflow(payoutId);
    // A retried start through the gateway, as the API's `existing` path and a fan-out wave do.
    const record = await new PayoutStore(stack.db.schema).get(stack.db.em(), payoutId);
    await stack.gateway.start(payoutInputFrom(record!));

    const failure = await stack.result(payoutId).then(
      (doc) => ({ completed: doc.state }),
      (err: unknown) => err,
    );
    expect(failure).toBeInstanceOf(WorkflowFailedError);
    const cause = (failure as WorkflowFailedError).cause;
    expect(cause).toMatchObject({ type: PayoutFailure.payoutFinal });
    expect(cause?.message).toContain('paid');
    // Its one step was the admission (a local activity) that found the row final: no activity after it.
    const history = await stack.handle(payoutId).fetchHistory();
    const activities = (history.events ?? [])
      .map((e) => e.activityTaskScheduledEventAttributes?.activityType?.name)
      .filter((n): n is string => !!n);
    expect(activities).toEqual([]);

    expect(await footprint(payoutId)).toEqual(before);
    await stack.assertInvariants();
  }, 120_000);
});
