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
  stop(): Promise<void>;
}

export async function startEmbeddedTemporal(opts: {
  namespace: string;
  dbFile?: string;
  port?: number;
}): Promise<EmbeddedTemporal> {
  const port = opts.port ?? (await freePort());
  const args = ['server', 'start-dev', '--headless', '--ip', '127.0.0.1', '--port', String(port)];
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
  await waitForPort(port, child, 10_000);
  return {
    address: `127.0.0.1:${port}`,
    async stop() {
      stopping = true;
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

/** A TCP port free on the loopback interface right now. */
export async function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const server = createServer();
    server.once('error', fail);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => done(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

async function waitForPort(port: number, child: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`bin/temporal-dev exited with code ${child.exitCode}`);
    const open = await new Promise<boolean>((done) => {
      const socket = connect(port, '127.0.0.1');
      socket.once('connect', () => done(socket.end() !== undefined));
      socket.once('error', () => done(false));
    });
    if (open) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  child.kill('SIGTERM');
  throw new Error(`bin/temporal-dev did not listen on port ${port} within ${timeoutMs} ms`);
}
