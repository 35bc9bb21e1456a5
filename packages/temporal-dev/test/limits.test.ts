// The real server's limits and update semantics: an update starts a workflow waiting out its start delay,
// an accepted update still open when the workflow completes fails with AcceptedUpdateCompletedWorkflow,
// per-workflow update limits, id length and payload size limits (dynamic config honoured), and the
// timeout type of an activity whose schedule-to-start and schedule-to-close deadlines coincide.
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Connection, WorkflowUpdateFailedError, WorkflowUpdateStage } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { createTestEnv } from '../src/testing.ts';
import * as activities from './activities.ts';
import { finish, neverPickedUp, note, setValue, slow, takesUpdates } from './workflows/fidelity.ts';

const workflowsPath = fileURLToPath(new URL('./workflows/fidelity.ts', import.meta.url));
const BLOB_LIMIT = 10_000;
const IN_FLIGHT_LIMIT = 3;
const TOTAL_LIMIT = 6;

/** Fails with `what` instead of hanging when a condition is never met (a bound, not a timing check). */
function within<T>(p: Promise<T>, what: string, ms = 30_000): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const bound = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
  });
  return Promise.race([p, bound]).finally(() => clearTimeout(timer));
}

async function rejection(
  p: Promise<unknown>,
): Promise<{ code?: number; details?: string; message?: string }> {
  try {
    await p;
  } catch (err) {
    const e = err as {
      code?: number;
      details?: string;
      message?: string;
      cause?: { code?: number; details?: string };
    };
    return { code: e.code ?? e.cause?.code, details: e.details ?? e.cause?.details, message: e.message };
  }
  throw new Error('expected the call to fail');
}

