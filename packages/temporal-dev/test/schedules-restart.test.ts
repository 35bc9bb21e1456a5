// Schedules on the dev server: kept in the --db-filename state (a SIGKILL and a restart later the schedule,
// its counters and its pause are there and it keeps firing), and served on the HTTP API the way Temporal UI
// reads them (GET /api/v1/namespaces/{ns}/schedules, .../schedules/{id}).
import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from '@jest/globals';
import { Client, Connection, ScheduleOverlapPolicy } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import { installQuietLogger, TEMPORAL_DEV_PATH } from '../src/testing.ts';
import { reportsStart } from './workflows/scheduled.ts';

const workflowsPath = fileURLToPath(new URL('./workflows/scheduled.ts', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'temporal-dev-schedules-'));

async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const { port } = srv.address() as { port: number };
  await new Promise((r) => srv.close(r));
  return port;
}

/** bin/temporal-dev start-dev with state in `db` and the HTTP API; resolves once it listens. */
async function startServer(port: number, httpPort: number, db: string): Promise<ChildProcess> {
  const args = ['server', 'start-dev', '--ip', '127.0.0.1', '--port', String(port)];
  args.push('--http-port', String(httpPort), '--db-filename', db, '--log-level', 'info');
  const proc = spawn(TEMPORAL_DEV_PATH, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let out = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`temporal-dev did not start:\n${out}`)), 60_000);
    proc.stderr!.on('data', (d: Buffer) => {
      out += d;
      if (/listening on/.test(out)) {
        clearTimeout(timer);
        resolve();
      }
    });
    proc.once('exit', (code) => reject(new Error(`temporal-dev exited with ${code}:\n${out}`)));
  });
  return proc;
}

async function kill(proc: ChildProcess): Promise<void> {
  const exited = new Promise<void>((r) => proc.once('exit', () => r()));
  proc.kill('SIGKILL');
  await exited;
}

/** Polls `read` (real time, bounded) until `ok`. */
async function eventually<T>(read: () => Promise<T>, ok: (v: T) => boolean, what: string): Promise<T> {
  const deadline = Date.now() + 30_000;
  let last: T = await read();
  while (!ok(last)) {
    if (Date.now() > deadline) throw new Error(`${what}: last ${JSON.stringify(last)}`);
    await new Promise((r) => setTimeout(r, 100));
    last = await read();
  }
  return last;
}

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('temporal-dev schedules on the dev server', () => {
  it('survive a SIGKILL with their counters and pause, keep firing, and are on the HTTP API', async () => {
    installQuietLogger();
    const [port, httpPort] = [await freePort(), await freePort()];
    const db = join(dir, 'state.db');
    const scheduleId = `every-second-${randomUUID()}`;
    const taskQueue = `sched-restart-${randomUUID()}`;
    let server = await startServer(port, httpPort, db);
    let connection = await Connection.connect({ address: `127.0.0.1:${port}` });
    let client = new Client({ connection });
    const native = await NativeConnection.connect({ address: `127.0.0.1:${port}` });
    const worker = await Worker.create({ connection: native, taskQueue, workflowsPath });
    const running = worker.run();
    try {
      const handle = await client.schedule.create({
        scheduleId,
        spec: { intervals: [{ every: '1s' }] },
        action: { type: 'startWorkflow', workflowType: reportsStart, taskQueue },
        memo: { owner: 'ops' },
      });
      await eventually(
        () => handle.describe(),
        (d) => d.info.numActionsTaken >= 2,
        'two actions before the restart',
      );
      await handle.pause('held over the restart');
      const before = (await handle.describe()).info.numActionsTaken;

      // Temporal UI's reads, on the HTTP API.
      // biome-ignore lint/suspicious/noExplicitAny: the HTTP API's JSON, read field by field
      const list: any = await (
        await fetch(`http://127.0.0.1:${httpPort}/api/v1/namespaces/default/schedules`)
      ).json();
      const entry = list.schedules.find((s: { scheduleId: string }) => s.scheduleId === scheduleId);
      expect(entry.info).toMatchObject({
        paused: true,
        notes: 'held over the restart',
        workflowType: { name: 'reportsStart' },
      });
      // biome-ignore lint/suspicious/noExplicitAny: the HTTP API's JSON, read field by field
      const one: any = await (
        await fetch(`http://127.0.0.1:${httpPort}/api/v1/namespaces/default/schedules/${scheduleId}`)
      ).json();
      expect(one.schedule.spec.interval).toEqual([{ interval: '1s' }]);
      expect(Number(one.info.actionCount)).toBe(before);

      await connection.close();
      await kill(server);
      server = await startServer(port, httpPort, db);
      connection = await Connection.connect({ address: `127.0.0.1:${port}` });
      client = new Client({ connection });
      const again = client.schedule.getHandle(scheduleId);
      const after = await again.describe();
      expect(after.state).toMatchObject({ paused: true, note: 'held over the restart' });
      expect(after.info.numActionsTaken).toBe(before);
      expect(after.memo).toEqual({ owner: 'ops' });
      await again.unpause('go on');
      await eventually(
        () => again.describe(),
        (d) => d.info.numActionsTaken >= before + 2,
        'actions after the restart',
      );
      await again.delete();
    } finally {
      worker.shutdown();
      await running.catch(() => {});
      await native.close();
      await connection.close();
      await kill(server);
    }
  }, 120_000);

  it('catches up after downtime only on the times within the catch-up window', async () => {
    installQuietLogger();
    const [port, httpPort] = [await freePort(), await freePort()];
    const db = join(dir, 'catchup.db');
    const scheduleId = `catchup-${randomUUID()}`;
    let server = await startServer(port, httpPort, db);
    let connection = await Connection.connect({ address: `127.0.0.1:${port}` });
    try {
      const handle = await new Client({ connection }).schedule.create({
        scheduleId,
        spec: { intervals: [{ every: '1s' }] },
        // No worker: the runs stay open, so they may overlap.
        action: { type: 'startWorkflow', workflowType: 'reportsStart', taskQueue: `idle-${randomUUID()}` },
        policies: { catchupWindow: '10s', overlap: ScheduleOverlapPolicy.ALLOW_ALL },
      });
      await eventually(
        () => handle.describe(),
        (d) => d.info.numActionsTaken >= 1,
        'an action before the downtime',
      );
      await connection.close();
      await kill(server);
      // Down for more than the window: the oldest of the times missed meanwhile fall outside it.
      await new Promise((r) => setTimeout(r, 13_000));
      server = await startServer(port, httpPort, db);
      connection = await Connection.connect({ address: `127.0.0.1:${port}` });
      const d = await new Client({ connection }).schedule.getHandle(scheduleId).describe();
      expect(d.info.numActionsMissedCatchupWindow).toBeGreaterThanOrEqual(1);
      // The times of the last 10 s were taken on restart.
      expect(d.info.numActionsTaken).toBeGreaterThanOrEqual(9);
      await new Client({ connection }).schedule.getHandle(scheduleId).delete();
    } finally {
      await connection.close();
      await kill(server);
    }
  }, 120_000);
});
