import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { isProviderError, type ProviderError, WebhookVerificationError } from '../../src/providers/errors.ts';
import { SandboxProvider } from '../../src/providers/sandbox/provider.ts';
import {
  DEFAULT_SANDBOX_SCENARIO,
  decideBehaviour,
  magicBehaviour,
} from '../../src/providers/sandbox/scenario.ts';
import {
  listSandboxDisbursements,
  payoutsDisbursedMoreThanOnce,
  sandboxTotals,
} from '../../src/providers/sandbox/store.ts';
import { generateWebhookSecret } from '../../src/webhooks/signing.ts';
import { createTestDatabase, type TestDatabase } from '../support/db.ts';
import { type RequestOverrides, submitRequest } from './submit-request.ts';

let db: TestDatabase;
let now = new Date('2026-11-21T12:00:00Z');
const clock = () => now;

async function failure(p: Promise<unknown>): Promise<ProviderError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!isProviderError(err)) throw new Error(`expected a ProviderError, got ${String(err)}`);
  return err;
}

beforeAll(async () => {
  db = await createTestDatabase('providers_sandbox');
});
afterAll(async () => {
  await db.drop();
});

describe('sandbox scenario (pure)', () => {
  it.each([
    ['DE00 1234 0001', 'decline'],
    ['acct-0002', 'outage'],
    ['0003', 'timeout_paid'],
    ['x0004', 'timeout_lost'],
    ['0005', 'retryable_then_pay'],
    ['0006', 'pay_then_return'],
    ['0007', 'pending_then_fail'],
    ['0008', 'duplicate_webhooks'],
    ['0009', 'pending_forever'],
    ['0010', undefined],
    ['001', undefined],
  ])('destination %p → %p', (destination, behaviour) => {
    expect(magicBehaviour(destination, 10_000n)).toBe(behaviour);
  });

  it.each([
    [9_901n, 'decline'],
    [19_903n, 'timeout_paid'],
    [9_909n, 'pending_forever'],
    [9_900n, undefined],
    [9_910n, undefined],
  ])('amount %p minor units → %p', (amount, behaviour) => {
    expect(magicBehaviour('US-ACCT-55512345', amount)).toBe(behaviour);
  });

  it('is deterministic per seed and key, and honours the rates', () => {
    const scenario = { ...DEFAULT_SANDBOX_SCENARIO, seed: 7, declineRateBps: 2_500 };
    const keys = Array.from({ length: 2_000 }, (_, i) => `k${i}`);
    const a = keys.map((k) =>
      decideBehaviour(scenario, { idempotencyKey: k, destination: 'x', amountMinor: 1n }),
    );
    const b = keys.map((k) =>
      decideBehaviour(scenario, { idempotencyKey: k, destination: 'x', amountMinor: 1n }),
    );
    expect(a).toEqual(b);
    const declines = a.filter((x) => x === 'decline').length;
    expect(declines).toBeGreaterThan(400);
    expect(declines).toBeLessThan(600);
    fc.assert(
      fc.property(fc.string(), fc.integer({ min: 0, max: 10_000 }), (key, rate) => {
        const s = { ...DEFAULT_SANDBOX_SCENARIO, declineRateBps: rate };
        const out = decideBehaviour(s, { idempotencyKey: key, destination: 'x', amountMinor: 1n });
        if (rate === 0) expect(out).toBe('pay');
        if (rate === 10_000) expect(out).toBe('decline');
      }),
    );
  });
});

