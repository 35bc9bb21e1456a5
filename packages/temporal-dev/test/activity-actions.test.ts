// PauseActivity, UnpauseActivity, ResetActivity and UpdateActivityOptions (Temporal UI's activity
// actions) through the official client's WorkflowService: a running attempt hears the pause at its
// heartbeat and stops (the SDK reports it failed), no further attempt is dispatched while paused, a reset
// goes back to attempt 1, an unpause dispatches it again, and new options apply to the running attempt.
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import {
  ActivityFailure,
  TimeoutFailure,
  WorkflowFailedError,
  type WorkflowHandle,
} from '@temporalio/client';
import { TimeoutType } from '@temporalio/common';
import { msToTs } from '@temporalio/common/lib/time.js';
import type { temporal } from '@temporalio/proto';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { createTestEnv } from '../src/testing.ts';
import { heartbeatsUntilReleased, hold, release } from './pausable-activities.ts';
import { runsPausable } from './workflows/fidelity.ts';

const workflowsPath = fileURLToPath(new URL('./workflows/fidelity.ts', import.meta.url));
const SCHEDULED = 1;
const STARTED = 2;
const PAUSED = 4;
const ACTIVITY_TASK_STARTED = 11;

interface Pending {
  state?: number | null;
  attempt?: number | null;
  paused?: boolean | null;
  lastFailure?: { message?: string | null } | null;
  pauseInfo?: { manual?: { identity?: string | null; reason?: string | null } | null } | null;
}

/** Polls (real time, bounded) the workflow's one pending activity until `ok`. */
async function pendingUntil(h: WorkflowHandle, ok: (p: Pending) => boolean, what: string): Promise<Pending> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const p = (await h.describe()).raw.pendingActivities?.[0] as Pending | undefined;
    if (p && ok(p)) return p;
    if (Date.now() > deadline) throw new Error(`${what}: last ${JSON.stringify(p)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('temporal-dev activity pause, unpause and reset', () => {
  let env: TestWorkflowEnvironment;
  let worker: Worker;
  let running: Promise<void>;
  const taskQueue = `pause-${randomUUID()}`;

  beforeAll(async () => {
    env = await createTestEnv();
    worker = await Worker.create({
      connection: env.nativeConnection,
      taskQueue,
      workflowsPath,
      activities: { heartbeatsUntilReleased },
    });
    running = worker.run();
  });
  afterAll(async () => {
    release();
    worker?.shutdown();
    await running;
    await env?.teardown();
  });

  const svc = () => env.client.workflowService;

  it('pauses a running activity, keeps it paused across its retry, resets it to attempt 1 and unpauses it', async () => {
    const h = await env.client.workflow.start(runsPausable, { taskQueue, workflowId: `p-${randomUUID()}` });
    const execution = { workflowId: h.workflowId };
    await pendingUntil(h, (p) => p.state === STARTED, 'the first attempt running');

    await svc().pauseActivity({
      namespace: 'default',
      execution,
      id: 'pausable',
      identity: 'ops',
      reason: 'look',
    });
    // The attempt stops at its next heartbeat; its retry is not dispatched while paused.
    const paused = await pendingUntil(
      h,
      (p) => p.state === PAUSED && p.attempt === 2,
      'paused after attempt 1',
    );
    expect(paused.paused).toBe(true);
    expect(paused.lastFailure?.message).toBe('Activity paused');
    expect(paused.pauseInfo?.manual).toMatchObject({ identity: 'ops', reason: 'look' });
    await new Promise((r) => setTimeout(r, 1_500)); // past the 1 s retry interval
    expect(await pendingUntil(h, () => true, 'still there')).toMatchObject({ state: PAUSED, attempt: 2 });

    await svc().resetActivity({ namespace: 'default', execution, id: 'pausable', keepPaused: true });
    expect(await pendingUntil(h, () => true, 'reset')).toMatchObject({ state: PAUSED, attempt: 1 });

    release();
    await svc().unpauseActivity({ namespace: 'default', execution, id: 'pausable' });
    expect(await h.result()).toBe(1);
    const started = (await h.fetchHistory()).events!.filter((e) => e.eventType === ACTIVITY_TASK_STARTED);
    expect(started.map((e) => e.activityTaskStartedEventAttributes?.attempt)).toEqual([1]);
  });

  it("updates a running activity's options: its new start-to-close and attempt limit end it", async () => {
    hold();
    const h = await env.client.workflow.start(runsPausable, { taskQueue, workflowId: `p-${randomUUID()}` });
    const execution = { workflowId: h.workflowId };
    await pendingUntil(h, (p) => p.state === STARTED, 'the first attempt running');
    await expect(
      svc().updateActivityOptions({
        namespace: 'default',
        execution,
        id: 'pausable',
        activityOptions: {},
        updateMask: { paths: ['no_such_field'] },
      }),
    ).rejects.toMatchObject({ code: 3 });
    const res: temporal.api.workflowservice.v1.IUpdateActivityOptionsResponse =
      await svc().updateActivityOptions({
        namespace: 'default',
        execution,
        id: 'pausable',
        activityOptions: { startToCloseTimeout: msToTs('1s'), retryPolicy: { maximumAttempts: 1 } },
        updateMask: { paths: ['start_to_close_timeout', 'retryPolicy.maximumAttempts'] },
      });
    expect(Number(res.activityOptions?.startToCloseTimeout?.seconds)).toBe(1);
    expect(res.activityOptions?.retryPolicy?.maximumAttempts).toBe(1);
    const failure = await h.result().catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(WorkflowFailedError);
    const cause = (failure as WorkflowFailedError).cause;
    expect(cause).toBeInstanceOf(ActivityFailure);
    expect((cause as ActivityFailure).cause).toBeInstanceOf(TimeoutFailure);
    expect(((cause as ActivityFailure).cause as TimeoutFailure).timeoutType).toBe(TimeoutType.START_TO_CLOSE);
  });

  it('refuses a request naming no activity, and answers NOT_FOUND for an unknown one', async () => {
    hold();
    const h = await env.client.workflow.start(runsPausable, { taskQueue, workflowId: `p-${randomUUID()}` });
    const execution = { workflowId: h.workflowId };
    await pendingUntil(h, (p) => p.state === STARTED || p.state === SCHEDULED, 'pending');
    await expect(svc().pauseActivity({ namespace: 'default', execution })).rejects.toMatchObject({ code: 3 });
    await expect(
      svc().unpauseActivity({ namespace: 'default', execution, id: 'nope' }),
    ).rejects.toMatchObject({ code: 5 });
    await h.terminate('done');
  });
});
