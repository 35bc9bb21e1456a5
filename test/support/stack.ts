// The whole Disburse stack for end-to-end tests: a fresh PostgreSQL schema, the real services, the official
// TestWorkflowEnvironment (time-skipping) on bin/temporal-dev, a real worker running the payout workflow,
// and the real HTTP API on a local port — exactly how users run it, with sandbox providers.
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Client } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { bundleWorkflowCode, type Worker, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { listen, type SecurityContext } from '../../src/api/app.ts';
import { createActivities } from '../../src/app/activities.ts';
import { createHttpApp } from '../../src/app/http.ts';
import { createServices, type Services } from '../../src/app/services.ts';
import { type CreatedApiKey, createApiKey } from '../../src/auth/api-keys.ts';
import { enrollApproverTotp } from '../../src/auth/approver-totp.ts';
import { totp } from '../../src/auth/totp.ts';
import { loadConfig } from '../../src/config/index.ts';
import { keyringFromKeys } from '../../src/crypto/index.ts';
import { sql } from '../../src/db/sql.ts';
import { verifyLedger } from '../../src/ledger/verify.ts';
import { createLogger } from '../../src/observability/log.ts';
import { requestIdClientInterceptor } from '../../src/observability/request-context.ts';
import type { Tracing } from '../../src/observability/tracing.ts';
import { PayoutGateway } from '../../src/payouts/gateway.ts';
import { PayoutHistory } from '../../src/payouts/history.ts';
import type { PayoutStateDoc } from '../../src/payouts/state.ts';
import { PeriodGateway } from '../../src/periods/gateway.ts';
import { PeriodSchedule } from '../../src/periods/schedule.ts';
import {
  payoutsDisbursedMoreThanOnce,
  type SandboxProvider,
  sandboxTotals,
} from '../../src/providers/index.ts';
import { CreditGrantTimers } from '../../src/spendback/timers.ts';
import { freePort } from '../../src/temporal/embedded-server.ts';
import { verifyWebhook } from '../../src/webhooks/index.ts';
import {
  createDisburseWorker,
  workflowInterceptorModules,
  workflowsPath,
} from '../../src/worker/create-worker.ts';
import { type BulkSummary, bulkWorkflowId } from '../../workflows/bulk-contract.ts';
import { payoutWorkflowId } from '../../workflows/payout-contract.ts';
import type { PeriodProgress } from '../../workflows/period-contract.ts';
import { createTestDatabase, type TestDatabase } from './db.ts';
import { createTestEnv, DISBURSE_SEARCH_ATTRIBUTES, quietBundlerLogger } from './temporal.ts';

export const WEBHOOK_SECRET = `whsec_${randomBytes(24).toString('base64')}`;

let bundle: Promise<WorkflowBundleWithSourceMap> | undefined;
/** The workflow bundle, built once per test file. */
export function workflowBundle(): Promise<WorkflowBundleWithSourceMap> {
  bundle ??= bundleWorkflowCode({
    workflowsPath,
    workflowInterceptorModules: workflowInterceptorModules(),
    logger: quietBundlerLogger,
  });
  return bundle;
}

/**
 * Reads `read` until `pred` holds, every 100 ms for at most `timeoutMs` (bounded because the machine may be
 * slow; never a timing assertion); what it read then. Throws with what it read last.
 */
export async function eventually<T>(
  what: string,
  read: () => Promise<T>,
  pred: (value: T) => boolean,
  timeoutMs = 60_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: T | undefined;
  while (Date.now() < deadline) {
    last = await read();
    if (pred(last)) return last;
    await new Promise((r) => setTimeout(r, 100));
  }
  const shown = JSON.stringify(last, (_, v) => (typeof v === 'bigint' ? v.toString() : v));
  throw new Error(`${what}: condition not reached in ${timeoutMs} ms; last ${shown}`);
}

/** A delivery the platform's endpoint accepted: its webhook id, its event type, the body as sent. */
export interface ReceivedWebhook {
  id: string;
  type: string;
  body: unknown;
}

/**
 * The platform's webhook endpoint (give `url` to WEBHOOK_ENDPOINTS): keeps each delivery whose signature
 * verifies with `secret` (204), refuses any other (400).
 */
export async function startWebhookReceiver(secret = WEBHOOK_SECRET) {
  const received: ReceivedWebhook[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      try {
        const raw = Buffer.concat(chunks);
        const { id } = verifyWebhook(secret, req.headers, raw);
        const body = JSON.parse(raw.toString('utf8')) as { type: string };
        received.push({ id, type: body.type, body });
        res.writeHead(204).end();
      } catch {
        res.writeHead(400).end();
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hooks`,
    received,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

export interface ProviderSpec {
  name: string;
  kind?: 'sandbox' | 'manual' | 'stripe' | 'wise' | 'paypal' | 'circle';
  scenario?: Record<string, unknown>;
  capabilities?: Record<string, unknown>;
  /** Further settings of a stripe, wise or paypal entry (apiBase of a fake, secretKeyEnv, timeoutMs …). */
  settings?: Record<string, unknown>;
}

export interface StackOptions {
  providers?: ProviderSpec[];
  /** Extra configuration variables (e.g. APPROVAL_THRESHOLD_SINGLE). */
  env?: Record<string, string>;
  /** Traces through the client, the workflows (own bundle) and the activities. */
  tracing?: Tracing;
}

export interface CallResult {
  status: number;
  contentType: string;
  // biome-ignore lint/suspicious/noExplicitAny: responses are inspected dynamically in tests
  body: any;
  text: string;
}

type KeyRole = 'platform' | 'approver' | 'operator';

export async function startStack(label: string, opts: StackOptions = {}) {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const providers = (opts.providers ?? [{ name: 'sandbox' }]).map((p) =>
    (p.kind ?? 'sandbox') === 'sandbox'
      ? {
          kind: 'sandbox',
          name: p.name,
          scenario: p.scenario ?? {},
          capabilities: p.capabilities ?? {},
          webhookUrl: `${base}/v1/providers/${p.name}/webhooks`,
          webhookSecret: WEBHOOK_SECRET,
        }
      : p.kind === 'stripe' || p.kind === 'wise' || p.kind === 'paypal' || p.kind === 'circle'
        ? { kind: p.kind, name: p.name, capabilities: p.capabilities ?? {}, ...p.settings }
        : { kind: 'manual', name: p.name, capabilities: p.capabilities ?? {} },
  );
  const configEnv: Record<string, string | undefined> = {
    DATABASE_URL: process.env.DATABASE_URL,
    DISBURSE_PROVIDERS: JSON.stringify(providers),
    PAYOUT_CONFIRMATION_POLL: '1m',
    PAYOUT_CONFIRMATION_DEADLINE: '2h',
    PAYOUT_UNKNOWN_OUTCOME_DEADLINE: '1h',
    RISK_DESTINATION_COOL_OFF: '0s',
    ...opts.env,
  };
  const config = loadConfig(configEnv);
  const db: TestDatabase = await createTestDatabase(label);
  const secrets = { encryption: randomBytes(32), fingerprint: randomBytes(32), token: randomBytes(32) };
  const security: SecurityContext = {
    keyring: keyringFromKeys([['k1', secrets.encryption]]),
    fingerprintKey: secrets.fingerprint,
    tokenSigningKey: secrets.token,
    payeeTokenTtlSeconds: 3600,
    totpIssuer: 'Disburse test',
  };
  const services: Services = await createServices({
    db,
    keyring: security.keyring,
    fingerprintKey: security.fingerprintKey,
    payouts: config.payouts,
    periods: config.periods,
    spendback: config.spendback,
  });
  const temporal: TestWorkflowEnvironment = await createTestEnv({
    timeSkipping: true,
    searchAttributes: DISBURSE_SEARCH_ATTRIBUTES,
  });
  // The test server starts with time skipping locked: virtual time moves only while a test awaits a
  // result or sleeps, so intermediate states are observable.
  const taskQueue = `payouts-${label}-${randomBytes(4).toString('hex')}`;
  const activities = createActivities(services);
  // The client the API uses, with the request id (and, traced, the span context) in workflow headers.
  const client = new Client({
    connection: temporal.connection,
    namespace: temporal.namespace ?? 'default',
    interceptors: {
      workflow: [requestIdClientInterceptor(), ...(opts.tracing?.clientInterceptors().workflow ?? [])],
    },
  });
  const gateway = new PayoutGateway(client, taskQueue, { bulkWindow: config.payouts.bulkWindow });
  const periodGateway = new PeriodGateway(client, taskQueue, {
    reminderMs: config.periods.reminderMs,
    escalationMs: config.periods.escalationMs,
    payoutWindow: config.periods.payoutWindow,
    payoutPollMs: 5_000,
  });
  // The period-close schedule as the worker creates it (src/app/runtime.ts periodScheduleFor); a test
  // calls `periodSchedule.ensure()` to have it.
  const periodSchedule = new PeriodSchedule(client, {
    taskQueue,
    calendar: config.periods.calendar,
    graceMs: config.periods.closeGraceMs,
    policy: {
      reminderMs: config.periods.reminderMs,
      escalationMs: config.periods.escalationMs,
      payoutWindow: config.periods.payoutWindow,
      payoutPollMs: 5_000,
    },
  });
  const logs: string[] = [];
  const logger = createLogger({ level: 'info', write: (line) => logs.push(line) });
  const appDeps = {
    services,
    gateway,
    history: new PayoutHistory(client),
    periodGateway,
    periodSchedule,
    security,
    grantTimers: new CreditGrantTimers(client, taskQueue),
    logger,
    rateLimit: { ratePerSecond: 10_000, burst: 10_000 },
    bodyLimitBytes: config.api.bodyLimitBytes,
  };
  const server = await listen(createHttpApp(appDeps).app, port);

  /** The same API on another port, starting payouts through `other` (e.g. one whose Temporal is unreachable). */
  async function apiWith(other: PayoutGateway) {
    return listen(createHttpApp({ ...appDeps, gateway: other }).app, await freePort());
  }

  let worker: Worker | undefined;
  let running: Promise<void> | undefined;
  async function startWorker() {
    worker = await createDisburseWorker({
      connection: temporal.nativeConnection,
      namespace: temporal.namespace ?? 'default',
      taskQueue,
      activities,
      workflowBundle: opts.tracing
        ? await bundleWorkflowCode({
            workflowsPath,
            workflowInterceptorModules: workflowInterceptorModules(opts.tracing),
            logger: quietBundlerLogger,
          })
        : await workflowBundle(),
      tracing: opts.tracing,
    });
    running = worker.run();
  }
  async function stopWorker() {
    if (!worker) return;
    worker.shutdown();
    await running;
    worker = undefined;
  }
  await startWorker();

  const keys: Record<KeyRole, CreatedApiKey> = {
    platform: await createApiKey(db.em(), { role: 'platform', actor: 'acme-backend' }),
    approver: await createApiKey(db.em(), { role: 'approver', actor: 'alice' }),
    operator: await createApiKey(db.em(), { role: 'operator', actor: 'olga' }),
  };
  const totpSecrets = new Map<string, Buffer>();

  async function call(
    method: string,
    path: string,
    o: { key?: string | null; body?: unknown; idempotencyKey?: string } = {},
  ): Promise<CallResult> {
    const headers: Record<string, string> = {};
    const key = o.key === undefined ? keys.platform.key : o.key;
    if (key) headers.authorization = `Bearer ${key}`;
    if (o.body !== undefined) headers['content-type'] = 'application/json';
    if (method === 'POST')
      headers['idempotency-key'] = o.idempotencyKey ?? `k-${randomBytes(8).toString('hex')}`;
    const res = await fetch(base + path, {
      method,
      headers,
      ...(o.body !== undefined ? { body: JSON.stringify(o.body) } : {}),
    });
    const text = await res.text();
    const contentType = res.headers.get('content-type') ?? '';
    return {
      status: res.status,
      contentType,
      body: contentType.includes('json') && text ? JSON.parse(text) : text,
      text,
    };
  }

  function expectStatus(res: CallResult, status: number, what: string): CallResult {
    if (res.status !== status) throw new Error(`${what}: expected ${status}, got ${res.status} ${res.text}`);
    return res;
  }

  /** GET /v1/periods/:id, which must answer 200. */
  async function periodProgress(periodId: string): Promise<PeriodProgress> {
    return expectStatus(await call('GET', `/v1/periods/${periodId}`), 200, `period ${periodId}`)
      .body as PeriodProgress;
  }

  /** Polls the period's progress until `pred` holds; an answer other than 200 (not started yet) is "not yet". */
  async function waitForPeriod(
    periodId: string,
    pred: (p: PeriodProgress) => boolean,
    timeoutMs = 60_000,
  ): Promise<PeriodProgress> {
    const read = async () => {
      const res = await call('GET', `/v1/periods/${periodId}`);
      return { status: res.status, body: res.body as PeriodProgress };
    };
    const last = await eventually(
      `period ${periodId}`,
      read,
      (r) => r.status === 200 && pred(r.body),
      timeoutMs,
    );
    return last.body;
  }

  let payeeSeq = 0;
  /** A KYC-verified payee with a W-9, instant opt-in and a bank account (override anything). */
  async function createPayee(
    o: {
      payee?: Record<string, unknown>;
      bankAccount?: Record<string, unknown> | null;
      credit?: string;
    } = {},
  ): Promise<string> {
    payeeSeq++;
    const created = expectStatus(
      await call('POST', '/v1/payees', {
        body: {
          externalId: `ext-${label}-${payeeSeq}-${randomBytes(3).toString('hex')}`,
          name: `Payee ${payeeSeq}`,
          email: `payee${payeeSeq}@example.com`,
          country: 'US',
          defaultCurrency: 'USD',
          kycStatus: 'verified',
          taxProfile: { form: 'w9', tin: '123456789' },
          payoutPreferences: { preferredMethod: 'bank_account', instantOptIn: true, autoPayout: false },
          ...o.payee,
        },
      }),
      201,
      'create payee',
    );
    const id = created.body.id as string;
    if (o.bankAccount !== null) {
      expectStatus(
        await call('PUT', `/v1/payees/${id}/destinations/bank_account`, {
          body: {
            accountNumber: `4000${String(payeeSeq).padStart(4, '0')}${randomBytes(2).readUInt16BE(0) % 10}123`,
            routingNumber: '011000015',
            holderName: `Payee ${payeeSeq}`,
            country: 'US',
            currency: 'USD',
            ...o.bankAccount,
          },
        }),
        200,
        'put destination',
      );
    }
    if (o.credit) await credit(id, o.credit);
    return id;
  }

  async function credit(payeeId: string, amount: string, currency = 'USD'): Promise<void> {
    const res = await call('POST', `/v1/payees/${payeeId}/credits`, {
      body: { amount: { amount, currency, scale: 2 }, reference: `earn-${randomBytes(6).toString('hex')}` },
    });
    expectStatus(res, 201, 'credit');
  }

  async function requestPayout(
    payeeId: string,
    amount: string,
    o: { instant?: boolean; key?: string; idempotencyKey?: string } = {},
  ): Promise<string> {
    const res = await call('POST', '/v1/payouts', {
      ...(o.key ? { key: o.key } : {}),
      ...(o.idempotencyKey ? { idempotencyKey: o.idempotencyKey } : {}),
      body: {
        payeeId,
        amount: { amount, currency: 'USD', scale: 2 },
        method: 'bank_transfer',
        ...(o.instant === undefined ? {} : { instant: o.instant }),
      },
    });
    expectStatus(res, 202, 'request payout');
    return res.body.id as string;
  }

  const handle = (payoutId: string) => temporal.client.workflow.getHandle(payoutWorkflowId(payoutId));

  /** Waits (without skipping time) until the workflow reports one of `states`. */
  async function waitForState(
    payoutId: string,
    states: string[],
    timeoutMs = 20_000,
  ): Promise<PayoutStateDoc> {
    const deadline = Date.now() + timeoutMs;
    let last: PayoutStateDoc | undefined;
    while (Date.now() < deadline) {
      last = await gateway.status(payoutId);
      if (last && states.includes(last.state)) return last;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`payout ${payoutId} never reached ${states.join('|')}; last: ${JSON.stringify(last)}`);
  }

  /** Lets the workflow run to its end (the test server skips over its timers). */
  async function result(payoutId: string): Promise<PayoutStateDoc> {
    return (await handle(payoutId).result()) as PayoutStateDoc;
  }

  /** Lets a bulk's workflow run to its end (the test server skips over its polls); its summary. */
  async function bulkResult(bulkId: string): Promise<BulkSummary> {
    return temporal.client.workflow.getHandle(bulkWorkflowId(bulkId)).result() as Promise<BulkSummary>;
  }

  /** An approver API key with an enrolled TOTP secret; `code()` gives a fresh valid code. */
  async function approver(actor: string) {
    const key = await createApiKey(db.em(), { role: 'approver', actor });
    const secret = randomBytes(20);
    await enrollApproverTotp(db.em(), security.keyring, actor, { secret });
    totpSecrets.set(actor, secret);
    let step = 0;
    return {
      key: key.key,
      // Each code is used once (replays are refused): walk forward through the accepted window.
      code: () => totp(secret, Math.floor(Date.now() / 1000) + 30 * (step++ - 1)),
    };
  }

  /** POST /v1/periods/:id/close (as the platform unless `key` is given); the 202 answer. */
  async function closePeriod(periodId: string, o: { key?: string; body?: Record<string, unknown> } = {}) {
    const res = await call('POST', `/v1/periods/${periodId}/close`, { body: o.body ?? {}, key: o.key });
    return expectStatus(res, 202, `close period ${periodId}`);
  }

  /** A new approver `actor` approves the period's run with its TOTP (and `body`); the 200 answer. */
  async function approvePeriod(periodId: string, actor: string, body: Record<string, unknown> = {}) {
    const a = await approver(actor);
    const res = await call('POST', `/v1/periods/${periodId}/approve`, {
      key: a.key,
      body: { totp: a.code(), ...body },
    });
    return expectStatus(res, 200, `${actor} approves period ${periodId}`);
  }

  function sandbox(name = 'sandbox'): SandboxProvider {
    const p = services.providers.sandboxes().find((s) => s.name === name);
    if (!p) throw new Error(`no sandbox provider ${name}`);
    return p;
  }

  /**
   * Makes a sandbox settle the payout's attempt (the first by default) and POST its paid webhook to our API, however the
   * sandbox's own timers race us (they may deliver it first).
   */
  async function settleByWebhook(payoutId: string, name = 'sandbox', attemptNo = 1): Promise<void> {
    const p = sandbox(name);
    for (let i = 0; i < 200; i++) {
      await p.advance();
      await p.deliverPendingWebhooks();
      const events = await p.events({ idempotencyKey: `${payoutId}:${attemptNo}` });
      if (events.some((e) => e.type === 'paid' && e.deliveredAt)) return;
      await new Promise((r) => setTimeout(r, 25));
    }
    throw new Error(`sandbox ${name} did not deliver a paid webhook for payout ${payoutId}`);
  }

  /** Signals what a provider reports about one of the payout's attempts, as its webhook would (sandbox ids). */
  async function reportProviderEvent(
    payoutId: string,
    e: { provider: string; attemptNo: number; type: 'paid' | 'failed' | 'returned'; reason?: string },
  ): Promise<void> {
    await gateway.deliverProviderEvent(payoutId, {
      eventId: `${e.provider}.${e.type}.${payoutId}:${e.attemptNo}`,
      idempotencyKey: `${payoutId}:${e.attemptNo}`,
      type: e.type,
      provider: e.provider,
      ...(e.reason ? { reason: e.reason } : {}),
    });
  }

  /**
   * The payout's final status, with the sandbox's batch run over and over meanwhile: its batch rail settles
   * only when a batch runs, and virtual time moves on its own while the workflow waits.
   */
  async function resultWithBatches(payoutId: string, name = 'sandbox'): Promise<PayoutStateDoc> {
    let batching = true;
    const batches = (async () => {
      while (batching) {
        await sandbox(name).runBatch();
        await new Promise((r) => setTimeout(r, 20));
      }
    })();
    try {
      return await result(payoutId);
    } finally {
      batching = false;
      await batches;
    }
  }

  /** Ledger invariants, at most one disbursement per payout, and sandbox paid total = ledger settled total. */
  async function assertInvariants(): Promise<void> {
    const report = await verifyLedger(db.em(), db.schema);
    if (!report.ok) throw new Error(`ledger violations: ${JSON.stringify(report.violations)}`);
    const twice = await payoutsDisbursedMoreThanOnce(db);
    if (twice.length > 0) throw new Error(`disbursed more than once: ${JSON.stringify(twice)}`);
    const paid = (await sandboxTotals(db)).reduce((sum, t) => sum + t.paidMinor, 0n);
    const [clearing] = await sql<{ total: string }>(
      db.em(),
      `SELECT coalesce(sum(balance), 0)::text AS total FROM "${db.schema}".ledger_accounts WHERE kind = 'provider_clearing'`,
    );
    if (BigInt(clearing?.total ?? '0') !== paid) {
      throw new Error(`sandbox paid ${paid} but ledger provider_clearing holds ${clearing?.total}`);
    }
  }

  /** Environment for a separate worker process (`node src/worker/main.ts`) on this stack's data. */
  function workerEnv(overrides: Record<string, string> = {}): Record<string, string> {
    const env: Record<string, string | undefined> = {
      ...configEnv,
      DATABASE_SCHEMA: db.schema,
      TEMPORAL_ADDRESS: temporal.address,
      TEMPORAL_NAMESPACE: temporal.namespace ?? 'default',
      TEMPORAL_TASK_QUEUE: taskQueue,
      DISBURSE_ENCRYPTION_KEYS: `k1:${secrets.encryption.toString('base64')}`,
      DISBURSE_FINGERPRINT_KEY: secrets.fingerprint.toString('base64'),
      DISBURSE_TOKEN_SIGNING_KEY: secrets.token.toString('base64'),
      LOG_LEVEL: 'info',
      ...overrides,
    };
    return Object.fromEntries(Object.entries(env).filter((e): e is [string, string] => e[1] !== undefined));
  }

  return {
    db,
    services,
    temporal,
    workerEnv,
    gateway,
    periodGateway,
    periodSchedule,
    apiWith,
    taskQueue,
    keys,
    logs,
    url: base,
    call,
    expectStatus,
    createPayee,
    credit,
    requestPayout,
    handle,
    waitForState,
    periodProgress,
    waitForPeriod,
    result,
    bulkResult,
    approver,
    approvePeriod,
    closePeriod,
    sandbox,
    settleByWebhook,
    resultWithBatches,
    reportProviderEvent,
    assertInvariants,
    startWorker,
    stopWorker,
    async close() {
      await stopWorker();
      await server.close();
      await services.stop();
      await temporal.teardown();
      await db.drop();
    },
  };
}

export type Stack = Awaited<ReturnType<typeof startStack>>;
