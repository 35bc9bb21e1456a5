// The embedded Temporal-compatible server for `npm start` on a fresh machine: bin/temporal-dev in dev mode,
// state persisted to a file so a restart resumes in-flight payouts. Production points TEMPORAL_ADDRESS at
// a real Temporal cluster instead.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { searchAttributeFlags } from './search-attributes.ts';

export const temporalDevPath = fileURLToPath(new URL('../../bin/temporal-dev', import.meta.url));

export interface EmbeddedTemporal {
  address: string;
  /** Base URL of its Temporal HTTP API (/api/v1/…), when it serves one. */
  httpUrl?: string;
  stop(): Promise<void>;
}

/** A port asked for by configuration: `variable` names it in messages; 0 = any free port. */
export interface PortChoice {
  port: number;
  variable: string;
  /** Set by the operator: taken = an error. A default that is taken falls back to a free port. */
  explicit: boolean;
}

export async function startEmbeddedTemporal(opts: {
  namespace: string;
  dbFile?: string;
  /** Default: a free port. */
  port?: number | PortChoice;
  /** The HTTP API; default none. */
  httpPort?: PortChoice;
  /** Default 127.0.0.1. */
  ip?: string;
  warn?: (message: string) => void;
}): Promise<EmbeddedTemporal> {
  const ip = opts.ip ?? '127.0.0.1';
  const warn = opts.warn ?? ((m: string) => console.warn(m));
  const port =
    typeof opts.port === 'object' ? await choosePort(ip, opts.port, warn) : (opts.port ?? (await freePort()));
  const httpPort = opts.httpPort ? await choosePort(ip, opts.httpPort, warn, port) : undefined;
  const args = ['server', 'start-dev', '--headless', '--ip', ip, '--port', String(port)];
  if (httpPort !== undefined) args.push('--http-port', String(httpPort));
  args.push('--namespace', opts.namespace, ...searchAttributeFlags());
  if (opts.dbFile) {
    mkdirSync(dirname(resolve(opts.dbFile)), { recursive: true });
    args.push('--db-filename', resolve(opts.dbFile));
  }
  // Its own process group, so a Ctrl-C in the terminal does not stop it before the worker that uses
  // it has drained: this process stops it, in order. Its stdin is a pipe from this process; when this
  // process dies, even by SIGKILL, the pipe ends and temporal-dev saves its state and exits.
  const child = spawn(temporalDevPath, args, {
    stdio: ['pipe', 'inherit', 'inherit'],
    detached: true,
    env: { ...process.env, TEMPORAL_DEV_EXIT_ON_STDIN_END: '1' },
  });
  const exited = new Promise<number | null>((done) => child.once('exit', (code) => done(code)));
  // Any exit of this process (process.exit, a crash at start-up) takes temporal-dev with it; one asked
  // to stop already has saved its state (it does so first) and is past waiting for.
  let stopping = false;
  const onExit = () => {
    if (child.exitCode === null && child.signalCode === null) child.kill(stopping ? 'SIGKILL' : 'SIGTERM');
  };
  process.on('exit', onExit);
  void exited.then(() => process.off('exit', onExit));
  // A wildcard bind is reached on the loopback interface.
  const host = ip === '0.0.0.0' || ip === '::' ? '127.0.0.1' : ip;
  await waitForPort(host, port, child, 10_000);
  if (httpPort !== undefined) await waitForPort(host, httpPort, child, 10_000);
  return {
    address: `${host}:${port}`,
    ...(httpPort !== undefined ? { httpUrl: `http://${host}:${httpPort}` } : {}),
    async stop() {
      stopping = true;
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

/** A TCP port free on the loopback interface (or `ip`) right now. */
export async function freePort(ip = '127.0.0.1'): Promise<number> {
  return new Promise((done, fail) => {
    const server = createServer();
    server.once('error', fail);
    server.listen(0, ip, () => {
      const address = server.address();
      server.close(() => done(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

/** True when nothing listens on ip:port (checked by binding it for a moment). */
function portFree(ip: string, port: number): Promise<boolean> {
  return new Promise((done, fail) => {
    const server = createServer();
    server.once('error', (error: NodeJS.ErrnoException) =>
      error.code === 'EADDRINUSE' ? done(false) : fail(error),
    );
    server.listen(port, ip, () => server.close(() => done(true)));
  });
}

/**
 * The port to give temporal-dev. Checked before it starts: waiting for a fixed port that some other
 * server already holds would "succeed" against that server. `not` is a port already chosen.
 */
export async function choosePort(
  ip: string,
  choice: PortChoice,
  warn: (message: string) => void,
  not?: number,
): Promise<number> {
  if (choice.port === 0) {
    let p = await freePort(ip);
    while (p === not) p = await freePort(ip);
    return p;
  }
  if (choice.port !== not && (await portFree(ip, choice.port))) return choice.port;
  if (choice.explicit) {
    throw new Error(
      `${choice.variable}=${choice.port}: port ${choice.port} on ${ip} is already in use (another Temporal server, or Disburse already running?). Set ${choice.variable} to a free port, or 0 for any free port.`,
    );
  }
  const p = await choosePort(ip, { ...choice, port: 0 }, warn, not);
  warn(
    `embedded temporal-dev: port ${choice.port} (default of ${choice.variable}) is in use on ${ip}; using port ${p} instead. Set ${choice.variable} to choose one (e.g. to point Temporal UI at it).`,
  );
  return p;
}

async function waitForPort(
  host: string,
  port: number,
  child: ChildProcess,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`bin/temporal-dev exited with code ${child.exitCode}`);
    const open = await new Promise<boolean>((done) => {
      const socket = connect(port, host);
      socket.once('connect', () => done(socket.end() !== undefined));
      socket.once('error', () => done(false));
    });
    if (open) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  child.kill('SIGTERM');
  throw new Error(`bin/temporal-dev did not listen on port ${port} within ${timeoutMs} ms`);
}