describe('SandboxProvider', () => {
  it('pays instantly and is idempotent on the key', async () => {
    const p = new SandboxProvider({ name: 'sb_idem', db, clock });
    const req = submitRequest();
    const first = await p.submit(req);
    expect(first).toEqual({ state: 'paid', providerRef: `sb_idem_${req.idempotencyKey}` });
    expect(await p.submit(req)).toEqual(first);
    const rows = await listSandboxDisbursements(db, { payoutId: req.payoutId });
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ state: 'paid', amountMinor: 10_000n, destinationMasked: '****2345' });
    expect(JSON.stringify(rows, (_k, v) => (typeof v === 'bigint' ? v.toString() : v))).not.toContain(
      '555123',
    );
    expect(await p.status(req.idempotencyKey)).toEqual({ state: 'paid', providerRef: first.providerRef });
    expect(await p.status('unknown-key')).toEqual({ state: 'not_found' });
  });

  it('concurrent submits with one key disburse once and all answer the same', async () => {
    const p = new SandboxProvider({ name: 'sb_race', db, clock });
    const req = submitRequest();
    const results = await Promise.all(Array.from({ length: 12 }, () => p.submit(req)));
    expect(new Set(results.map((r) => JSON.stringify(r))).size).toBe(1);
    expect(await listSandboxDisbursements(db, { payoutId: req.payoutId })).toHaveLength(1);
    expect(await p.events({ idempotencyKey: req.idempotencyKey })).toHaveLength(1);
  });

  it('refuses an idempotency key reused with different parameters', async () => {
    const p = new SandboxProvider({ name: 'sb_reuse', db, clock });
    const req = submitRequest();
    await p.submit(req);
    const err = await failure(p.submit({ ...req, amount: { ...req.amount, amount: '10001' } }));
    expect([err.kind, err.code]).toEqual(['hard_decline', 'idempotency_key_reused']);
  });

  it.each([
    [
      'unsupported currency',
      { amount: { amount: '100', currency: 'JPY', scale: 0 } },
      'currency_unsupported',
    ],
    ['fractional amount', { amount: { amount: '10.5', currency: 'USD', scale: 2 } }, 'invalid_request'],
    ['unsupported country', { payee: { id: 'p', country: 'KP', name: 'X' } }, 'country_unsupported'],
  ])('declines an invalid request (%s) without recording it', async (_label, overrides, code) => {
    const p = new SandboxProvider({ name: 'sb_invalid', db, clock });
    const req = submitRequest(overrides as RequestOverrides);
    const err = await failure(p.submit(req));
    expect([err.kind, err.code]).toEqual(['hard_decline', code]);
    expect(await p.status(req.idempotencyKey)).toEqual({ state: 'not_found' });
  });

  it('hard-declines the magic decline destination, and keeps declining on retry', async () => {
    const p = new SandboxProvider({ name: 'sb_decline', db, clock });
    const req = submitRequest({ destination: 'US-0001' });
    expect((await failure(p.submit(req))).kind).toBe('hard_decline');
    expect((await p.status(req.idempotencyKey)).state).toBe('failed');
    expect((await failure(p.submit(req))).kind).toBe('hard_decline');
  });

  it('reports an outage and records nothing (per payout and per instance)', async () => {
    const p = new SandboxProvider({ name: 'sb_outage', db, clock });
    const req = submitRequest({ destination: 'US-0002' });
    expect((await failure(p.submit(req))).kind).toBe('outage');
    expect(await p.status(req.idempotencyKey)).toEqual({ state: 'not_found' });
    expect(await p.health()).toEqual({ status: 'up' });
    p.setScenario({ outage: true });
    expect((await p.health()).status).toBe('down');
    expect((await failure(p.submit(submitRequest()))).kind).toBe('outage');
    p.setScenario({ outage: false });
    expect((await p.submit(submitRequest())).state).toBe('paid');
  });

  it('timeout-but-paid: submit throws timeout, status says paid, a retry does not pay twice', async () => {
    const p = new SandboxProvider({ name: 'sb_timeout', db, clock });
    const req = submitRequest({ destination: 'US-0003' });
    const err = await failure(p.submit(req));
    expect([err.kind, err.code]).toEqual(['timeout', 'gateway_timeout']);
    expect((await p.status(req.idempotencyKey)).state).toBe('paid');
    expect((await p.submit(req)).state).toBe('paid');
    expect(await listSandboxDisbursements(db, { payoutId: req.payoutId })).toHaveLength(1);
  });

  it('timeout-lost: first submit times out with nothing recorded, the retry pays', async () => {
    const p = new SandboxProvider({ name: 'sb_lost', db, clock });
    const req = submitRequest({ destination: 'US-0004' });
    expect((await failure(p.submit(req))).kind).toBe('timeout');
    expect(await p.status(req.idempotencyKey)).toEqual({ state: 'not_found' });
    expect((await p.submit(req)).state).toBe('paid');
  });

  it('retryable errors: the first two submits of the key fail, the third pays', async () => {
    const p = new SandboxProvider({ name: 'sb_retry', db, clock });
    const req = submitRequest({ destination: 'US-0005' });
    expect((await failure(p.submit(req))).kind).toBe('retryable');
    expect((await failure(p.submit(req))).kind).toBe('retryable');
    expect((await p.submit(req)).state).toBe('paid');
    // Instance-wide: retryableFailures applies to every key; attempts survive a new instance (restart).
    const q = new SandboxProvider({ name: 'sb_retry2', db, clock, scenario: { retryableFailures: 1 } });
    const r2 = submitRequest();
    expect((await failure(q.submit(r2))).kind).toBe('retryable');
    const restarted = new SandboxProvider({
      name: 'sb_retry2',
      db,
      clock,
      scenario: { retryableFailures: 1 },
    });
    expect((await restarted.submit(r2)).state).toBe('paid');
  });

  it('batch rail: pending until the batch runs, then paid or failed', async () => {
    const p = new SandboxProvider({ name: 'sb_batch', db, clock });
    const ok = submitRequest({ rail: 'batch' });
    const bad = submitRequest({ rail: 'batch', destination: 'US-0007' });
    const never = submitRequest({ rail: 'batch', destination: 'US-0009' });
    for (const r of [ok, bad, never]) expect((await p.submit(r)).state).toBe('pending');
    expect((await p.status(ok.idempotencyKey)).state).toBe('pending');
    const events = await p.runBatch();
    expect(events.map((e) => [e.payoutId, e.type]).sort()).toEqual(
      [
        [ok.payoutId, 'paid'],
        [bad.payoutId, 'failed'],
      ].sort(),
    );
    expect((await p.status(ok.idempotencyKey)).state).toBe('paid');
    expect(await p.status(bad.idempotencyKey)).toMatchObject({
      state: 'failed',
      reason: expect.stringMatching(/rejected/),
    });
    expect((await p.status(never.idempotencyKey)).state).toBe('pending');
    expect(await p.runBatch()).toEqual([]);
  });

  it('start(): the batch timer settles pending batch payouts in the background', async () => {
    const p = new SandboxProvider({ name: 'sb_timer', db });
    const req = submitRequest({ rail: 'batch' });
    await p.submit(req);
    p.start({ pollMs: 20, batchIntervalMs: 40 });
    const until = Date.now() + 5_000;
    while ((await p.disbursement(req.idempotencyKey))?.state !== 'paid') {
      if (Date.now() > until) throw new Error('batch timer did not run');
      await new Promise((r) => setTimeout(r, 20));
    }
    await p.stop();
    expect(p.lastBackgroundError).toBeUndefined();
  });

  it('instant webhook confirmation and async failure settle after the latency (lazily, via status)', async () => {
    const p = new SandboxProvider({
      name: 'sb_async',
      db,
      clock,
      scenario: { instantConfirmation: 'webhook' },
    });
    now = new Date('2026-11-21T13:00:00Z');
    const ok = submitRequest();
    const bad = submitRequest({ destination: 'US-0007' });
    expect((await p.submit(ok)).state).toBe('pending');
    expect((await p.submit(bad)).state).toBe('pending');
    expect((await p.status(ok.idempotencyKey)).state).toBe('paid'); // latency 0: due at once
    expect((await p.status(bad.idempotencyKey)).state).toBe('failed');
    await p.stop();
  });

  it('return after paid: paid, then returned once the return time passes', async () => {
    now = new Date('2026-11-21T14:00:00Z');
    const p = new SandboxProvider({ name: 'sb_return', db, clock, scenario: { returnAfterMs: 3_600_000 } });
    const req = submitRequest({ destination: 'US-0006' });
    expect((await p.submit(req)).state).toBe('paid');
    expect((await p.status(req.idempotencyKey)).state).toBe('paid');
    now = new Date('2026-11-21T15:00:01Z');
    expect(await p.status(req.idempotencyKey)).toMatchObject({
      state: 'returned',
      reason: 'returned: account_closed',
    });
    expect((await p.events({ idempotencyKey: req.idempotencyKey })).map((e) => e.type)).toEqual([
      'paid',
      'returned',
    ]);
    await p.stop();
  });

  it('cancel: a pending payout is cancelled, a paid one is not', async () => {
    const p = new SandboxProvider({ name: 'sb_cancel', db, clock });
    const pending = submitRequest({ rail: 'batch' });
    const paid = submitRequest();
    await p.submit(pending);
    await p.submit(paid);
    expect(await p.cancel(pending.idempotencyKey)).toEqual({
      cancelled: true,
      state: 'failed',
      reason: 'cancelled',
    });
    expect(await p.runBatch()).toEqual([]);
    expect(await p.cancel(paid.idempotencyKey)).toMatchObject({ cancelled: false, state: 'paid' });
    // An unknown key is voided: a submission with it arriving later is refused and records nothing.
    expect(await p.cancel('nope')).toEqual({
      cancelled: true,
      state: 'not_found',
      reason: 'voided: never submitted',
    });
    expect(await p.cancel('nope')).toMatchObject({ cancelled: true, state: 'not_found' });
    const late = await failure(p.submit(submitRequest({ idempotencyKey: 'nope' })));
    expect([late.kind, late.code]).toEqual(['hard_decline', 'idempotency_key_voided']);
    expect(await p.status('nope')).toEqual({ state: 'not_found' });
  });

  it('state survives a restart: a new instance settles what the old one left pending', async () => {
    const before = new SandboxProvider({ name: 'sb_restart', db, clock });
    const req = submitRequest({ rail: 'batch' });
    await before.submit(req);
    await before.stop();
    const after = new SandboxProvider({ name: 'sb_restart', db, clock });
    await after.runBatch();
    expect((await after.status(req.idempotencyKey)).state).toBe('paid');
  });

  it('at-most-once queries see across providers; totals add up', async () => {
    const a = new SandboxProvider({ name: 'sb_tot_a', db, clock });
    const b = new SandboxProvider({ name: 'sb_tot_b', db, clock });
    const first = submitRequest({ amount: { amount: '700', currency: 'EUR', scale: 2 } });
    await a.submit(first);
    expect((await payoutsDisbursedMoreThanOnce(db)).map((d) => d.payoutId)).not.toContain(first.payoutId);
    // A buggy caller pays the same payout again on another provider: the query catches it.
    await b.submit({ ...first, idempotencyKey: `${first.payoutId}-2` });
    const dup = (await payoutsDisbursedMoreThanOnce(db)).find((d) => d.payoutId === first.payoutId);
    expect(dup).toEqual({
      payoutId: first.payoutId,
      count: 2,
      providers: [`sb_tot_a/${first.idempotencyKey}`, `sb_tot_b/${first.payoutId}-2`],
    });
    const [eurA] = await sandboxTotals(db, 'sb_tot_a');
    expect(eurA).toEqual({
      currency: 'EUR',
      paidMinor: 700n,
      returnedMinor: 0n,
      pendingMinor: 0n,
      failedMinor: 0n,
      paidCount: 1,
    });
  });
});

