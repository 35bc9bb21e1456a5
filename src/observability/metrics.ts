// Prometheus metrics of a Disburse process: one registry per process (npm start serves API and worker
// metrics together). Events are counted where they happen; queue depths and ages are read from the
// database on each scrape, with bounded, indexed queries (open states only, never the paid history).
//
// prom-client values are doubles: amounts are counted in integer minor units, exact up to 2^53 minor
// units per series (90 trillion dollars in cents); beyond that the metric rounds — the ledger never does.
import type { EntityManager } from '@mikro-orm/postgresql';
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import { sql } from '../db/sql.ts';
import { FINAL_STATES, PAYOUT_STATES } from '../payouts/state.ts';
import { inSpan } from './spans.ts';

export const registry = new Registry();
collectDefaultMetrics({ register: registry, prefix: 'disburse_process_' });

const seconds = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

export const httpDuration = new Histogram({
  name: 'disburse_http_request_duration_seconds',
  help: 'HTTP API request latency by method, route pattern and status code',
  labelNames: ['method', 'route', 'status'] as const,
  buckets: seconds,
  registers: [registry],
});

export const payoutTransitions = new Counter({
  name: 'disburse_payout_transitions_total',
  help: 'Payout states committed by the workflow (final states are the outcomes: paid, failed, returned, rejected, cancelled)',
  labelNames: ['state'] as const,
  registers: [registry],
});

export const paidMinor = new Counter({
  name: 'disburse_payout_paid_minor_units_total',
  help: 'Net amount settled to providers, in integer minor units of the currency (exact up to 2^53 per series)',
  labelNames: ['currency'] as const,
  registers: [registry],
});

export const providerCallDuration = new Histogram({
  name: 'disburse_provider_call_duration_seconds',
  help: 'Provider adapter calls by provider, operation (submit, status, cancel) and result (the state answered, or error:<kind>)',
  labelNames: ['provider', 'operation', 'result'] as const,
  buckets: seconds,
  registers: [registry],
});

export const providerCallErrors = new Counter({
  name: 'disburse_provider_call_errors_total',
  help: 'Provider adapter calls that threw, by provider, operation and error kind',
  labelNames: ['provider', 'operation', 'kind'] as const,
  registers: [registry],
});

export const webhookDeliveryFailures = new Counter({
  name: 'disburse_webhook_delivery_failures_total',
  help: 'Outbound webhook deliveries refused or unreachable, per endpoint attempt (the activity retries them)',
  registers: [registry],
});

const ledgerVerifyOk = new Gauge({
  name: 'disburse_ledger_verify_ok',
  help: 'Result of the last ledger verification run by this process: 1 ok, 0 violations (absent: none ran)',
  registers: [registry],
});
const ledgerVerifyViolations = new Gauge({
  name: 'disburse_ledger_verify_violations',
  help: 'Violations found by the last ledger verification run by this process',
  registers: [registry],
});
const ledgerVerifyAt = new Gauge({
  name: 'disburse_ledger_verify_last_run_timestamp_seconds',
  help: 'When the last ledger verification run by this process finished',
  registers: [registry],
});

export function recordLedgerVerify(report: { ok: boolean; violations: readonly unknown[] }, at = new Date()) {
  ledgerVerifyOk.set(report.ok ? 1 : 0);
  ledgerVerifyViolations.set(report.violations.length);
  ledgerVerifyAt.set(at.getTime() / 1000);
}

/** Times one provider call; the result label is the state it answered (`ok` when it has none). */
export function timeProviderCall<T>(provider: string, operation: string, call: () => Promise<T>) {
  return inSpan(`provider.${operation}`, { 'disburse.provider': provider }, () =>
    timed(provider, operation, call),
  );
}

async function timed<T>(provider: string, operation: string, call: () => Promise<T>) {
  const end = providerCallDuration.startTimer({ provider, operation });
  try {
    const out = await call();
    const state = (out as { state?: unknown } | undefined)?.state;
    end({ result: typeof state === 'string' ? state : 'ok' });
    return out;
  } catch (error) {
    const kind = (error as { kind?: unknown }).kind;
    const label = typeof kind === 'string' ? kind : (error as Error)?.name || 'error';
    end({ result: `error:${label}` });
    providerCallErrors.inc({ provider, operation, kind: label });
    throw error;
  }
}

// Open states only: the scrape reads a handful of index ranges however long the paid history grows.
const OPEN_STATES = PAYOUT_STATES.filter((s) => !FINAL_STATES.includes(s));

