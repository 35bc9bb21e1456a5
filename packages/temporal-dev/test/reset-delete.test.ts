// Issue #20: ResetWorkflowExecution (to a workflow task, with the reset reapply of signals and updates) and
// DeleteWorkflowExecution, through the official client's WorkflowService.
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { WorkflowHandle } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { createTestEnv } from '../src/testing.ts';
import * as activities from './durable-activities.ts';
import { add, addByUpdate, collector, seen } from './workflows/durable.ts';

const workflowsPath = fileURLToPath(new URL('./workflows/durable.ts', import.meta.url));

const WORKFLOW_TASK_COMPLETED = 7;
const WORKFLOW_TASK_FAILED = 9;
const WORKFLOW_EXECUTION_SIGNALED = 26;
const WORKFLOW_EXECUTION_UPDATE_ACCEPTED = 41;
const RESET_WORKFLOW = 20;
const TERMINATED = 5;
const REAPPLY_NONE = 2;
const INVALID_ARGUMENT = 3;
const NOT_FOUND = 5;

interface LooseWorkflowService {
  resetWorkflowExecution(req: object): Promise<{ runId?: string | null }>;
  deleteWorkflowExecution(req: object): Promise<object>;
}

describe('temporal-dev reset and delete', () => {
  let env: TestWorkflowEnvironment;
  let worker: Worker;
  let running: Promise<void>;
  const taskQueue = `reset-${randomUUID()}`;

  beforeAll(async () => {
    env = await createTestEnv();
    worker = await Worker.create({ connection: env.nativeConnection, taskQueue, workflowsPath, activities });
    running = worker.run();
  });

  afterAll(async () => {
    worker?.shutdown();
    await running;
    await env?.teardown();
  });

  // int64 fields as numbers (the service's generated types want Long; protobufjs takes either).
  const svc = () => env.client.workflowService as unknown as LooseWorkflowService;
  const namespace = () => env.namespace ?? 'default';

  /** A collector that has taken its first value through the activity and holds a second one. */
  async function collectorWithTwo(): Promise<WorkflowHandle<typeof collector>> {
    const h = await env.client.workflow.start(collector, { taskQueue, workflowId: `reset-${randomUUID()}` });
    // Answered once the first workflow task completed: the signals come after it.
    expect(await h.query(seen)).toEqual([]);
    await h.signal(add, 'a');
    await h.signal(add, 'b');
    for (let i = 0; i < 600; i++) {
      if ((await h.query(seen)).length === 2) return h;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error('the collector did not take two values');
  }

  async function firstTaskCompleted(h: WorkflowHandle): Promise<number> {
    const history = await h.fetchHistory();
    const ev = history.events!.find((e) => e.eventType === WORKFLOW_TASK_COMPLETED)!;
    return Number(ev.eventId);
  }

  it('resets to the first workflow task: signals after it are reapplied, the old run is terminated', async () => {
    const h = await collectorWithTwo();
    const oldRunId = (await h.describe()).runId;
    const finish = await firstTaskCompleted(h);
    const { runId } = await svc().resetWorkflowExecution({
      namespace: namespace(),
      workflowExecution: { workflowId: h.workflowId, runId: oldRunId },
      reason: 'test reset',
      workflowTaskFinishEventId: finish,
      requestId: randomUUID(),
    });
    expect(runId).toBeTruthy();
    expect(runId).not.toBe(oldRunId);
    const old = await env.client.workflow.getHandle(h.workflowId, oldRunId).describe();
    expect(old.raw.workflowExecutionInfo?.status).toBe(TERMINATED);

    const reset = env.client.workflow.getHandle(h.workflowId); // the current run is the reset one
    expect((await reset.describe()).runId).toBe(runId);
    await reset.signal(add, 'c');
    expect(await reset.result()).toEqual(['first=a', 'a', 'b', 'c']);

    const history = await reset.fetchHistory();
    const failed = history.events!.find((e) => e.eventType === WORKFLOW_TASK_FAILED)!;
    expect(Number(failed.eventId)).toBe(finish);
    expect(failed.workflowTaskFailedEventAttributes).toMatchObject({
      cause: RESET_WORKFLOW,
      baseRunId: oldRunId,
      newRunId: runId,
    });
    await expect(Worker.runReplayHistory({ workflowsPath }, history)).resolves.toBeUndefined();
  });

  it('reapplies an update accepted after the reset point too', async () => {
    const h = await env.client.workflow.start(collector, { taskQueue, workflowId: `reset-${randomUUID()}` });
    expect(await h.query(seen)).toEqual([]);
    expect(await h.executeUpdate(addByUpdate, { args: ['a'] })).toBe(1);
    await h.signal(add, 'b');
    for (let i = 0; i < 600 && (await h.query(seen)).length < 2; i++) {
      await new Promise((r) => setTimeout(r, 50));
    }
    const finish = await firstTaskCompleted(h);
    await svc().resetWorkflowExecution({
      namespace: namespace(),
      workflowExecution: { workflowId: h.workflowId },
      reason: 'reapply the update',
      workflowTaskFinishEventId: finish,
      requestId: randomUUID(),
    });
    const reset = env.client.workflow.getHandle(h.workflowId);
    await reset.signal(add, 'c');
    const result = await reset.result();
    expect(result[0]).toMatch(/^first=[ab]$/);
    expect(result.slice(1).sort()).toEqual(['a', 'b', 'c']);
    const history = await reset.fetchHistory();
    const accepted = history.events!.filter((e) => e.eventType === WORKFLOW_EXECUTION_UPDATE_ACCEPTED);
    expect(
      accepted.map((e) => e.workflowExecutionUpdateAcceptedEventAttributes?.acceptedRequest?.input?.name),
    ).toEqual(['addByUpdate']);
    await expect(Worker.runReplayHistory({ workflowsPath }, history)).resolves.toBeUndefined();
  });

  it('with reapply type NONE the signals after the reset point are dropped', async () => {
    const h = await collectorWithTwo();
    const finish = await firstTaskCompleted(h);
    await svc().resetWorkflowExecution({
      namespace: namespace(),
      workflowExecution: { workflowId: h.workflowId },
      reason: 'no reapply',
      workflowTaskFinishEventId: finish,
      requestId: randomUUID(),
      resetReapplyType: REAPPLY_NONE,
    });
    const reset = env.client.workflow.getHandle(h.workflowId);
    const signaled = (await reset.fetchHistory()).events!.filter(
      (e) => e.eventType === WORKFLOW_EXECUTION_SIGNALED,
    );
    expect(signaled).toHaveLength(0);
    for (const v of ['x', 'y', 'z']) await reset.signal(add, v);
    expect(await reset.result()).toEqual(['first=x', 'x', 'y', 'z']);
  });

  it('the same request id resets once', async () => {
    const h = await collectorWithTwo();
    const finish = await firstTaskCompleted(h);
    const req = {
      namespace: namespace(),
      workflowExecution: { workflowId: h.workflowId },
      reason: 'twice',
      workflowTaskFinishEventId: finish,
      requestId: randomUUID(),
    };
    const first = await svc().resetWorkflowExecution(req);
    const again = await svc().resetWorkflowExecution(req);
    expect(again.runId).toBe(first.runId);
    await env.client.workflow.getHandle(h.workflowId).terminate('done');
  });

  it('refuses an event id that does not finish a workflow task, or is out of range', async () => {
    const h = await collectorWithTwo();
    const last = Number((await h.describe()).historyLength);
    for (const id of [1, last + 1, 2 /* WorkflowTaskScheduled */]) {
      await expect(
        svc().resetWorkflowExecution({
          namespace: namespace(),
          workflowExecution: { workflowId: h.workflowId },
          reason: 'bad',
          workflowTaskFinishEventId: id,
          requestId: randomUUID(),
        }),
      ).rejects.toMatchObject({ code: INVALID_ARGUMENT });
    }
    await h.terminate('done');
  });

  it('deletes a running workflow: it is gone from describe, history and lists', async () => {
    const h = await collectorWithTwo();
    await svc().deleteWorkflowExecution({
      namespace: namespace(),
      workflowExecution: { workflowId: h.workflowId },
    });
    await expect(h.describe()).rejects.toMatchObject({ name: 'WorkflowNotFoundError' });
    const listed = [];
    for await (const w of env.client.workflow.list({ query: `WorkflowId = '${h.workflowId}'` }))
      listed.push(w);
    expect(listed).toHaveLength(0);
    await expect(
      svc().deleteWorkflowExecution({
        namespace: namespace(),
        workflowExecution: { workflowId: h.workflowId },
      }),
    ).rejects.toMatchObject({ code: NOT_FOUND });
    // The id is free again.
    const again = await env.client.workflow.start(collector, { taskQueue, workflowId: h.workflowId });
    await again.terminate('done');
  });
});
