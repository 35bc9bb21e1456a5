// `npm run bench:payouts [-- --payouts N --concurrency C --ack-payouts M --rate R --api-process --worker-process]`
//
// Instant payouts through the real HTTP API against the sandbox provider with zero latency, on the
// embedded stack (bin/temporal-dev in real-time dev mode, PostgreSQL from DATABASE_URL or embedded PGlite).
// Three phases in one run, the worker on the same settings (src/worker/tuning.ts) throughout:
//   1. engine: E bare one-activity workflows (bench/bare-worker.ts, the Disburse worker's tuning) → wf/s;
//      then E payout-shaped ones (a payout's local activities and activity, empty) → the engine's part;
//   2. saturation: N payouts, C clients back to back (closed loop) → paid/s end to end (request → `paid`
//      committed), the API's acknowledged requests/s, and per payout: worker CPU ms, SQL statements and
//      transactions (counted by bench/sql-count.ts in the API and worker processes), workflow tasks (from the
//      histories);
//   3. acknowledgement: M payouts released at half the saturation rate (open loop), with bare
//      `workflow.start`s and one-row commits shuffled in among them so they see the same load; prints
//      `ack p99 / (bare start p99 + bare one-row commit p99)`.
// Lines `paid per second`, `ratio to engine` and `ack ratio` start with their label, for scripts.
// `--api-process` / `--worker-process` run the API and worker as deployed (src/api/main.ts,
// src/worker/main.ts, each its own process; the engine phase's worker then too). Setup (payees,
// destinations, credits) is not measured. Exits non-zero only on errors (unpaid payouts, broken ledger
// invariants, a payout disbursed twice), never on a missed goal.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime } from '@temporalio/worker';
import { listen } from '../src/api/app.ts';
import { createActivities } from '../src/app/activities.ts';
import { createHttpApp } from '../src/app/http.ts';
import { createServices } from '../src/app/services.ts';
import { createApiKey } from '../src/auth/api-keys.ts';
import { parseCli } from '../src/cli/args.ts';
import { loadConfig } from '../src/config/index.ts';
import { keyringFromKeys } from '../src/crypto/index.ts';
import { startEmbeddedDatabase } from '../src/db/embedded.ts';
import { migrateDatabase } from '../src/db/migrate.ts';
import { openDatabase } from '../src/db/open.ts';
import { sql } from '../src/db/sql.ts';
import { verifyLedger } from '../src/ledger/verify.ts';
import { createLogger } from '../src/observability/log.ts';
import { PayoutGateway } from '../src/payouts/gateway.ts';
import { payoutsDisbursedMoreThanOnce } from '../src/providers/index.ts';
import { freePort, startEmbeddedTemporal } from '../src/temporal/embedded-server.ts';
import { ensureSearchAttributes } from '../src/temporal/search-attributes.ts';
import { createDisburseWorker } from '../src/worker/create-worker.ts';
import { workerTuning } from '../src/worker/tuning.ts';
import { payoutWorkflowId } from '../workflows/payout-contract.ts';
import { createBareWorker } from './bare-worker.ts';
import { type SqlCounts, sqlCounts } from './sql-count.ts';

