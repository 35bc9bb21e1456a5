// One fault scenario's deployment, as production runs it: a PostgreSQL schema of its own, bin/temporal-dev
// on a state file, and `node src/api/main.ts` + `node src/worker/main.ts` as separate processes, any of
// which a scenario may SIGKILL and restart. Clients drive payouts through the real HTTP API and retry as
// a well-behaved platform backend does (same Idempotency-Key); the invariants are checked from the outside.
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createApiKey } from '../../src/auth/api-keys.ts';
import { sql } from '../../src/db/sql.ts';
import { FINAL_STATES } from '../../src/payouts/state.ts';
import {
  listSandboxDisbursements,
  payoutsDisbursedMoreThanOnce,
  sandboxTotals,
} from '../../src/providers/index.ts';
import { freePort } from '../../src/temporal/embedded-server.ts';
import { repo } from '../app/app-process.ts';
import { runCli } from '../support/cli.ts';
import { createTestDatabase, type TestDatabase } from '../support/db.ts';
import { type Child, startApi, startTemporalDev, startWorkerProcess } from './processes.ts';

export const WEBHOOK_SECRET = `whsec_${randomBytes(24).toString('base64')}`;

/** States in which a payout legitimately waits: on a person, or on a timer it reports. */
const HUMAN_WAITS = ['review', 'pending_approval', 'compliance_hold'];
const TIMER_WAITS = ['scheduled', 'awaiting_confirmation', 'unknown_outcome'];

export interface SandboxSpec {
  name: string;
  scenario?: Record<string, unknown>;
  capabilities?: Record<string, unknown>;
}