describe('SandboxProvider webhooks', () => {
  let server: Server;
  let url: string;
  const received: { headers: IncomingMessage['headers']; body: Buffer }[] = [];
  let failRemaining = 0;

  beforeAll(async () => {
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        if (failRemaining > 0) {
          failRemaining--;
          res.writeHead(500).end();
          return;
        }
        received.push({ headers: req.headers, body: Buffer.concat(chunks) });
        res.writeHead(200).end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks`;
  });
  afterAll(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  const waitFor = async (predicate: () => boolean, ms = 5_000) => {
    const until = Date.now() + ms;
    while (!predicate()) {
      if (Date.now() > until) throw new Error('timed out waiting for webhooks');
      await new Promise((r) => setTimeout(r, 20));
    }
  };

  it('POSTs signed events that parseWebhook verifies; duplicates carry the same id', async () => {
    now = new Date();
    const secret = generateWebhookSecret();
    const p = new SandboxProvider({ name: 'sb_hooks', db, webhook: { url, secret } });
    const single = submitRequest();
    const dup = submitRequest({ destination: 'US-0008' });
    await p.submit(single);
    await p.submit(dup);
    await waitFor(() => received.length >= 3);
    await p.stop();
    const events = received.flatMap((r) => p.parseWebhook(r.body, r.headers as Record<string, string>));
    expect(events.filter((e) => e.payoutId === single.payoutId)).toHaveLength(1);
    const dups = events.filter((e) => e.payoutId === dup.payoutId);
    expect(dups).toHaveLength(2);
    expect(dups[0]).toEqual(dups[1]);
    expect(dups[0]).toMatchObject({
      eventId: `sb_hooks.paid.${dup.idempotencyKey}`,
      idempotencyKey: dup.idempotencyKey,
      type: 'paid',
    });
    const [first] = received;
    expect(() =>
      p.parseWebhook(
        Buffer.concat([first!.body, Buffer.from(' ')]),
        first!.headers as Record<string, string>,
      ),
    ).toThrow(WebhookVerificationError);
    const other = new SandboxProvider({ name: 'sb_hooks', db, webhookSecret: generateWebhookSecret() });
    expect(() => other.parseWebhook(first!.body, first!.headers as Record<string, string>)).toThrow(
      /no webhook-signature matches/,
    );
    expect((await p.events({ idempotencyKey: single.idempotencyKey }))[0]?.deliveredAt).toBeInstanceOf(Date);
  });

  it('retries a failed webhook POST on a later tick', async () => {
    received.length = 0;
    const secret = generateWebhookSecret();
    const p = new SandboxProvider({ name: 'sb_hooks_retry', db, webhook: { url, secret } });
    failRemaining = 1;
    const req = submitRequest();
    await p.submit(req);
    await waitFor(() => received.length >= 1);
    await p.stop();
    const [event] = await p.events({ idempotencyKey: req.idempotencyKey });
    expect(event?.attempts).toBe(2);
    expect(
      p.parseWebhook(received[0]!.body, received[0]!.headers as Record<string, string>)[0]?.payoutId,
    ).toBe(req.payoutId);
  });
});
