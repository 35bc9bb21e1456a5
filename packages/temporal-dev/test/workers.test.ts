import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { NativeConnection, Worker } from '@temporalio/worker';
import { createTestEnv } from '../src/testing.ts';
import * as activities from './activities.ts';
import { approval, approve, greeting, status } from './workflows/basic.ts';

const workflowsPath = fileURLToPath(new URL('./workflows/basic.ts', import.meta.url));

describe('temporal-dev with several workers', () => {
  let env: TestWorkflowEnvironment;

  beforeAll(async () => {
    env = await createTestEnv();
  });

  afterAll(async () => {
    await env?.teardown();
  });

  it('lets a second worker finish a workflow the first (sticky) worker left', async () => {
    const taskQueue = `sticky-${randomUUID()}`;
    const createWorker = () =>
      Worker.create({ connection: env.nativeConnection, taskQueue, workflowsPath, activities });
    const first = await createWorker();
    const firstRun = first.run();
    const h = await env.client.workflow.start(approval, {
      taskQueue,
      workflowId: randomUUID(),
      args: ['Fay'],
    });
    expect(await h.query(status)).toBe('waiting');
    first.shutdown();
    await firstRun;

    const second = await createWorker();
    const secondRun = second.run();
    try {
      await h.signal(approve, 'gus');
      expect(await h.result()).toBe('Hello, Fay approved by gus');
    } finally {
      second.shutdown();
      await secondRun;
    }
  });

  it('runs many workflows at once across several polling workers', async () => {
    const taskQueue = `many-${randomUUID()}`;
    // One connection per worker: the SDK refuses two workers for one queue on one connection.
    const connections = await Promise.all(
      [1, 2, 3].map(() => NativeConnection.connect({ address: env.address })),
    );
    const workers = await Promise.all(
      connections.map((connection) => Worker.create({ connection, taskQueue, workflowsPath, activities })),
    );
    const runs = workers.map((w) => w.run());
    try {
      const n = 200;
      const results = await Promise.all(
        Array.from({ length: n }, (_, i) =>
          env.client.workflow.execute(greeting, {
            taskQueue,
            workflowId: `many-${i}-${randomUUID()}`,
            args: [`p${i}`],
          }),
        ),
      );
      expect(results).toEqual(Array.from({ length: n }, (_, i) => `Hello, p${i}`));
    } finally {
      for (const w of workers) w.shutdown();
      await Promise.all(runs);
      await Promise.all(connections.map((c) => c.close()));
    }
  });
});