const cli = parseCli({
  usage: `usage: npm run bench:payouts [-- --payouts N=5000 --concurrency C=64 --engine-workflows E=N
                             --ack-payouts M=N --rate R --baseline B=M/2 --history-sample H=300]
                             [--api-process] [--worker-process] [--sql-profile] [--timeout-seconds T=600]

Instant payouts through the real HTTP API against the zero-latency sandbox on the embedded stack, with
the bare engine measured in the same run on the same worker settings. Prints paid/s end to end, its
ratio to the engine's one-activity workflows/s, CPU per payout of each process (PostgreSQL's when it runs
on this host) and the paid/s their sum allows on this host's cores, SQL statements, transactions and workflow
tasks per payout, and the acknowledgement ratio ack p99 / (bare start p99 + bare one-row commit p99) at
half the API's saturation rate.
  --payouts N          payouts of the saturation phase, C clients back to back (default 5000)
  --concurrency C      clients of the saturation and engine phases (default 64)
  --engine-workflows E bare one-activity workflows of the engine phase (default N)
  --ack-payouts M      payouts of the acknowledgement phase (default N)
  --rate R             release those at R/s (default: half the saturation phase's acknowledged requests/s)
  --baseline B         bare starts, and as many one-row commits, mixed into that phase (default M/2)
  --history-sample H   payout histories read for the workflow-task figures (default 300)
  --api-process        run the API as its own process (src/api/main.ts, as deployed)
  --worker-process     run the worker as its own process (src/worker/main.ts)
  --workers K          with --worker-process: K worker processes on the task queue, and K bare workers
                       in the engine phase (default 1)
  --sql-profile        also print the saturation phase's statements per payout by text
  --cpu-prof DIR       write the worker process's CPU profile (node --cpu-prof) into DIR
  --timeout-seconds T  give up waiting for a phase's payouts to be paid after T s (default 600)
  -h, --help           print this help and exit (nothing runs)

Database: DATABASE_URL (PostgreSQL) or embedded PGlite when unset; Temporal: bin/temporal-dev.
Worker settings: src/worker/tuning.ts, overridden by WORKER_* variables (both workers get them).`,
  options: {
    payouts: { type: 'string', default: '5000' },
    concurrency: { type: 'string', default: '64' },
    'engine-workflows': { type: 'string' },
    'ack-payouts': { type: 'string' },
    rate: { type: 'string' },
    baseline: { type: 'string' },
    'history-sample': { type: 'string', default: '300' },
    'api-process': { type: 'boolean', default: false },
    'worker-process': { type: 'boolean', default: false },
    workers: { type: 'string', default: '1' },
    'sql-profile': { type: 'boolean', default: false },
    'cpu-prof': { type: 'string' },
    'timeout-seconds': { type: 'string', default: '600' },
  },
});
const { values } = cli;
const N = cli.integer('payouts', { min: 1 });
const CONCURRENCY = cli.integer('concurrency', { min: 1 });
const ENGINE = values['engine-workflows'] === undefined ? N : cli.integer('engine-workflows', { min: 1 });
const ACK = values['ack-payouts'] === undefined ? N : cli.integer('ack-payouts', { min: 1 });
const RATE = values.rate === undefined ? undefined : cli.number('rate', { min: 0.001 });
const BASELINE =
  values.baseline === undefined ? Math.max(1, Math.floor(ACK / 2)) : cli.integer('baseline', { min: 1 });
const HISTORY_SAMPLE = cli.integer('history-sample', { min: 1 });
const API_PROCESS = values['api-process'];
const WORKER_PROCESS = values['worker-process'];
const WORKERS = WORKER_PROCESS ? cli.integer('workers', { min: 1 }) : 1;
const CPU_PROF = values['cpu-prof'];
const TIMEOUT_MS = cli.integer('timeout-seconds', { min: 1 }) * 1000;

Runtime.install({ logger: new DefaultLogger('WARN') });
const log = (...a: unknown[]) => console.error('[bench:payouts]', ...a);

const schema = `bench_payouts_${randomBytes(3).toString('hex')}`;
const taskQueue = 'bench-payouts';
const bareQueue = 'bench-payouts-engine';
const secrets = { encryption: randomBytes(32), fingerprint: randomBytes(32), tokens: randomBytes(32) };
// The same settings reach the API process through its environment.
const benchEnv = {
  DATABASE_SCHEMA: schema,
  TEMPORAL_TASK_QUEUE: taskQueue,
  // Every payout instant, no review: the bench measures the pipeline, not the risk desk.
  RISK_MAX_DAILY_COUNT: '1000000',
  RISK_DESTINATION_COOL_OFF: '0s',
  APPROVAL_THRESHOLD_SINGLE: 'USD:100000000',
  APPROVAL_THRESHOLD_DUAL: 'USD:200000000',
  API_RATE_LIMIT_PER_SECOND: '100000',
  API_RATE_LIMIT_BURST: '100000',
  DISBURSE_PROVIDERS: JSON.stringify([{ kind: 'sandbox', name: 'sandbox', scenario: { latencyMs: 0 } }]),
  DISBURSE_ENCRYPTION_KEYS: `bench:${secrets.encryption.toString('base64')}`,
  DISBURSE_FINGERPRINT_KEY: secrets.fingerprint.toString('base64'),
  DISBURSE_TOKEN_SIGNING_KEY: secrets.tokens.toString('base64'),
  LOG_LEVEL: 'error',
  // Temporal runs on this host: compressing the worker's requests would only cost CPU on both ends.
  TEMPORAL_GRPC_COMPRESSION: 'none',
};
const config = loadConfig({ ...process.env, ...benchEnv });
const embeddedDb = config.database.url ? undefined : await startEmbeddedDatabase({ dataDir: 'memory://' });
const dbUrl = config.database.url ?? embeddedDb!.url;
const admin = await openDatabase({ url: dbUrl, schema: 'public', poolMax: 2 });
await sql(admin.em(), `CREATE SCHEMA "${schema}"`);
const db = await openDatabase({ url: dbUrl, schema, poolMax: 30 });
await migrateDatabase(db);
// The one-row commit of the acknowledgement baseline: the least a request that must commit can cost.
await sql(db.em(), `CREATE TABLE "${schema}".bench_commit (id text PRIMARY KEY, at timestamptz NOT NULL)`);

