// Batch operations by visibility query, through the SDK's WorkflowService: terminate, cancel and signal
// every match; Describe and List show the job with its counts; bad requests answer INVALID_ARGUMENT.
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { WorkflowFailedError } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { createTestEnv } from '../src/testing.ts';
import * as activities from './activities.ts';
import { takesUpdates } from './workflows/fidelity.ts';

const workflowsPath = fileURLToPath(new URL('./workflows/fidelity.ts', import.meta.url));
const { BatchOperationState } = temporal.api.enums.v1;

async function codeOf(p: Promise<unknown>): Promise<number | undefined> {
  try {
    await p;
  } catch (err) {
    return (err as { code?: number }).code;
  }
  throw new Error('expected the call to fail');
}

describe('temporal-dev batch operations', () => {
  let env: TestWorkflowEnvironment;
  let worker: Worker;
  let running: Promise<void>;
  const taskQueue = `batch-${randomUUID()}`;
  const namespace = () => env.namespace ?? 'default';

  beforeAll(async () => {
    env = await createTestEnv();
    worker = await Worker.create({ connection: env.nativeConnection, taskQueue, workflowsPath, activities });
    running = worker.run();
  });
  afterAll(async () => {
    worker?.shutdown();
    await running;
    await env?.teardown();
  });

  async function startSome(prefix: string, n: number) {
    const handles = [];
    for (let i = 0; i < n; i++)
      handles.push(
        await env.client.workflow.start(takesUpdates, { taskQueue, workflowId: `${prefix}-${i}` }),
      );
    return handles;
  }

  it('terminates every running workflow the query matches, and describes and lists the job', async () => {
    const prefix = `term-${randomUUID()}`;
    const handles = await startSome(prefix, 3);
    const jobId = `job-${randomUUID()}`;
    const svc = env.connection.workflowService;
    await svc.startBatchOperation({
      namespace: namespace(),
      jobId,
      reason: 'cleanup',
      visibilityQuery: `WorkflowId STARTS_WITH '${prefix}' AND ExecutionStatus = 'Running'`,
      terminationOperation: { identity: 'ops' },
    });
    for (const h of handles) expect((await h.describe()).status.name).toBe('TERMINATED');
    const d = await svc.describeBatchOperation({ namespace: namespace(), jobId });
    expect(d.state).toBe(BatchOperationState.BATCH_OPERATION_STATE_COMPLETED);
    expect(Number(d.totalOperationCount)).toBe(3);
    expect(Number(d.completeOperationCount)).toBe(3);
    expect(Number(d.failureOperationCount)).toBe(0);
    expect(d.reason).toBe('cleanup');
    const listed = await svc.listBatchOperations({ namespace: namespace() });
    expect(listed.operationInfo.map((o) => o.jobId)).toContain(jobId);
    expect(
      await codeOf(
        svc.startBatchOperation({
          namespace: namespace(),
          jobId,
          reason: 'again',
          visibilityQuery: `WorkflowId STARTS_WITH '${prefix}'`,
          terminationOperation: {},
        }),
      ),
    ).toBe(6 /* ALREADY_EXISTS */);
  });

  it('signals and cancels by query', async () => {
    const signalled = await startSome(`sig-${randomUUID()}`, 2);
    const svc = env.connection.workflowService;
    const prefixOf = (id: string) => id.slice(0, id.lastIndexOf('-'));
    await svc.startBatchOperation({
      namespace: namespace(),
      jobId: `job-${randomUUID()}`,
      reason: 'finish them',
      visibilityQuery: `WorkflowId STARTS_WITH '${prefixOf(signalled[0]!.workflowId)}'`,
      signalOperation: { signal: 'finish', identity: 'ops' },
    });
    for (const h of signalled) expect(await h.result()).toBe(0);

    const cancelled = await startSome(`cancel-${randomUUID()}`, 2);
    await svc.startBatchOperation({
      namespace: namespace(),
      jobId: `job-${randomUUID()}`,
      reason: 'stop them',
      visibilityQuery: `WorkflowId STARTS_WITH '${prefixOf(cancelled[0]!.workflowId)}'`,
      cancellationOperation: { identity: 'ops' },
    });
    for (const h of cancelled) await expect(h.result()).rejects.toBeInstanceOf(WorkflowFailedError);
    for (const h of cancelled) expect((await h.describe()).status.name).toBe('CANCELLED');
  });

  it('refuses a job without a reason, an operation or targets', async () => {
    const svc = env.connection.workflowService;
    const base = {
      namespace: namespace(),
      jobId: `job-${randomUUID()}`,
      visibilityQuery: "WorkflowId = 'x'",
    };
    expect(await codeOf(svc.startBatchOperation({ ...base, terminationOperation: {} }))).toBe(3);
    expect(await codeOf(svc.startBatchOperation({ ...base, reason: 'r' }))).toBe(3);
    expect(
      await codeOf(
        svc.startBatchOperation({ ...base, visibilityQuery: '', reason: 'r', terminationOperation: {} }),
      ),
    ).toBe(3);
    expect(await codeOf(svc.describeBatchOperation({ namespace: namespace(), jobId: 'no-such-job' }))).toBe(
      5,
    );
  });
});
