// Time skipping with an activity running: env.sleep() returns, the activity's result is delivered and
// the workflow's later timers still skip. (This hung: a running activity held virtual time, so the
// explicit sleep waited in real time.) The time a sleep skips past a running activity does not count
// against its timeouts, as on the official test server, where it cannot skip past one at all.
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { createTestEnv } from '../src/testing.ts';
import { activityEntered, openGate, resetGate, waitsAtGate } from './gated-activities.ts';
import { activityThenDay } from './workflows/fidelity.ts';

const workflowsPath = fileURLToPath(new URL('./workflows/fidelity.ts', import.meta.url));
const HOUR = 3600_000;

/** Fails with `what` instead of hanging (a bound on a condition, not a timing check). */
function within<T>(p: Promise<T>, what: string, ms = 30_000): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const bound = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`${what}: no answer within ${ms} ms (time skipping stuck?)`)),
      ms,
    );
  });
  return Promise.race([p, bound]).finally(() => clearTimeout(timer));
}

describe('temporal-dev time skipping with a running activity', () => {
  let env: TestWorkflowEnvironment;
  let worker: Worker;
  let running: Promise<void>;
  const taskQueue = `ts-activity-${randomUUID()}`;

  beforeAll(async () => {
    env = await createTestEnv({ timeSkipping: true });
    worker = await Worker.create({
      connection: env.nativeConnection,
      taskQueue,
      workflowsPath,
      activities: { waitsAtGate },
    });
    running = worker.run();
  });
  afterAll(async () => {
    openGate();
    worker?.shutdown();
    await running;
    await env?.teardown();
  });

  it('returns from env.sleep() while an activity runs, then skips the workflow timers', async () => {
    const handle = await env.client.workflow.start(activityThenDay, {
      taskQueue,
      workflowId: `ts-${randomUUID()}`,
    });
    await within(activityEntered, 'activity start');
    const before = await env.currentTimeMs();
    await within(env.sleep('2 hours'), 'env.sleep with an activity running');
    expect((await env.currentTimeMs()) - before).toBeGreaterThanOrEqual(2 * HOUR);
    openGate();
    expect(await within(handle.result(), 'result after the day timer')).toBe('through');
  });

  it('does not time out a running activity by the time env.sleep() skips', async () => {
    // This retried: the skipped two hours expired the 1-minute start-to-close timeout of the running
    // attempt, and its completion then found no activity.
    resetGate();
    const handle = await env.client.workflow.start(activityThenDay, {
      taskQueue,
      workflowId: `ts-${randomUUID()}`,
      args: ['1 minute'],
    });
    await within(activityEntered, 'activity start');
    await within(env.sleep('2 hours'), 'env.sleep with an activity running');
    openGate();
    expect(await within(handle.result(), 'result after the day timer')).toBe('through');
    const { events } = await handle.fetchHistory();
    const attempts = (events ?? [])
      .filter((e) => e.activityTaskStartedEventAttributes)
      .map((e) => e.activityTaskStartedEventAttributes?.attempt);
    expect(attempts).toEqual([1]);
    expect((events ?? []).some((e) => e.activityTaskTimedOutEventAttributes)).toBe(false);
  });
});
