// For tests of code on Temporal: a TestWorkflowEnvironment backed by this package's temporal-dev, or by the
// official binaries when TEMPORAL_TEST_SERVER_PATH (time-skipping) / TEMPORAL_CLI_PATH (dev server) are set.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { credentials, Client as GrpcClient, status } from '@grpc/grpc-js';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { DefaultLogger, Runtime } from '@temporalio/worker';

/** The launcher (bin/temporal-dev of this package). */
export const TEMPORAL_DEV_PATH = fileURLToPath(new URL('../bin/temporal-dev', import.meta.url));

/** As `--search-attribute Name=Type` spells them (the SDK's metadata types). */
export type SearchAttributeTypeName =
  | 'Keyword'
  | 'Text'
  | 'Int'
  | 'Double'
  | 'Bool'
  | 'Datetime'
  | 'KeywordList';

// IndexedValueType numbers for OperatorService.AddSearchAttributes.
const indexedValueType: Record<SearchAttributeTypeName, number> = {
  Text: 1,
  Keyword: 2,
  Int: 3,
  Double: 4,
  Bool: 5,
  Datetime: 6,
  KeywordList: 7,
};

export interface TestEnvOptions {
  /** Time-skipping test server (default false: real-time dev server). */
  timeSkipping?: boolean;
  /** Custom search attributes to register (default: none). */
  searchAttributes?: Record<string, SearchAttributeTypeName>;
  /** Dev server only: persist state in this file. */
  dbFilename?: string;
  /** Dev server only: more command-line flags, e.g. `--dynamic-config-value limit.blobSize.error=1024`. */
  extraArgs?: string[];
  /** Launcher to run instead of this package's (default TEMPORAL_DEV_PATH). */
  temporalDevPath?: string;
}

/** True when the suite runs against the official binaries instead of temporal-dev. */
export function usingOfficialServer(timeSkipping = false): boolean {
  return Boolean(timeSkipping ? process.env.TEMPORAL_TEST_SERVER_PATH : process.env.TEMPORAL_CLI_PATH);
}

/** Logger for bundleWorkflowCode: only errors are printed. */
export const quietBundlerLogger = {
  log() {},
  trace() {},
  debug() {},
  info() {},
  warn() {},
  error(message: string, meta?: unknown) {
    console.error(message, meta);
  },
};

let loggerInstalled = false;
/** Installs a quiet SDK runtime logger (WARN and above) once per process. */
export function installQuietLogger(): void {
  if (loggerInstalled) return;
  loggerInstalled = true;
  try {
    Runtime.install({ logger: new DefaultLogger('WARN') });
  } catch {
    // a Runtime already exists in this process; keep it
  }
}

export async function createTestEnv(opts: TestEnvOptions = {}): Promise<TestWorkflowEnvironment> {
  installQuietLogger();
  const attrs = opts.searchAttributes ?? {};
  const ours = opts.temporalDevPath ?? TEMPORAL_DEV_PATH;
  const timeSkipping = opts.timeSkipping ?? false;
  const server = await startTestServer({
    path: (timeSkipping ? process.env.TEMPORAL_TEST_SERVER_PATH : process.env.TEMPORAL_CLI_PATH) || ours,
    timeSkipping,
    args: timeSkipping
      ? []
      : [
          ...Object.entries(attrs).flatMap(([name, t]) => ['--search-attribute', `${name}=${t}`]),
          ...(opts.dbFilename ? ['--db-filename', opts.dbFilename] : []),
          ...(opts.extraArgs ?? []),
        ],
  });
  let env: TestWorkflowEnvironment;
  try {
    env = await createEnvOn(server.address, timeSkipping);
  } catch (err) {
    await server.stop();
    throw err;
  }
  const teardown = env.teardown.bind(env);
  env.teardown = async () => {
    await teardown();
    await server.stop();
  };
  if (timeSkipping && Object.keys(attrs).length > 0) {
    // The official test server accepts any search attribute and may not serve OperatorService.
    await addSearchAttributes(env, attrs).catch(async (err: { code?: number }) => {
      if (err?.code === 12 /* UNIMPLEMENTED */) return;
      await env.teardown();
      throw err;
    });
  }
  return env;
}

/**
 * The SDK's environment on a server it did not spawn. Its public `createFromExistingServer` cannot make
 * a time-skipping one, so its own factory (private in the typings only) is called, as
 * `createTimeSkipping` calls it.
 */
