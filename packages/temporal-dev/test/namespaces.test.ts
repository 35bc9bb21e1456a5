// Namespaces as the real server has them: none is created by using it (NamespaceNotFound), register /
// describe / list / update, "default" present from the start.
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Client } from '@temporalio/client';
import { NamespaceNotFoundError } from '@temporalio/common';
import { msToTs, tsToMs } from '@temporalio/common/lib/time.js';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { createTestEnv } from '../src/testing.ts';
import * as activities from './activities.ts';
import { greeting } from './workflows/basic.ts';

const workflowsPath = fileURLToPath(new URL('./workflows/basic.ts', import.meta.url));
const DAY = 24 * 3600 * 1000;

/** The gRPC code of a rejected call (the SDK's ServiceError keeps it on its cause). */
async function codeOf(p: Promise<unknown>): Promise<number | undefined> {
  try {
    await p;
  } catch (err) {
    const e = err as { code?: number; cause?: { code?: number } };
    return e.code ?? e.cause?.code;
  }
  throw new Error('expected the call to fail');
}

describe('temporal-dev namespaces', () => {
  let env: TestWorkflowEnvironment;

  beforeAll(async () => {
    env = await createTestEnv();
  });
  afterAll(async () => {
    await env?.teardown();
  });

  it('has "default" from the start', async () => {
    const d = await env.connection.workflowService.describeNamespace({ namespace: 'default' });
    expect(d.namespaceInfo?.name).toBe('default');
    expect(d.namespaceInfo?.id).toBeTruthy();
  });

  it('answers NamespaceNotFound for an unknown namespace, and does not create it', async () => {
    const name = `missing-${randomUUID()}`;
    const svc = env.connection.workflowService;
    expect(await codeOf(svc.describeNamespace({ namespace: name }))).toBe(5 /* NOT_FOUND */);
    const client = new Client({ connection: env.connection, namespace: name });
    await expect(
      client.workflow.start(greeting, { taskQueue: 'nobody', workflowId: randomUUID(), args: ['x'] }),
    ).rejects.toBeInstanceOf(NamespaceNotFoundError);
    await expect(
      client.workflow.start(greeting, { taskQueue: 'nobody', workflowId: randomUUID(), args: ['x'] }),
    ).rejects.toThrow(`Namespace not found: '${name}'`);
    const { namespaces } = await svc.listNamespaces({});
    expect(namespaces.map((n) => n.namespaceInfo?.name)).not.toContain(name);
    // A worker validates its namespace when it is created.
    await expect(
      Worker.create({
        connection: env.nativeConnection,
        namespace: name,
        taskQueue: 'nobody',
        workflowsPath,
        activities,
      }),
    ).rejects.toThrow(/not found/i);
  });

  it('registers, describes, lists and updates a namespace, which then runs workflows', async () => {
    const name = `registered-${randomUUID()}`;
    const svc = env.connection.workflowService;
    await svc.registerNamespace({
      namespace: name,
      description: 'payout tests',
      ownerEmail: 'ops@example.com',
      workflowExecutionRetentionPeriod: msToTs(3 * DAY),
      data: { team: 'payouts' },
    });
    expect(
      await codeOf(svc.registerNamespace({ namespace: name, workflowExecutionRetentionPeriod: msToTs(DAY) })),
    ).toBe(6 /* ALREADY_EXISTS */);
    const d = await svc.describeNamespace({ namespace: name });
    expect(d.namespaceInfo).toMatchObject({
      name,
      description: 'payout tests',
      ownerEmail: 'ops@example.com',
    });
    expect(d.namespaceInfo?.data).toEqual({ team: 'payouts' });
    expect(tsToMs(d.config?.workflowExecutionRetentionTtl)).toBe(3 * DAY);
    expect((await svc.describeNamespace({ id: d.namespaceInfo?.id })).namespaceInfo?.name).toBe(name);

    const listed = (await svc.listNamespaces({})).namespaces.map((n) => n.namespaceInfo?.name);
    expect(listed).toEqual(expect.arrayContaining(['default', name]));

    const u = await svc.updateNamespace({
      namespace: name,
      updateInfo: { description: 'payouts, updated', data: { tier: 'gold' } },
      config: { workflowExecutionRetentionTtl: msToTs(7 * DAY) },
    });
    expect(u.namespaceInfo?.description).toBe('payouts, updated');
    expect(u.namespaceInfo?.data).toEqual({ team: 'payouts', tier: 'gold' });
    expect(tsToMs(u.config?.workflowExecutionRetentionTtl)).toBe(7 * DAY);
    expect(
      await codeOf(
        svc.updateNamespace({ namespace: `missing-${randomUUID()}`, updateInfo: { description: 'x' } }),
      ),
    ).toBe(5);

    const taskQueue = `ns-${randomUUID()}`;
    const worker = await Worker.create({
      connection: env.nativeConnection,
      namespace: name,
      taskQueue,
      workflowsPath,
      activities,
    });
    const client = new Client({ connection: env.connection, namespace: name });
    const result = await worker.runUntil(
      client.workflow.execute(greeting, { taskQueue, workflowId: randomUUID(), args: ['Ns'] }),
    );
    expect(result).toBe('Hello, Ns');
  });

  it('rejects a registration without a valid retention period', async () => {
    const svc = env.connection.workflowService;
    expect(await codeOf(svc.registerNamespace({ namespace: `r-${randomUUID()}` }))).toBe(
      3 /* INVALID_ARGUMENT */,
    );
    expect(
      await codeOf(svc.registerNamespace({ namespace: '', workflowExecutionRetentionPeriod: msToTs(DAY) })),
    ).toBe(3);
  });
});
