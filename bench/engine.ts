// `npm run bench:engine [-- --boot-only --boot-spawns N --workflows N --open-workflows K --rtt-calls M]`
//
// Measures the Temporal engine Disburse runs on, through the official SDK exactly as the tests use it:
// the server is started by TestWorkflowEnvironment with `executable: { type: 'existing-path' }`
// (bin/temporal-dev, or the official binary when TEMPORAL_CLI_PATH / TEMPORAL_TEST_SERVER_PATH is set).
//   0. boot: N spawns of the server to listening and to a first answer (devserver-boot.ts);
//   1. baseline: bare gRPC round trips (GetSystemInfo, DescribeNamespace), sequential, p50/p99;
//   2. memory: K workflows left open waiting for a signal; the server's RSS delta / K, and (temporal-dev)
//      what it holds after a full GC — heap, external and SQLite pages — delta / K;
//   3. unloaded latency: one-activity workflows run one at a time; start-to-close p50/p99;
//   4. throughput: N one-activity workflows started concurrently; completed/s, start-to-close p50/p99.
// Prints a table. Exits non-zero only when something fails, not when a goal is missed.
import { type ChildProcess, fork } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import type { Client } from '@temporalio/client';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { bundleWorkflowCode, DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import { parseCli } from '../src/cli/args.ts';
import { type BootFigures, measureBoot } from './devserver-boot.ts';
import type { EngineBenchActivities, oneActivity, waitForRelease } from './workflows/engine.ts';

const THROUGHPUT_GOAL = 150; // workflows/s on 2 cores (issue 3)
const TASK_QUEUE = 'bench-engine';
const NAMESPACE = 'default';

interface Options {
  bootSpawns: number;
  bootOnly: boolean;
  workflows: number;
  openWorkflows: number;
  rttCalls: number;
  latencySamples: number;
  startConcurrency: number;
  timeoutSeconds: number;
  workerInProcess: boolean;
  pollers: number;
  workflowThreads: number;
  /** Set in the forked worker process: the server address to poll. */
  workerFor: string | undefined;
}

const USAGE = `usage: npm run bench:engine [-- options]

Measures the Temporal engine Disburse runs on, through the official SDK as the tests use it: the boot
time of bin/temporal-dev (N spawns, with a bare \`node -e 0\` as same-run baseline), gRPC round trips,
memory per open workflow, unloaded latency and throughput. Prints a table; exits non-zero only when
something fails, not when a goal is missed.
  --boot-spawns N         temporal-dev starts to time (default 20; 0 skips the boot figures)
  --boot-only             print the boot figures only
  --workflows N           one-activity workflows in the throughput run (default 2000)
  --open-workflows K      idle workflows for the memory figure (default 2000; 0 skips it)
  --rtt-calls M           sequential calls per gRPC round-trip figure (default 2000)
  --latency-samples L     workflows run one at a time (default 100; 0 skips)
  --start-concurrency C   concurrent starts in the throughput run (default 200)
  --timeout-seconds S     limit for each phase (default 300)
  --pollers P             worker pollers (default 40)
  --workflow-threads T    worker workflow threads (default: CPUs)
  --worker-in-process     run the SDK worker in this process (default: its own process, as in production)
  -h, --help              print this help and exit (nothing runs)

Server: bin/temporal-dev, or $TEMPORAL_CLI_PATH (official dev server) / $TEMPORAL_TEST_SERVER_PATH
(official test server; no boot figures).`;

function parseOptions(): Options {
  const cli = parseCli({
    usage: USAGE,
    options: {
      'boot-spawns': { type: 'string', default: '20' },
      'boot-only': { type: 'boolean', default: false },
      workflows: { type: 'string', default: '2000' },
      'open-workflows': { type: 'string', default: '2000' },
      'rtt-calls': { type: 'string', default: '2000' },
      'latency-samples': { type: 'string', default: '100' },
      'start-concurrency': { type: 'string', default: '200' },
      'timeout-seconds': { type: 'string', default: '300' },
      'worker-in-process': { type: 'boolean', default: false },
      pollers: { type: 'string', default: '40' },
      // The SDK's default is one workflow thread, which caps a 2-core run at ~140 wf/s.
      'workflow-threads': { type: 'string', default: String(availableParallelism()) },
      // Internal: set on the forked worker process (the server address it polls).
      'worker-for': { type: 'string' },
    },
  });
  return {
    bootSpawns: cli.integer('boot-spawns', { min: 0 }),
    bootOnly: cli.values['boot-only'],
    workflows: cli.integer('workflows', { min: 1 }),
    openWorkflows: cli.integer('open-workflows', { min: 0 }),
    rttCalls: cli.integer('rtt-calls', { min: 1 }),
    latencySamples: cli.integer('latency-samples', { min: 0 }),
    startConcurrency: cli.integer('start-concurrency', { min: 1 }),
    timeoutSeconds: cli.integer('timeout-seconds', { min: 1 }),
    workerInProcess: cli.values['worker-in-process'],
    pollers: cli.integer('pollers', { min: 2 }),
    workflowThreads: cli.integer('workflow-threads', { min: 1 }),
    workerFor: cli.values['worker-for'],
  };
}

interface ServerChoice {
  label: string;
  path: string;
  mode: 'dev' | 'time-skipping';
}

function chooseServer(): ServerChoice {
  const cli = process.env.TEMPORAL_CLI_PATH;
  if (cli) return { label: `official CLI dev server (${cli})`, path: cli, mode: 'dev' };
  const testServer = process.env.TEMPORAL_TEST_SERVER_PATH;
  if (testServer)
    return { label: `official test server (${testServer})`, path: testServer, mode: 'time-skipping' };
  const path = fileURLToPath(new URL('../bin/temporal-dev', import.meta.url));
  return { label: 'bin/temporal-dev', path, mode: 'dev' };
}

async function startEnvironment(server: ServerChoice): Promise<TestWorkflowEnvironment> {
  const executable = { type: 'existing-path' as const, path: server.path };
  if (server.mode === 'time-skipping') {
    return TestWorkflowEnvironment.createTimeSkipping({ server: { executable } });
  }
  return TestWorkflowEnvironment.createLocal({
    server: { executable, namespace: NAMESPACE, ip: '127.0.0.1', log: { format: 'pretty', level: 'error' } },
  });
}

// ---------------------------------------------------------------------------------------------
// Process metrics from /proc: the server is a child of this process (the SDK's core spawns it).

interface ProcInfo {
  pid: number;
  ppid: number;
  cmdline: string;
}

function listProcesses(): ProcInfo[] {
  const out: ProcInfo[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // Field 4 (ppid) follows the parenthesised command name, which may itself contain spaces.
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8').replaceAll('\0', ' ').trim();
      out.push({ pid: Number(entry), ppid, cmdline });
    } catch {
      // The process ended while we looked.
    }
  }
  return out;
}

