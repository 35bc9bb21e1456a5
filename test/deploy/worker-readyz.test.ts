// The worker's /readyz (the compose healthcheck): 503 before the worker polls, 200 while it does,
// 503 once it stopped — against a real Temporal worker on temporal-dev and real PostgreSQL.
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { sql } from '../../src/db/sql.ts';
import { startMetricsServer } from '../../src/observability/metrics-http.ts';
import { workerReadiness } from '../../src/worker/readiness.ts';
import { createTestDatabase, type TestDatabase } from '../support/db.ts';
import { createTestEnv } from '../support/temporal.ts';

let env: TestWorkflowEnvironment;
let db: TestDatabase;

beforeAll(async () => {
  env = await createTestEnv();
  db = await createTestDatabase('worker_readyz');
});
afterAll(async () => {
  await db?.drop();
  await env?.teardown();
});

async function probe(url: string) {
  const res = await fetch(`${url}/readyz`);
  return { status: res.status, body: (await res.json()) as { checks: Record<string, string> } };
}

test('/readyz follows the worker state and the database', async () => {
  const worker = await Worker.create({
    connection: env.nativeConnection,
    taskQueue: `readyz-${process.pid}`,
    activities: { noop: async () => undefined },
  });
  const server = await startMetricsServer({ port: 0, host: '127.0.0.1', ready: workerReadiness(worker, db) });
  try {
    expect(await probe(server.url)).toEqual({
      status: 503,
      body: { status: 'not_ready', checks: { worker: 'state INITIALIZED', database: 'ok' } },
    });
    const running = worker.run();
    while (worker.getState() !== 'RUNNING') await new Promise((r) => setImmediate(r));
    expect(await probe(server.url)).toEqual({
      status: 200,
      body: { status: 'ready', checks: { worker: 'ok', database: 'ok' } },
    });
    // /metrics is still served next to it.
    expect((await fetch(`${server.url}/metrics`)).status).toBe(200);
    worker.shutdown();
    await running;
    const after = await probe(server.url);
    expect(after.status).toBe(503);
    expect(after.body.checks.worker).toMatch(/^state (STOPPED|DRAINED)$/);
  } finally {
    await server.close();
  }
});

test('a database that gives no connection makes the worker not ready', async () => {
  // One connection, held by an open transaction: the probe's query cannot get one and times out.
  const small = await createTestDatabase('worker_readyz_busy', { poolMax: 1, acquireTimeoutMs: 200 });
  let release!: () => void;
  const held = new Promise<void>((r) => {
    release = r;
  });
  let holding!: () => void;
  const hold = new Promise<void>((r) => {
    holding = r;
  });
  const tx = small.em().transactional(async (em) => {
    await sql(em, 'SELECT 1');
    holding();
    await held;
  });
  try {
    await hold;
    const result = await workerReadiness({ getState: () => 'RUNNING' }, small)();
    expect(result.ready).toBe(false);
    expect(result.checks.worker).toBe('ok');
    expect(result.checks.database).not.toBe('ok');
  } finally {
    release();
    await tx;
    await small.drop();
  }
});