const temporal = await startEmbeddedTemporal({ namespace: 'default' });
const connection = await Connection.connect({ address: temporal.address });
await ensureSearchAttributes(connection, 'default');
const native = await NativeConnection.connect({
  address: temporal.address,
  grpcCompression: { codec: config.temporal.grpcCompression },
});
const client = new Client({ connection, namespace: 'default' });

const security = {
  keyring: keyringFromKeys([['bench', secrets.encryption]]),
  fingerprintKey: secrets.fingerprint,
  tokenSigningKey: secrets.tokens,
  payeeTokenTtlSeconds: 3600,
  totpIssuer: 'bench',
};
const services = await createServices({
  db,
  keyring: security.keyring,
  fingerprintKey: security.fingerprintKey,
  payouts: config.payouts,
});
const childEnv = { ...process.env, ...benchEnv, DATABASE_URL: dbUrl, TEMPORAL_ADDRESS: temporal.address };
const countHook = fileURLToPath(new URL('./sql-count.ts', import.meta.url));

/** A process (or this one) the bench measures: CPU so far, SQL counts so far. */
interface Measured {
  /** Undefined: this process. */
  pid?: number;
  close(): Promise<void>;
  sql(): Promise<SqlCounts>;
}

const thisProcess = (close: () => Promise<void>): Measured => ({ close, sql: async () => sqlCounts() });

async function startWorkerHere(): Promise<Measured> {
  const w = await createDisburseWorker({
    connection: native,
    namespace: 'default',
    taskQueue,
    activities: createActivities(services),
  });
  const running = w.run();
  running.catch((err) => log('worker failed:', err));
  return thisProcess(async () => {
    if (w.getState() === 'RUNNING') w.shutdown();
    await running.catch((err) => log('worker stopped with an error:', err));
  });
}

async function startBareWorker(): Promise<Measured> {
  if (WORKER_PROCESS) {
    const args = [temporal.address, bareQueue];
    return startProcess('./bare-worker.ts', childEnv, 'bare-worker.ready', args);
  }
  const w = await createBareWorker(native, bareQueue);
  const running = w.run();
  return thisProcess(async () => {
    w.shutdown();
    await running;
  });
}

let spawned = 0;
/** Processes measured as one: CPU and SQL summed. */
function together(all: Measured[]) {
  return {
    cpu: () => all.reduce((sum, m) => sum + cpuMs(m.pid), 0),
    async sql(): Promise<SqlCounts> {
      const counts = await Promise.all(all.map((m) => m.sql()));
      const byText: Record<string, number> = {};
      for (const c of counts) for (const [k, n] of Object.entries(c.byText)) byText[k] = (byText[k] ?? 0) + n;
      return {
        statements: counts.reduce((sum, c) => sum + c.statements, 0),
        transactions: counts.reduce((sum, c) => sum + c.transactions, 0),
        roundTrips: counts.reduce((sum, c) => sum + c.roundTrips, 0),
        byText,
      };
    },
    close: () => Promise.all(all.map((m) => m.close())),
  };
}

/**
 * An entry point of this repository in a child process on this run's schema and Temporal server, with the
 * SQL counter loaded. Its output is kept (last 8 KiB) and shown only if it exits early. With `readyLine`,
 * resolves once the process prints a line containing it.
 */
