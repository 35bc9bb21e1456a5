// `npm run bench:decisions [-- --samples N --concurrency C --database embedded|postgres|both]`
//
// How long a human decision on a payout takes to answer, through the real HTTP API, as `npm start` runs it:
// API and worker in one process, bin/temporal-dev in real time, and the database either embedded (PGlite on
// disk, served over its wire endpoint: the default without DATABASE_URL) or PostgreSQL (DATABASE_URL, else
// 127.0.0.1:5432). Per database and per decision, N samples, one at a time (or C clients at once):
//   - approve (TOTP) and reject (TOTP) of a payout waiting for one approval;
//   - cancel of a payout waiting for approval;
//   - resolve (operator verdict `paid`) of a payout in unknown_outcome (sandbox: timeout but paid);
//   - compliance-clear of a payout held for KYC.
// Each decision must answer 200 with the state after it (never the state it decided on); the bench counts
// any that does not. Setup of each sample (payee, credit, payout request, waiting for its state) is not
// measured. Baselines, same run, taken right after each decision so they see the same machine: a bare
// workflow update round trip (an echo update on an idle workflow, same client and server; the ratio
// decision p99 / its p99 is printed) and GET /v1/payouts/:id of the decided payout (the API's own cost:
// authentication, a workflow query, the ledger lookups of the payout view).
// Exits non-zero when a decision fails or answers with the state before it, not when a goal is missed.
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import { listen } from '../src/api/app.ts';
import { createActivities } from '../src/app/activities.ts';
import { createHttpApp } from '../src/app/http.ts';
import { createServices, type Services } from '../src/app/services.ts';
import { createApiKey } from '../src/auth/api-keys.ts';
import { enrollApproverTotp } from '../src/auth/approver-totp.ts';
import { totp } from '../src/auth/totp.ts';
import { loadConfig } from '../src/config/index.ts';
import { keyringFromKeys } from '../src/crypto/index.ts';
import { startEmbeddedDatabase } from '../src/db/embedded.ts';
import { migrateDatabase } from '../src/db/migrate.ts';
import { openDatabase } from '../src/db/open.ts';
import { sql } from '../src/db/sql.ts';
import { createLogger } from '../src/observability/log.ts';
import { PayoutGateway } from '../src/payouts/gateway.ts';
import type { PayoutState } from '../src/payouts/state.ts';
import { startEmbeddedTemporal } from '../src/temporal/embedded-server.ts';
import { ensureSearchAttributes } from '../src/temporal/search-attributes.ts';
import { createDisburseWorker } from '../src/worker/create-worker.ts';
import { echoUpdate, stopSignal, type updateEcho } from './workflows/decisions.ts';

const GOAL_P99_MS = 300;
const DECISIONS = ['approve', 'reject', 'cancel', 'resolve', 'compliance-clear'] as const;
type Decision = (typeof DECISIONS)[number];
type DatabaseKind = 'embedded' | 'postgres';

/** The state each decision is taken in; its answer must show another one. */
const DECIDED_IN: Record<Decision, PayoutState> = {
  approve: 'pending_approval',
  reject: 'pending_approval',
  cancel: 'pending_approval',
  resolve: 'unknown_outcome',
  'compliance-clear': 'compliance_hold',
};

interface Options {
  samples: number;
  concurrency: number;
  databases: DatabaseKind[];
  postgresUrl: string;
  baseline: number;
}

function usageError(message: string): Error {
  const error = new Error(message);
  error.name = 'UsageError';
  return error;
}

const USAGE =
  'usage: npm run bench:decisions -- [--samples N=30] [--concurrency C=1] [--baseline B=2]\n' +
  '         [--database embedded|postgres|both]\n' +
  '  --samples N      decisions of each kind per database\n' +
  '  --concurrency C  clients deciding at the same time (default one at a time)\n' +
  '  --baseline B     bare workflow update round trips after each decision (the same-run baseline)\n' +
  '  --database D     embedded: PGlite as `npm start` runs it without DATABASE_URL; postgres: DATABASE_URL\n' +
  '                   (default postgres://postgres@127.0.0.1:5432/postgres); both (default)\n' +
  'The Temporal server is bin/temporal-dev in real time; API and worker run in this process, as in npm start,\n' +
  'with its database pool (DATABASE_POOL_MAX, default 10).';

