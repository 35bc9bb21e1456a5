// Namespace retention (retention.ts): a closed run is deleted once the namespace's retention has passed
// since it closed — describe answers NotFound, list no longer has it, its id may be started again even
// under REJECT_DUPLICATE — while a run still open stays; with --db-filename the deletion is in the file.
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from '@jest/globals';
import { Client, WorkflowNotFoundError } from '@temporalio/client';
import { WorkflowIdReusePolicy } from '@temporalio/common';
import { msToTs } from '@temporalio/common/lib/time.js';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { createTestEnv } from '../src/testing.ts';
import * as activities from './activities.ts';
import { approval, approve, greeting } from './workflows/basic.ts';

const workflowsPath = fileURLToPath(new URL('./workflows/basic.ts', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'temporal-dev-retention-'));

/** Polls `check` until it returns true, up to `ms` (generous: the machine may be loaded). */
async function until(what: string, check: () => Promise<boolean>, ms = 90_000): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** Whether describe answers NotFound for the workflow id. */
async function gone(client: Client, workflowId: string): Promise<boolean> {
  try {
    await client.workflow.getHandle(workflowId).describe();
    return false;
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return true;
    throw err;
  }
}

async function listed(client: Client, workflowId: string): Promise<number> {
  let n = 0;
  for await (const _ of client.workflow.list({ query: `WorkflowId = '${workflowId}'` })) n++;
  return n;
}

/** A namespace with the minimum retention (1 s) and a worker on it. */
async function withShortRetention(env: TestWorkflowEnvironment, namespace: string, retentionSec = 1) {
  await env.connection.workflowService.registerNamespace({
    namespace,
    workflowExecutionRetentionPeriod: msToTs(retentionSec * 1000),
  });
  const client = new Client({ connection: env.connection, namespace });
  const taskQueue = `retention-${randomUUID()}`;
  const worker = await Worker.create({
    connection: env.nativeConnection,
    namespace,
    taskQueue,
    workflowsPath,
    activities,
  });
  const running = worker.run();
  return {
    client,
    taskQueue,
    stop: async () => {
      worker.shutdown();
      await running;
    },
  };
}

/** Runs one workflow to completion in "default" (kept) and one in the short-retention namespace. */
async function closeOneInEach(
  env: TestWorkflowEnvironment,
  short: { client: Client; taskQueue: string },
): Promise<{ kept: string; deleted: string }> {
  const kept = `kept-${randomUUID()}`;
  const deleted = `deleted-${randomUUID()}`;
  const { taskQueue } = short;
  const worker = await Worker.create({
    connection: env.nativeConnection,
    taskQueue,
    workflowsPath,
    activities,
  });
  await worker.runUntil(env.client.workflow.execute(greeting, { taskQueue, workflowId: kept, args: ['a'] }));
  await short.client.workflow.execute(greeting, { taskQueue, workflowId: deleted, args: ['b'] });
  return { kept, deleted };
}

describe('temporal-dev namespace retention', () => {
  const envs: TestWorkflowEnvironment[] = [];
  afterAll(async () => {
    for (const env of envs) await env.teardown().catch(() => {});
    rmSync(dir, { recursive: true, force: true });
  });

  it('deletes a closed run after retention, keeps an open one, and frees the workflow id', async () => {
    const env = await createTestEnv();
    envs.push(env);
    const { client, taskQueue, stop } = await withShortRetention(env, `retention-${randomUUID()}`);
    try {
      const open = await client.workflow.start(approval, {
        taskQueue,
        workflowId: `open-${randomUUID()}`,
        args: ['Ola'],
      });
      const workflowId = `closed-${randomUUID()}`;
      const reuse = WorkflowIdReusePolicy.REJECT_DUPLICATE;
      const opts = { taskQueue, workflowId, args: ['Fay'] as [string], workflowIdReusePolicy: reuse };
      expect(await client.workflow.execute(greeting, opts)).toBe('Hello, Fay');
      await until('the closed run to be deleted', () => gone(client, workflowId));
      expect(await listed(client, workflowId)).toBe(0);
      const history = env.connection.workflowService.getWorkflowExecutionHistory({
        namespace: client.options.namespace,
        execution: { workflowId },
      });
      await expect(history).rejects.toMatchObject({ code: 5 /* NOT_FOUND */ });
      // Its id is free: REJECT_DUPLICATE no longer sees the deleted run.
      expect(await client.workflow.execute(greeting, opts)).toBe('Hello, Fay');
      // The run that stayed open all along is still there, and is deleted once it has closed.
      expect((await open.describe()).status.name).toBe('RUNNING');
      expect(await listed(client, open.workflowId)).toBe(1);
      await open.signal(approve, 'gus');
      await open.result();
      await until('the run closed last to be deleted', () => gone(client, open.workflowId));
    } finally {
      await stop();
    }
  });

  it('follows virtual time in time-skipping mode, where only a set retention deletes', async () => {
    const env = await createTestEnv({ timeSkipping: true });
    envs.push(env);
    const short = await withShortRetention(env, `retention-${randomUUID()}`, 3600);
    try {
      const { kept, deleted } = await closeOneInEach(env, short);
      // Two virtual hours: past the namespace's hour; "default" (no retention set) keeps its run.
      await env.sleep('2 hours');
      await until('the closed run to be deleted', () => gone(short.client, deleted));
      expect((await env.client.workflow.getHandle(kept).describe()).status.name).toBe('COMPLETED');
    } finally {
      await short.stop();
    }
  });

  it('keeps the deletion across a restart with --db-filename', async () => {
    const dbFilename = join(dir, 'state.db');
    const namespace = `retention-${randomUUID()}`;
    const first = await createTestEnv({ dbFilename });
    envs.push(first);
    const short = await withShortRetention(first, namespace);
    let kept = '';
    let deleted = '';
    try {
      // "default" keeps closed runs for 24 h: its run outlives the restart.
      ({ kept, deleted } = await closeOneInEach(first, short));
      await until('the closed run to be deleted', () => gone(short.client, deleted));
    } finally {
      await short.stop();
    }
    await first.teardown();
    envs.pop();

    const second = await createTestEnv({ dbFilename });
    envs.push(second);
    const client = new Client({ connection: second.connection, namespace });
    expect(await gone(client, deleted)).toBe(true);
    expect(await listed(client, deleted)).toBe(0);
    expect((await second.client.workflow.getHandle(kept).describe()).status.name).toBe('COMPLETED');
    const ns = await second.connection.workflowService.describeNamespace({ namespace });
    expect(Number(ns.config?.workflowExecutionRetentionTtl?.seconds)).toBe(1);
  });
});
