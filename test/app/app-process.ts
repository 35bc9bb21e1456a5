// Test helper: `node src/main.ts` (or `npm start`) as a real child process on a temporary .data, the way
// a user runs it: embedded PGlite and embedded temporal-dev, API on a free port.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repo = fileURLToPath(new URL('../..', import.meta.url)).replace(/\/$/, '');
export const node = existsSync(`${repo}/node_modules/.bin/node`)
  ? `${repo}/node_modules/.bin/node`
  : process.execPath;

/**
 * The environment of an app on `dir`: no DATABASE_URL / TEMPORAL_ADDRESS (jest's global setup exports
 * one), state under `dir`, fixed secrets (a restart must decrypt what the first run wrote).
 */
export function appEnv(dir: string, secrets: AppSecrets): Record<string, string> {
  return {
    PATH: `${repo}/node_modules/.bin:${process.env.PATH ?? ''}`,
    HOME: process.env.HOME ?? dir,
    PGLITE_DATA_DIR: join(dir, 'pglite'),
    TEMPORAL_DEV_DB: join(dir, 'temporal-dev.db'),
    // npm start's fixed defaults (7233, 7243) would collide between tests running in parallel.
    TEMPORAL_DEV_PORT: '0',
    TEMPORAL_DEV_HTTP_PORT: '0',
    API_PORT: '0',
    LOG_LEVEL: 'info',
    DISBURSE_ENCRYPTION_KEYS: `k1:${secrets.encryption}`,
    DISBURSE_FINGERPRINT_KEY: secrets.fingerprint,
    DISBURSE_TOKEN_SIGNING_KEY: secrets.signing,
  };
}

export interface AppSecrets {
  encryption: string;
  fingerprint: string;
  signing: string;
}

export function newSecrets(): AppSecrets {
  const key = () => randomBytes(32).toString('base64');
  return { encryption: key(), fingerprint: key(), signing: key() };
}

export interface AppProcess {
  readonly child: ChildProcess;
  /** Pid of `node src/main.ts` (the child itself, or npm's child). */
  readonly appPid: number;
  /** Pid of its embedded bin/temporal-dev. */
  readonly temporalDevPid: number;
  readonly apiUrl: string;
  /** Keys printed on a first run (empty after a restart). */
  readonly keys: Record<string, string>;
  output(): string;
  /** Resolves with the exit code (null when killed by a signal) once the process has exited. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/**
 * Starts the app and resolves once it printed "Disburse is running." (and, on a first run, its keys). Its
 * signal handlers are set by then: main.ts installs them in the same tick as it prints. `env` adds to (or
 * overrides) appEnv, e.g. DATABASE_URL.
 */
export async function startApp(
  dir: string,
  secrets: AppSecrets,
  opts: { via?: 'node' | 'npm'; firstRun?: boolean; env?: Record<string, string> } = {},
): Promise<AppProcess> {
  const via = opts.via ?? 'node';
  const [cmd, args] = via === 'npm' ? ['npm', ['start']] : [node, ['src/main.ts']];
  const env = { ...appEnv(dir, secrets), ...opts.env };
  const child = spawn(cmd, args, { cwd: repo, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d) => {
    out += d;
  });
  child.stderr!.on('data', (d) => {
    out += d;
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((done) =>
    child.once('exit', (code, signal) => done({ code, signal })),
  );
  await new Promise<void>((ready, fail) => {
    const check = () => {
      const marker = opts.firstRun
        ? /operator API key[^\n]*\n/
        : /Disburse is running\.[\s\S]*Providers[^\n]*\n/;
      if (marker.test(out)) {
        child.stdout!.off('data', check);
        ready();
      }
    };
    child.stdout!.on('data', check);
    void exited.then(({ code }) => fail(new Error(`the app exited (${code}) before it ran:\n${out}`)));
  });
  const apiUrl = /API\s+(http:\/\/\S+)/.exec(out)?.[1];
  if (!apiUrl) throw new Error(`no API URL in:\n${out}`);
  const keys: Record<string, string> = {};
  for (const m of out.matchAll(/(\w+) API key \(shown once\): (\S+)/g)) keys[m[1]!] = m[2]!;
  const appPid =
    via === 'npm' ? childrenOf(child.pid!).find((p) => commandOf(p).includes('src/main.ts')) : child.pid;
  if (!appPid) throw new Error(`no node src/main.ts under npm (${child.pid})`);
  const temporalDevPid = childrenOf(appPid).find((p) => commandOf(p).includes('temporal-dev/src/cli.ts'));
  if (!temporalDevPid) throw new Error(`no temporal-dev under ${appPid}`);
  return { child, appPid, temporalDevPid, apiUrl, keys, output: () => out, exited };
}

export function childrenOf(pid: number): number[] {
  try {
    return execFileSync('ps', ['-o', 'pid=', '--ppid', String(pid)], { encoding: 'utf8' })
      .split('\n')
      .map((s) => Number(s.trim()))
      .filter((n) => n > 0);
  } catch {
    return []; // ps exits 1 when there are none
  }
}

function commandOf(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
  } catch {
    return '';
  }
}

/** True while `pid` is a live process (a zombie waiting for its parent counts as gone). */
export function isRunning(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

/** Waits (polling, no deadline of its own: the test's timeout bounds it) until `pid` has gone. */
export async function untilGone(pid: number): Promise<void> {
  while (isRunning(pid)) await new Promise((r) => setTimeout(r, 50));
}

/** A JSON call to the API with a platform key. */
export async function api(
  app: AppProcess,
  key: string,
  method: string,
  path: string,
  body?: unknown,
  // biome-ignore lint/suspicious/noExplicitAny: test responses are inspected dynamically
): Promise<{ status: number; body: any }> {
  const res = await fetch(`${app.apiUrl}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${key}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      ...(method === 'POST' ? { 'idempotency-key': randomBytes(8).toString('hex') } : {}),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}