function parseOptions(argv: string[]): Options {
  let values: { samples: string; concurrency: string; baseline: string; database: string; help: boolean };
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        samples: { type: 'string', default: '30' },
        concurrency: { type: 'string', default: '1' },
        baseline: { type: 'string', default: '2' },
        database: { type: 'string', default: 'both' },
        help: { type: 'boolean', short: 'h', default: false },
      },
    }));
  } catch (error) {
    throw usageError((error as Error).message);
  }
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  const int = (name: string, raw: string, min: number): number => {
    const n = Number(raw);
    if (!Number.isInteger(n) || n < min)
      throw usageError(`--${name} must be an integer >= ${min}, got "${raw}"`);
    return n;
  };
  const choices: Record<string, DatabaseKind[]> = {
    embedded: ['embedded'],
    postgres: ['postgres'],
    both: ['embedded', 'postgres'],
  };
  const databases = choices[values.database];
  if (!databases) throw usageError(`--database must be embedded, postgres or both, got "${values.database}"`);
  return {
    samples: int('samples', values.samples, 1),
    concurrency: int('concurrency', values.concurrency, 1),
    baseline: int('baseline', values.baseline, 1),
    databases,
    postgresUrl: process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres',
  };
}

const log = (...a: unknown[]) => console.error('[bench:decisions]', ...a);

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? Number.NaN;
};

interface PhaseResult {
  database: DatabaseKind;
  latencies: Record<Decision, number[]>;
  /** Answers that were not 200 with the state after the decision: what they said. */
  wrong: Record<Decision, string[]>;
  /** States the answers showed, with counts. */
  after: Record<Decision, Map<string, number>>;
  baseline: number[];
  /** GET /v1/payouts/:id of the payout just decided. */
  reads: number[];
}

/** The fields of an API answer the bench reads (a payout view, or a problem's detail). */
interface Answer {
  status: number;
  body: { id?: string; state?: string; detail?: string } | undefined;
}

interface Phase {
  call(method: string, path: string, key: string, body?: unknown): Promise<Answer>;
  services: Services;
  client: Client;
  taskQueue: string;
  keys: { platform: string; operator: string };
  security: { keyring: ReturnType<typeof keyringFromKeys> };
}

