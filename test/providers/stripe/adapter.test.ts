import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { WebhookVerificationError } from '../../../src/providers/errors.ts';
import { Secret } from '../../../src/providers/shared/secrets.ts';
import { StripeProvider } from '../../../src/providers/stripe/provider.ts';
import type { ProviderEvent, SubmitRequest } from '../../../src/providers/types.ts';
import { FakeStripe } from '../../fakes/stripe/server.ts';
import { createTestDatabase, type TestDatabase } from '../../support/db.ts';
import { failure, WebhookReceiver } from '../support.ts';

const KEY = 'sk_test_contract0123456789';
const WHSEC = 'whsec_Y29udHJhY3Qtc2VjcmV0';
let db: TestDatabase;
let fake: FakeStripe;
const receiver = new WebhookReceiver();
const received = receiver.received;
let seq = 0;

function provider(o: { timeoutMs?: number; secrets?: string[]; name?: string } = {}): StripeProvider {
  return new StripeProvider({
    name: o.name ?? 'stripe',
    db,
    secretKey: new Secret(KEY, 'TEST'),
    webhookSecrets: (o.secrets ?? [WHSEC]).map((s) => new Secret(s, 'TEST')),
    apiBase: fake.url,
    timeoutMs: o.timeoutMs ?? 5_000,
  });
}

function request(destination: string, o: Partial<SubmitRequest> = {}): SubmitRequest {
  seq++;
  return {
    idempotencyKey: `po_c${seq}:1`,
    payoutId: `po_c${seq}`,
    amount: { amount: '2500', currency: 'USD', scale: 2 },
    method: 'card',
    rail: 'instant',
    destination,
    payee: { id: `pe_${seq}`, country: 'US', name: 'Payee' },
    ...o,
  };
}

/** The provider events of every webhook the fake sent so far (each delivery parsed by the adapter). */
async function webhookEvents(p: StripeProvider): Promise<ProviderEvent[]> {
  await fake.webhooksSent();
  const out: ProviderEvent[] = [];
  for (const r of received) out.push(...(await p.parseWebhook(r.body, r.headers)));
  return out;
}

beforeAll(async () => {
  db = await createTestDatabase('stripe_contract');
  await receiver.start();
  fake = new FakeStripe({ secretKey: KEY });
  await fake.start();
  fake.webhook = { url: receiver.url, secret: WHSEC };
});
afterEach(() => {
  fake.faults = [];
  fake.autoSettleInstant = true;
  fake.duplicateWebhooks = false;
  received.length = 0;
});
afterAll(async () => {
  await fake?.stop();
  await receiver?.stop();
  await db?.drop();
});

