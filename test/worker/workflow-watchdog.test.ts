// The workflow threads' watchdog (src/worker/workflow-watchdog.ts): workflows run without the SDK's
// per-call vm timeout, and a thread stuck in workflow code is still found, reported and stopped.
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { bundleWorkflowCode, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { createDisburseWorker } from '../../src/worker/create-worker.ts';
import { createTestEnv, quietBundlerLogger } from '../support/temporal.ts';
import type { returnsWorkflow, spinsWorkflow } from './workflows/stall.ts';

let env: TestWorkflowEnvironment;
let bundle: WorkflowBundleWithSourceMap;

beforeAll(async () => {
  env = await createTestEnv();
  bundle = await bundleWorkflowCode({
    workflowsPath: fileURLToPath(new URL('./workflows/stall.ts', import.meta.url)),
    logger: quietBundlerLogger,
  });
});
afterAll(async () => {
  await env?.teardown();
});

type Logged = { message: string; meta?: Record<string, unknown> };

async function worker(taskQueue: string, workflowStallMs: number, logged: Logged[]) {
  return createDisburseWorker({
    connection: env.nativeConnection,
    namespace: env.namespace ?? 'default',
    taskQueue,
    activities: {},
    workflowBundle: bundle,
    workflowStallMs,
    log: { error: (message, meta) => logged.push({ message, meta }) },
  });
}

it('runs workflows to completion with the watchdog on, reporting nothing', async () => {
  const logged: Logged[] = [];
  const taskQueue = `watchdog-ok-${process.pid}`;
  const w = await worker(taskQueue, 5_000, logged);
  const sums = await w.runUntil(
    Promise.all(
      [3, 5, 8].map((n, i) =>
        env.client.workflow.execute<typeof returnsWorkflow>('returnsWorkflow', {
          args: [n],
          taskQueue,
          workflowId: `watchdog-ok-${process.pid}-${i}`,
        }),
      ),
    ),
  );
  expect(sums).toEqual([3, 10, 28]);
  expect(logged).toEqual([]);
});

it('stops a thread stuck in workflow code past the limit, which the SDK timeout no longer cuts short', async () => {
  const logged: Logged[] = [];
  const taskQueue = `watchdog-stuck-${process.pid}`;
  // Longer than the SDK's own 5 s per-call timeout: had that still been enforced, the call would have ended
  // there (a failed workflow task) and the watchdog would have found nothing.
  const w = await worker(taskQueue, 8_000, logged);
  const running = w.run();
  await env.client.workflow.start<typeof spinsWorkflow>('spinsWorkflow', {
    taskQueue,
    workflowId: `watchdog-stuck-${process.pid}`,
    workflowTaskTimeout: '60s',
  });
  const outcome = await running.then(
    () => 'stopped',
    (err: unknown) => `failed: ${String(err)}`,
  );
  expect(logged).toEqual([
    {
      message: 'worker.workflow_thread_stuck',
      meta: expect.objectContaining({ limitMs: 8_000, stuckMs: expect.any(Number) }),
    },
  ]);
  expect(Number(logged[0]?.meta?.stuckMs)).toBeGreaterThanOrEqual(8_000);
  expect(outcome).toMatch(/^failed: /);
});
