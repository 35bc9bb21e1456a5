// `temporal-dev workflow …` / `temporal-dev schedule …` as an operator runs them: real processes of the
// launcher against a running temporal-dev, checked against what the SDK sees.
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { createTestEnv, TEMPORAL_DEV_PATH } from '../src/testing.ts';
import * as activities from './activities.ts';
import { quick, takesUpdates } from './workflows/fidelity.ts';

const workflowsPath = fileURLToPath(new URL('./workflows/fidelity.ts', import.meta.url));
const run = promisify(execFile);

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

async function cli(...args: string[]): Promise<Result> {
  try {
    const { stdout, stderr } = await run(TEMPORAL_DEV_PATH, args, { timeout: 60_000 });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

describe('temporal-dev operator commands', () => {
  let env: TestWorkflowEnvironment;
  let worker: Worker;
  let running: Promise<void>;
  const taskQueue = `cli-${randomUUID()}`;
  let address: string;

  beforeAll(async () => {
    env = await createTestEnv();
    address = env.address;
    worker = await Worker.create({ connection: env.nativeConnection, taskQueue, workflowsPath, activities });
    running = worker.run();
  });
  afterAll(async () => {
    worker?.shutdown();
    await running;
    await env?.teardown();
  });

  it('prints each verb its own help without connecting, and refuses a bad command line with 2', async () => {
    for (const verb of ['workflow list', 'workflow reset', 'schedule trigger']) {
      const r = await cli(...verb.split(' '), '--help', '--address', '127.0.0.1:1');
      expect(r.code).toBe(0);
      expect(r.stdout).toContain(`usage: temporal-dev ${verb}`);
    }
    const bad = await cli('workflow', 'describe', '--address', address);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('workflow describe needs --workflow-id');
    expect((await cli('workflow', 'frobnicate')).code).toBe(2);
  });

  it('lists, describes and shows workflows', async () => {
    const workflowId = `cli-${randomUUID()}`;
    await env.client.workflow.execute(quick, { taskQueue, workflowId });
    const list = await cli('workflow', 'list', '--address', address, '-q', `WorkflowId = '${workflowId}'`);
    expect(list.code).toBe(0);
    expect(list.stdout).toMatch(new RegExp(`COMPLETED\\t${workflowId}\\tquick`));
    const json = await cli(
      'workflow',
      'list',
      '--address',
      address,
      '-q',
      `WorkflowId = '${workflowId}'`,
      '-o',
      'json',
    );
    expect(JSON.parse(json.stdout)[0].execution.workflowId).toBe(workflowId);
    const d = await cli('workflow', 'describe', '--address', address, '-w', workflowId);
    expect(d.stdout).toMatch(/Status\s+COMPLETED/);
    const show = await cli('workflow', 'show', '--address', address, '-w', workflowId);
    const lines = show.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^\s*1 {2}\S+ {2}WORKFLOW_EXECUTION_STARTED$/);
    expect(lines[lines.length - 1]).toMatch(/WORKFLOW_EXECUTION_COMPLETED$/);
    const missing = await cli('workflow', 'describe', '--address', address, '-w', `missing-${randomUUID()}`);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/NOT_FOUND/);
  });

  it('signals, cancels, terminates and resets', async () => {
    const signalled = await env.client.workflow.start(takesUpdates, {
      taskQueue,
      workflowId: `sig-${randomUUID()}`,
    });
    expect(
      (await cli('workflow', 'signal', '--address', address, '-w', signalled.workflowId, '--name', 'finish'))
        .code,
    ).toBe(0);
    expect(await signalled.result()).toBe(0);

    const cancelled = await env.client.workflow.start(takesUpdates, {
      taskQueue,
      workflowId: `can-${randomUUID()}`,
    });
    expect((await cli('workflow', 'cancel', '--address', address, '-w', cancelled.workflowId)).code).toBe(0);
    await expect(cancelled.result()).rejects.toThrow();
    expect((await cancelled.describe()).status.name).toBe('CANCELLED');

    const terminated = await env.client.workflow.start(takesUpdates, {
      taskQueue,
      workflowId: `term-${randomUUID()}`,
    });
    const t = await cli(
      'workflow',
      'terminate',
      '--address',
      address,
      '-w',
      terminated.workflowId,
      '--reason',
      'ops',
    );
    expect(t.code).toBe(0);
    expect((await terminated.describe()).status.name).toBe('TERMINATED');

    const reset = await cli(
      'workflow',
      'reset',
      '--address',
      address,
      '-w',
      terminated.workflowId,
      '-t',
      'LastWorkflowTask',
    );
    expect(reset.code).toBe(0);
    const newRun = /new run (\S+)\./.exec(reset.stdout)?.[1];
    expect(newRun).toBeTruthy();
    const after = env.client.workflow.getHandle(terminated.workflowId);
    expect((await after.describe()).runId).toBe(newRun);
    await after.signal('finish');
    expect(await after.result()).toBe(0);
  });

  it('lists, describes and triggers schedules', async () => {
    const scheduleId = `sched-${randomUUID()}`;
    const schedule = await env.client.schedule.create({
      scheduleId,
      spec: { intervals: [{ every: '1 day' }] },
      action: { type: 'startWorkflow', workflowType: quick, taskQueue, workflowId: `from-${scheduleId}` },
    });
    const list = await cli('schedule', 'list', '--address', address);
    expect(list.stdout).toContain(scheduleId);
    const d = await cli('schedule', 'describe', '--address', address, '-s', scheduleId);
    expect(d.stdout).toMatch(/Paused\s+no/);
    expect((await cli('schedule', 'trigger', '--address', address, '-s', scheduleId)).code).toBe(0);
    // The triggered action shows in the schedule's recent actions (bounded poll, not a timing check).
    for (let i = 0; i < 100; i++) {
      if (((await schedule.describe()).info.recentActions ?? []).length > 0) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect((await schedule.describe()).info.recentActions.length).toBeGreaterThan(0);
    await schedule.delete();
  });
});