async function startProcess(
  entry: string,
  env: NodeJS.ProcessEnv,
  readyLine?: string,
  args: string[] = [],
): Promise<Measured> {
  let stopping = false;
  let output = '';
  const countFile = join(tmpdir(), `${schema}-${entry.replace(/\W+/g, '_')}-${spawned++}-sql.json`);
  const child = spawn(
    process.execPath,
    [
      '--import',
      countHook,
      ...(CPU_PROF && entry.endsWith('worker/main.ts') ? ['--cpu-prof', '--cpu-prof-dir', CPU_PROF] : []),
      fileURLToPath(new URL(entry, import.meta.url)),
      ...args,
    ],
    { env: { ...env, BENCH_SQL_COUNT_FILE: countFile }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let onOutput = () => {};
  for (const stream of [child.stdout, child.stderr]) {
    stream.on('data', (chunk: Buffer) => {
      output = (output + chunk.toString()).slice(-8192);
      onOutput();
    });
  }
  const exited = new Promise<void>((done) => child.once('exit', () => done()));
  child.once('exit', (code, signal) => {
    if (!stopping) log(`${entry} exited early (code ${code}, signal ${signal}); its last output:\n${output}`);
  });
  if (readyLine) {
    const ready = await new Promise<boolean>((resolve) => {
      onOutput = () => output.includes(readyLine) && resolve(true);
      void exited.then(() => resolve(false));
    });
    if (!ready) throw new Error(`${entry} exited before printing "${readyLine}"`);
  }
  return {
    pid: child.pid!,
    async close() {
      stopping = true;
      child.kill('SIGTERM');
      await exited;
      rmSync(countFile, { force: true });
    },
    async sql() {
      rmSync(countFile, { force: true });
      child.kill('SIGUSR2');
      for (let i = 0; i < 100; i++) {
        await new Promise((r) => setTimeout(r, 50));
        try {
          return JSON.parse(readFileSync(countFile, 'utf8')) as SqlCounts;
        } catch {
          // not written (completely) yet
        }
      }
      throw new Error(`${entry} did not report its SQL counts`);
    },
  };
}

/** src/api/main.ts in a child process; ready once /readyz answers 200. */
async function startApiProcess(): Promise<Measured & { url: string }> {
  const port = await freePort();
  const env = { ...childEnv, API_HOST: '127.0.0.1', API_PORT: String(port) };
  const child = await startProcess('../src/api/main.ts', env);
  const url = `http://127.0.0.1:${port}`;
  for (let tries = 0; ; tries++) {
    const ready = await fetch(`${url}/readyz`).then(
      (r) => r.ok,
      () => false,
    );
    if (ready) break;
    if (tries > 300) {
      await child.close();
      throw new Error('API process not ready after 30 s');
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return { ...child, url };
}

async function startApiHere(): Promise<Measured & { url: string }> {
  const server = await listen(
    createHttpApp({
      services,
      gateway: new PayoutGateway(client, taskQueue),
      security,
      logger: createLogger({ level: 'error' }),
      rateLimit: config.api.rateLimit,
      apiKeyCacheMs: config.api.apiKeyCacheMs,
    }).app,
  );
  return { ...thisProcess(() => server.close()), url: server.url };
}

// --- process figures from /proc
const TICKS_PER_SECOND = 100; // USER_HZ on Linux
/** CPU ms (user + system) of a process so far; this process when pid is undefined. */
function cpuMs(pid?: number): number {
  if (pid === undefined) {
    const u = process.cpuUsage();
    return (u.user + u.system) / 1000;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / TICKS_PER_SECOND;
  } catch {
    return Number.NaN;
  }
}

/**
 * CPU ms of every `postgres` process on this host (the server's backends and its background workers): NaN when
 * there is none (a remote database). Counts whatever else uses that server meanwhile, and loses a backend that
 * exits between two reads (the pools here keep theirs).
 */
function postgresCpuMs(): number {
  let total = 0;
  let found = false;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      if (stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')) !== 'postgres') continue;
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      total += ((Number(fields[11]) + Number(fields[12])) * 1000) / TICKS_PER_SECOND;
      found = true;
    } catch {
      // ended meanwhile
    }
  }
  return found ? total : Number.NaN;
}

/** The temporal-dev server: the child of this process running packages/temporal-dev. */
function temporalPid(): number | undefined {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8');
      if (ppid === process.pid && cmdline.includes('temporal-dev')) return Number(entry);
    } catch {
      // ended meanwhile
    }
  }
  return undefined;
}

const worker = together(
  WORKER_PROCESS
    ? await Promise.all(
        Array.from({ length: WORKERS }, () =>
          startProcess('../src/worker/main.ts', { ...childEnv, LOG_LEVEL: 'info' }, 'worker.started'),
        ),
      )
    : [await startWorkerHere()],
);
const server = API_PROCESS ? await startApiProcess() : await startApiHere();
const serverPid = temporalPid();
const key = (await createApiKey(db.em(), { role: 'platform', actor: 'bench' })).key;

async function pool<T>(items: T[], width: number, fn: (item: T, i: number) => Promise<void>) {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(width, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        await fn(items[i]!, i);
      }
    }),
  );
}

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? Number.NaN;
};