function createEnvOn(address: string, timeSkipping: boolean): Promise<TestWorkflowEnvironment> {
  if (!timeSkipping) return TestWorkflowEnvironment.createFromExistingServer({ address });
  const sdk = TestWorkflowEnvironment as unknown as {
    create(opts: {
      server: { type: 'existing' };
      address: string;
      supportsTimeSkipping: true;
    }): Promise<TestWorkflowEnvironment>;
  };
  return sdk.create({ server: { type: 'existing' }, address, supportsTimeSkipping: true });
}

export interface TestServerOptions {
  /** The launcher (temporal-dev, or the official `temporal` CLI / test server). */
  path: string;
  /** Time-skipping test server (`PATH PORT ...args`) rather than `server start-dev`. */
  timeSkipping?: boolean;
  /** More arguments after those the SDK would pass. */
  args?: string[];
  /** How long one attempt may take to answer (default 20 s). */
  startTimeoutMs?: number;
  /** Where the retry is announced (default console.warn). */
  warn?: (message: string) => void;
}

export interface TestServer {
  address: string;
  port: number;
  /** Kills the server (SIGKILL, as the SDK stops the servers it spawns) and waits for it to exit. */
  stop(): Promise<void>;
}

/**
 * Starts a Temporal server for tests. The SDK's own start gives a server 5 s to answer (fixed in core's
 * ephemeral_server), lets it inherit stderr and picks the port before the server binds it, so on a busy
 * machine a start fails now and then with nothing to go on. Here one attempt gets a free port, is probed
 * until it answers GetSystemInfo (or exits, or startTimeoutMs passes), and a failed attempt is retried once
 * with a fresh port and a fresh temporal-dev cache directory (TEMPORAL_DEV_CACHE_DIR: whatever the first
 * left half-written cannot be the cause twice). When both fail, the error carries each one's stderr tail.
 * A `--db-filename` among the arguments is the caller's state and is kept.
 */
export async function startTestServer(opts: TestServerOptions): Promise<TestServer> {
  const what = opts.timeSkipping ? 'time-skipping test server' : 'dev server';
  const warn = opts.warn ?? ((m: string) => console.warn(m));
  const first = await startAttempt(opts, undefined);
  if ('address' in first) return first;
  if (first.fatal) throw new Error(`Temporal ${what} (${opts.path}) could not start: ${first.reason}`);
  warn(
    `Temporal ${what} did not start (${first.reason}); retrying once with a fresh port and cache directory`,
  );
  const cacheDir = mkdtempSync(join(tmpdir(), 'temporal-dev-cache-'));
  const second = await startAttempt(opts, cacheDir);
  if ('address' in second) return second;
  rmSync(cacheDir, { recursive: true, force: true });
  throw new Error(
    `Temporal ${what} (${opts.path}) did not start in 2 attempts:\n` +
      [first, second]
        .map(
          (a, i) => `attempt ${i + 1} (port ${a.port}): ${a.reason}\n  stderr tail:\n${indent(a.stderrTail)}`,
        )
        .join('\n'),
  );
}

interface FailedAttempt {
  port: number;
  reason: string;
  stderrTail: string;
  /** Not worth a retry (the launcher does not exist or cannot be run). */
  fatal?: boolean;
}

const STDERR_TAIL_CHARS = 2000;

