// The fault suite's processes: bin/temporal-dev (dev server on a state file), `node src/api/main.ts` and
// `node src/worker/main.ts` as real children, each restartable on the same port / state after a SIGKILL.
import { type ChildProcess, spawn } from 'node:child_process';
import { searchAttributeFlags } from '../../src/temporal/search-attributes.ts';
import { node, repo } from '../app/app-process.ts';
import { TEMPORAL_DEV_PATH } from '../support/temporal.ts';

export interface Child {
  readonly name: string;
  readonly proc: ChildProcess;
  /** Everything it printed since it was spawned. */
  output(): string;
  readonly exited: Promise<void>;
  /** SIGKILL, resolved once it has exited. */
  kill(): Promise<void>;
}

// Every child not yet exited. A scenario past its Jest timeout never reaches its own close, and Jest then
// force-exits without killing them (its sandboxed `process` never emits 'exit' to a test's listener).
const live = new Set<Child>();

/** SIGKILLs every child still running (after each scenario), so none outlives it holding ports and CPU. */
export async function killLeftovers(): Promise<string[]> {
  const left = [...live];
  await Promise.all(left.map((c) => c.kill()));
  return left.map((c) => c.name);
}

/** Spawns `cmd` and resolves once its output matches `ready`; rejects (with its output) if it exits or takes over `waitMs`. */
export async function spawnUntil(
  name: string,
  cmd: string,
  args: string[],
  env: Record<string, string>,
  ready: RegExp,
  waitMs = 90_000,
): Promise<Child> {
  const proc = spawn(cmd, args, { cwd: repo, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const exited = new Promise<void>((done) => proc.once('exit', () => done()));
  const child: Child = {
    name,
    proc,
    output: () => out,
    exited,
    async kill() {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
      await exited;
    },
  };
  live.add(child);
  void exited.then(() => live.delete(child));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      void child.kill();
      reject(new Error(`${name} did not print ${ready} within ${waitMs} ms:\n${out.slice(-4000)}`));
    }, waitMs);
    const onData = (d: Buffer) => {
      out += d;
      if (ready.test(out)) {
        clearTimeout(timer);
        resolve();
      }
    };
    proc.stdout!.on('data', onData);
    proc.stderr!.on('data', onData);
    void exited.then(() => {
      clearTimeout(timer);
      reject(
        new Error(
          `${name} exited (${proc.exitCode ?? proc.signalCode}) before it was ready:\n${out.slice(-4000)}`,
        ),
      );
    });
  });
  return child;
}

/** bin/temporal-dev as a dev server on `port`, its state in `dbFile` (a restart resumes from it). */
export function startTemporalDev(port: number, dbFile: string): Promise<Child> {
  const args = ['server', 'start-dev', '--headless', '--ip', '127.0.0.1', '--port', String(port)];
  args.push(...searchAttributeFlags(), '--db-filename', dbFile, '--log-level', 'info');
  return spawnUntil(
    'temporal-dev',
    TEMPORAL_DEV_PATH,
    args,
    { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp' },
    /dev server listening on/,
  );
}

export function startApi(env: Record<string, string>): Promise<Child> {
  return spawnUntil('api', node, ['src/api/main.ts'], env, /"msg":"api\.listening"/);
}

export function startWorkerProcess(env: Record<string, string>): Promise<Child> {
  return spawnUntil('worker', node, ['src/worker/main.ts'], env, /"msg":"worker\.started"/);
}
