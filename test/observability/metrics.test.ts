// GET /metrics after payouts through the real stack: transitions, paid amounts equal to the ledger,
// provider call latency, queue depth from the database, HTTP latency by route pattern, ledger verify.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { sql } from '../../src/db/sql.ts';
import { runLedgerVerify } from '../../src/observability/ledger-verify.ts';
import { startMetricsServer } from '../../src/observability/metrics-http.ts';
import { parseExposition, type Sample, samples, value } from '../support/prometheus.ts';
import { type Stack, startStack } from '../support/stack.ts';

describe('metrics', () => {
  let stack: Stack;
  let paid: string;
  let held: string;
  let scraped: Sample[];

  beforeAll(async () => {
    stack = await startStack('metrics', {
      env: { APPROVAL_THRESHOLD_SINGLE: 'USD:50000', APPROVAL_THRESHOLD_DUAL: 'USD:90000' },
    });
    const payee = await stack.createPayee({ credit: '200000' });
    paid = await stack.requestPayout(payee, '1234');
    expect((await stack.result(paid)).state).toBe('paid');
    held = await stack.requestPayout(payee, '60000'); // above the approval threshold: waits for an approver
    await stack.waitForState(held, ['pending_approval']);
    stack.expectStatus(await stack.call('GET', `/v1/payouts/${paid}`), 200, 'get payout');
    await runLedgerVerify(stack.db);
    const res = await stack.call('GET', '/metrics', { key: null });
    expect(res.status).toBe(200);
    expect(res.contentType).toMatch(/^text\/plain; version=0\.0\.4/);
    scraped = parseExposition(res.text);
  });
  afterAll(async () => {
    await stack?.assertInvariants();
    await stack?.close();
  });

  it('counts committed payout states, the outcome paid among them', () => {
    expect(value(scraped, 'disburse_payout_transitions_total', { state: 'paid' })).toBe(1);
    expect(value(scraped, 'disburse_payout_transitions_total', { state: 'pending_approval' })).toBe(1);
    expect(samples(scraped, 'disburse_payout_transitions_total', { state: 'failed' })).toEqual([]);
  });

  it('counts paid minor units per currency exactly as the ledger settled them to providers', async () => {
    const [row] = await sql<{ total: string }>(
      stack.db.em(),
      `SELECT coalesce(sum(balance), 0)::text AS total FROM "${stack.db.schema}".ledger_accounts
        WHERE kind = 'provider_clearing' AND currency = 'USD'`,
    );
    const settled = Number(row!.total);
    expect(settled).toBeGreaterThan(0);
    expect(value(scraped, 'disburse_payout_paid_minor_units_total', { currency: 'USD' })).toBe(settled);
  });

  it('times provider calls by provider, operation and result', () => {
    const submits = samples(scraped, 'disburse_provider_call_duration_seconds_count', {
      provider: 'sandbox',
      operation: 'submit',
    });
    expect(submits.reduce((n, s) => n + s.value, 0)).toBe(1);
    expect(submits[0]!.labels.result).toMatch(/^(paid|pending)$/);
    expect(samples(scraped, 'disburse_provider_call_errors_total')).toEqual([]);
  });

  it('reads open payouts and their age from the database at scrape time', () => {
    expect(value(scraped, 'disburse_payouts_open', { state: 'pending_approval' })).toBe(1);
    expect(value(scraped, 'disburse_payouts_open', { state: 'unknown_outcome' })).toBe(0);
    expect(
      value(scraped, 'disburse_payouts_open_oldest_age_seconds', { state: 'pending_approval' }),
    ).toBeGreaterThanOrEqual(0);
    expect(value(scraped, 'disburse_webhook_outbox_pending')).toBeGreaterThanOrEqual(0);
    expect(samples(scraped, 'disburse_webhook_outbox_lag_seconds')).toHaveLength(1);
  });

  it('labels HTTP latency by route pattern, never by raw path', () => {
    expect(
      value(scraped, 'disburse_http_request_duration_seconds_count', {
        method: 'POST',
        route: '/v1/payouts',
        status: '202',
      }),
    ).toBe(2);
    expect(
      value(scraped, 'disburse_http_request_duration_seconds_count', {
        method: 'GET',
        route: '/v1/payouts/:id',
        status: '200',
      }),
    ).toBe(1);
    const routes = samples(scraped, 'disburse_http_request_duration_seconds_count').map(
      (s) => s.labels.route,
    );
    expect(routes.filter((r) => r?.includes('po_'))).toEqual([]);
  });

  it('exposes the last ledger verification', () => {
    expect(value(scraped, 'disburse_ledger_verify_ok')).toBe(1);
    expect(value(scraped, 'disburse_ledger_verify_violations')).toBe(0);
  });

  it('serves the worker port, behind METRICS_TOKEN when one is set', async () => {
    const token = 'metrics-token-0123456789';
    const server = await startMetricsServer({ port: 0, host: '127.0.0.1', db: stack.db, token });
    try {
      const refused = await fetch(`${server.url}/metrics`);
      expect(refused.status).toBe(401);
      const wrong = await fetch(`${server.url}/metrics`, { headers: { authorization: 'Bearer nope' } });
      expect(wrong.status).toBe(401);
      const ok = await fetch(`${server.url}/metrics`, { headers: { authorization: `Bearer ${token}` } });
      expect(ok.status).toBe(200);
      const body = parseExposition(await ok.text());
      expect(value(body, 'disburse_payouts_open', { state: 'pending_approval' })).toBe(1);
    } finally {
      await server.close();
    }
  });
});
