import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { WorkflowUpdateFailedError } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { createTestEnv } from '../src/testing.ts';
import * as activities from './activities.ts';
import { approval, approve, greeting, limits, longSleep, setLimit, status } from './workflows/basic.ts';

const workflowsPath = fileURLToPath(new URL('./workflows/basic.ts', import.meta.url));

describe.each([false, true])('temporal-dev basics (timeSkipping=%s)', (timeSkipping) => {
  let env: TestWorkflowEnvironment;
  let worker: Worker;
  let running: Promise<void>;
  const taskQueue = `basic-${randomUUID()}`;

  beforeAll(async () => {
    env = await createTestEnv({ timeSkipping });
    worker = await Worker.create({ connection: env.nativeConnection, taskQueue, workflowsPath, activities });
    running = worker.run();
  });

  afterAll(async () => {
    worker?.shutdown();
    await running;
    await env?.teardown();
  });

  it('runs a workflow with an activity', async () => {
    const result = await env.client.workflow.execute(greeting, {
      taskQueue,
      workflowId: randomUUID(),
      args: ['Ada'],
    });
    expect(result).toBe('Hello, Ada');
  });

  it('handles signal, query and timer', async () => {
    const handle = await env.client.workflow.start(approval, {
      taskQueue,
      workflowId: randomUUID(),
      args: ['Bo'],
    });
    expect(await handle.query(status)).toBe('waiting');
    await handle.signal(approve, 'carol');
    expect(await handle.result()).toBe('Hello, Bo approved by carol');
    expect(await handle.query(status)).toBe('done');
  });

  it('handles updates with validators', async () => {
    const handle = await env.client.workflow.start(limits, { taskQueue, workflowId: randomUUID() });
    expect(await handle.executeUpdate(setLimit, { args: [25] })).toBe(10);
    await expect(handle.executeUpdate(setLimit, { args: [-1] })).rejects.toBeInstanceOf(
      WorkflowUpdateFailedError,
    );
    expect(await handle.query(status)).toBe('25');
    expect(await handle.executeUpdate(setLimit, { args: [0] })).toBe(25);
    expect(await handle.result()).toBe(0);
  });

  if (timeSkipping) {
    // Without skipping, the 30-day timer would outlast the test's timeout.
    it('skips a 30-day timer', async () => {
      const before = await env.currentTimeMs();
      const result = await env.client.workflow.execute(longSleep, {
        taskQueue,
        workflowId: randomUUID(),
        args: [30],
      });
      expect(result).toBe('woke');
      expect((await env.currentTimeMs()) - before).toBeGreaterThanOrEqual(30 * 24 * 3600 * 1000);
    });
  }
});