function childPids(): Set<number> {
  return new Set(
    listProcesses()
      .filter((p) => p.ppid === process.pid)
      .map((p) => p.pid),
  );
}

/**
 * The server's pid: the one child of this process that appeared while the environment started. (Its
 * command line need not name the executable: bin/temporal-dev execs node.)
 */
function findServerPid(before: Set<number>): number {
  const fresh = [...childPids()].filter((pid) => !before.has(pid));
  if (fresh.length !== 1) {
    throw new Error(
      `expected one new child process (the server), found ${fresh.length}: cannot measure its memory`,
    );
  }
  return fresh[0]!;
}

function processTree(rootPid: number): number[] {
  const all = listProcesses();
  const tree = [rootPid];
  for (let i = 0; i < tree.length; i++) {
    for (const p of all) if (p.ppid === tree[i]) tree.push(p.pid);
  }
  return tree;
}

/** Resident set size of the whole process tree, in bytes. */
function rssBytes(rootPid: number): number {
  let total = 0;
  for (const pid of processTree(rootPid)) {
    try {
      const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
      if (match) total += Number(match[1]) * 1024;
    } catch {
      // Exited meanwhile.
    }
  }
  return total;
}

/** CPU seconds (user + system) consumed so far by the process tree. */
function cpuSeconds(rootPid: number): number {
  const ticksPerSecond = 100; // USER_HZ on Linux
  let ticks = 0;
  for (const pid of processTree(rootPid)) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      ticks += Number(fields[11]) + Number(fields[12]); // utime, stime
    } catch {
      // Exited meanwhile.
    }
  }
  return ticks / ticksPerSecond;
}

