// A submission that meets the app's own database unreachable for longer than its retries last is submitted
// again (same attempt, same key) once it is back: the payout is paid by its one attempt, never failed over
// or failed. The outage is real: the submit step first queries a database nobody listens on (connection
// refused), then runs the real activity.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Worker } from '@temporalio/worker';
import { classifyDatabaseOutages } from '../../activities/database-outage.ts';
import { createActivities } from '../../src/app/activities.ts';
import { type Database, openDatabase } from '../../src/db/open.ts';
import { sql } from '../../src/db/sql.ts';
import { listSandboxDisbursements } from '../../src/providers/index.ts';
import { freePort } from '../../src/temporal/embedded-server.ts';
import { createDisburseWorker } from '../../src/worker/create-worker.ts';
import { type Stack, startStack, workflowBundle } from '../support/stack.ts';

describe('the database away while a payout is submitted', () => {
  let stack: Stack;
  let unreachable: Database;
  let worker: Worker | undefined;
  let running: Promise<void> | undefined;
  beforeAll(async () => {
    stack = await startStack('db-outage-submit');
    await stack.stopWorker();
    unreachable = await openDatabase({
      url: `postgres://postgres@127.0.0.1:${await freePort()}/postgres`,
      poolMax: 1,
    });
  });
  afterAll(async () => {
    worker?.shutdown();
    await running;
    await unreachable?.close();
    await stack?.close();
  });

  it('outlasting the submission retries: submitted again with the same key, paid by its one attempt', async () => {
    const real = createActivities(stack.services);
    // The first six submits (four tries of one activity, then two more) find the database unreachable.
    let refused = 6;
    const submits: string[] = [];
    const activities = {
      ...real,
      ...classifyDatabaseOutages({
        async submitToProvider(input: Parameters<typeof real.submitToProvider>[0]) {
          submits.push(`${input.payoutId}:${input.attemptNo}`);
          if (refused-- > 0) await sql(unreachable.em(), 'SELECT 1');
          return real.submitToProvider(input);
        },
      }),
    };
    worker = await createDisburseWorker({
      connection: stack.temporal.nativeConnection,
      namespace: stack.temporal.namespace ?? 'default',
      taskQueue: stack.taskQueue,
      activities,
      workflowBundle: await workflowBundle(),
    });
    running = worker.run();

    const payeeId = await stack.createPayee({ credit: '10000' });
    const payoutId = await stack.requestPayout(payeeId, '2500');
    const final = await stack.waitForState(
      payoutId,
      ['paid', 'failed', 'review', 'unknown_outcome'],
      240_000,
    );
    expect(final.state).toBe('paid');
    expect(final.attempts.map((a) => [a.attemptNo, a.outcome])).toEqual([[1, 'paid']]);
    // Every submit was of attempt 1; at least two after the activity's own four tries ran out.
    expect(submits.length).toBeGreaterThanOrEqual(7);
    expect(new Set(submits)).toEqual(new Set([`${payoutId}:1`]));
    const rows = await listSandboxDisbursements(stack.db, { payoutId });
    expect(rows.map((r) => r.state)).toEqual(['paid']);
    await stack.assertInvariants();
  }, 300_000);
});