async function runPhase(database: DatabaseKind, o: Options, temporalAddress: string): Promise<PhaseResult> {
  const schema = `bench_decisions_${randomBytes(3).toString('hex')}`;
  const taskQueue = `bench-decisions-${database}`;
  const secrets = { encryption: randomBytes(32), fingerprint: randomBytes(32), tokens: randomBytes(32) };
  const env = {
    // Above 100.00 one approver; below it nothing waits for a human unless compliance or the sandbox says so.
    APPROVAL_THRESHOLD_SINGLE: 'USD:10000',
    APPROVAL_THRESHOLD_DUAL: 'USD:100000000',
    RISK_MAX_DAILY_COUNT: '1000000',
    RISK_DESTINATION_COOL_OFF: '0s',
    // An unknown outcome stays unknown until the operator's verdict (no status check in the meantime).
    PAYOUT_CONFIRMATION_POLL: '1h',
    API_RATE_LIMIT_PER_SECOND: '100000',
    API_RATE_LIMIT_BURST: '100000',
    DISBURSE_PROVIDERS: JSON.stringify([{ kind: 'sandbox', name: 'sandbox', scenario: { latencyMs: 0 } }]),
  };
  // The pool as npm start sizes it (DATABASE_POOL_MAX, default 10).
  const pool = process.env.DATABASE_POOL_MAX ? { DATABASE_POOL_MAX: process.env.DATABASE_POOL_MAX } : {};
  const config = loadConfig({
    ...env,
    ...pool,
    ...(database === 'postgres' ? { DATABASE_URL: o.postgresUrl } : {}),
  });
  // As npm start: PGlite on disk (a throw-away directory) behind its wire endpoint, with the configured pool.
  const dataDir = database === 'embedded' ? await mkdtemp(join(tmpdir(), 'bench-decisions-')) : undefined;
  const embedded = dataDir ? await startEmbeddedDatabase({ dataDir }) : undefined;
  const url = embedded?.url ?? o.postgresUrl;
  const admin = await openDatabase({ url, schema: 'public', poolMax: 1 });
  await sql(admin.em(), `CREATE SCHEMA "${schema}"`);
  const db = await openDatabase({ url, schema, poolMax: config.database.poolMax });
  await migrateDatabase(db);
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
  const connection = await Connection.connect({ address: temporalAddress });
  const native = await NativeConnection.connect({ address: temporalAddress });
  const client = new Client({ connection, namespace: 'default' });
  const worker = await createDisburseWorker({
    connection: native,
    namespace: 'default',
    taskQueue,
    activities: createActivities(services),
  });
  const baselineWorker = await Worker.create({
    connection: native,
    namespace: 'default',
    taskQueue: `${taskQueue}-baseline`,
    workflowsPath: fileURLToPath(new URL('./workflows/decisions.ts', import.meta.url)),
  });
  const running = [worker.run(), baselineWorker.run()];
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
  const call = async (method: string, path: string, key: string, body?: unknown): Promise<Answer> => {
    const res = await fetch(`${server.url}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${key}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        ...(method === 'POST' ? { 'idempotency-key': `bench-${randomBytes(8).toString('hex')}` } : {}),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : undefined };
  };
  const phase: Phase = {
    call,
    services,
    client,
    taskQueue,
    keys: {
      platform: (await createApiKey(db.em(), { role: 'platform', actor: 'bench-platform' })).key,
      operator: (await createApiKey(db.em(), { role: 'operator', actor: 'bench-operator' })).key,
    },
    security,
  };
  try {
    const result: PhaseResult = {
      database,
      latencies: Object.fromEntries(DECISIONS.map((d) => [d, []])) as unknown as PhaseResult['latencies'],
      wrong: Object.fromEntries(DECISIONS.map((d) => [d, []])) as unknown as PhaseResult['wrong'],
      after: Object.fromEntries(DECISIONS.map((d) => [d, new Map()])) as unknown as PhaseResult['after'],
      baseline: [],
      reads: [],
    };
    const echo = await echoWorkflow(client, `${taskQueue}-baseline`);
    let seq = 0;
    let rounds = 0;
    // C clients, each taking the next round: every decision of a round in turn, so all see the same machine.
    const decider = async () => {
      while (rounds < o.samples) {
        rounds++;
        await oneRound();
        if (rounds % 10 === 0) log(`${database}: ${rounds}/${o.samples} rounds`);
      }
    };
    const oneRound = async () => {
      for (const decision of DECISIONS) {
        const { ms, status, body, payoutId } = await oneDecision(phase, decision, `${database}-${seq++}`);
        const t0 = performance.now();
        await phase.call('GET', `/v1/payouts/${payoutId}`, phase.keys.platform);
        result.reads.push(performance.now() - t0);
        for (let k = 0; k < o.baseline; k++) result.baseline.push(await echo.roundTrip());
        const state = String(body?.state ?? body?.detail ?? '');
        // Timed whenever it answered 200, so a slow answer with the old state still shows how slow it was.
        if (status === 200) result.latencies[decision].push(ms);
        if (status !== 200 || state === DECIDED_IN[decision])
          result.wrong[decision].push(`${status} ${state}`);
        result.after[decision].set(state, (result.after[decision].get(state) ?? 0) + 1);
      }
    };
    await Promise.all(Array.from({ length: Math.min(o.concurrency, o.samples) }, decider));
    await echo.stop();
    return result;
  } finally {
    await server.close();
    worker.shutdown();
    baselineWorker.shutdown();
    await Promise.allSettled(running);
    await services.stop();
    await native.close();
    await connection.close();
    await sql(admin.em(), `DROP SCHEMA "${schema}" CASCADE`).catch(() => undefined);
    await db.close();
    await admin.close();
    await embedded?.stop();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  }
}

/** An idle workflow answering echo updates: `roundTrip()` times one, the bare update round trip. */
async function echoWorkflow(client: Client, taskQueue: string) {
  const handle = await client.workflow.start<typeof updateEcho>('updateEcho', {
    taskQueue,
    workflowId: `bench-update-echo-${randomBytes(4).toString('hex')}`,
  });
  // The first few warm the connection and the worker's cache; they are not counted.
  for (let i = 0; i < 5; i++) await handle.executeUpdate(echoUpdate, { args: [i] });
  let n = 0;
  return {
    async roundTrip(): Promise<number> {
      const t0 = performance.now();
      await handle.executeUpdate(echoUpdate, { args: [n++] });
      return performance.now() - t0;
    },
    stop: () => handle.signal(stopSignal),
  };
}

let payeeSeq = 0;

/**
 * A payee with a bank account and 1,000.00 available. The account ends in 1237, never one of the sandbox's
 * magic suffixes (it simply pays), unless `suffix` picks one.
 */
async function createPayee(p: Phase, kycStatus: 'verified' | 'pending', suffix = '1237'): Promise<string> {
  const i = ++payeeSeq;
  const em = p.services.db.em();
  const payee = await p.services.payees.create(em, {
    externalId: `bench-${randomBytes(6).toString('hex')}`,
    name: `Bench Payee ${i}`,
    email: `bench${i}@example.com`,
    country: 'US',
    defaultCurrency: 'USD',
    kycStatus,
    taxProfile: { form: 'w9', tin: '123456789' },
    payoutPreferences: { preferredMethod: 'bank_account', instantOptIn: true, autoPayout: false },
  } as Parameters<Services['payees']['create']>[1]);
  await p.services.payees.putDestination(
    em,
    payee.id,
    'bank_account',
    {
      accountNumber: `9${String(i).padStart(8, '0')}${suffix}`,
      routingNumber: '011000015',
      holderName: `Bench Payee ${i}`,
      country: 'US',
      currency: 'USD',
    },
    'bench',
  );
  await p.services.ledger.creditEarnings({
    payeeId: payee.id,
    amount: { amount: '100000', currency: 'USD', scale: 2 },
    idempotencyKey: `bench-credit-${payee.id}`,
  });
  return payee.id;
}

/** Requests a payout and waits (unmeasured) until its workflow is in `state`. */
async function payoutIn(p: Phase, payeeId: string, amount: string, state: PayoutState): Promise<string> {
  const res = await p.call('POST', '/v1/payouts', p.keys.platform, {
    payeeId,
    amount: { amount, currency: 'USD', scale: 2 },
    method: 'bank_transfer',
  });
  const id = res.body?.id;
  if (res.status !== 202 || !id) {
    throw new Error(`payout request answered ${res.status}: ${JSON.stringify(res.body)}`);
  }
  const deadline = Date.now() + 60_000;
  let last: { state?: string } | undefined;
  while (Date.now() < deadline) {
    const got = await p.call('GET', `/v1/payouts/${id}`, p.keys.platform);
    last = got.body;
    if (last?.state === state) return id;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`payout ${id} never reached ${state} (last: ${JSON.stringify(last)})`);
}

/** An approver key with TOTP enrolled; one per decision, so no code is ever a replay. */
async function approver(p: Phase, actor: string): Promise<{ key: string; code: string }> {
  const em = p.services.db.em();
  const key = (await createApiKey(em, { role: 'approver', actor })).key;
  const secret = randomBytes(20);
  await enrollApproverTotp(em, p.security.keyring, actor, { secret });
  return { key, code: totp(secret, Math.floor(Date.now() / 1000)) };
}

/** Brings a payout to the state `decision` is taken in (not measured), then times the decision. */
async function oneDecision(p: Phase, decision: Decision, tag: string) {
  const reason = `bench ${decision}`;
  let payoutId: string;
  let key: string;
  let body: Record<string, unknown>;
  if (decision === 'approve' || decision === 'reject' || decision === 'cancel') {
    payoutId = await payoutIn(p, await createPayee(p, 'verified'), '20000', 'pending_approval');
    if (decision === 'cancel') {
      [key, body] = [p.keys.platform, { reason }];
    } else {
      const a = await approver(p, `bench-approver-${tag}`);
      [key, body] = [a.key, { reason, totp: a.code }];
    }
  } else if (decision === 'resolve') {
    // Account suffix 0003: the sandbox pays, then answers with a timeout; the outcome is unknown until resolved.
    payoutId = await payoutIn(p, await createPayee(p, 'verified', '0003'), '5000', 'unknown_outcome');
    [key, body] = [p.keys.operator, { outcome: 'paid', reason }];
  } else {
    payoutId = await payoutIn(p, await createPayee(p, 'pending'), '5000', 'compliance_hold');
    [key, body] = [p.keys.operator, { reason }];
  }
  const t0 = performance.now();
  const res = await p.call('POST', `/v1/payouts/${payoutId}/${decision}`, key, body);
  return { ms: performance.now() - t0, payoutId, ...res };
}

function report(results: PhaseResult[]): boolean {
  const f = (n: number) => (Number.isFinite(n) ? n.toFixed(1) : '-');
  const rows: string[][] = [
    ['database', 'decision', 'n', 'p50 ms', 'p99 ms', 'p99 / update p99', 'answered with'],
  ];
  let ok = true;
  for (const r of results) {
    const base = pct(r.baseline, 99);
    rows.push([
      r.database,
      'bare update (baseline)',
      String(r.baseline.length),
      f(pct(r.baseline, 50)),
      f(base),
      '1.00',
      '',
    ]);
    rows.push([
      r.database,
      'GET the payout (baseline)',
      String(r.reads.length),
      f(pct(r.reads, 50)),
      f(pct(r.reads, 99)),
      f(pct(r.reads, 99) / base),
      '',
    ]);
    for (const d of DECISIONS) {
      const xs = r.latencies[d];
      const states = [...r.after[d]].map(([s, n]) => `${s} ×${n}`).join(', ');
      rows.push([
        r.database,
        d,
        String(xs.length),
        f(pct(xs, 50)),
        f(pct(xs, 99)),
        f(pct(xs, 99) / base),
        states,
      ]);
      if (r.wrong[d].length > 0) {
        ok = false;
        rows.push([
          '',
          `  ${r.wrong[d].length} wrong answers`,
          '',
          '',
          '',
          '',
          r.wrong[d].slice(0, 3).join('; '),
        ]);
      }
    }
  }
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((row) => row[c]!.length)));
  console.log(
    `\nbench:decisions — HTTP decision latency, API + worker in one process, bin/temporal-dev (goal p99 <= ${GOAL_P99_MS} ms)`,
  );
  for (const row of rows)
    console.log(`  ${row.map((cell, c) => cell.padEnd(widths[c]!)).join('  ')}`.trimEnd());
  return ok;
}

async function main(): Promise<void> {
  const o = parseOptions(process.argv.slice(2));
  // Errors only: the sandbox's deliberate timeouts would log a warning per resolve sample.
  Runtime.install({ logger: new DefaultLogger('ERROR') });
  const temporal = await startEmbeddedTemporal({ namespace: 'default' });
  let ok = false;
  try {
    const connection = await Connection.connect({ address: temporal.address });
    await ensureSearchAttributes(connection, 'default');
    await connection.close();
    const results: PhaseResult[] = [];
    for (const database of o.databases) {
      log(`${database}: ${o.samples} decisions of each kind, ${o.concurrency} at a time`);
      results.push(await runPhase(database, o, temporal.address));
    }
    ok = report(results);
  } finally {
    await temporal.stop();
  }
  process.exit(ok ? 0 : 1);
}

main().catch((error: unknown) => {
  const usage = error instanceof Error && error.name === 'UsageError';
  if (usage) {
    console.error(`bench:decisions: ${(error as Error).message}\n${USAGE}`);
    process.exit(2);
  }
  console.error(
    `bench:decisions failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`,
  );
  process.exit(1);
});
