// `npm run bench:payouts [-- --payouts N --concurrency C | --rate R/s --baseline B --api-process --worker-process]`
//
// N instant payouts through the real HTTP API against the sandbox provider with zero latency, on the
// embedded stack (bin/temporal-dev in real-time dev mode, PostgreSQL from DATABASE_URL or embedded PGlite).
// Reports:
//   - API acknowledgement latency of POST /v1/payouts (p50/p99) and requests/s;
//   - end-to-end payouts/s (request → ledger settled, state `paid` committed);
//   - baseline, same run: p99 of a bare `client.workflow.start` (one RPC) issued by the same client pool,
//     shuffled in among the payout requests so it sees the same load, and the ratio ack p99 / baseline p99;
//     the idle p99 (bare starts before any load) and its ratio are reported too.
// By default C clients send requests back to back (closed loop: the acknowledgement then measures the API at
// saturation); `--rate R` releases payout requests at R per second instead (open loop: latency at that load).
// By default the API and the worker run in this process; `--api-process` / `--worker-process` run them as
// deployed (src/api/main.ts, src/worker/main.ts, each its own process), so this process is only the client
// and its event loop measures without competing with the worker's.
// Setup (payees, destinations, credits) is not measured. Exits non-zero only on errors.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
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

const cli = parseCli({
  usage: `usage: npm run bench:payouts [-- --payouts N=5000 --concurrency C=64 | --rate R] [--baseline B=1000]
                             [--api-process] [--worker-process] [--timeout-seconds T=600]

N instant payouts through the real HTTP API against the zero-latency sandbox on the embedded stack.
Prints the acknowledgement p50/p99 of POST /v1/payouts, requests/s, end-to-end payouts/s, and the
same-run baseline: p99 of a bare workflow start and the ratio ack p99 / baseline p99.
  --payouts N         payouts to request (default 5000)
  --concurrency C     clients sending back to back, closed loop (default 64)
  --rate R            open loop instead: release R payout requests per second
  --baseline B        bare workflow starts measured as the baseline (default 1000)
  --api-process       run the API as its own process (src/api/main.ts, as deployed)
  --worker-process    run the worker as its own process (src/worker/main.ts)
  --timeout-seconds T give up waiting for the payouts to settle after T s (default 600)
  -h, --help          print this help and exit (nothing runs)

Database: DATABASE_URL (PostgreSQL) or embedded PGlite when unset; Temporal: bin/temporal-dev.`,
  options: {
    payouts: { type: 'string', default: '5000' },
    concurrency: { type: 'string', default: '64' },
    // Open loop: payout requests arrive at this rate (per second) whether or not earlier ones are answered.
    rate: { type: 'string' },
    // The API as its own process (src/api/main.ts, as deployed) instead of inside this one.
    'api-process': { type: 'boolean', default: false },
    // The worker as its own process (src/worker/main.ts) instead of inside this one.
    'worker-process': { type: 'boolean', default: false },
    baseline: { type: 'string', default: '1000' },
    'timeout-seconds': { type: 'string', default: '600' },
  },
});
const { values } = cli;
const N = cli.integer('payouts', { min: 1 });
const CONCURRENCY = cli.integer('concurrency', { min: 1 });
const RATE = values.rate === undefined ? undefined : cli.number('rate', { min: 0.001 });
const API_PROCESS = values['api-process'];
const WORKER_PROCESS = values['worker-process'];
const BASELINE = cli.integer('baseline', { min: 1 });
const TIMEOUT_MS = cli.integer('timeout-seconds', { min: 1 }) * 1000;

Runtime.install({ logger: new DefaultLogger('WARN') });
const log = (...a: unknown[]) => console.error('[bench:payouts]', ...a);

const schema = `bench_payouts_${randomBytes(3).toString('hex')}`;
const taskQueue = 'bench-payouts';
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
const worker = WORKER_PROCESS
  ? await startProcess('../src/worker/main.ts', { ...childEnv, LOG_LEVEL: 'info' }, 'worker.started')
  : await startWorkerHere();
const server = API_PROCESS
  ? await startApiProcess()
  : await listen(
      createHttpApp({
        services,
        gateway: new PayoutGateway(client, taskQueue),
        security,
        logger: createLogger({ level: 'error' }),
        rateLimit: config.api.rateLimit,
        apiKeyCacheMs: config.api.apiKeyCacheMs,
      }).app,
    );

interface Stoppable {
  close(): Promise<void>;
}

async function startWorkerHere(): Promise<Stoppable> {
  const w = await createDisburseWorker({
    connection: native,
    namespace: 'default',
    taskQueue,
    activities: createActivities(services),
    maxConcurrentActivityTaskExecutions: 200,
  });
  const running = w.run();
  running.catch((err) => log('worker failed:', err));
  return {
    async close() {
      if (w.getState() === 'RUNNING') w.shutdown();
      await running.catch((err) => log('worker stopped with an error:', err));
    },
  };
}

/**
 * An entry point of this repository in a child process on this run's schema and Temporal server. Its
 * output is kept (last 8 KiB) and shown only if it exits early. With `readyLine`, resolves once the
 * process prints a line containing it.
 */
