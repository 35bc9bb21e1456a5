import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import {
  WithStartWorkflowOperation,
  WorkflowExecutionAlreadyStartedError,
  WorkflowFailedError,
} from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { createTestEnv } from '../src/testing.ts';
import * as activities from './activities.ts';
import { TEST_SEARCH_ATTRIBUTES } from './search-attributes.ts';
import {
  addItem,
  asyncActivity,
  buggy,
  cancellable,
  cancelsActivity,
  counter,
  failsOnce,
  items,
  localActivities,
  parent,
  parentClosePolicies,
  patchedWorkflow,
  progress,
  retries,
  signalsAnother,
  timesOut,
  waitsForSignal,
  withSearchAttributes,
} from './workflows/features.ts';

/** The message chain of the rejection of p ("outer <- cause <- cause"). */
async function errorText(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    const parts: string[] = [];
    for (let e = err as Error | undefined; e; e = e.cause as Error | undefined) parts.push(e.message);
    return parts.join(' <- ');
  }
  throw new Error('expected a rejection');
}

const workflowsPath = fileURLToPath(new URL('./workflows/features.ts', import.meta.url));

describe('temporal-dev features (dev server)', () => {
  let env: TestWorkflowEnvironment;
  let worker: Worker;
  let running: Promise<void>;
  const taskQueue = `features-${randomUUID()}`;
  const opts = () => ({ taskQueue, workflowId: randomUUID() });

  beforeAll(async () => {
    env = await createTestEnv({ searchAttributes: TEST_SEARCH_ATTRIBUTES });
    worker = await Worker.create({ connection: env.nativeConnection, taskQueue, workflowsPath, activities });
    running = worker.run();
  });

  afterAll(async () => {
    worker?.shutdown();
    await running;
    await env?.teardown();
  });

  it('runs child workflows (result, failure, started child left running)', async () => {
    const workflowId = randomUUID();
    const [a, failed, waitingId] = await env.client.workflow.execute(parent, {
      taskQueue,
      workflowId,
      args: [`${workflowId}-waiting`],
    });
    expect(a).toBe('child a');
    expect(failed).toBe('child failed');
    // Parent close policy TERMINATE ends the still-running child.
    const desc = await env.client.workflow.getHandle(waitingId!).describe();
    expect(desc.status.name).toBe('TERMINATED');
  });

  it('signals an external workflow', async () => {
    const target = await env.client.workflow.start(waitsForSignal, opts());
    await env.client.workflow.execute(signalsAnother, { ...opts(), args: [target.workflowId] });
    expect(await target.result()).toBe('from-sibling');
  });

  it('follows continue-as-new runs to the final result', async () => {
    const handle = await env.client.workflow.start(counter, { ...opts(), args: [0, 3] });
    expect(await handle.result()).toBe(3);
    expect(await handle.query(progress)).toBe(3);
  });

  it('retries activities by policy: backoff, non-retryable types, nextRetryDelay, heartbeat details', async () => {
    const r = await env.client.workflow.execute(retries, opts());
    expect(r).toEqual({
      flakyAttempt: 3,
      declinedType: 'ProviderDeclined',
      declinedRetryState: 'NON_RETRYABLE_FAILURE',
      later: 2,
      resumed: 'resumed from 5 on attempt 2',
    });
  });

  it('times out activities (start-to-close) after the retry attempts', async () => {
    const r = await env.client.workflow.execute(timesOut, opts());
    expect(r).toMatch(/Activity task timed out|timed out/i);
  });

  it('delivers cancellation to a heartbeating activity', async () => {
    expect(await env.client.workflow.execute(cancelsActivity, opts())).toBe('cancelled');
  });

  it('cancels, terminates and describes workflows', async () => {
    const h = await env.client.workflow.start(cancellable, opts());
    await h.cancel();
    await expect(h.result()).rejects.toBeInstanceOf(WorkflowFailedError);
    expect((await h.describe()).status.name).toBe('CANCELLED');
    const t = await env.client.workflow.start(cancellable, opts());
    await t.terminate('operator said so');
    expect((await t.describe()).status.name).toBe('TERMINATED');
    const history = await t.fetchHistory();
    expect(history.events?.at(-1)?.workflowExecutionTerminatedEventAttributes?.reason).toBe(
      'operator said so',
    );
  });

  it('dedupes starts by workflow id and honours the conflict policy', async () => {
    const o = opts();
    const h = await env.client.workflow.start(cancellable, o);
    await expect(env.client.workflow.start(cancellable, o)).rejects.toBeInstanceOf(
      WorkflowExecutionAlreadyStartedError,
    );
    const again = await env.client.workflow.start(cancellable, {
      ...o,
      workflowIdConflictPolicy: 'USE_EXISTING',
    });
    expect(again.firstExecutionRunId).toBe(h.firstExecutionRunId);
    await h.terminate();
  });

  it('completes activities asynchronously by task token', async () => {
    const h = await env.client.workflow.start(asyncActivity, opts());
    for (let i = 0; i < 100 && activities.tokens.length === 0; i++)
      await new Promise((r) => setTimeout(r, 20));
    await env.client.activity.complete(activities.tokens.shift()!, 'done later');
    expect(await h.result()).toBe('done later');
  });

  it('runs local activities and patches', async () => {
    expect(await env.client.workflow.execute(localActivities, opts())).toBe('Hello, local');
    expect(await env.client.workflow.execute(patchedWorkflow, opts())).toBe('v2');
  });

  it('upserts search attributes and memo, lists and counts with queries', async () => {
    const o = opts();
    await env.client.workflow.execute(withSearchAttributes, {
      ...o,
      searchAttributes: { PayeeId: ['payee-1'], Currency: ['USD'] },
      memo: { source: 'test' },
    });
    const desc = await env.client.workflow.getHandle(o.workflowId).describe();
    expect(desc.searchAttributes).toMatchObject({
      PayeeId: ['payee-1'],
      PayoutState: ['paid'],
      PayoutAmount: [2500],
    });
    expect(desc.memo).toEqual({ source: 'test', note: 'upserted' });
    const ids: string[] = [];
    for await (const w of env.client.workflow.list({
      query: `PayeeId = 'payee-1' AND PayoutAmount >= 2000`,
    })) {
      ids.push(w.workflowId);
    }
    expect(ids).toEqual([o.workflowId]);
    const { count } = await env.client.workflow.count(
      `WorkflowType = 'withSearchAttributes' AND ExecutionStatus = 'Completed'`,
    );
    expect(count).toBeGreaterThanOrEqual(1);
    expect(await errorText(env.client.workflow.count('PayeeId = '))).toMatch(/INVALID_ARGUMENT/);
  });

  it('rejects undefined search attributes at start', async () => {
    const err = await errorText(
      env.client.workflow.start(cancellable, { ...opts(), searchAttributes: { NotRegistered: ['x'] } }),
    );
    expect(err).toMatch(/INVALID_ARGUMENT.*NotRegistered/);
  });

  it('supports update-with-start and rejects invalid updates', async () => {
    const o = opts();
    const startOp = new WithStartWorkflowOperation(items, { ...o, workflowIdConflictPolicy: 'USE_EXISTING' });
    expect(
      await env.client.workflow.executeUpdateWithStart(addItem, {
        args: ['first'],
        startWorkflowOperation: startOp,
      }),
    ).toBe(1);
    const h = await startOp.workflowHandle();
    expect(await errorText(h.executeUpdate(addItem, { args: [''] }))).toMatch(
      /Workflow Update failed <- empty item/,
    );
    expect(await h.executeUpdate(addItem, { args: ['done'] })).toBe(2);
    expect(await h.result()).toEqual(['first', 'done']);
  });

  it('retries a failed workflow by its retry policy', async () => {
    const r = await env.client.workflow.execute(failsOnce, {
      ...opts(),
      retry: { initialInterval: '10ms', maximumAttempts: 3 },
    });
    expect(r).toBe(2);
  });

  it('signal-with-start starts once and signals the running workflow after', async () => {
    const o = opts();
    const { childDone } = await import('./workflows/features.ts');
    const h = await env.client.workflow.signalWithStart(waitsForSignal, {
      ...o,
      signal: childDone,
      signalArgs: ['first'],
    });
    expect(await h.result()).toBe('first');
  });

  it('retries a failed workflow task and records WorkflowTaskFailed', async () => {
    const h = await env.client.workflow.start(buggy, opts());
    let failedTasks = 0;
    for (let i = 0; i < 100 && failedTasks === 0; i++) {
      await new Promise((r) => setTimeout(r, 50));
      const history = await h.fetchHistory();
      failedTasks = history.events?.filter((e) => e.workflowTaskFailedEventAttributes).length ?? 0;
    }
    expect(failedTasks).toBeGreaterThanOrEqual(1);
    const desc = await h.describe();
    expect(desc.status.name).toBe('RUNNING');
    expect(desc.raw.pendingWorkflowTask?.attempt).toBeGreaterThanOrEqual(2);
    await h.terminate('test over');
  });

  it('applies parent close policies and cancels external workflows', async () => {
    const ids = { cancel: randomUUID(), abandon: randomUUID(), external: randomUUID() };
    const external = await env.client.workflow.start(cancellable, { taskQueue, workflowId: ids.external });
    expect(await env.client.workflow.execute(parentClosePolicies, { ...opts(), args: [ids] })).toBe(
      'parent done',
    );
    await expect(external.result()).rejects.toBeInstanceOf(WorkflowFailedError);
    expect((await external.describe()).status.name).toBe('CANCELLED');
    const cancelled = env.client.workflow.getHandle(ids.cancel);
    await expect(cancelled.result()).rejects.toBeInstanceOf(WorkflowFailedError);
    expect((await cancelled.describe()).status.name).toBe('CANCELLED');
    const abandoned = env.client.workflow.getHandle(ids.abandon);
    expect((await abandoned.describe()).status.name).toBe('RUNNING');
    await abandoned.terminate();
  });

  // Runs last: every history this server produced for the workflows above replays deterministically.
  it('produces histories that replay cleanly with Worker.runReplayHistories', async () => {
    const histories = [];
    for await (const w of env.client.workflow.list({ query: `TaskQueue = '${taskQueue}'` })) {
      histories.push({
        workflowId: `${w.workflowId}/${w.runId}`,
        history: await env.client.workflow.getHandle(w.workflowId, w.runId).fetchHistory(),
      });
    }
    expect(histories.length).toBeGreaterThan(20);
    // Structural rule the SDK relies on: a started workflow task is followed by its outcome.
    const malformed = histories.filter(({ history }) => {
      const types = (history.events ?? []).map((e) => Number(e.eventType));
      return types.some(
        (t, i) => t === 6 && i + 1 < types.length && ![7, 8, 9, 11, 12].includes(types[i + 1]!),
      );
    });
    expect(malformed.map((h) => h.workflowId)).toEqual([]);
    const failures: string[] = [];
    for await (const r of Worker.runReplayHistories({ workflowsPath }, histories)) {
      if (r.error) failures.push(`${r.workflowId}: ${r.error.message}`);
    }
    expect(failures).toEqual([]);
  });
});