// --- setup (not measured)
const TOTAL = N + ACK;
log(`setting up ${TOTAL} payees with destinations and credits (schema ${schema})`);
const payeeIds: string[] = new Array(TOTAL);
await pool([...Array(TOTAL).keys()], 16, async (i) => {
  const em = db.em();
  const p = await services.payees.create(em, {
    externalId: `bench-${i}`,
    name: `Bench Payee ${i}`,
    email: `bench${i}@example.com`,
    country: 'US',
    defaultCurrency: 'USD',
    kycStatus: 'verified',
    taxProfile: { form: 'w9', tin: '123456789' },
    payoutPreferences: { preferredMethod: 'bank_account', instantOptIn: true, autoPayout: false },
  } as Parameters<typeof services.payees.create>[1]);
  await services.payees.putDestination(
    em,
    p.id,
    'bank_account',
    {
      // Ends in 1237: never one of the sandbox's magic suffixes (0001-0009), so every payout simply pays.
      accountNumber: `9${String(i).padStart(8, '0')}1237`,
      routingNumber: '011000015',
      holderName: `Bench Payee ${i}`,
      country: 'US',
      currency: 'USD',
    },
    'bench',
  );
  await services.ledger.creditEarnings({
    payeeId: p.id,
    amount: { amount: '10000', currency: 'USD', scale: 2 },
    idempotencyKey: `bench-credit-${i}`,
  });
  payeeIds[i] = p.id;
});

// What one statement costs the client: `SELECT 1` one after another through src/db/sql.ts (the path the
// worker's own statements take), CPU of this process per query. Round trips × this is the SQL floor.
const ROUND_TRIPS = 2000;
for (let i = 0; i < 200; i++) await sql(db.em(), 'SELECT 1');
const rtCpu0 = process.cpuUsage();
for (let i = 0; i < ROUND_TRIPS; i++) await sql(db.em(), 'SELECT 1');
const rtCpu = process.cpuUsage(rtCpu0);
const roundTripUs = (rtCpu.user + rtCpu.system) / ROUND_TRIPS;

// --- 1. engine: bare one-activity workflows on a worker with the same tuning
const bare = together(await Promise.all(Array.from({ length: WORKERS }, () => startBareWorker())));
/** `ENGINE` workflows of `type` on the bare worker, CONCURRENCY starts at a time: wall s and worker CPU ms. */
async function runBare(type: 'oneActivity' | 'payoutShaped', what: string, idPrefix: string) {
  log(`engine: ${ENGINE} ${what} workflows, ${CONCURRENCY} starts at a time`);
  const cpu0 = bare.cpu();
  const started = performance.now();
  const done: Promise<unknown>[] = [];
  await pool([...Array(ENGINE).keys()], CONCURRENCY, async (i) => {
    const handle = await client.workflow.start(type, {
      taskQueue: bareQueue,
      workflowId: `${schema}-${idPrefix}-${i}`,
      args: [`payload-${i}`],
    });
    done.push(handle.result());
  });
  await Promise.all(done);
  return { seconds: (performance.now() - started) / 1000, cpuMs: bare.cpu() - cpu0 };
}
const engine = await runBare('oneActivity', 'one-activity', 'engine');
const engineSeconds = engine.seconds;
const bareCpuMs = engine.cpuMs;
const engineRate = ENGINE / engineSeconds;

// The same number of payout-shaped workflows (a payout's local activities and activity, doing nothing):
// what the engine alone costs a payout, the floor under the payout path's CPU.
const shaped = await runBare('payoutShaped', 'payout-shaped', 'shaped');
const shapedRate = ENGINE / shaped.seconds;
const shapedCpuMs = shaped.cpuMs / ENGINE;
await bare.close();

