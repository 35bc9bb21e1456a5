// A completed period whose `period-<id>` workflow Temporal deleted after the namespace retention: the id
// is free again, so REJECT_DUPLICATE no longer keeps a second close out. The period's row does: closing
// it again (by hand or on schedule) starts nothing, posts nothing and pays nothing a second time.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { WorkflowNotFoundError } from '@temporalio/client';
import { sql } from '../../src/db/sql.ts';
import { closeDuePeriod } from '../../src/periods/schedule.ts';
import { periodWorkflowId } from '../../workflows/period-contract.ts';
import { type Stack, startStack } from '../support/stack.ts';

let stack: Stack;

beforeAll(async () => {
  stack = await startStack('periods-after-retention');
}, 120_000);

afterAll(async () => {
  await stack?.close();
});

const usd = (amount: string) => ({ amount, currency: 'USD', scale: 2 });

async function counts(periodId: string) {
  const [row] = await sql<{ postings: string; payouts: string; status: string }>(
    stack.db.em(),
    `SELECT (SELECT count(*) FROM "${stack.db.schema}".ledger_transactions
              WHERE idempotency_key LIKE $2)::text AS postings,
            (SELECT count(*) FROM "${stack.db.schema}".payouts)::text AS payouts,
            (SELECT status FROM "${stack.db.schema}".periods WHERE id = $1) AS status`,
    [periodId, `period:${periodId}:%`],
  );
  return row;
}

/** Simulates the namespace retention: the closed workflow is deleted (temporal-dev serves the call). */
async function deleteWorkflow(workflowId: string) {
  await stack.temporal.connection.workflowService.deleteWorkflowExecution({
    namespace: stack.temporal.namespace ?? 'default',
    workflowExecution: { workflowId },
  });
  // Deletion may be asynchronous: wait until the workflow is gone.
  for (;;) {
    try {
      await stack.temporal.client.workflow.getHandle(workflowId).describe();
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) return;
      throw err;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function workflowExists(periodId: string): Promise<boolean> {
  try {
    await stack.periodGateway.handle(periodId).describe();
    return true;
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return false;
    throw err;
  }
}

describe('a completed period past retention', () => {
  it('is not closed again, by hand or on schedule: 409 from its row, no second posting or payout', async () => {
    const periodId = '2026-04';
    const payee = await stack.createPayee({
      payee: { payoutPreferences: { preferredMethod: 'bank_account', instantOptIn: true, autoPayout: true } },
    });
    const events = [
      {
        externalId: 'ret-1',
        payeeId: payee,
        type: 'commission',
        amount: usd('4000'),
        occurredAt: '2026-04-03T10:00:00Z',
        volume: 0,
      },
    ];
    expect((await stack.call('POST', '/v1/earnings', { body: { events } })).status).toBe(200);
    await stack.closePeriod(periodId);
    await stack.waitForPeriod(periodId, (p) => p.stage === 'awaiting_approval');
    await stack.approvePeriod(periodId, 'ret-approver');
    await stack.periodGateway.handle(periodId).result();
    const before = await counts(periodId);
    expect(before).toEqual({ postings: '1', payouts: '1', status: 'completed' });

    await deleteWorkflow(periodWorkflowId(periodId));

    const again = await stack.call('POST', `/v1/periods/${periodId}/close`, { body: {} });
    expect(again.status).toBe(409);
    expect(again.contentType).toContain('application/problem+json');
    expect(JSON.stringify(again.body)).toContain('completed');
    expect(await workflowExists(periodId)).toBe(false);

    // The scheduled close of the same period finds it done and starts nothing either.
    const scheduled = await closeDuePeriod(stack.periodGateway, stack.services.periods, {
      calendar: { kind: 'monthly', timezone: 'UTC' },
      graceMs: 0,
      policy: { reminderMs: 86_400_000, escalationMs: 259_200_000, payoutWindow: 10, payoutPollMs: 5_000 },
      scheduledAt: '2026-05-01T00:00:00Z',
    });
    expect(scheduled).toMatchObject({ periodId, outcome: 'already_closing' });
    expect(await workflowExists(periodId)).toBe(false);

    expect(await counts(periodId)).toEqual(before);
    await stack.assertInvariants();
  }, 180_000);
});
