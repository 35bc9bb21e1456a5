// Issue 13: SIGTERM/SIGINT used to fail the shutdown ("Not running. Current state: DRAINING") and orphan
// temporal-dev, and a signal to `npm start` left node serving. Each case here starts the real app, signals
// it and checks the exit status and that no process of its tree is left.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from '@jest/globals';
import { type AppProcess, isRunning, newSecrets, startApp, untilGone } from './app-process.ts';

const root = await mkdtemp(join(tmpdir(), 'disburse-stop-'));
const started: AppProcess[] = [];

afterAll(async () => {
  for (const app of started) for (const pid of [app.appPid, app.temporalDevPid]) killQuietly(pid);
  await rm(root, { recursive: true, force: true });
});

function killQuietly(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // gone
  }
}

describe.each([
  ['node src/main.ts', 'node', 'SIGTERM'],
  ['node src/main.ts', 'node', 'SIGINT'],
  ['npm start', 'npm', 'SIGTERM'],
  ['npm start', 'npm', 'SIGINT'],
] as const)('%s on %s', (_label, via, signal) => {
  it('stops API, worker, temporal-dev and the database, exits 0 and leaves no process', async () => {
    const dir = await mkdtemp(join(root, `${via}-${signal}-`));
    const app = await startApp(dir, newSecrets(), { via });
    started.push(app);
    expect(isRunning(app.temporalDevPid)).toBe(true);

    app.child.kill(signal);
    const { code } = await app.exited;
    expect(code).toBe(0);
    await untilGone(app.appPid);
    await untilGone(app.temporalDevPid);
    expect(app.output()).toMatch(/"msg":"shutdown.done"[^\n]*"ok":true/);
    expect(app.output()).not.toMatch(/shutdown failed|IllegalStateError|step_failed/);
    // The database was closed, not abandoned: its lock is gone and the next start finds it free.
    await expect(readFile(join(dir, 'pglite', 'disburse.lock'), 'utf8')).rejects.toThrow(/ENOENT/);
  }, 300_000);
});

describe('npm killed outright', () => {
  it('the app notices its parent is gone and stops cleanly', async () => {
    const dir = await mkdtemp(join(root, 'npm-kill-'));
    const app = await startApp(dir, newSecrets(), { via: 'npm' });
    started.push(app);
    app.child.kill('SIGKILL');
    await untilGone(app.appPid);
    await untilGone(app.temporalDevPid);
    await expect(readFile(join(dir, 'pglite', 'disburse.lock'), 'utf8')).rejects.toThrow(/ENOENT/);
  }, 300_000);
});