describe('temporal-dev limits and update semantics', () => {
  let env: TestWorkflowEnvironment;
  let worker: Worker;
  let running: Promise<void>;
  /** Without the SDK's retries (it retries RESOURCE_EXHAUSTED), to see the server's own answer. */
  let raw: Connection;
  const taskQueue = `limits-${randomUUID()}`;

  beforeAll(async () => {
    env = await createTestEnv({
      extraArgs: [
        '--dynamic-config-value',
        `limit.blobSize.error=${BLOB_LIMIT}`,
        '--dynamic-config-value',
        `history.maxInFlightUpdates=${IN_FLIGHT_LIMIT}`,
        '--dynamic-config-value',
        `history.maxTotalUpdates=${TOTAL_LIMIT}`,
      ],
    });
    worker = await Worker.create({ connection: env.nativeConnection, taskQueue, workflowsPath, activities });
    running = worker.run();
    raw = await Connection.connect({ address: env.address, interceptors: [] });
  });
  afterAll(async () => {
    await raw?.close();
    worker?.shutdown();
    await running;
    await env?.teardown();
  });

  it('admits an update to a workflow waiting out its start delay, which then starts at once', async () => {
    const handle = await env.client.workflow.start(takesUpdates, {
      taskQueue,
      workflowId: `delayed-${randomUUID()}`,
      startDelay: '1 hour',
    });
    expect(await within(handle.executeUpdate(setValue, { args: [7] }), 'update during start delay')).toBe(0);
    await handle.signal(finish);
    expect(await within(handle.result(), 'result')).toBe(7);
  });

  it('fails an accepted update the workflow leaves unfinished as the real server does', async () => {
    const handle = await env.client.workflow.start(takesUpdates, {
      taskQueue,
      workflowId: `open-${randomUUID()}`,
    });
    const update = await handle.startUpdate(slow, { waitForStage: WorkflowUpdateStage.ACCEPTED });
    await handle.signal(finish);
    await handle.result();
    const err = await update.result().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(WorkflowUpdateFailedError);
    const cause = (err as WorkflowUpdateFailedError).cause;
    expect(cause).toBeInstanceOf(ApplicationFailure);
    expect((cause as ApplicationFailure).type).toBe('AcceptedUpdateCompletedWorkflow');
    expect((cause as ApplicationFailure).nonRetryable).toBe(true);
  });

  it('limits the updates in flight per workflow (history.maxInFlightUpdates)', async () => {
    const workflowId = `many-${randomUUID()}`;
    const handle = await env.client.workflow.start(takesUpdates, { taskQueue, workflowId });
    for (let i = 0; i < IN_FLIGHT_LIMIT; i++)
      await handle.startUpdate(slow, { waitForStage: WorkflowUpdateStage.ACCEPTED });
    const refused = await rejection(
      raw.workflowService.updateWorkflowExecution({
        namespace: env.namespace ?? 'default',
        workflowExecution: { workflowId },
        request: { meta: { updateId: randomUUID() }, input: { name: 'slow' } },
        waitPolicy: { lifecycleStage: 2 /* ACCEPTED */ },
      }),
    );
    expect(refused.code).toBe(8 /* RESOURCE_EXHAUSTED */);
    expect(refused.details).toBe(
      `limit on number of concurrent in-flight updates has been reached (${IN_FLIGHT_LIMIT})`,
    );
    await handle.terminate('done');
  });

  it('limits the updates over the life of a run (history.maxTotalUpdates)', async () => {
    const workflowId = `total-${randomUUID()}`;
    const handle = await env.client.workflow.start(takesUpdates, { taskQueue, workflowId });
    for (let i = 1; i <= TOTAL_LIMIT; i++)
      expect(await handle.executeUpdate(setValue, { args: [i] })).toBe(i - 1);
    const refused = await rejection(
      raw.workflowService.updateWorkflowExecution({
        namespace: env.namespace ?? 'default',
        workflowExecution: { workflowId },
        request: { meta: { updateId: randomUUID() }, input: { name: 'setValue' } },
        waitPolicy: { lifecycleStage: 3 /* COMPLETED */ },
      }),
    );
    expect(refused.code).toBe(9 /* FAILED_PRECONDITION */);
    expect(refused.details).toBe(`limit on number of total updates has been reached (${TOTAL_LIMIT})`);
    await handle.terminate('done');
  });

  it('refuses a workflow id longer than 1,000 characters', async () => {
    const long = 'w'.repeat(1001);
    const refused = await rejection(env.client.workflow.start(takesUpdates, { taskQueue, workflowId: long }));
    expect(refused.code).toBe(3 /* INVALID_ARGUMENT */);
    expect(refused.details).toBe('WorkflowId exceeds length limit.');
    const ok = await env.client.workflow.start(takesUpdates, { taskQueue, workflowId: 'w'.repeat(1000) });
    await ok.terminate('done');
  });

  it('refuses inputs over limit.blobSize.error, as configured', async () => {
    const big = 'x'.repeat(BLOB_LIMIT + 100);
    const refused = await rejection(
      env.client.workflow.start(takesUpdates, {
        taskQueue,
        workflowId: `big-${randomUUID()}`,
        args: [big],
      }),
    );
    expect(refused.code).toBe(3);
    expect(refused.details).toBe('Blob data size exceeds limit.');
    const handle = await env.client.workflow.start(takesUpdates, {
      taskQueue,
      workflowId: `small-${randomUUID()}`,
    });
    const signal = await rejection(handle.signal(note, big));
    expect(signal.details).toBe('Blob data size exceeds limit.');
    await handle.terminate('done');
  });

  it('times out an activity nobody picks up as SCHEDULE_TO_START when both deadlines coincide', async () => {
    const type = await env.client.workflow.execute(neverPickedUp, {
      taskQueue,
      workflowId: `tt-${randomUUID()}`,
    });
    expect(type).toMatch(/SCHEDULE_TO_START|^2$/);
  });

  it("times out as SCHEDULE_TO_START an activity on the workflow's own queue that no worker runs", async () => {
    // A worker with workflows only: the activity, eager or not, is never started.
    const ownQueue = `workflows-only-${randomUUID()}`;
    const workflowsOnly = await Worker.create({
      connection: env.nativeConnection,
      taskQueue: ownQueue,
      workflowsPath,
    });
    const type = await workflowsOnly.runUntil(
      env.client.workflow.execute(neverPickedUp, {
        taskQueue: ownQueue,
        workflowId: `tt-${randomUUID()}`,
        args: [true],
      }),
    );
    expect(type).toMatch(/SCHEDULE_TO_START|^2$/);
  });
});