export interface PayoutView {
  id: string;
  state: string;
  nextTimer?: { purpose: string; at: string };
  provider?: string;
  reasons?: { code: string; message: string }[];
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Seconds after a fault ended until each sign of recovery (see `recovery`). */
export interface Recovery {
  ready?: number;
  accepted?: number;
  paid?: number;
  /** The probe payout's id, once accepted. */
  probe?: string;
}

export async function startFaultStack(label: string, providers: SandboxSpec[] = [{ name: 'sandbox' }]) {
  const dir = await mkdtemp(join(tmpdir(), `disburse-fault-${label}-`));
  const db: TestDatabase = await createTestDatabase(`fault_${label}`);
  // The app's own backends carry this name: the database scenario terminates exactly those.
  const applicationName = `${db.schema}_app`;
  const platform = await createApiKey(db.em(), { role: 'platform', actor: 'fault-backend' });
  const operator = await createApiKey(db.em(), { role: 'operator', actor: 'fault-operator' });
  const temporalPort = await freePort();
  const apiPort = await freePort();
  const apiUrl = `http://127.0.0.1:${apiPort}`;
  const temporalDb = join(dir, 'temporal-dev.db');
  const key = () => randomBytes(32).toString('base64');
  const env: Record<string, string> = {
    PATH: `${repo}/node_modules/.bin:${process.env.PATH ?? ''}`,
    HOME: process.env.HOME ?? dir,
    DATABASE_URL: process.env.DATABASE_URL!,
    DATABASE_SCHEMA: db.schema,
    DATABASE_APPLICATION_NAME: applicationName,
    TEMPORAL_ADDRESS: `127.0.0.1:${temporalPort}`,
    TEMPORAL_NAMESPACE: 'default',
    TEMPORAL_TASK_QUEUE: `payouts-${label}`,
    TEMPORAL_DEV_DB: temporalDb,
    API_PORT: String(apiPort),
    LOG_LEVEL: 'info',
    DISBURSE_ENCRYPTION_KEYS: `k1:${key()}`,
    DISBURSE_FINGERPRINT_KEY: key(),
    DISBURSE_TOKEN_SIGNING_KEY: key(),
    DISBURSE_PROVIDERS: JSON.stringify(
      providers.map((p) => ({
        kind: 'sandbox',
        name: p.name,
        scenario: p.scenario ?? {},
        capabilities: p.capabilities ?? {},
        webhookUrl: `${apiUrl}/v1/providers/${p.name}/webhooks`,
        webhookSecret: WEBHOOK_SECRET,
        pollMs: 500,
      })),
    ),
    // Real time: status polls every 2 s confirm what a lost webhook did not.
    PAYOUT_CONFIRMATION_POLL: '2s',
    PAYOUT_CONFIRMATION_DEADLINE: '10m',
    PAYOUT_UNKNOWN_OUTCOME_DEADLINE: '10m',
    RISK_DESTINATION_COOL_OFF: '0s',
    RISK_MAX_DAILY_COUNT: '1000',
    // One platform backend sends the whole load and polls every payout each second: the limiter is not
    // under test here (test/api/rate-limit.test.ts is).
    RATE_LIMIT_PER_SECOND: '1000',
    RATE_LIMIT_BURST: '2000',
  };

  const children: { temporal?: Child; api?: Child; worker?: Child } = {};
  const logs: Record<string, string> = { temporal: '', api: '', worker: '' };
  const keep = (which: 'temporal' | 'api' | 'worker') => {
    const c = children[which];
    if (c) logs[which] += c.output();
  };

  async function restart(which: 'temporal' | 'api' | 'worker'): Promise<void> {
    keep(which);
    await children[which]?.kill();
    children[which] =
      which === 'temporal'
        ? await startTemporalDev(temporalPort, temporalDb)
        : which === 'api'
          ? await startApi(env)
          : await startWorkerProcess(env);
  }

  /** SIGKILL one process (it stays down until `restart`). */
  async function kill(which: 'temporal' | 'api' | 'worker'): Promise<void> {
    keep(which);
    const c = children[which];
    children[which] = undefined;
    await c?.kill();
  }

  await restart('temporal');
  await Promise.all([restart('worker'), restart('api')]);

  /** One HTTP call; a network error (the API is down) is status 0. */
  async function call(
    method: string,
    path: string,
    body?: unknown,
    idempotencyKey?: string,
    key = platform.key,
    timeoutMs = 30_000,
  ) {
    try {
      const res = await fetch(apiUrl + path, {
        method,
        headers: {
          authorization: `Bearer ${key}`,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
          ...(method === 'GET'
            ? {}
            : { 'idempotency-key': idempotencyKey ?? randomBytes(8).toString('hex') }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(timeoutMs),
      });
      const text = await res.text();
      // biome-ignore lint/suspicious/noExplicitAny: responses are inspected dynamically
      let parsed: any = text;
      try {
        parsed = JSON.parse(text);
      } catch {
        // not JSON
      }
      return { status: res.status, body: parsed, text };
    } catch (error) {
      return { status: 0, body: undefined, text: String(error) };
    }
  }

  /**
   * A client that retries until it gets an answer that is not transient (network error, 5xx, 409 in
   * flight, 429) with the same Idempotency-Key — bounded, so a stack that never recovers fails clearly.
   */
  async function callRetrying(
    method: string,
    path: string,
    body: unknown,
    o: { expect: number; what: string; deadlineMs?: number },
  ) {
    const idem = `fault-${randomBytes(8).toString('hex')}`;
    const deadline = Date.now() + (o.deadlineMs ?? 180_000);
    let last: Awaited<ReturnType<typeof call>> | undefined;
    let tries = 0;
    while (Date.now() < deadline) {
      tries++;
      last = await call(method, path, body, idem);
      if (last.status === o.expect) return { ...last, tries };
      const transient = last.status === 0 || last.status >= 500 || last.status === 409 || last.status === 429;
      if (!transient) throw new Error(`${o.what}: ${last.status} ${last.text}`);
      await sleep(250);
    }
    throw new Error(
      `${o.what}: no ${o.expect} within ${o.deadlineMs ?? 180_000} ms; last ${last?.status} ${last?.text}`,
    );
  }

  let payeeSeq = 0;
  /** A verified payee with a bank account and `credit` minor units of USD. */
  async function createPayee(credit: string): Promise<string> {
    payeeSeq++;
    const created = await callRetrying(
      'POST',
      '/v1/payees',
      {
        externalId: `ext-${label}-${payeeSeq}-${randomBytes(3).toString('hex')}`,
        name: `Payee ${payeeSeq}`,
        email: `payee${payeeSeq}@example.com`,
        country: 'US',
        defaultCurrency: 'USD',
        kycStatus: 'verified',
        taxProfile: { form: 'w9', tin: '123456789' },
        payoutPreferences: { preferredMethod: 'bank_account', instantOptIn: true, autoPayout: false },
      },
      { expect: 201, what: 'create payee' },
    );
    const id = created.body.id as string;
    await callRetrying(
      'PUT',
      `/v1/payees/${id}/destinations/bank_account`,
      {
        // Ends in 1234: no magic suffix of the sandbox (src/providers/sandbox/README.md).
        accountNumber: `40${String(payeeSeq).padStart(6, '0')}1234`,
        routingNumber: '011000015',
        holderName: `Payee ${payeeSeq}`,
        country: 'US',
        currency: 'USD',
      },
      { expect: 200, what: 'put destination' },
    );
    await callRetrying(
      'POST',
      `/v1/payees/${id}/credits`,
      {
        amount: { amount: credit, currency: 'USD', scale: 2 },
        reference: `earn-${randomBytes(6).toString('hex')}`,
      },
      { expect: 201, what: 'credit' },
    );
    return id;
  }

  const payoutIds: string[] = [];
  /** POST /v1/payouts, retried with the same Idempotency-Key until accepted. */
  async function requestPayout(payeeId: string, amount: string, deadlineMs?: number): Promise<string> {
    const res = await callRetrying(
      'POST',
      '/v1/payouts',
      { payeeId, amount: { amount, currency: 'USD', scale: 2 }, method: 'bank_transfer', instant: true },
      { expect: 202, what: `payout for ${payeeId}`, ...(deadlineMs ? { deadlineMs } : {}) },
    );
    const id = res.body.id as string;
    if (!payoutIds.includes(id)) payoutIds.push(id);
    return id;
  }

  const unanswered = new Map<string, string>();
  /** GET /v1/payouts/:id, retried for up to ~10 s over transient answers; undefined if it never answered. */
  async function payout(id: string): Promise<PayoutView | undefined> {
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline) {
      const res = await call('GET', `/v1/payouts/${id}`, undefined, undefined, platform.key, 10_000);
      if (res.status === 200) {
        unanswered.delete(id);
        return res.body as PayoutView;
      }
      unanswered.set(id, `${res.status} ${res.text.slice(0, 300)}`);
      if (res.status !== 0 && res.status < 500 && res.status !== 429) return undefined;
      await sleep(500);
    }
    return undefined;
  }

  /**
   * Waits until every payout is final, for at most `deadlineMs` (then what is not final is reported,
   * not waited for). Answers the last view of each.
   */
  async function settle(deadlineMs: number): Promise<Map<string, PayoutView | undefined>> {
    const views = new Map<string, PayoutView | undefined>();
    const deadline = Date.now() + deadlineMs;
    for (;;) {
      for (const id of payoutIds) {
        const prev = views.get(id);
        if (prev && FINAL_STATES.includes(prev.state as never)) continue;
        views.set(id, await payout(id));
      }
      const open = [...views.values()].filter((v) => !v || !FINAL_STATES.includes(v.state as never));
      if (open.length === 0 || Date.now() > deadline) return views;
      await sleep(1000);
    }
  }

  /** Recovery: readyz 200, a payout accepted and that payout final. Seconds from `since`, or undefined if not within `boundMs`. */
  /**
   * Seconds from `since` (the fault's end) to /readyz 200, to a new payout accepted, and to that payout final
   * (each undefined when not reached within `boundMs`).
   */
  async function recovery(since: number, probePayee: string, boundMs = 90_000): Promise<Recovery> {
    const deadline = since + boundMs;
    const elapsed = () => (Date.now() - since) / 1000;
    const r: Recovery = {};
    while (Date.now() < deadline) {
      const ready = await call('GET', '/readyz');
      if (ready.status === 200) {
        r.ready = elapsed();
        break;
      }
      await sleep(100);
    }
    try {
      const id = await requestPayout(probePayee, '100', Math.max(1000, deadline - Date.now()));
      r.accepted = elapsed();
      r.probe = id;
      while (Date.now() < deadline) {
        const v = await payout(id);
        if (v && FINAL_STATES.includes(v.state as never)) {
          r.paid = elapsed();
          break;
        }
        await sleep(100);
      }
    } catch {
      // not recovered within the bound
    }
    return r;
  }

  /** A payout's workflow events as "seconds after `since` type", one a line (where a slow recovery went). */
  async function timeline(id: string, since: number): Promise<string> {
    const h = await call('GET', `/v1/payouts/${id}/history`, undefined, undefined, operator.key);
    if (h.status !== 200) return `${h.status} ${h.text.slice(0, 300)}`;
    return (h.body.items as { eventId: number; type: string; time: string; detail?: string }[])
      .map((e) => `${((Date.parse(e.time) - since) / 1000).toFixed(1)} s  ${e.type} ${e.detail ?? ''}`.trim())
      .join('\n');
  }

  /** The invariants after a scenario, as numbers (the scenario asserts them). */
  async function check(views: Map<string, PayoutView | undefined>) {
    const counts = { payouts: views.size, paid: 0, failed: 0, pending: 0, wedged: [] as string[] };
    const finalPaid = new Set<string>();
    for (const [id, v] of views) {
      if (!v) counts.wedged.push(`${id}: GET /v1/payouts/${id} did not answer: ${unanswered.get(id)}`);
      else if (v.state === 'paid') {
        counts.paid++;
        finalPaid.add(id);
      } else if (FINAL_STATES.includes(v.state as never)) counts.failed++;
      else if (HUMAN_WAITS.includes(v.state) || (TIMER_WAITS.includes(v.state) && v.nextTimer))
        counts.pending++;
      else counts.wedged.push(`${id}: ${v.state} (no timer) ${JSON.stringify(v)}`);
    }
    // What Temporal holds of each wedged payout: its last events, or that it has no workflow at all.
    for (const [i, w] of counts.wedged.entries()) {
      const id = w.slice(0, w.indexOf(':'));
      const h = await call('GET', `/v1/payouts/${id}/history`, undefined, undefined, operator.key);
      const tail =
        h.status === 200
          ? (h.body.items as { eventId: number; type: string; detail?: string }[])
              .slice(-6)
              .map((e) => `${e.eventId} ${e.type} ${e.detail ?? ''}`.trim())
              .join(' | ')
          : `${h.status} ${h.text.slice(0, 300)}`;
      counts.wedged[i] = `${w}\n    history: ${tail}`;
    }
    const doubled = await payoutsDisbursedMoreThanOnce(db);
    const verify = await runCli('src/ledger/verify-cli.ts', [], {
      env: { DATABASE_URL: process.env.DATABASE_URL, DATABASE_SCHEMA: db.schema },
    });
    const sandboxPaid = (await sandboxTotals(db)).reduce((s, t) => s + t.paidMinor, 0n);
    // A payout still waiting for its confirmation may be paid at the sandbox and not yet in the ledger.
    let inFlightPaid = 0n;
    for (const [id, v] of views) {
      // Unknown (GET did not answer) counts as settled: the comparison then says whether the ledger has it.
      if (!v || FINAL_STATES.includes(v.state as never)) continue;
      for (const d of await listSandboxDisbursements(db, { payoutId: id }))
        if (d.state === 'paid') inFlightPaid += BigInt(d.amountMinor);
    }
    const [clearing] = await sql<{ total: string }>(
      db.em(),
      `SELECT coalesce(sum(balance), 0)::text AS total FROM "${db.schema}".ledger_accounts WHERE kind = 'provider_clearing'`,
    );
    return {
      ...counts,
      doubled,
      ledgerVerify: { code: verify.code, output: `${verify.stdout}${verify.stderr}`.trim() },
      sandboxPaid,
      inFlightPaid,
      providerClearing: BigInt(clearing?.total ?? '0'),
    };
  }

  return {
    db,
    env,
    apiUrl,
    applicationName,
    payoutIds,
    call,
    createPayee,
    requestPayout,
    payout,
    settle,
    recovery,
    timeline,
    check,
    kill,
    restart,
    /** What each process printed (for a failure message). */
    logs(which: 'temporal' | 'api' | 'worker'): string {
      return logs[which] + (children[which]?.output() ?? '');
    },
    async close() {
      await Promise.all([children.api?.kill(), children.worker?.kill()]);
      await children.temporal?.kill();
      await db.drop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export type FaultStack = Awaited<ReturnType<typeof startFaultStack>>;