const payoutsOpen = new Gauge({
  name: 'disburse_payouts_open',
  help: 'Payouts currently in each non-final state (from the database at scrape time)',
  labelNames: ['state'] as const,
  registers: [registry],
});
const payoutsOldest = new Gauge({
  name: 'disburse_payouts_open_oldest_age_seconds',
  help: 'Age of the oldest payout in each non-final state since its last transition: unknown_outcome, review and pending_approval are the queues to alert on',
  labelNames: ['state'] as const,
  registers: [registry],
});
const outboxPending = new Gauge({
  name: 'disburse_webhook_outbox_pending',
  help: 'Outbound webhook events committed but not yet delivered',
  registers: [registry],
});
const outboxLag = new Gauge({
  name: 'disburse_webhook_outbox_lag_seconds',
  help: 'Age of the oldest undelivered outbound webhook event (0 when none waits)',
  registers: [registry],
});
const periodsByStatus = new Gauge({
  name: 'disburse_periods',
  help: 'Commission periods by status (open, closed, reopened, posted, completed)',
  labelNames: ['status'] as const,
  registers: [registry],
});
const periodBatches = new Gauge({
  name: 'disburse_period_close_batches',
  help: 'Batches committed by each period close still in progress, by stage (calculate, post) of its current run',
  labelNames: ['period', 'stage'] as const,
  registers: [registry],
});

export interface ScrapeSource {
  em(): EntityManager;
  schema: string;
}

async function readDatabaseGauges(db: ScrapeSource): Promise<void> {
  const q = (table: string) => `"${db.schema}".${table}`;
  const em = db.em();
  const open = await sql<{ state: string; n: string; age: number | null }>(
    em,
    `SELECT state, count(*)::text AS n, extract(epoch FROM now() - min(updated_at))::float8 AS age
       FROM ${q('payouts')} WHERE state = ANY($1) GROUP BY state`,
    [OPEN_STATES],
  );
  payoutsOpen.reset();
  payoutsOldest.reset();
  for (const s of OPEN_STATES) {
    const row = open.find((r) => r.state === s);
    payoutsOpen.set({ state: s }, Number(row?.n ?? 0));
    payoutsOldest.set({ state: s }, row?.age ?? 0);
  }
  const [outbox] = await sql<{ n: string; lag: number | null }>(
    em,
    `SELECT count(*)::text AS n, extract(epoch FROM now() - min(created_at))::float8 AS lag
       FROM ${q('webhook_outbox')} WHERE delivered_at IS NULL`,
  );
  outboxPending.set(Number(outbox?.n ?? 0));
  outboxLag.set(outbox?.lag ?? 0);
  const periods = await sql<{ status: string; n: string }>(
    em,
    `SELECT status, count(*)::text AS n FROM ${q('periods')} GROUP BY status`,
  );
  periodsByStatus.reset();
  for (const r of periods) periodsByStatus.set({ status: r.status }, Number(r.n));
  const batches = await sql<{ period_id: string; stage: string; n: string }>(
    em,
    `SELECT b.period_id, b.stage, count(*)::text AS n
       FROM ${q('periods')} p JOIN ${q('period_batches')} b ON b.period_id = p.id AND b.run = p.run
      WHERE p.status <> 'completed' GROUP BY b.period_id, b.stage`,
  );
  periodBatches.reset();
  for (const r of batches) periodBatches.set({ period: r.period_id, stage: r.stage }, Number(r.n));
}

/** The exposition text: the database gauges read now (when a database is given), then every metric. */
export async function scrape(db?: ScrapeSource): Promise<string> {
  if (db) await readDatabaseGauges(db);
  return registry.metrics();
}

export const METRICS_CONTENT_TYPE = registry.contentType;

const TIMED = new Set(['submit', 'status', 'cancel']);
const instrumented = new WeakMap<object, object>();

/** The adapter with its submit, status and cancel calls timed under its name; everything else as is. */
export function instrumentProvider<P extends object>(p: P, name: string): P {
  let out = instrumented.get(p) as P | undefined;
  if (!out) {
    out = new Proxy(p, {
      get(target, prop) {
        const v = Reflect.get(target, prop, target);
        if (typeof v !== 'function') return v;
        if (typeof prop === 'string' && TIMED.has(prop)) {
          return (...args: unknown[]) => timeProviderCall(name, prop, () => v.apply(target, args));
        }
        return v.bind(target);
      },
    });
    instrumented.set(p, out);
  }
  return out;
}