describe('Stripe adapter against the fake Stripe', () => {
  it('instant: transfer to the connected account, instant payout to its debit card, confirmed by payout.paid', async () => {
    const p = provider();
    const acct = fake.addAccount();
    const card = acct.externalAccounts[0]!.id;
    const req = request(`${acct.id}:${card}`);
    const res = await p.submit(req);
    expect(res.state).toBe('pending');
    const payout = fake.payout(res.providerRef)!;
    expect([payout.method, payout.destination, payout.amount, payout.currency]).toEqual([
      'instant',
      card,
      2500,
      'usd',
    ]);
    expect(payout.metadata).toEqual({
      disburse_payout_id: req.payoutId,
      disburse_idempotency_key: req.idempotencyKey,
      disburse_provider: 'stripe',
    });
    // Each request carried its own key derived from the attempt key.
    expect(
      fake.requests
        .filter((r) => r.idempotencyKey?.startsWith(req.idempotencyKey))
        .map((r) => r.idempotencyKey),
    ).toEqual([`${req.idempotencyKey}:transfer`, `${req.idempotencyKey}:payout`]);
    const events = await webhookEvents(p);
    expect(events).toEqual([
      expect.objectContaining({ type: 'paid', idempotencyKey: req.idempotencyKey, payoutId: req.payoutId }),
    ]);
    expect(await p.status(req.idempotencyKey)).toEqual({ state: 'paid', providerRef: res.providerRef });
    expect(acct.balance.usd).toBe(0); // all of it went out to the card
  });

  it('scheduled: a standard payout to the default bank account stays pending until its arrival date', async () => {
    const p = provider();
    const acct = fake.addAccount();
    const req = request(`stripe/${acct.id}`, { method: 'wallet', rail: 'batch' });
    const res = await p.submit(req);
    const payout = fake.payout(res.providerRef)!;
    expect([res.state, payout.method, payout.type]).toEqual(['pending', 'standard', 'bank_account']);
    expect((await p.status(req.idempotencyKey)).state).toBe('pending');
    fake.advanceDays(2);
    expect((await webhookEvents(p)).map((e) => e.type)).toEqual(['paid']);
    expect((await p.status(req.idempotencyKey)).state).toBe('paid');
  });

  it('a retried submit (same attempt key) replays the same transfer and payout: one disbursement', async () => {
    const p = provider();
    const acct = fake.addAccount();
    const req = request(acct.id);
    const first = await p.submit(req);
    const again = await p.submit(req);
    expect(again.providerRef).toBe(first.providerRef);
    expect(fake.payoutsFor(req.payoutId)).toHaveLength(1);
    expect([...fake.transfers.values()].filter((t) => t.transfer_group === req.idempotencyKey)).toHaveLength(
      1,
    );
  });

  it('the same key with other parameters is refused: by the journal, and by Stripe (400 idempotency_error)', async () => {
    const p = provider();
    const acct = fake.addAccount();
    const req = request(acct.id);
    await p.submit(req);
    const reused = await failure(p.submit({ ...req, amount: { ...req.amount, amount: '2600' } }));
    expect([reused.kind, reused.code]).toEqual(['hard_decline', 'idempotency_key_reused']);
    // Stripe's own check, as the fake implements it: same key, different body.
    const res = await fetch(`${fake.url}/v1/transfers`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${KEY}`,
        'idempotency-key': `${req.idempotencyKey}:transfer`,
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: `amount=1&currency=usd&destination=${acct.id}`,
    });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { type: string } }).error.type).toBe('idempotency_error');
  });

  it('429 and 503 are retryable with the same key; the retry pays once', async () => {
    const p = provider();
    const acct = fake.addAccount();
    const req = request(acct.id);
    fake.faults = [{ kind: 'status', status: 429, method: 'POST', path: /^\/v1\/transfers$/ }];
    expect((await failure(p.submit(req))).kind).toBe('retryable');
    fake.faults = [{ kind: 'status', status: 503, method: 'POST', path: /^\/v1\/payouts$/ }];
    expect((await failure(p.submit(req))).kind).toBe('retryable');
    expect((await p.submit(req)).state).toBe('pending');
    expect(fake.payoutsFor(req.payoutId)).toHaveLength(1);
  });

  it('a connection refused is retryable; latency below the timeout is just slow', async () => {
    const acct = fake.addAccount();
    const closed = new StripeProvider({
      name: 'stripe',
      db,
      secretKey: new Secret(KEY, 'TEST'),
      webhookSecrets: [],
      apiBase: 'http://127.0.0.1:1',
    });
    const err = await failure(closed.submit(request(acct.id)));
    expect([err.kind, err.code]).toEqual(['retryable', 'connection_refused']);
    fake.faults = [{ kind: 'latency', ms: 50, times: 2 }];
    expect((await provider().submit(request(acct.id))).state).toBe('pending');
  });

  it('a timeout after Stripe made the payout is an unknown outcome; status() finds the payout; a retry does not pay twice', async () => {
    const p = provider({ timeoutMs: 300 });
    const acct = fake.addAccount();
    const req = request(acct.id);
    fake.faults = [{ kind: 'timeout_after', ms: 2_000, method: 'POST', path: /^\/v1\/payouts$/ }];
    const err = await failure(p.submit(req));
    expect(err.kind).toBe('timeout');
    expect(fake.payoutsFor(req.payoutId)).toHaveLength(1); // it did happen
    await fake.webhooksSent();
    const status = await p.status(req.idempotencyKey);
    expect(status.state).toBe('paid');
    expect(status.providerRef).toBe(fake.payoutsFor(req.payoutId)[0]!.id);
    expect((await p.submit(req)).providerRef).toBe(status.providerRef);
    expect(fake.payoutsFor(req.payoutId)).toHaveLength(1);
  });

  it('a 500 is an unknown outcome (Stripe says the result is indeterminate)', async () => {
    const p = provider();
    const acct = fake.addAccount();
    fake.faults = [{ kind: 'status', status: 500, method: 'POST', path: /^\/v1\/transfers$/ }];
    expect((await failure(p.submit(request(acct.id)))).kind).toBe('timeout');
  });

  it('a refused payout is a hard decline and the transfer is reversed: nothing left the platform', async () => {
    const p = provider();
    const acct = fake.addAccount({ refusePayouts: 'payouts_not_allowed' });
    const before = fake.platformBalance.usd;
    const req = request(acct.id);
    const err = await failure(p.submit(req));
    expect([err.kind, err.code]).toEqual(['hard_decline', 'payouts_not_allowed']);
    expect(fake.platformBalance.usd).toBe(before);
    const transfer = [...fake.transfers.values()].find((t) => t.transfer_group === req.idempotencyKey)!;
    expect(transfer.reversed).toBe(true);
    expect((await p.status(req.idempotencyKey)).state).toBe('failed');
    // A retry of this attempt stays declined and moves nothing.
    expect((await failure(p.submit(req))).kind).toBe('hard_decline');
    expect(fake.platformBalance.usd).toBe(before);
  });

  it('instant to a card that does not take instant payouts, or an unknown account: hard declines', async () => {
    const p = provider();
    const acct = fake.addAccount({
      externalAccounts: [
        { id: 'ba_standardonly01', object: 'bank_account', currency: 'usd', instant: false },
      ],
    });
    const instant = await failure(p.submit(request(`${acct.id}:ba_standardonly01`)));
    expect([instant.kind, instant.code]).toEqual(['hard_decline', 'instant_payouts_unsupported']);
    const unknown = await failure(p.submit(request('acct_doesnotexist1')));
    expect([unknown.kind, unknown.code]).toEqual(['hard_decline', 'resource_missing']);
    // Account ids in Stripe's messages are masked before they reach a log line.
    expect(unknown.message).toContain("No such account: 'acct_****ist1'");
    const notStripe = await failure(p.submit(request('domestic/US/011000015/4000123')));
    expect([notStripe.kind, notStripe.code]).toEqual(['hard_decline', 'invalid_destination']);
  });

  it('a wrong API key is an outage (every payout would fail the same way); health says down', async () => {
    const bad = new StripeProvider({
      name: 'stripe',
      db,
      secretKey: new Secret('sk_test_wrongkey000', 'TEST'),
      webhookSecrets: [],
      apiBase: fake.url,
    });
    const acct = fake.addAccount();
    expect((await failure(bad.submit(request(acct.id)))).kind).toBe('outage');
    expect((await bad.health()).status).toBe('down');
    expect((await provider().health()).status).toBe('up');
  });

  it('cancel: a pending payout is cancelled at Stripe and its transfer reversed', async () => {
    const p = provider();
    const acct = fake.addAccount();
    const req = request(acct.id, { rail: 'batch' });
    const res = await p.submit(req);
    const before = fake.platformBalance.usd;
    expect(await p.cancel(req.idempotencyKey)).toEqual({
      cancelled: true,
      state: 'failed',
      reason: 'cancelled',
    });
    expect(fake.payout(res.providerRef)!.status).toBe('canceled');
    expect(fake.platformBalance.usd).toBe(before! + 2500);
    expect((await webhookEvents(p)).map((e) => [e.type, e.reason])).toEqual([['failed', 'canceled']]);
  });

  it('cancel says truthfully when it cannot: a paid payout', async () => {
    const p = provider();
    const acct = fake.addAccount();
    const req = request(acct.id);
    await p.submit(req);
    await fake.webhooksSent();
    expect(await p.cancel(req.idempotencyKey)).toEqual({
      cancelled: false,
      state: 'paid',
      reason: 'already paid',
    });
  });

  it('cancel of a key never sent voids it: a late submit with that key is refused and nothing moves', async () => {
    const p = provider();
    const acct = fake.addAccount();
    const req = request(acct.id);
    expect(await p.cancel(req.idempotencyKey)).toEqual({
      cancelled: true,
      state: 'not_found',
      reason: 'voided: never submitted',
    });
    const err = await failure(p.submit(req));
    expect([err.kind, err.code]).toEqual(['hard_decline', 'idempotency_key_voided']);
    expect(fake.payoutsFor(req.payoutId)).toHaveLength(0);
    expect(await p.status(req.idempotencyKey)).toEqual({ state: 'not_found' });
  });

  it('a failure before paid is failed; a paid payout sent back days later is returned', async () => {
    const p = provider();
    const acct = fake.addAccount();
    fake.autoSettleInstant = false;
    const failing = request(acct.id);
    const f = await p.submit(failing);
    fake.fail(f.providerRef, 'could_not_process');
    const paying = request(acct.id);
    const r = await p.submit(paying);
    fake.settle(r.providerRef);
    const events = await webhookEvents(p);
    expect(events.map((e) => [e.payoutId, e.type])).toEqual([
      [failing.payoutId, 'failed'],
      [paying.payoutId, 'paid'],
    ]);
    expect((await p.status(failing.idempotencyKey)).state).toBe('failed');
    expect((await p.status(paying.idempotencyKey)).state).toBe('paid');
    // The failed payout's funds went back to the connected account: the adapter takes them back to the platform.
    await p.idle();
    const transferOf = (key: string) => [...fake.transfers.values()].find((t) => t.transfer_group === key)!;
    expect(transferOf(failing.idempotencyKey).reversed).toBe(true);
    expect(transferOf(paying.idempotencyKey).reversed).toBe(false);
    received.length = 0;
    fake.returnPayout(r.providerRef, { code: 'account_closed', days: 4 });
    const returned = await webhookEvents(p);
    expect(returned).toEqual([
      expect.objectContaining({
        type: 'returned',
        payoutId: paying.payoutId,
        reason: expect.stringMatching(/^account_closed/),
      }),
    ]);
    expect((await p.status(paying.idempotencyKey)).state).toBe('returned');
    await p.idle();
    expect(transferOf(paying.idempotencyKey).reversed).toBe(true);
    expect(acct.balance.usd).toBe(0);
    expect(p.lastBackgroundError).toBeUndefined();
    // A late retry of that attempt says what happened (it paid) and sends nothing new.
    expect(await p.submit(paying)).toEqual({ state: 'paid', providerRef: r.providerRef });
    expect(fake.payoutsFor(paying.payoutId)).toHaveLength(1);
  });

  it('webhooks: duplicates carry the same event id; bad or stale signatures are refused; rotation accepts both secrets', async () => {
    const p = provider();
    const acct = fake.addAccount();
    fake.duplicateWebhooks = true;
    await p.submit(request(acct.id));
    const events = await webhookEvents(p);
    expect(events).toHaveLength(2);
    expect(events[0]!.eventId).toBe(events[1]!.eventId);
    const { body, headers } = received[0]!;
    const refused = async (h: Record<string, string | undefined>, raw = body, q = p) => {
      try {
        await q.parseWebhook(raw, h);
      } catch (err) {
        if (err instanceof WebhookVerificationError) return err.code;
        throw err;
      }
      return 'accepted';
    };
    expect(await refused({})).toBe('missing_signature');
    expect(
      await refused(headers, Buffer.from(body.toString().replace('"payout.paid"', '"payout.failed"'))),
    ).toBe('invalid_signature');
    const stale = FakeStripe.sign(WHSEC, body.toString(), Math.floor(Date.now() / 1000) - 3600);
    expect(await refused({ 'stripe-signature': stale })).toBe('stale_timestamp');
    const rotated = provider({ secrets: ['whsec_bmV3LXNlY3JldA==', WHSEC] });
    expect(await refused(headers, body, rotated)).toBe('accepted');
    expect(await refused(headers, body, provider({ secrets: ['whsec_bmV3LXNlY3JldA=='] }))).toBe(
      'invalid_signature',
    );
    // Events of payouts this instance did not make (no disburse metadata, another instance) are acknowledged, not mapped.
    const foreign = JSON.stringify({
      ...JSON.parse(body.toString()),
      id: 'evt_foreign',
      data: { object: { id: 'po_x', metadata: {} } },
    });
    expect(
      await p.parseWebhook(Buffer.from(foreign), { 'stripe-signature': FakeStripe.sign(WHSEC, foreign) }),
    ).toEqual([]);
    expect(await provider({ name: 'stripe_eu' }).parseWebhook(body, headers)).toEqual([]);
  });

  it('a failure after the arrival date that never paid is failed, not a return: Stripe says whether it paid', async () => {
    const p = provider();
    const acct = fake.addAccount();
    const req = request(acct.id, { rail: 'batch', method: 'wallet' });
    const r = await p.submit(req);
    fake.advanceDays(3, { settle: false }); // past the arrival date, never paid: a late failure of the bank
    fake.fail(r.providerRef, 'could_not_process');
    expect(await webhookEvents(p)).toEqual([
      expect.objectContaining({ type: 'failed', payoutId: req.payoutId }),
    ]);
    expect((await p.status(req.idempotencyKey)).state).toBe('failed');
    await p.idle();
  });

  it("a return whose payout.paid never reached us is still a return: Stripe's event log has the payout.paid", async () => {
    const p = provider();
    const acct = fake.addAccount();
    const req = request(acct.id, { rail: 'batch', method: 'wallet' });
    const r = await p.submit(req);
    fake.advanceDays(2); // paid at its arrival date; that webhook is lost
    await fake.webhooksSent();
    received.length = 0;
    fake.returnPayout(r.providerRef, { code: 'account_closed', days: 3 });
    expect(await webhookEvents(p)).toEqual([
      expect.objectContaining({ type: 'returned', reason: expect.stringMatching(/^account_closed/) }),
    ]);
    const fresh = request(acct.id, { rail: 'batch', method: 'wallet' });
    const f = await p.submit(fresh);
    fake.advanceDays(2);
    fake.returnPayout(f.providerRef, { days: 1 });
    // No webhook read at all: status() asks Stripe's event log too.
    expect((await p.status(fresh.idempotencyKey)).state).toBe('returned');
    await p.idle();
    expect(p.lastBackgroundError).toBeUndefined();
  });

  it('a paid payout reversed (POST /v1/payouts/:id/reverse) is returned once the reversal pays', async () => {
    const p = provider();
    const acct = fake.addAccount();
    const req = request(acct.id, { rail: 'batch', method: 'wallet' });
    const r = await p.submit(req);
    fake.advanceDays(2);
    expect((await p.status(req.idempotencyKey)).state).toBe('paid');
    await fake.webhooksSent();
    received.length = 0;
    const reversal = fake.reverse(r.providerRef);
    expect(await webhookEvents(p)).toEqual([]); // requested, not done: still paid
    expect((await p.status(req.idempotencyKey)).state).toBe('paid');
    fake.settleReversal(reversal.id);
    expect(await webhookEvents(p)).toEqual([
      expect.objectContaining({
        type: 'returned',
        payoutId: req.payoutId,
        idempotencyKey: req.idempotencyKey,
      }),
    ]);
    expect(await p.status(req.idempotencyKey)).toEqual(
      expect.objectContaining({ state: 'returned', reason: `reversed by ${reversal.id}` }),
    );
    await p.idle();
    const transfer = [...fake.transfers.values()].find((t) => t.transfer_group === req.idempotencyKey)!;
    expect(transfer.reversed).toBe(true);
    expect(fake.payoutsFor(req.payoutId).map((x) => x.amount)).toEqual([2500]);
  });

  it("capabilities: Stripe's country spec of the platform narrows the configured ones (health refreshes them)", async () => {
    const p = new StripeProvider({
      name: 'stripe',
      db,
      secretKey: new Secret(KEY, 'TEST'),
      webhookSecrets: [new Secret(WHSEC, 'TEST')],
      apiBase: fake.url,
      capabilities: { currencies: ['USD', 'EUR'], countries: ['US', 'DE'] },
    });
    expect(p.capabilities().currencies).toEqual(['USD', 'EUR']); // before Stripe was asked: configured
    expect(await p.health()).toEqual({ status: 'up' });
    expect(p.capabilities()).toEqual(expect.objectContaining({ currencies: ['USD'], countries: ['US'] }));
    const failing = request(fake.addAccount().id, {
      amount: { amount: '100', currency: 'EUR', scale: 2 },
    });
    expect((await failure(p.submit(failing))).code).toBe('currency_unsupported');
  });

  it('the connected account is checked before money moves: transfers capability, payouts enabled, instant', async () => {
    const p = provider();
    const before = fake.transfers.size;
    const inactive = fake.addAccount({ transfersCapability: 'pending' });
    expect((await failure(p.submit(request(inactive.id)))).code).toBe('account_transfers_inactive');
    const disabled = fake.addAccount({ payoutsEnabled: false });
    expect((await failure(p.submit(request(disabled.id)))).code).toBe('account_payouts_disabled');
    const bankOnly = fake.addAccount({
      externalAccounts: [{ id: 'ba_bankonly01', object: 'bank_account', currency: 'usd', instant: false }],
    });
    const e = await failure(p.submit(request(bankOnly.id)));
    expect([e.kind, e.code]).toEqual(['hard_decline', 'instant_payouts_unsupported']);
    expect(fake.transfers.size).toBe(before); // nothing was sent to any of them
  });
});