async function startAttempt(
  opts: TestServerOptions,
  cacheDir: string | undefined,
): Promise<TestServer | FailedAttempt> {
  const port = await freePort();
  const args = opts.timeSkipping
    ? [String(port), ...(opts.args ?? [])]
    : [...devServerArgs(port), ...(opts.args ?? [])];
  const child = spawn(opts.path, args, {
    // stdin is a pipe whose end (this process gone, even by SIGKILL) stops temporal-dev (cli.ts).
    stdio: ['pipe', 'ignore', 'pipe'],
    env: {
      ...process.env,
      TEMPORAL_DEV_EXIT_ON_STDIN_END: '1',
      ...(cacheDir ? { TEMPORAL_DEV_CACHE_DIR: cacheDir } : {}),
    },
  });
  let tail = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    // Shown as with the SDK's inherited stderr, and kept for the error if the start fails.
    process.stderr.write(chunk);
    tail = (tail + chunk.toString('utf8')).slice(-STDERR_TAIL_CHARS);
  });
  // Never what keeps a test process alive (as the SDK's native child is not).
  child.unref();
  for (const s of [child.stdin, child.stderr]) (s as unknown as { unref?: () => void } | null)?.unref?.();
  const exited = new Promise<string>((done) => {
    child.once('error', (err) => done(`could not run it: ${err.message}`));
    child.once('exit', (code, signal) => done(`exited with ${signal ?? `code ${code}`} before answering`));
  });
  let gone = false;
  void exited.then(() => {
    gone = true;
  });
  const kill = () => {
    if (!gone) child.kill('SIGKILL');
  };
  process.once('exit', kill);
  const stop = async () => {
    // Referenced while it dies: an unreferenced child's exit is no reason to keep the loop alive, and a
    // caller awaiting this at top level would otherwise end with "unsettled top-level await" (exit 13).
    child.ref();
    kill();
    await exited;
    process.off('exit', kill);
    if (cacheDir) rmSync(cacheDir, { recursive: true, force: true });
  };
  const address = `127.0.0.1:${port}`;
  const deadline = Date.now() + (opts.startTimeoutMs ?? 20_000);
  let reason: string | undefined;
  for (let wait = 25; !reason; wait = Math.min(wait * 2, 500)) {
    const answered = await Promise.race([probe(address, deadline), exited]);
    if (answered === true) {
      // An answer while our child is gone came from another server on that port.
      if (!gone) return { address, port, stop };
      reason = await exited;
    } else if (typeof answered === 'string') {
      reason = answered;
    } else if (Date.now() >= deadline) {
      reason = `did not answer on ${address} within ${opts.startTimeoutMs ?? 20_000} ms`;
    } else {
      await Promise.race([new Promise((r) => setTimeout(r, wait)), exited]);
    }
  }
  await stop();
  // The exit can come before the last stderr bytes are read: let the pipe drain (a grandchild holding it
  // open is not waited for past a moment).
  const stderr = child.stderr;
  if (stderr && !stderr.closed) {
    await new Promise<void>((done) => {
      const t = setTimeout(done, 2_000);
      stderr.once('close', () => {
        clearTimeout(t);
        done();
      });
    });
  }
  return { port, reason, stderrTail: tail, fatal: reason.startsWith('could not run it') };
}

/** The arguments the SDK gives `temporal server start-dev` (core's ephemeral_server), UI off. */
function devServerArgs(port: number): string[] {
  return [
    'server',
    'start-dev',
    '--port',
    String(port),
    '--namespace',
    'default',
    '--ip',
    '127.0.0.1',
    '--log-format',
    'pretty',
    '--log-level',
    'warn',
    '--dynamic-config-value',
    'frontend.enableServerVersionCheck=false',
    '--dynamic-config-value',
    'frontend.enableUpdateWorkflowExecution=true',
    '--dynamic-config-value',
    'frontend.enableUpdateWorkflowExecutionAsyncAccepted=true',
    '--headless',
  ];
}

/**
 * True once the server answers WorkflowService.GetSystemInfo (what the SDK asks first), false while
 * nothing serves the port yet. Any answer but UNAVAILABLE / DEADLINE_EXCEEDED is a server answering.
 */
function probe(address: string, deadline: number): Promise<boolean> {
  return new Promise((done) => {
    const client = new GrpcClient(address, credentials.createInsecure());
    const identity = (b: Buffer) => b;
    client.makeUnaryRequest(
      '/temporal.api.workflowservice.v1.WorkflowService/GetSystemInfo',
      identity,
      identity,
      Buffer.alloc(0),
      { deadline: Math.min(deadline, Date.now() + 5_000) },
      (err) => {
        client.close();
        done(!err || (err.code !== status.UNAVAILABLE && err.code !== status.DEADLINE_EXCEEDED));
      },
    );
  });
}

function indent(text: string): string {
  const t = text.trimEnd();
  return t ? t.replace(/^/gm, '    ') : '    (nothing)';
}

/** Registers custom search attributes through OperatorService (works in both modes of temporal-dev). */
export async function addSearchAttributes(
  env: TestWorkflowEnvironment,
  attrs: Record<string, SearchAttributeTypeName>,
): Promise<void> {
  const searchAttributes: Record<string, number> = {};
  for (const [name, t] of Object.entries(attrs)) searchAttributes[name] = indexedValueType[t];
  await env.connection.operatorService.addSearchAttributes({
    namespace: env.namespace ?? 'default',
    searchAttributes,
  });
}

/** A TCP port free on 127.0.0.1 right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}
