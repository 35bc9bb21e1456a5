import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { WorkflowFailedError } from '@temporalio/client';
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { createTestEnv } from '../src/testing.ts';
import * as activities from './activities.ts';
import { TEST_SEARCH_ATTRIBUTES } from './search-attributes.ts';
import { approval, approve, status } from './workflows/basic.ts';
import {
  activityTimeouts,
  cancellable,
  childDone,
  childSignalsAndCancel,
  retries,
  sleepsDays,
  waitsWithDeadline,
} from './workflows/features.ts';

const basicPath = fileURLToPath(new URL('./workflows/basic.ts', import.meta.url));
const featuresPath = fileURLToPath(new URL('./workflows/features.ts', import.meta.url));

describe('temporal-dev time-skipping test server', () => {
  let env: TestWorkflowEnvironment;
  let workers: Worker[];
  let running: Promise<void>[];
  const taskQueue = `ts-${randomUUID()}`;
  const opts = () => ({ taskQueue, workflowId: randomUUID() });

  beforeAll(async () => {
    env = await createTestEnv({ timeSkipping: true, searchAttributes: TEST_SEARCH_ATTRIBUTES });
    workers = [
      await Worker.create({
        connection: env.nativeConnection,
        taskQueue,
        workflowsPath: featuresPath,
        activities,
      }),
      await Worker.create({
        connection: env.nativeConnection,
        taskQueue: `${taskQueue}-basic`,
        workflowsPath: basicPath,
        activities,
      }),
    ];
    running = workers.map((w) => w.run());
  });

  afterAll(async () => {
    for (const w of workers ?? []) w.shutdown();
    await Promise.all(running ?? []);
    await env?.teardown();
  });

  it('skips days of timers and condition timeouts', async () => {
    const before = await env.currentTimeMs();
    const elapsed = await env.client.workflow.execute(sleepsDays, opts());
    expect(elapsed).toBeGreaterThanOrEqual(5 * 24 * 3600 * 1000);
    expect((await env.currentTimeMs()) - before).toBeGreaterThanOrEqual(5 * 24 * 3600 * 1000);
  });

  it('moves time with env.sleep while a workflow waits', async () => {
    const h = await env.client.workflow.start(approval, {
      taskQueue: `${taskQueue}-basic`,
      workflowId: randomUUID(),
      args: ['Di'],
    });
    const before = await env.currentTimeMs();
    await env.sleep('2 hours');
    expect((await env.currentTimeMs()) - before).toBeGreaterThanOrEqual(2 * 3600 * 1000);
    expect(await h.query(status)).toBe('waiting');
    await h.signal(approve, 'eve');
    expect(await h.result()).toBe('Hello, Di approved by eve');
  });

  it('times out a workflow run by its run timeout in virtual time', async () => {
    const err = await env.client.workflow
      .execute(cancellable, { ...opts(), workflowRunTimeout: '2 hours' })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WorkflowFailedError);
    expect((err as { cause?: Error }).cause?.message).toMatch(/timed out/i);
  });

  it('runs activity retries with backoff under time skipping', async () => {
    const r = await env.client.workflow.execute(retries, opts());
    expect(r).toMatchObject({ flakyAttempt: 3, later: 2 });
  });

  it('times out activities by heartbeat and by schedule-to-close across retries', async () => {
    // Heartbeat timeout; then retries stop once the next attempt would pass schedule-to-close.
    expect(await env.client.workflow.execute(activityTimeouts, opts())).toEqual([
      'HEARTBEAT',
      'TIMEOUT: attempt 2 failed',
      'SCHEDULE_TO_START',
    ]);
  });

  it('signals and cancels child workflows', async () => {
    expect(await env.client.workflow.execute(childSignalsAndCancel, opts())).toEqual([
      'hi child',
      'child cancelled',
    ]);
  });

  it('cancels the condition timer when the signal arrives, fires it otherwise', async () => {
    const h = await env.client.workflow.start(waitsWithDeadline, opts());
    await h.signal(childDone, 'in time');
    expect(await h.result()).toBe('in time');
    const history = await h.fetchHistory();
    expect(history.events?.some((e) => e.timerCanceledEventAttributes)).toBe(true);
    expect(await env.client.workflow.execute(waitsWithDeadline, opts())).toBe('deadline passed');
  });

  it('delays the first workflow task by the start delay (virtual time)', async () => {
    const before = await env.currentTimeMs();
    const h = await env.client.workflow.start(waitsWithDeadline, { ...opts(), startDelay: '3 hours' });
    expect(await h.result()).toBe('deadline passed');
    expect((await env.currentTimeMs()) - before).toBeGreaterThanOrEqual(27 * 3600 * 1000);
  });

  it('deduplicates starts by request id', async () => {
    const req = {
      namespace: env.namespace ?? 'default',
      workflowId: randomUUID(),
      workflowType: { name: 'waitsWithDeadline' },
      taskQueue: { name: taskQueue },
      requestId: randomUUID(),
    };
    const a = await env.connection.workflowService.startWorkflowExecution(req);
    const b = await env.connection.workflowService.startWorkflowExecution(req);
    expect(b.runId).toBe(a.runId);
    await env.client.workflow.getHandle(req.workflowId).terminate();
  });

  it('accepts typed search attributes registered through OperatorService and filters on them', async () => {
    const payeeId = defineSearchAttributeKey('PayeeId', SearchAttributeType.KEYWORD);
    const amount = defineSearchAttributeKey('PayoutAmount', SearchAttributeType.INT);
    const o = opts();
    await env.client.workflow.execute(waitsWithDeadline, {
      ...o,
      typedSearchAttributes: [
        { key: payeeId, value: 'payee-ts' },
        { key: amount, value: 1234 },
      ],
    });
    const desc = await env.client.workflow.getHandle(o.workflowId).describe();
    expect(desc.typedSearchAttributes.get(payeeId)).toBe('payee-ts');
    expect(desc.typedSearchAttributes.get(amount)).toBe(1234);
    const { count } = await env.client.workflow.count(`PayeeId = 'payee-ts' AND PayoutAmount > 1000`);
    expect(count).toBe(1);
  });

  // Runs last: every history produced above replays deterministically.
  it('produces histories that replay cleanly', async () => {
    const failures: string[] = [];
    for (const [queue, workflowsPath] of [
      [taskQueue, featuresPath],
      [`${taskQueue}-basic`, basicPath],
    ] as const) {
      const histories = [];
      for await (const w of env.client.workflow.list({ query: `TaskQueue = '${queue}'` })) {
        const history = await env.client.workflow.getHandle(w.workflowId, w.runId).fetchHistory();
        histories.push({ workflowId: `${w.workflowId}/${w.runId}`, history });
      }
      expect(histories.length).toBeGreaterThan(0);
      for await (const r of Worker.runReplayHistories({ workflowsPath }, histories)) {
        if (r.error) failures.push(`${r.workflowId}: ${r.error.message}`);
      }
    }
    expect(failures).toEqual([]);
  });
});
