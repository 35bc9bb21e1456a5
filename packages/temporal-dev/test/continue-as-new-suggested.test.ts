// continueAsNewSuggested and historySize as the real server sets them in WorkflowTaskStarted: the size is
// the bytes of the serialized events (not an estimate), and the suggestion comes at the configured
// limit.historyCount / limit.historySize .suggestContinueAsNew thresholds, not before.
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { temporal } from '@temporalio/proto';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { createTestEnv } from '../src/testing.ts';
import { growsHistory, type HistoryView } from './workflows/fidelity.ts';

const workflowsPath = fileURLToPath(new URL('./workflows/fidelity.ts', import.meta.url));
const COUNT_LIMIT = 40;
const SIZE_LIMIT = 8000;

/** The first view that is suggested must be the first one at or over a threshold. */
function expectSuggestedAtThreshold(views: HistoryView[]): HistoryView {
  const over = (v: HistoryView) => v.length >= COUNT_LIMIT || v.size >= SIZE_LIMIT;
  const first = views.findIndex((v) => v.suggested);
  expect(first).toBeGreaterThan(0);
  for (const v of views.slice(0, first)) expect(over(v)).toBe(false);
  expect(over(views[first]!)).toBe(true);
  return views[first]!;
}

describe('temporal-dev continueAsNewSuggested', () => {
  let env: TestWorkflowEnvironment;
  let worker: Worker;
  let running: Promise<void>;
  const taskQueue = `can-${randomUUID()}`;

  beforeAll(async () => {
    env = await createTestEnv({
      extraArgs: [
        '--dynamic-config-value',
        `limit.historyCount.suggestContinueAsNew=${COUNT_LIMIT}`,
        '--dynamic-config-value',
        `limit.historySize.suggestContinueAsNew=${SIZE_LIMIT}`,
      ],
    });
    worker = await Worker.create({
      connection: env.nativeConnection,
      taskQueue,
      workflowsPath,
      activities: { echo: async (text: string) => text },
    });
    running = worker.run();
  });
  afterAll(async () => {
    worker?.shutdown();
    await running;
    await env?.teardown();
  });

  it('reports the serialized size of the history', async () => {
    const workflowId = `size-${randomUUID()}`;
    const views = await env.client.workflow.execute(growsHistory, { taskQueue, workflowId, args: [3, ''] });
    const last = views[views.length - 1]!;
    // The size the worker was given counts the events before that task's WorkflowTaskStarted.
    const history = await env.client.workflow.getHandle(workflowId).fetchHistory();
    const before = (history.events ?? []).filter((e) => Number(e.eventId) < last.length);
    const bytes = temporal.api.history.v1.History.encode({ events: before }).finish().length;
    expect(last.size).toBe(bytes);
    expect(last.size).not.toBe(last.length * 200);
  });

  it('suggests continue-as-new at the history count threshold', async () => {
    const views = await env.client.workflow.execute(growsHistory, {
      taskQueue,
      workflowId: `count-${randomUUID()}`,
      args: [100, ''],
    });
    const at = expectSuggestedAtThreshold(views);
    expect(at.length).toBeGreaterThanOrEqual(COUNT_LIMIT);
  });

  it('suggests continue-as-new at the history size threshold', async () => {
    const views = await env.client.workflow.execute(growsHistory, {
      taskQueue,
      workflowId: `bytes-${randomUUID()}`,
      args: [100, 'x'.repeat(1500)],
    });
    const at = expectSuggestedAtThreshold(views);
    expect(at.length).toBeLessThan(COUNT_LIMIT);
    expect(at.size).toBeGreaterThanOrEqual(SIZE_LIMIT);
  });
});
