// Visibility as the real server answers it: HistoryLength, HistorySizeBytes, ParentWorkflowId / RunId,
// RootWorkflowId / RunId, ExecutionDuration and BuildIds are filled in (not silently 0 rows), a Datetime search attribute set at
// start reaches the workflow as a Date, and lists page.
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { createTestEnv } from '../src/testing.ts';
import * as activities from './activities.ts';
import { chain, quick, readsReviewAt } from './workflows/fidelity.ts';

const workflowsPath = fileURLToPath(new URL('./workflows/fidelity.ts', import.meta.url));

async function ids(env: TestWorkflowEnvironment, query: string): Promise<string[]> {
  const out: string[] = [];
  for await (const w of env.client.workflow.list({ query })) out.push(w.workflowId);
  return out.sort();
}

describe('temporal-dev visibility fidelity', () => {
  let env: TestWorkflowEnvironment;
  let worker: Worker;
  let running: Promise<void>;
  const taskQueue = `vis-${randomUUID()}`;
  const buildId = `build-${randomUUID().slice(0, 8)}`;

  beforeAll(async () => {
    env = await createTestEnv({ searchAttributes: { ReviewAt: 'Datetime' } });
    worker = await Worker.create({
      connection: env.nativeConnection,
      taskQueue,
      workflowsPath,
      activities,
      buildId,
    });
    running = worker.run();
  });
  afterAll(async () => {
    worker?.shutdown();
    await running;
    await env?.teardown();
  });

  it('fills ParentWorkflowId, RootWorkflowId, HistoryLength and ExecutionDuration', async () => {
    const root = `root-${randomUUID()}`;
    const chainIds = await env.client.workflow.execute(chain, { taskQueue, workflowId: root, args: [3] });
    expect(chainIds).toEqual([root, `${root}-child`, `${root}-child-child`]);
    const q = `TaskQueue = '${taskQueue}'`;
    expect(await ids(env, `${q} AND RootWorkflowId = '${root}'`)).toEqual([...chainIds].sort());
    expect(await ids(env, `${q} AND ParentWorkflowId = '${root}'`)).toEqual([`${root}-child`]);
    expect(await ids(env, `${q} AND ParentWorkflowId = '${root}-child'`)).toEqual([`${root}-child-child`]);

    const rootDescription = await env.client.workflow.getHandle(root).describe();
    const length = rootDescription.historyLength;
    expect(length).toBeGreaterThan(5);
    expect(await ids(env, `${q} AND WorkflowId = '${root}' AND HistoryLength = ${length}`)).toEqual([root]);
    expect(await ids(env, `${q} AND WorkflowId = '${root}' AND HistoryLength > ${length}`)).toEqual([]);

    // Closed runs have a duration; '0s' and 0 (nanoseconds) are both accepted, as on the real server.
    expect(await ids(env, `${q} AND RootWorkflowId = '${root}' AND ExecutionDuration >= '0s'`)).toHaveLength(
      3,
    );
    expect(await ids(env, `${q} AND RootWorkflowId = '${root}' AND ExecutionDuration >= 0`)).toHaveLength(3);
    expect(await ids(env, `${q} AND RootWorkflowId = '${root}' AND ExecutionDuration > '01:00:00'`)).toEqual(
      [],
    );
    expect(
      await ids(env, `${q} AND RootWorkflowId = '${root}' AND ExecutionDuration < '1h30m'`),
    ).toHaveLength(3);
    await expect(env.client.workflow.count(`ExecutionDuration > 'soon'`)).rejects.toMatchObject({
      cause: { code: 3 /* INVALID_ARGUMENT */ },
    });
  });

  it('fills ParentRunId, RootRunId and HistorySizeBytes', async () => {
    const root = `root-${randomUUID()}`;
    const rootRun = (await env.client.workflow.start(chain, { taskQueue, workflowId: root, args: [3] }))
      .firstExecutionRunId;
    await env.client.workflow.getHandle(root).result();
    const q = `TaskQueue = '${taskQueue}'`;
    expect(await ids(env, `${q} AND RootRunId = '${rootRun}'`)).toEqual(
      [root, `${root}-child`, `${root}-child-child`].sort(),
    );
    expect(await ids(env, `${q} AND ParentRunId = '${rootRun}'`)).toEqual([`${root}-child`]);
    const child = await env.client.workflow.getHandle(`${root}-child`).describe();
    expect(child.parentExecution?.runId).toBe(rootRun);

    const size = Number(
      (await env.client.workflow.getHandle(root).describe()).raw.workflowExecutionInfo?.historySizeBytes,
    );
    expect(size).toBeGreaterThan(0);
    expect(await ids(env, `${q} AND WorkflowId = '${root}' AND HistorySizeBytes = ${size}`)).toEqual([root]);
    expect(await ids(env, `${q} AND WorkflowId = '${root}' AND HistorySizeBytes > ${size}`)).toEqual([]);
    const names = await env.connection.operatorService.listSearchAttributes({ namespace: 'default' });
    for (const name of ['ParentRunId', 'RootRunId', 'HistorySizeBytes']) {
      expect(Object.keys(names.systemAttributes)).toContain(name);
    }
  });

  it('records BuildIds and BinaryChecksums of the completing worker', async () => {
    const workflowId = `built-${randomUUID()}`;
    await env.client.workflow.execute(quick, { taskQueue, workflowId });
    // The SDK sends no version stamp (its build id is the binary checksum): the real server's sentinel.
    expect(await ids(env, `WorkflowId = '${workflowId}' AND BuildIds = 'unversioned'`)).toEqual([workflowId]);
    expect(await ids(env, `WorkflowId = '${workflowId}' AND BuildIds = 'versioned:${buildId}'`)).toEqual([]);
    expect(await ids(env, `WorkflowId = '${workflowId}' AND BinaryChecksums = '${buildId}'`)).toEqual([
      workflowId,
    ]);
  });

  it('gives the workflow a Datetime search attribute set at start as a Date', async () => {
    const at = new Date('2026-06-30T12:00:00.000Z');
    const seen = await env.client.workflow.execute(readsReviewAt, {
      taskQueue,
      workflowId: `review-${randomUUID()}`,
      searchAttributes: { ReviewAt: [at] },
    });
    expect(seen).toBe(`Date ${at.toISOString()}`);
  });

  it('pages a list by pageSize, following the token to the end', async () => {
    const prefix = `paged-${randomUUID()}`;
    for (let i = 0; i < 5; i++)
      await env.client.workflow.execute(quick, { taskQueue, workflowId: `${prefix}-${i}` });
    const svc = env.connection.workflowService;
    const seen: string[] = [];
    let token: Uint8Array | undefined;
    let pages = 0;
    do {
      const res = await svc.listWorkflowExecutions({
        namespace: env.namespace ?? 'default',
        query: `WorkflowId STARTS_WITH '${prefix}'`,
        pageSize: 2,
        nextPageToken: token,
      });
      pages++;
      expect(res.executions.length).toBeLessThanOrEqual(2);
      for (const e of res.executions) seen.push(e.execution?.workflowId ?? '');
      token = res.nextPageToken?.length ? res.nextPageToken : undefined;
    } while (token);
    expect(pages).toBe(3);
    expect(seen.sort()).toEqual([0, 1, 2, 3, 4].map((i) => `${prefix}-${i}`));
  });
});