// --- payout requests and their settlement
let polls = 0;
/** Payouts `paid` so far (one statement, counted out of the in-process SQL figures). */
async function paidCount(): Promise<number> {
  polls++;
  const rows = await sql<{ n: string }>(
    db.em(),
    `SELECT count(*)::text AS n FROM "${schema}".payouts WHERE state = 'paid'`,
  );
  return Number(rows[0]!.n);
}
let lastProgress = performance.now();
async function waitPaid(target: number): Promise<number> {
  let paid = 0;
  const deadline = Date.now() + TIMEOUT_MS;
  while (Date.now() < deadline) {
    paid = await paidCount();
    if (paid >= target) break;
    if (performance.now() - lastProgress > 5000) {
      lastProgress = performance.now();
      log(`${paid}/${target} paid`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return paid;
}

const payoutWorkflowIds: string[] = [];
/** Requests the payout of payee `i`; the acknowledgement latency in ms. */
async function requestPayout(i: number): Promise<number> {
  const t0 = performance.now();
  const res = await fetch(`${server.url}/v1/payouts`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${key}`,
      'content-type': 'application/json',
      'idempotency-key': `bench-payout-${i}`,
    },
    body: JSON.stringify({
      payeeId: payeeIds[i],
      amount: { amount: '2500', currency: 'USD', scale: 2 },
      method: 'bank_transfer',
    }),
  });
  const body = await res.text();
  if (res.status !== 202) throw new Error(`payout request ${i} answered ${res.status}: ${body}`);
  const ms = performance.now() - t0;
  if (i < N) payoutWorkflowIds.push(payoutWorkflowId((JSON.parse(body) as { id: string }).id));
  return ms;
}

interface Usage {
  worker: number;
  api: number;
  temporal: number;
  postgres: number;
  bench: number;
  sql: { worker: SqlCounts; api: SqlCounts };
}
async function usage(): Promise<Usage> {
  const [w, a] = await Promise.all([worker.sql(), server.sql()]);
  return {
    worker: worker.cpu(),
    api: cpuMs(server.pid),
    temporal: serverPid === undefined ? Number.NaN : cpuMs(serverPid),
    postgres: postgresCpuMs(),
    bench: cpuMs(),
    sql: { worker: w, api: a },
  };
}

// --- 2. saturation: N payouts, CONCURRENCY clients back to back
log(`saturation: ${N} payouts, ${CONCURRENCY} at a time`);
const polls0 = polls;
const before = await usage();
const started = performance.now();
const satAcks: number[] = [];
await pool([...Array(N).keys()], CONCURRENCY, async (i) => {
  satAcks.push(await requestPayout(i));
  if (performance.now() - lastProgress > 5000) {
    lastProgress = performance.now();
    log(`${satAcks.length}/${N} acknowledged`);
  }
});
const ackedAt = performance.now();
const paid = await waitPaid(N);
const doneAt = performance.now();
const after = await usage();
const ownPolls = polls - polls0;
const seconds = (doneAt - started) / 1000;
const paidRate = paid / seconds;
const saturation = N / ((ackedAt - started) / 1000);

// --- 3. acknowledgement latency at half the saturation rate, with its baselines under the same load
const ackRate = RATE ?? saturation / 2;
type Job = { kind: 'payout' | 'start' | 'commit'; i: number };
const jobs: Job[] = [
  ...[...Array(ACK).keys()].map((i) => ({ kind: 'payout' as const, i: N + i })),
  ...[...Array(BASELINE).keys()].map((i) => ({ kind: 'start' as const, i })),
  ...[...Array(BASELINE).keys()].map((i) => ({ kind: 'commit' as const, i })),
];
let seed = 42; // a seeded shuffle keeps runs comparable
for (let k = jobs.length - 1; k > 0; k--) {
  seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
  const j = seed % (k + 1);
  [jobs[k], jobs[j]] = [jobs[j]!, jobs[k]!];
}
log(
  `acknowledgement: ${ACK} payouts at ${ackRate.toFixed(1)}/s, ${BASELINE} bare starts and commits mixed in`,
);
const acks: number[] = [];
const starts: number[] = [];
const commits: number[] = [];
const runJob = async (job: Job) => {
  const t0 = performance.now();
  if (job.kind === 'payout') {
    acks.push(await requestPayout(job.i));
  } else if (job.kind === 'start') {
    await client.workflow.start('benchBaselineNoop', {
      taskQueue: 'bench-baseline-unpolled',
      workflowId: `${schema}-baseline-${job.i}`,
    });
    starts.push(performance.now() - t0);
  } else {
    await sql(db.em(), `INSERT INTO "${schema}".bench_commit (id, at) VALUES ($1, now())`, [`c${job.i}`]);
    commits.push(performance.now() - t0);
  }
};
const everyMs = 1000 / (ackRate * (jobs.length / ACK));
const ackStarted = performance.now();
const inFlight: Promise<void>[] = [];
for (const [k, job] of jobs.entries()) {
  const wait = ackStarted + k * everyMs - performance.now();
  if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  inFlight.push(runJob(job));
}
await Promise.all(inFlight);
const paidAll = await waitPaid(TOTAL);

// --- what the workflows did: tasks per payout from a sample of the saturation phase's histories
async function historyFigures(ids: string[]) {
  const totals = { tasks: 0, activities: 0, markers: 0, events: 0 };
  await pool(ids, 16, async (id) => {
    const history = await client.workflow.getHandle(id).fetchHistory();
    for (const e of history.events ?? []) {
      totals.events++;
      if (e.workflowTaskCompletedEventAttributes) totals.tasks++;
      if (e.activityTaskScheduledEventAttributes) totals.activities++;
      if (e.markerRecordedEventAttributes) totals.markers++;
    }
  });
  const per = (v: number) => (v / ids.length).toFixed(2);
  return `${per(totals.tasks)} (${per(totals.activities)} activity tasks, ${per(totals.markers)} local-activity markers, ${per(totals.events)} events)`;
}
const sample = payoutWorkflowIds.filter((_, i) => i % Math.max(1, Math.floor(N / HISTORY_SAMPLE)) === 0);
const payoutHistory = await historyFigures(sample.slice(0, HISTORY_SAMPLE));
const engineHistory = await historyFigures(
  [...Array(Math.min(ENGINE, 50)).keys()].map((i) => `${schema}-engine-${i}`),
);

const report = await verifyLedger(db.em(), schema);
const twice = await payoutsDisbursedMoreThanOnce(db);
const rss = process.memoryUsage().rss / 2 ** 20;

/** The CPU of every process a payout passes through, and the paid/s that much CPU allows on this host's cores. */
function cpuLine(): string {
  if (!API_PROCESS || !WORKER_PROCESS) return 'with --api-process --worker-process only';
  const d = (k: 'worker' | 'api' | 'temporal' | 'postgres' | 'bench') => (after[k] - before[k]) / N;
  const total = d('worker') + d('api') + d('temporal') + d('postgres') + d('bench');
  if (Number.isNaN(total)) return 'not measured (a process was not found)';
  const cores = availableParallelism();
  return `${total.toFixed(2)} (worker + API + temporal-dev + PostgreSQL + this bench ${d('bench').toFixed(2)}); ${cores} cores allow at most ${((cores * 1000) / total).toFixed(1)} paid/s at that cost`;
}
const perPayout = (v: number) => (v / N).toFixed(2);
const delta = (a: SqlCounts, b: SqlCounts) => ({
  statements: b.statements - a.statements,
  transactions: b.transactions - a.transactions,
  roundTrips: b.roundTrips - a.roundTrips,
});
// In-process, the API's and the worker's counts are this process's, once (less the bench's own polls).
const workerSql = delta(before.sql.worker, after.sql.worker);
const apiSql = API_PROCESS
  ? delta(before.sql.api, after.sql.api)
  : { statements: 0, transactions: 0, roundTrips: 0 };
if (!WORKER_PROCESS)
  Object.assign(workerSql, {
    statements: workerSql.statements - ownPolls,
    transactions: workerSql.transactions - ownPolls,
    roundTrips: workerSql.roundTrips - ownPolls,
  });
const inProcessNote = WORKER_PROCESS ? '' : ' (this process: the client too)';
const sqlLine = (c: { statements: number; transactions: number; roundTrips: number }) =>
  `${perPayout(c.statements)} statements, ${perPayout(c.transactions)} transactions, ${perPayout(c.roundTrips)} round trips`;
const lines: [string, string][] = [
  [
    'engine one-activity workflows/s',
    `${engineRate.toFixed(1)} (${ENGINE} in ${engineSeconds.toFixed(1)} s; worker CPU ${(bareCpuMs / ENGINE).toFixed(2)} ms/workflow${inProcessNote})`,
  ],
  [
    'paid per second',
    `${paidRate.toFixed(1)} (goal >= 150; ${paid} of ${N} paid in ${seconds.toFixed(1)} s)`,
  ],
  [
    'ratio to engine',
    `${(paidRate / engineRate).toFixed(2)} (goal >= 0.5; paid/s / engine wf/s, same run, same worker settings)`,
  ],
  [
    'API acknowledged requests/s at saturation',
    `${saturation.toFixed(1)} (ack p50 / p99 ${pct(satAcks, 50).toFixed(1)} / ${pct(satAcks, 99).toFixed(1)} ms)`,
  ],
  ['worker CPU ms per payout', `${((after.worker - before.worker) / N).toFixed(2)}${inProcessNote}`],
  [
    'client CPU per SQL round trip',
    `${roundTripUs.toFixed(0)} µs (SELECT 1 through src/db/sql.ts, this process; × the worker's round trips per payout: ${((roundTripUs * workerSql.roundTrips) / N / 1000).toFixed(2)} ms)`,
  ],
  [
    'engine payout-shaped workflows/s',
    `${shapedRate.toFixed(1)} (3 local activities + 1 activity doing nothing; worker CPU ${shapedCpuMs.toFixed(2)} ms/workflow: the engine's part of a payout; paid/s / this ${(paidRate / shapedRate).toFixed(2)})`,
  ],
  [
    'API CPU ms per payout',
    API_PROCESS ? ((after.api - before.api) / N).toFixed(2) : 'in this process (see worker)',
  ],
  ['temporal-dev CPU ms per payout', ((after.temporal - before.temporal) / N).toFixed(2)],
  [
    'PostgreSQL CPU ms per payout',
    Number.isNaN(after.postgres)
      ? 'not measured (no postgres process on this host)'
      : `${((after.postgres - before.postgres) / N).toFixed(2)} (every postgres process on this host)`,
  ],
  ['CPU ms per payout, all processes', cpuLine()],
  ['worker SQL per payout', `${sqlLine(workerSql)} (counted)`],
  ['API SQL per payout', API_PROCESS ? `${sqlLine(apiSql)} (counted)` : 'in this process (see worker)'],
  [
    'workflow tasks per payout',
    `${payoutHistory} from ${Math.min(sample.length, HISTORY_SAMPLE)} histories; engine ${engineHistory}`,
  ],
  [
    'ack ratio',
    `${(pct(acks, 99) / (pct(starts, 99) + pct(commits, 99))).toFixed(2)} (goal <= 1.5; ack p99 / (bare start p99 + bare one-row commit p99) at ${ackRate.toFixed(1)} payouts/s)`,
  ],
  ['ack p50 / p99 (ms)', `${pct(acks, 50).toFixed(1)} / ${pct(acks, 99).toFixed(1)} (${ACK} payouts)`],
  [
    'bare workflow.start p50 / p99 (ms)',
    `${pct(starts, 50).toFixed(1)} / ${pct(starts, 99).toFixed(1)} (${BASELINE}, same load)`,
  ],
  [
    'bare one-row commit p50 / p99 (ms)',
    `${pct(commits, 50).toFixed(1)} / ${pct(commits, 99).toFixed(1)} (${BASELINE}, same load)`,
  ],
  ['ledger invariants', report.ok ? 'ok' : `VIOLATED: ${report.violations.length}`],
  ['payouts disbursed more than once', String(twice.length)],
  ['payouts paid in all', `${paidAll} of ${TOTAL}`],
  ['worker settings', JSON.stringify(workerTuning())],
  ['bench process RSS (MiB)', rss.toFixed(0)],
];
console.log(
  `\nbench:payouts — ${N} + ${ACK} instant payouts, concurrency ${CONCURRENCY}, API ${API_PROCESS ? 'in its own process' : 'in this process'}, worker ${WORKER_PROCESS ? `in ${WORKERS} process(es) of its own` : 'in this process'}, ${config.database.url ? 'PostgreSQL' : 'PGlite'}`,
);
// Labels at line starts, so scripts can read the figures.
for (const [k, v] of lines) console.log(`${k}: ${v}`);
if (values['sql-profile']) {
  for (const [who, a, b] of [
    ['worker', before.sql.worker, after.sql.worker],
    ['API', before.sql.api, after.sql.api],
  ] as const) {
    if (who === 'API' && !API_PROCESS) continue;
    console.log(`\n${who} statements per payout, by text:`);
    const rows = Object.entries(b.byText)
      .map(([text, n]) => [text, n - (a.byText[text] ?? 0)] as const)
      .filter(([, n]) => n > 0)
      .sort((x, y) => y[1] - x[1])
      .slice(0, 40);
    for (const [text, n] of rows) console.log(`  ${(n / N).toFixed(2).padStart(6)}  ${text}`);
  }
}

await worker.close();
await server.close();
await services.stop();
await native.close();
await connection.close();
await temporal.stop();
await sql(admin.em(), `DROP SCHEMA "${schema}" CASCADE`);
await db.close();
await admin.close();
await embeddedDb?.stop();
const failed = !report.ok || twice.length > 0 || paid < N || paidAll < TOTAL;
process.exit(failed ? 1 : 0);