async function startProcess(entry: string, env: NodeJS.ProcessEnv, readyLine?: string): Promise<Stoppable> {
  let stopping = false;
  let output = '';
  const child = spawn(process.execPath, [fileURLToPath(new URL(entry, import.meta.url))], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
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
    async close() {
      stopping = true;
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/** src/api/main.ts in a child process; ready once /readyz answers 200. */
async function startApiProcess(): Promise<Stoppable & { url: string }> {
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
  return { url, close: () => child.close() };
}
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
log(`setting up ${N} payees with destinations and credits (schema ${schema})`);
const payeeIds: string[] = new Array(N);
await pool([...Array(N).keys()], 16, async (i) => {
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

// --- baseline, idle: bare workflow starts (one RPC each) before any payout load
const startBare = async (id: string) => {
  const t0 = performance.now();
  await client.workflow.start('benchBaselineNoop', { taskQueue: 'bench-baseline-unpolled', workflowId: id });
  return performance.now() - t0;
};
const idleBaseline: number[] = [];
// Same shape as the measured phase: CONCURRENCY at a time in a closed loop, one at a time in an open one.
await pool([...Array(BASELINE).keys()], RATE === undefined ? CONCURRENCY : 1, async (i) => {
  idleBaseline.push(await startBare(`baseline-idle-${i}`));
});

// --- measured: N payout requests through the API, with bare workflow starts shuffled in among them. Both go
// through the same client pool at the same time, so the baseline sees the same load as the API (the worker
// paying earlier payouts, this process's event loop, the server); a seeded shuffle keeps runs comparable.
type Job = { kind: 'payout'; i: number } | { kind: 'start'; i: number };
const jobs: Job[] = [
  ...payeeIds.map((_, i) => ({ kind: 'payout' as const, i })),
  ...[...Array(BASELINE).keys()].map((i) => ({ kind: 'start' as const, i })),
];
let seed = 42;
for (let k = jobs.length - 1; k > 0; k--) {
  seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
  const j = seed % (k + 1);
  [jobs[k], jobs[j]] = [jobs[j]!, jobs[k]!];
}
log(
  `requesting ${N} payouts with ${BASELINE} bare starts mixed in, ${RATE === undefined ? `${CONCURRENCY} at a time` : `${RATE} payouts/s (open loop)`}`,
);
const acks: number[] = [];
const baseline: number[] = [];
const started = performance.now();
let lastProgress = started;
const runJob = async (job: Job) => {
  if (job.kind === 'start') {
    baseline.push(await startBare(`baseline-load-${job.i}`));
    return;
  }
  const i = job.i;
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
  await res.text();
  if (res.status !== 202) throw new Error(`payout request ${i} answered ${res.status}`);
  acks.push(performance.now() - t0);
  if (performance.now() - lastProgress > 5000) {
    lastProgress = performance.now();
    log(`${acks.length}/${N} acknowledged`);
  }
};
if (RATE === undefined) {
  // Closed loop: CONCURRENCY clients, each sending its next request when the last is answered (saturation).
  await pool(jobs, CONCURRENCY, runJob);
} else {
  // Open loop: jobs released on a fixed schedule, payouts at RATE/s with the bare starts spread among them.
  const everyMs = 1000 / (RATE * (jobs.length / N));
  const inFlight: Promise<void>[] = [];
  for (const [k, job] of jobs.entries()) {
    const wait = started + k * everyMs - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    inFlight.push(runJob(job));
  }
  await Promise.all(inFlight);
}
const ackedAt = performance.now();

let paid = 0;
const deadline = Date.now() + TIMEOUT_MS;
while (Date.now() < deadline) {
  const rows = await sql<{ n: string }>(
    db.em(),
    `SELECT count(*)::text AS n FROM "${schema}".payouts WHERE status = 'paid'`,
  );
  paid = Number(rows[0]!.n);
  if (paid >= N) break;
  if (performance.now() - lastProgress > 5000) {
    lastProgress = performance.now();
    log(`${paid}/${N} paid`);
  }
  await new Promise((r) => setTimeout(r, 200));
}
const doneAt = performance.now();

const report = await verifyLedger(db.em(), schema);
const twice = await payoutsDisbursedMoreThanOnce(db);
const seconds = (doneAt - started) / 1000;
const rss = process.memoryUsage().rss / 2 ** 20;
const table: [string, string][] = [
  ['payouts requested', String(N)],
  ['payouts paid (ledger settled)', String(paid)],
  ['end-to-end payouts/s', (paid / seconds).toFixed(1)],
  ['API requests/s (acknowledged)', (N / ((ackedAt - started) / 1000)).toFixed(1)],
  ['API ack p50 / p99 (ms)', `${pct(acks, 50).toFixed(1)} / ${pct(acks, 99).toFixed(1)}`],
  [
    'baseline workflow.start under the same load p50 / p99 (ms)',
    `${pct(baseline, 50).toFixed(1)} / ${pct(baseline, 99).toFixed(1)}`,
  ],
  ['ratio ack p99 / baseline p99 (goal <= 1.5)', (pct(acks, 99) / pct(baseline, 99)).toFixed(2)],
  [
    'baseline workflow.start idle p50 / p99 (ms)',
    `${pct(idleBaseline, 50).toFixed(1)} / ${pct(idleBaseline, 99).toFixed(1)}`,
  ],
  ['ratio ack p99 / idle baseline p99', (pct(acks, 99) / pct(idleBaseline, 99)).toFixed(2)],
  ['ledger invariants', report.ok ? 'ok' : `VIOLATED: ${report.violations.length}`],
  ['payouts disbursed more than once', String(twice.length)],
  ['bench process RSS (MiB)', rss.toFixed(0)],
];
const width = Math.max(...table.map(([k]) => k.length));
console.log(
  `\nbench:payouts — ${N} instant payouts, ${RATE === undefined ? `concurrency ${CONCURRENCY}` : `open loop at ${RATE}/s`}, API ${API_PROCESS ? 'in its own process' : 'in this process'}, worker ${WORKER_PROCESS ? 'in its own process' : 'in this process'}, ${config.database.url ? 'PostgreSQL' : 'PGlite'}`,
);
for (const [k, v] of table) console.log(`  ${k.padEnd(width)}  ${v}`);

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
const failed = !report.ok || twice.length > 0 || paid < N;
process.exit(failed ? 1 : 0);