// ---------------------------------------------------------------------------------------------

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1]!;
}

async function mapLimit<T, R>(
  items: T[],
  limit: number,
  fn: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const lanes = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await fn(items[index]!, index);
    }
  });
  await Promise.all(lanes);
  return results;
}

function withTimeout<T>(promise: Promise<T>, seconds: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, fail) => {
    timer = setTimeout(
      () => fail(new Error(`${what} did not finish within ${seconds} s (raise --timeout-seconds?)`)),
      seconds * 1000,
    );
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

interface RoundTrip {
  name: string;
  p50: number;
  p99: number;
  calls: number;
}

async function measureRoundTrips(env: TestWorkflowEnvironment, calls: number): Promise<RoundTrip[]> {
  const service = env.connection.workflowService;
  const probes: Array<[string, () => Promise<unknown>]> = [
    ['GetSystemInfo', () => service.getSystemInfo({})],
    ['DescribeNamespace', () => service.describeNamespace({ namespace: NAMESPACE })],
  ];
  const results: RoundTrip[] = [];
  for (const [name, call] of probes) {
    for (let i = 0; i < Math.min(200, calls); i++) await call(); // warm up
    const samples: number[] = [];
    for (let i = 0; i < calls; i++) {
      const t0 = performance.now();
      await call();
      samples.push(performance.now() - t0);
    }
    samples.sort((a, b) => a - b);
    results.push({ name, p50: percentile(samples, 50), p99: percentile(samples, 99), calls });
  }
  return results;
}

interface MemoryResult {
  open: number;
  rssBefore: number;
  rssAfter: number;
  /** temporal-dev only: held after a full GC (heap + external + SQLite pages), before and after. */
  heldBefore?: number;
  heldAfter?: number;
}

// temporal-dev writes what it holds after a full GC here on SIGUSR2 (src/memory-report.ts).
const MEMORY_REPORT = join(tmpdir(), `bench-engine-memory-${process.pid}.json`);

/** Bytes the server holds after a full GC, or undefined when it does not report (official binaries). */
async function heldBytes(serverPid: number): Promise<number | undefined> {
  if (!process.env.TEMPORAL_DEV_MEMORY_REPORT) return undefined;
  rmSync(MEMORY_REPORT, { force: true });
  process.kill(serverPid, 'SIGUSR2');
  for (let i = 0; i < 100 && !existsSync(MEMORY_REPORT); i++) await new Promise((r) => setTimeout(r, 100));
  if (!existsSync(MEMORY_REPORT)) return undefined;
  const r = JSON.parse(readFileSync(MEMORY_REPORT, 'utf8'));
  return r.heapUsed + r.external + r.sqliteBytes;
}

async function measureOpenWorkflowMemory(
  client: Client,
  serverPid: number,
  runId: string,
  count: number,
  timeoutSeconds: number,
): Promise<MemoryResult> {
  await new Promise((r) => setTimeout(r, 1000)); // let the server settle after start-up and warm-up
  const heldBefore = await heldBytes(serverPid);
  const rssBefore = rssBytes(serverPid);
  const handles = await mapLimit(
    Array.from({ length: count }, (_, i) => i),
    200,
    (i) =>
      client.workflow.start<typeof waitForRelease>('waitForRelease', {
        taskQueue: TASK_QUEUE,
        workflowId: `${runId}-open-${i}`,
      }),
  );
  // Open and idle = first workflow task completed, nothing pending.
  await withTimeout(
    (async () => {
      let waiting = handles;
      while (waiting.length > 0) {
        const idle = await mapLimit(waiting, 100, async (h) => {
          const d = await h.describe();
          return d.historyLength >= 4 && !d.raw.pendingWorkflowTask;
        });
        waiting = waiting.filter((_, i) => !idle[i]);
        if (waiting.length > 0) await new Promise((r) => setTimeout(r, 200));
      }
    })(),
    timeoutSeconds,
    `${count} idle workflows`,
  );
  await new Promise((r) => setTimeout(r, 1000));
  const rssAfter = rssBytes(serverPid);
  const heldAfter = await heldBytes(serverPid);
  // Release them so the throughput phase starts from quiet task queues.
  await mapLimit(handles, 200, (h) => h.signal('release'));
  await withTimeout(
    mapLimit(handles, 200, (h) => h.result()),
    timeoutSeconds,
    `releasing ${count} idle workflows`,
  );
  return { open: count, rssBefore, rssAfter, heldBefore, heldAfter };
}

/** Start-to-close of one workflow at a time: the engine's latency without a backlog. */
async function measureUnloadedLatency(
  client: Client,
  runId: string,
  samples: number,
  timeoutSeconds: number,
): Promise<{ p50: number; p99: number; samples: number }> {
  const latencies: number[] = [];
  await withTimeout(
    (async () => {
      for (let i = 0; i < samples; i++) {
        const t0 = performance.now();
        await client.workflow.execute<typeof oneActivity>('oneActivity', {
          taskQueue: TASK_QUEUE,
          workflowId: `${runId}-seq-${i}`,
          args: ['x'],
        });
        latencies.push(performance.now() - t0);
      }
    })(),
    timeoutSeconds,
    `${samples} sequential one-activity workflows`,
  );
  latencies.sort((a, b) => a - b);
  return { p50: percentile(latencies, 50), p99: percentile(latencies, 99), samples };
}

function ownCpuSeconds(): number {
  const usage = process.cpuUsage();
  return (usage.user + usage.system) / 1e6;
}

interface ThroughputResult {
  completed: number;
  seconds: number;
  p50: number;
  p99: number;
  serverCpu: number;
  benchCpu: number;
  /** Part of benchCpu spent in this process (the client); the rest is the worker's. */
  clientCpu: number;
  /** Start-to-close as the server recorded it (StartTime -> CloseTime), p50 / p99. */
  serverP50: number;
  serverP99: number;
}

async function measureThroughput(
  client: Client,
  serverPid: number,
  sdkCpuSeconds: () => number,
  runId: string,
  options: Options,
): Promise<ThroughputResult> {
  const serverCpu0 = cpuSeconds(serverPid);
  const sdkCpu0 = sdkCpuSeconds();
  const clientCpu0 = ownCpuSeconds();
  const t0 = performance.now();
  const latencies = await withTimeout(
    mapLimit(
      Array.from({ length: options.workflows }, (_, i) => i),
      options.startConcurrency,
      async (i) => {
        const started = performance.now();
        const handle = await client.workflow.start<typeof oneActivity>('oneActivity', {
          taskQueue: TASK_QUEUE,
          workflowId: `${runId}-wf-${i}`,
          args: [`payload-${i}`],
        });
        // Wrapped so the start lane does not wait for the result: all N workflows run at once.
        const done = handle.result().then((result) => {
          if (result !== `payload-${i}`) throw new Error(`workflow ${i} returned ${JSON.stringify(result)}`);
          return performance.now() - started;
        });
        done.catch(() => {}); // reported through Promise.all below, not as an unhandled rejection
        return { done };
      },
    ).then((pending) => Promise.all(pending.map((p) => p.done))),
    options.timeoutSeconds,
    `${options.workflows} one-activity workflows`,
  );
  const seconds = (performance.now() - t0) / 1000;
  const benchCpu = sdkCpuSeconds() - sdkCpu0;
  const clientCpu = ownCpuSeconds() - clientCpu0;
  const serverCpu = cpuSeconds(serverPid) - serverCpu0;
  latencies.sort((a, b) => a - b);
  // After the clock stopped: the server's own record separates engine latency from result delivery.
  const recorded = await mapLimit(
    Array.from({ length: options.workflows }, (_, i) => i),
    100,
    async (i) => {
      const d = await client.workflow.getHandle(`${runId}-wf-${i}`).describe();
      if (!d.closeTime)
        throw new Error(`workflow ${runId}-wf-${i} has no close time after its result arrived`);
      return d.closeTime.getTime() - d.startTime.getTime();
    },
  );
  recorded.sort((a, b) => a - b);
  return {
    completed: latencies.length,
    seconds,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    serverCpu,
    benchCpu,
    clientCpu,
    serverP50: percentile(recorded, 50),
    serverP99: percentile(recorded, 99),
  };
}

function printTable(rows: Array<[string, string, string?]>): void {
  const w0 = Math.max(...rows.map((r) => r[0].length));
  const w1 = Math.max(...rows.map((r) => r[1].length));
  const line = `+-${'-'.repeat(w0)}-+-${'-'.repeat(w1)}-+`;
  console.log(line);
  for (const [label, value, note] of rows) {
    console.log(`| ${label.padEnd(w0)} | ${value.padStart(w1)} |${note ? ` ${note}` : ''}`);
  }
  console.log(line);
}

const ms = (v: number) => `${v.toFixed(2)} ms`;

function machine(): string {
  return (
    `${availableParallelism()} CPUs (1-min load average ${loadavg()[0]!.toFixed(2)}: other processes share ` +
    `them); node ${process.version}`
  );
}

/** Median / p90 rows of the boot figures, with the same-run baseline ratio. */
function bootRows(boot: BootFigures): Array<[string, string, string?]> {
  const pair = (sorted: number[]) => `${ms(percentile(sorted, 50))} / ${ms(percentile(sorted, 90))}`;
  const ratio = percentile(boot.listening, 50) / percentile(boot.bareNode, 50);
  return [
    [
      'boot: spawn to listening p50 / p90',
      pair(boot.listening),
      `${boot.spawns} spawns; goal p50 <= 150 ms idle`,
    ],
    [
      'boot: spawn to first answer p50 / p90',
      pair(boot.answering),
      "GetSystemInfo, the SDK's readiness probe",
    ],
    [
      'boot: CPU until listening p50 / p90',
      pair(boot.cpu),
      `main thread, what load does not inflate; all threads p50 ${ms(percentile(boot.cpuAllThreads, 50))}`,
    ],
    ['boot without compile cache p50 / p90', pair(boot.uncached), 'NODE_DISABLE_COMPILE_CACHE=1, same run'],
    [
      'baseline: bare node -e 0 p50 / p90',
      pair(boot.bareNode),
      `spawn to exit; listening p50 = ${ratio.toFixed(1)}x baseline`,
    ],
  ];
}
const mib = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;

function maxCached(options: Options): number {
  return Math.max(options.workflows, options.openWorkflows) + 100;
}

async function createBenchWorker(connection: NativeConnection, options: Options): Promise<Worker> {
  const workflowBundle = await bundleWorkflowCode({
    workflowsPath: fileURLToPath(new URL('./workflows/engine.ts', import.meta.url)),
    logger: new DefaultLogger('WARN'),
  });
  const activities: EngineBenchActivities = { echo: async (input) => input };
  return Worker.create({
    connection,
    namespace: NAMESPACE,
    taskQueue: TASK_QUEUE,
    workflowBundle,
    activities,
    maxConcurrentWorkflowTaskExecutions: 200,
    maxConcurrentActivityTaskExecutions: 200,
    maxConcurrentWorkflowTaskPolls: options.pollers,
    maxConcurrentActivityTaskPolls: options.pollers,
    nonStickyToStickyPollRatio: 1,
    maxCachedWorkflows: maxCached(options),
    workflowThreadPoolSize: options.workflowThreads,
  });
}

/** Body of the forked worker process: poll until the parent says stop (or goes away). */
async function runWorkerProcess(address: string, options: Options): Promise<void> {
  Runtime.install({ logger: new DefaultLogger('WARN') });
  const connection = await NativeConnection.connect({ address });
  const worker = await createBenchWorker(connection, options);
  const stop = new Promise<void>((done) => {
    process.on('message', (message) => message === 'stop' && done());
    process.once('disconnect', () => done());
  });
  await worker.runUntil(async () => {
    process.send?.('ready');
    await stop;
  });
  await connection.close();
}

interface WorkerHandle {
  /** Cumulative CPU seconds of the SDK side (client in this process + the worker). */
  sdkCpuSeconds(): number;
  run<T>(body: () => Promise<T>): Promise<T>;
  description: string;
}

async function inProcessWorker(env: TestWorkflowEnvironment, options: Options): Promise<WorkerHandle> {
  const worker = await createBenchWorker(env.nativeConnection, options);
  return {
    sdkCpuSeconds: ownCpuSeconds,
    run: (body) => worker.runUntil(body),
    description: 'SDK client and worker in this process',
  };
}

async function forkedWorker(env: TestWorkflowEnvironment, options: Options): Promise<WorkerHandle> {
  const args = ['--worker-for', env.address, '--workflows', String(options.workflows)];
  args.push('--pollers', String(options.pollers), '--workflow-threads', String(options.workflowThreads));
  args.push('--open-workflows', String(options.openWorkflows));
  const child: ChildProcess = fork(fileURLToPath(import.meta.url), args, {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  await new Promise<void>((ready, fail) => {
    const onExit = (code: number | null) =>
      fail(new Error(`the worker process exited with code ${code} before it was ready`));
    child.once('exit', onExit);
    child.once('message', (message) => {
      child.off('exit', onExit);
      if (message === 'ready') ready();
      else fail(new Error(`unexpected message from the worker process: ${JSON.stringify(message)}`));
    });
  });
  const workerPid = child.pid!;
  return {
    sdkCpuSeconds: () => ownCpuSeconds() + cpuSeconds(workerPid),
    async run(body) {
      try {
        return await body();
      } finally {
        const exited = new Promise((done) => child.once('exit', done));
        if (child.exitCode === null) child.send('stop');
        const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
        await exited;
        clearTimeout(timer);
      }
    },
    description: `SDK worker in its own process (pid ${workerPid}), client in this one`,
  };
}

async function main(): Promise<void> {
  const options = parseOptions();
  const server = chooseServer();
  if (options.workerFor) return runWorkerProcess(options.workerFor, options);
  // First, before the heavy phases warm or load anything: the figures a test suite's starts depend on.
  const boot =
    options.bootSpawns > 0 && server.mode === 'dev'
      ? await measureBoot(server.path, options.bootSpawns)
      : undefined;
  if (options.bootOnly) {
    console.log(`\nboot of ${server.label}: ${machine()}\n`);
    if (boot) printTable(bootRows(boot));
    else console.log(`no boot figures (${server.mode === 'dev' ? '--boot-spawns 0' : 'not a dev server'})`);
    return;
  }
  Runtime.install({ logger: new DefaultLogger('WARN') });

  if (server.path.endsWith('temporal-dev')) process.env.TEMPORAL_DEV_MEMORY_REPORT = MEMORY_REPORT;
  const childrenBefore = childPids();
  const startedAt = performance.now();
  const env = await startEnvironment(server);
  const readyMs = performance.now() - startedAt;
  try {
    const serverPid = findServerPid(childrenBefore);
    const worker = options.workerInProcess
      ? await inProcessWorker(env, options)
      : await forkedWorker(env, options);
    const runId = `bench-${Date.now().toString(36)}`;
    const results = await worker.run(async () => {
      const roundTrips = await measureRoundTrips(env, options.rttCalls);
      const memory =
        options.openWorkflows > 0
          ? await measureOpenWorkflowMemory(
              env.client,
              serverPid,
              runId,
              options.openWorkflows,
              options.timeoutSeconds,
            )
          : undefined;
      const unloaded =
        options.latencySamples > 0
          ? await measureUnloadedLatency(env.client, runId, options.latencySamples, options.timeoutSeconds)
          : undefined;
      const throughput = await measureThroughput(
        env.client,
        serverPid,
        () => worker.sdkCpuSeconds(),
        runId,
        options,
      );
      return { roundTrips, memory, unloaded, throughput };
    });

    const { roundTrips, memory, unloaded, throughput } = results;
    const rate = throughput.completed / throughput.seconds;
    console.log(
      `\nengine benchmark: ${server.label}, ${server.mode} mode, pid ${serverPid}; ${machine()}; ` +
        `${worker.description}\n`,
    );
    const rows: Array<[string, string, string?]> = [
      ...(boot ? bootRows(boot) : []),
      ['server ready (SDK: spawn to connected)', ms(readyMs), "this run's environment"],
    ];
    for (const rt of roundTrips) {
      rows.push([
        `gRPC ${rt.name} round trip p50 / p99`,
        `${ms(rt.p50)} / ${ms(rt.p99)}`,
        `${rt.calls} sequential calls`,
      ]);
    }
    if (memory) {
      const perWorkflow = (memory.rssAfter - memory.rssBefore) / memory.open;
      rows.push([
        'server memory per open workflow',
        `${(perWorkflow / 1024).toFixed(1)} KiB`,
        `RSS ${mib(memory.rssBefore)} -> ${mib(memory.rssAfter)} with ${memory.open} idle workflows`,
      ]);
      if (memory.heldBefore !== undefined && memory.heldAfter !== undefined) {
        const held = (memory.heldAfter - memory.heldBefore) / memory.open;
        rows.push([
          'server memory per open workflow (after GC)',
          `${(held / 1024).toFixed(1)} KiB`,
          `heap + external + SQLite ${mib(memory.heldBefore)} -> ${mib(memory.heldAfter)}; goal <= 10 KiB: ${held <= 10 * 1024 ? 'met' : 'NOT met'}`,
        ]);
      }
    }
    if (unloaded) {
      rows.push([
        'unloaded start-to-close p50 / p99',
        `${ms(unloaded.p50)} / ${ms(unloaded.p99)}`,
        `${unloaded.samples} one-activity workflows, one at a time`,
      ]);
    }
    rows.push(
      [
        'one-activity workflows completed',
        `${throughput.completed}`,
        `in ${throughput.seconds.toFixed(2)} s`,
      ],
      [
        'throughput',
        `${rate.toFixed(1)} wf/s`,
        `goal >= ${THROUGHPUT_GOAL} wf/s: ${rate >= THROUGHPUT_GOAL ? 'met' : 'NOT met'}`,
      ],
      [
        'start-to-close p50 / p99 under load',
        `${ms(throughput.p50)} / ${ms(throughput.p99)}`,
        `start call to result, all ${throughput.completed} at once`,
      ],
      [
        'same, as recorded by the server p50 / p99',
        `${ms(throughput.serverP50)} / ${ms(throughput.serverP99)}`,
        'StartTime -> CloseTime (ms resolution)',
      ],
      [
        'server CPU per workflow',
        ms((throughput.serverCpu * 1000) / throughput.completed),
        `${throughput.serverCpu.toFixed(1)} s in total, ${(throughput.serverCpu / throughput.seconds).toFixed(2)} cores`,
      ],
      [
        'client+worker (SDK) CPU per workflow',
        ms((throughput.benchCpu * 1000) / throughput.completed),
        `${throughput.benchCpu.toFixed(1)} s in total, ${(throughput.benchCpu / throughput.seconds).toFixed(2)} cores; ` +
          `client ${ms((throughput.clientCpu * 1000) / throughput.completed)}/wf`,
      ],
      [
        'CPU-bound ceiling on 2 idle cores',
        `${((2 * throughput.completed) / (throughput.serverCpu + throughput.benchCpu)).toFixed(0)} wf/s`,
        'estimate: 2 cores / (server + SDK CPU per workflow); load-independent',
      ],
    );
    printTable(rows);
  } finally {
    await env.teardown();
  }
}

main().catch((error: unknown) => {
  console.error(
    `bench:engine failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`,
  );
  process.exit(1);
});
