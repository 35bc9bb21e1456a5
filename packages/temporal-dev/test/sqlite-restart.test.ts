// Issue #20 / #14: the dev server's state is SQLite, committed before an RPC answers. The server is
// killed with SIGKILL in the middle of a workflow and started again on the same file and port: the
// activity that was heartbeating keeps heartbeating (no UnknownActivity), then a signal and a timer
// complete the workflow, and the history replays.
import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from '@jest/globals';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import { installQuietLogger, TEMPORAL_DEV_PATH } from '../src/testing.ts';
import * as activities from './durable-activities.ts';
import { acrossRestart, proceed } from './workflows/durable.ts';

const workflowsPath = fileURLToPath(new URL('./workflows/durable.ts', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'temporal-dev-sqlite-'));
const ACTIVITY_TASK_STARTED = 11;

async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const { port } = srv.address() as { port: number };
  await new Promise((r) => srv.close(r));
  return port;
}

interface Server {
  proc: ChildProcess;
  kill(): Promise<void>;
}

/** bin/temporal-dev on `port` with state in `db`; resolves once it listens. */
async function startServer(port: number, db: string): Promise<Server> {
  const args = [
    'server',
    'start-dev',
    '--ip',
    '127.0.0.1',
    '--port',
    String(port),
    '--db-filename',
    db,
    '--log-level',
    'info',
  ];
  const proc = spawn(TEMPORAL_DEV_PATH, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  const exited = new Promise<void>((r) => proc.once('exit', () => r()));
  let out = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`temporal-dev did not start:\n${out}`)), 60_000);
    proc.stderr!.on('data', (d: Buffer) => {
      out += d;
      if (process.env.SQLITE_TEST_DEBUG) process.stderr.write(d);
      if (/listening on/.test(out)) {
        clearTimeout(timer);
        resolve();
      }
    });
    void exited.then(() => reject(new Error(`temporal-dev exited:\n${out}`)));
  });
  return {
    proc,
    async kill() {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
      await exited;
    },
  };
}

/** Polls `check` until it returns true (errors count as false), up to `ms`. */
async function until(what: string, check: () => Promise<boolean> | boolean, ms = 60_000): Promise<void> {
  const end = Date.now() + ms;
  let last: unknown;
  if (process.env.SQLITE_TEST_DEBUG) console.log(`waiting for ${what}`);
  while (Date.now() < end) {
    try {
      if (await check()) return;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${last}` : ''}`);
}

describe('temporal-dev state in SQLite (--db-filename)', () => {
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('survives kill -9 mid-workflow: the activity heartbeats across the restart, signal and timer follow', async () => {
    installQuietLogger();
    const port = await freePort();
    const db = join(dir, 'state.db');
    const address = `127.0.0.1:${port}`;
    const taskQueue = `sqlite-${randomUUID()}`;
    let server = await startServer(port, db);
    const connection = await NativeConnection.connect({ address });
    const worker = await Worker.create({ connection, taskQueue, workflowsPath, activities });
    const running = worker.run();
    const clientConnection = await Connection.connect({ address });
    const client = new Client({ connection: clientConnection });
    try {
      const h = await client.workflow.start(acrossRestart, { taskQueue, workflowId: randomUUID() });
      const heartbeatSeen = async (min: number) => {
        const d = await h.describe();
        const details = d.raw.pendingActivities?.[0]?.heartbeatDetails?.payloads?.[0]?.data;
        return details !== undefined && details !== null && Number(Buffer.from(details).toString()) >= min;
      };
      await until('a heartbeat before the kill', () => heartbeatSeen(1));
      await server.kill();
      const beatsAtKill = activities.control.beats;
      server = await startServer(port, db);
      // The attempt the worker holds is still the started one: its heartbeats are accepted.
      await until('a heartbeat after the restart', () => heartbeatSeen(beatsAtKill + 1));
      activities.release();
      await until('the signal', async () => {
        await h.signal(proceed);
        return true;
      });
      expect(await h.result()).toMatch(/^activity \d+, then signal and timer$/);
      expect(activities.control.failures).toEqual([]);
      const history = await h.fetchHistory();
      const started = (history.events ?? []).filter((e) => e.eventType === ACTIVITY_TASK_STARTED);
      expect(started.map((e) => e.activityTaskStartedEventAttributes?.attempt)).toEqual([1]);
      await expect(Worker.runReplayHistory({ workflowsPath }, history)).resolves.toBeUndefined();
    } finally {
      worker.shutdown();
      await running;
      await connection.close();
      await clientConnection.close();
      await server.kill();
    }
  }, 180_000);
});
