import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from '@jest/globals';
import { msToTs, tsToMs } from '@temporalio/common/lib/time.js';
import { Worker } from '@temporalio/worker';
import { createTestEnv } from '../src/testing.ts';
import * as activities from './activities.ts';
import { approval, approve, status } from './workflows/basic.ts';

const workflowsPath = fileURLToPath(new URL('./workflows/basic.ts', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'temporal-dev-'));

describe('temporal-dev --db-filename', () => {
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('resumes a running workflow after the dev server restarts', async () => {
    const dbFilename = join(dir, 'state.db');
    const taskQueue = `persist-${randomUUID()}`;
    const workflowId = randomUUID();

    const env1 = await createTestEnv({ dbFilename });
    const w1 = await Worker.create({
      connection: env1.nativeConnection,
      taskQueue,
      workflowsPath,
      activities,
    });
    await w1.runUntil(async () => {
      const h = await env1.client.workflow.start(approval, { taskQueue, workflowId, args: ['Hal'] });
      expect(await h.query(status)).toBe('waiting');
    });
    // teardown kills the server (SIGKILL) at once: what the query acknowledged is already committed.
    await env1.teardown();

    const env2 = await createTestEnv({ dbFilename });
    try {
      const w2 = await Worker.create({
        connection: env2.nativeConnection,
        taskQueue,
        workflowsPath,
        activities,
      });
      const result = await w2.runUntil(async () => {
        const h = env2.client.workflow.getHandle(workflowId);
        await h.signal(approve, 'ida');
        return await h.result();
      });
      expect(result).toBe('Hello, Hal approved by ida');
      const history = await env2.client.workflow.getHandle(workflowId).fetchHistory();
      const replay = await Worker.runReplayHistory({ workflowsPath }, history).then(
        () => 'ok',
        (e: Error) => e.message,
      );
      expect(replay).toBe('ok');
    } finally {
      await env2.teardown();
    }
  });

  it('keeps a registered namespace with what RegisterNamespace and UpdateNamespace set', async () => {
    const dbFilename = join(dir, 'namespaces.db');
    const name = `kept-${randomUUID()}`;
    const day = 86_400_000;
    const env1 = await createTestEnv({ dbFilename });
    const svc1 = env1.connection.workflowService;
    await svc1.registerNamespace({
      namespace: name,
      description: 'payout tests',
      ownerEmail: 'ops@example.com',
      workflowExecutionRetentionPeriod: msToTs(3 * day),
      data: { team: 'payouts' },
    });
    await svc1.updateNamespace({
      namespace: name,
      updateInfo: { description: 'payouts, updated', data: { tier: 'gold' } },
      config: { workflowExecutionRetentionTtl: msToTs(7 * day) },
    });
    const id = (await svc1.describeNamespace({ namespace: name })).namespaceInfo?.id;
    await env1.teardown();

    const env2 = await createTestEnv({ dbFilename });
    try {
      const d = await env2.connection.workflowService.describeNamespace({ namespace: name });
      expect(d.namespaceInfo).toMatchObject({
        name,
        id,
        description: 'payouts, updated',
        ownerEmail: 'ops@example.com',
      });
      expect(d.namespaceInfo?.data).toEqual({ team: 'payouts', tier: 'gold' });
      expect(tsToMs(d.config?.workflowExecutionRetentionTtl)).toBe(7 * day);
    } finally {
      await env2.teardown();
    }
  });

  it('keeps batch jobs: DescribeBatchOperation answers after a restart', async () => {
    const dbFilename = join(dir, 'batches.db');
    const jobId = `batch-${randomUUID()}`;
    const env1 = await createTestEnv({ dbFilename });
    const h = await env1.client.workflow.start(approval, {
      taskQueue: `nobody-${randomUUID()}`,
      workflowId: randomUUID(),
      args: ['Jo'],
    });
    await env1.connection.workflowService.startBatchOperation({
      namespace: 'default',
      jobId,
      reason: 'test',
      executions: [{ workflowId: h.workflowId }],
      terminationOperation: { identity: 'ops' },
    });
    await env1.teardown();

    const env2 = await createTestEnv({ dbFilename });
    try {
      const d = await env2.connection.workflowService.describeBatchOperation({ namespace: 'default', jobId });
      expect(d).toMatchObject({ jobId, reason: 'test', identity: 'ops' });
      expect([Number(d.totalOperationCount), Number(d.completeOperationCount)]).toEqual([1, 1]);
      const listed = await env2.connection.workflowService.listBatchOperations({ namespace: 'default' });
      expect(listed.operationInfo.map((o) => o.jobId)).toContain(jobId);
    } finally {
      await env2.teardown();
    }
  });
});
