import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { WebhookVerificationError } from '../../../src/providers/errors.ts';
import { PaypalProvider } from '../../../src/providers/paypal/provider.ts';
import { Secret } from '../../../src/providers/shared/secrets.ts';
import type { ProviderEvent, SubmitRequest } from '../../../src/providers/types.ts';
import { freePort } from '../../../src/temporal/embedded-server.ts';
import { FakePaypal } from '../../fakes/paypal/server.ts';
import { createTestDatabase, type TestDatabase } from '../../support/db.ts';
import { failure, WebhookReceiver } from '../support.ts';

const CLIENT_ID = 'AcontractClientId0123';
const SECRET = 'EcontractSecret456789';
const WEBHOOK_ID = '8PT597110X687430LKGECATA';
let db: TestDatabase;
let fake: FakePaypal;
const receiver = new WebhookReceiver();
const received = receiver.received;
let seq = 0;

function provider(
  o: { timeoutMs?: number; webhookIds?: string[]; secret?: string; name?: string } = {},
): PaypalProvider {
  return new PaypalProvider({
    name: o.name ?? 'paypal',
    db,
    clientId: new Secret(CLIENT_ID, 'TEST'),
    clientSecret: new Secret(o.secret ?? SECRET, 'TEST'),
    webhookIds: (o.webhookIds ?? [WEBHOOK_ID]).map((s) => new Secret(s, 'TEST')),
    apiBase: fake.url,
    timeoutMs: o.timeoutMs ?? 5_000,
  });
}

/** A PayPal (or Venmo) receiver registered at the fake, as the payout service hands it over. */
function account(
  wallet: 'paypal' | 'venmo' = 'paypal',
  behaviour: 'account' | 'unregistered' | 'blocked' | { fail: string } = 'account',
): string {
  seq++;
  if (wallet === 'venmo') {
    const phone = `408555${String(1000 + seq).slice(-4)}`;
    fake.receivers.set(`VENMO:${phone}`, behaviour);
    return `venmo/+1${phone}`;
  }
  const email = `payee${seq}@example.com`;
  fake.receivers.set(`PAYPAL:${email}`, behaviour);
  return `paypal/${email.toUpperCase()}`;
}

function request(destination: string, o: Partial<SubmitRequest> = {}): SubmitRequest {
  seq++;
  return {
    idempotencyKey: `po_p${seq}:1`,
    payoutId: `po_p${seq}`,
    amount: { amount: '2500', currency: 'USD', scale: 2 },
    method: 'wallet',
    rail: 'instant',
    destination,
    payee: { id: `pe_${seq}`, country: 'US', name: 'Payee' },
    ...o,
  };
}

async function webhookEvents(p: PaypalProvider): Promise<ProviderEvent[]> {
  await fake.webhooksSent();
  const out: ProviderEvent[] = [];
  for (const r of received.splice(0)) out.push(...(await p.parseWebhook(r.body, r.headers)));
  return out;
}

async function refused(
  p: PaypalProvider,
  body: Buffer,
  headers: Record<string, string | undefined>,
): Promise<string> {
  try {
    await p.parseWebhook(body, headers);
  } catch (err) {
    if (err instanceof WebhookVerificationError) return err.code;
    throw err;
  }
  return 'accepted';
}

beforeAll(async () => {
  db = await createTestDatabase('paypal_contract');
  await receiver.start();
  fake = new FakePaypal({ clientId: CLIENT_ID, clientSecret: SECRET, webhookId: WEBHOOK_ID });
  await fake.start();
  fake.webhook = { url: receiver.url };
});
afterEach(async () => {
  await fake.webhooksSent();
  fake.faults = [];
  fake.autoProcess = true;
  fake.duplicateWebhooks = false;
  fake.verifierDown = false;
  received.length = 0;
});
afterAll(async () => {
  await fake?.stop();
  await receiver?.stop();
  await db?.drop();
});

describe('PayPal adapter against the fake PayPal', () => {
  it('pays a PayPal account: one batch of one item keyed by the attempt, confirmed by PAYMENT.PAYOUTS-ITEM.SUCCEEDED', async () => {
    const p = provider();
    const req = request(account());
    const issued = fake.tokensIssued;
    fake.autoProcess = false; // PayPal processes the batch after answering; here when told to
    const res = await p.submit(req);
    expect(res.state).toBe('pending');
    fake.processBatches();
    const [item] = fake.itemsFor(req.payoutId);
    expect(item!.payout_item).toMatchObject({
      recipient_type: 'EMAIL',
      receiver: `payee${seq - 1}@example.com`,
      amount: { value: '25.00', currency: 'USD' },
      recipient_wallet: 'PAYPAL',
      sender_item_id: req.idempotencyKey,
    });
    expect(item!.sender_batch_id).toBe(req.idempotencyKey);
    const create = fake.requests.find(
      (r) =>
        r.method === 'POST' &&
        r.path === '/v1/payments/payouts' &&
        r.requestId === `disburse-${req.idempotencyKey}`,
    );
    expect(create?.status).toBe(201);
    const events = await webhookEvents(p);
    expect(events).toEqual([
      expect.objectContaining({ type: 'paid', idempotencyKey: req.idempotencyKey, payoutId: req.payoutId }),
    ]);
    expect(await p.status(req.idempotencyKey)).toEqual({ state: 'paid', providerRef: item!.payout_item_id });
    // One token for all of it (cached until shortly before it expires).
    expect(fake.tokensIssued - issued).toBeLessThanOrEqual(1);
  });

  it('pays a Venmo phone number (recipient_wallet VENMO, with the note Venmo requires); Venmo abroad is declined', async () => {
    const p = provider();
    const req = request(account('venmo'));
    await p.submit(req);
    const [item] = fake.itemsFor(req.payoutId);
    expect(item!.payout_item).toMatchObject({
      recipient_type: 'PHONE',
      recipient_wallet: 'VENMO',
      note: 'Payout',
    });
    expect(item!.payout_item.receiver).toMatch(/^408555\d{4}$/);
    expect((await webhookEvents(p)).map((e) => e.type)).toEqual(['paid']);
    const abroad = await failure(
      p.submit(
        request('venmo/+447700900123', {
          payee: { id: 'pe_x', country: 'GB', name: 'X' },
          amount: { amount: '100', currency: 'GBP', scale: 2 },
        }),
      ),
    );
    expect([abroad.kind, abroad.code]).toEqual(['hard_decline', 'invalid_destination']);
    const stripeWallet = await failure(p.submit(request('stripe/acct_1234567890')));
    expect([stripeWallet.kind, stripeWallet.code]).toEqual(['hard_decline', 'invalid_destination']);
  });

  it('a retried submit replays the same batch: one item paid; the same key with other parameters is refused', async () => {
    const p = provider();
    const req = request(account());
    const first = await p.submit(req);
    await fake.webhooksSent();
    const again = await p.submit(req);
    expect(again).toEqual({ state: 'paid', providerRef: fake.itemsFor(req.payoutId)[0]!.payout_item_id });
    expect(first.providerRef).toBeTruthy();
    expect(fake.itemsFor(req.payoutId)).toHaveLength(1);
    const reused = await failure(p.submit({ ...req, amount: { ...req.amount, amount: '2600' } }));
    expect([reused.kind, reused.code]).toEqual(['hard_decline', 'idempotency_key_reused']);
  });

  it('a timeout after PayPal made the batch is retried with the same sender_batch_id: PayPal-Request-Id replays it', async () => {
    const p = provider({ timeoutMs: 300 });
    const req = request(account());
    fake.faults = [{ kind: 'timeout_after', ms: 2_000, method: 'POST', path: /^\/v1\/payments\/payouts$/ }];
    const err = await failure(p.submit(req));
    expect(err.kind).toBe('retryable'); // PayPal pays a sender_batch_id at most once: sending it again is the lookup
    expect(fake.itemsFor(req.payoutId)).toHaveLength(1); // it did happen
    expect((await p.status(req.idempotencyKey)).state).toBe('pending'); // journalled, batch not named yet
    const res = await p.submit(req);
    expect(
      fake.requests.filter((r) => r.requestId === `disburse-${req.idempotencyKey}` && r.replayed),
    ).toHaveLength(1);
    expect(res.providerRef).toBeTruthy();
    expect(fake.itemsFor(req.payoutId)).toHaveLength(1);
  });

  it('a sender_batch_id PayPal has seen (its request id forgotten) is looked up through the linked batch, never declined', async () => {
    const p = provider({ timeoutMs: 300 });
    const req = request(account());
    fake.faults = [{ kind: 'timeout_after', ms: 2_000, method: 'POST', path: /^\/v1\/payments\/payouts$/ }];
    await failure(p.submit(req));
    await fake.webhooksSent();
    fake.forgetRequestIds();
    const res = await p.submit(req);
    expect(fake.requests.some((r) => r.path === '/v1/payments/payouts' && r.status === 400)).toBe(true);
    expect(res).toEqual({ state: 'paid', providerRef: fake.itemsFor(req.payoutId)[0]!.payout_item_id });
    expect(fake.itemsFor(req.payoutId)).toHaveLength(1);
  });

  it('finds its own item in a batch of many that PayPal already holds under the attempt key', async () => {
    const p = provider();
    const req = request(account());
    const receiver = req.destination.slice('paypal/'.length).toLowerCase();
    const auth = await fetch(`${fake.url}/v1/oauth2/token`, {
      method: 'POST',
      headers: {
        authorization: `Basic ${Buffer.from(`${CLIENT_ID}:${SECRET}`).toString('base64')}`,
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: 'grant_type=client_credentials',
    });
    const { access_token } = (await auth.json()) as { access_token: string };
    const item = (sender_item_id: string, to: string) => ({
      recipient_type: 'EMAIL',
      amount: { value: '25.00', currency: 'USD' },
      receiver: to,
      sender_item_id,
      recipient_wallet: 'PAYPAL',
    });
    const made = await fetch(`${fake.url}/v1/payments/payouts`, {
      method: 'POST',
      headers: { authorization: `Bearer ${access_token}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        sender_batch_header: { sender_batch_id: req.idempotencyKey },
        items: [item('someone-else', 'other@example.com'), item(req.idempotencyKey, receiver)],
      }),
    });
    expect(made.status).toBe(201);
    await fake.webhooksSent();
    received.length = 0;
    const res = await p.submit(req);
    const mine = fake
      .itemsFor(req.payoutId)
      .find((i) => i.payout_item.sender_item_id === req.idempotencyKey)!;
    expect(res).toEqual({ state: 'paid', providerRef: mine.payout_item_id });
    expect(fake.itemsFor(req.payoutId)).toHaveLength(2); // the batch's two items; nothing new
    expect(await p.status(req.idempotencyKey)).toEqual({ state: 'paid', providerRef: mine.payout_item_id });
  });

  it('429 and 5xx are retryable with the same key; a refused connection too; the retry pays once', async () => {
    const p = provider();
    const req = request(account());
    fake.faults = [{ kind: 'status', status: 429, method: 'POST', path: /^\/v1\/payments\/payouts$/ }];
    expect((await failure(p.submit(req))).kind).toBe('retryable');
    fake.faults = [{ kind: 'status', status: 500, method: 'POST', path: /^\/v1\/payments\/payouts$/ }];
    expect((await failure(p.submit(req))).kind).toBe('retryable');
    fake.faults = [{ kind: 'status', status: 503, method: 'GET' }];
    expect((await failure(p.submit(req))).kind).toBe('retryable'); // created; the lookup failed
    fake.faults = [{ kind: 'timeout_after', ms: 2_000, method: 'GET' }];
    const slow = await failure(provider({ timeoutMs: 300 }).submit(req));
    expect([slow.kind, slow.message]).toEqual([
      'retryable',
      expect.stringContaining('a lookup, asked again'),
    ]);
    expect((await p.submit(req)).providerRef).toBeTruthy();
    expect(fake.itemsFor(req.payoutId)).toHaveLength(1);
    const closed = new PaypalProvider({
      name: 'paypal',
      db,
      clientId: new Secret(CLIENT_ID, 'T'),
      clientSecret: new Secret(SECRET, 'T'),
      webhookIds: [],
      apiBase: `http://127.0.0.1:${await freePort()}`, // nothing listens there
    });
    const err = await failure(closed.submit(request(account())));
    expect([err.kind, err.code]).toEqual(['retryable', 'connection_refused']);
  });

  it('wrong app credentials are an outage (every payout would fail); a revoked token is renewed once and the call retried', async () => {
    const bad = provider({ secret: 'EwrongSecret0000' });
    expect((await failure(bad.submit(request(account())))).kind).toBe('outage');
    expect((await bad.health()).status).toBe('down');
    const p = provider();
    expect((await p.health()).status).toBe('up');
    await p.submit(request(account()));
    const issued = fake.tokensIssued;
    fake.revokeTokens();
    const after = request(account());
    await p.submit(after);
    expect(fake.itemsFor(after.payoutId)).toHaveLength(1);
    expect(fake.tokensIssued).toBe(issued + 1);
  });

  it('unclaimed is pending, not paid: claimed later → paid; cancelled → failed and the money back at PayPal', async () => {
    const p = provider();
    const claimed = request(account('paypal', 'unregistered'));
    await p.submit(claimed);
    expect(await webhookEvents(p)).toEqual([]); // UNCLAIMED: nothing decided yet
    const s = await p.status(claimed.idempotencyKey);
    expect([s.state, s.reason]).toEqual(['pending', expect.stringMatching(/^unclaimed/)]);
    fake.claim(fake.itemsFor(claimed.payoutId)[0]!.payout_item_id);
    expect((await webhookEvents(p)).map((e) => e.type)).toEqual(['paid']);

    const cancelled = request(account('paypal', 'unregistered'));
    await p.submit(cancelled);
    await webhookEvents(p);
    const before = fake.balance.USD!;
    expect(await p.cancel(cancelled.idempotencyKey)).toEqual({
      cancelled: true,
      state: 'failed',
      reason: 'cancelled while unclaimed: returned to the PayPal balance',
    });
    expect(fake.itemsFor(cancelled.payoutId)[0]!.transaction_status).toBe('RETURNED');
    expect(fake.balance.USD).toBe(before + 2500n);
    expect((await webhookEvents(p)).map((e) => [e.type, e.reason])).toEqual([
      ['failed', 'CANCELED: RECEIVER_UNREGISTERED'],
    ]);
    expect((await p.status(cancelled.idempotencyKey)).state).toBe('failed');
  });

  it('unclaimed for 30 days is returned to the sender: a failure (it never reached the payee), not a return', async () => {
    const p = provider();
    const req = request(account('paypal', 'unregistered'));
    await p.submit(req);
    await webhookEvents(p);
    fake.advanceDays(30);
    expect((await webhookEvents(p)).map((e) => [e.type, e.payoutId])).toEqual([['failed', req.payoutId]]);
    expect((await p.status(req.idempotencyKey)).state).toBe('failed');
    expect(await p.cancel(req.idempotencyKey)).toMatchObject({ cancelled: true, state: 'failed' });
  });

  it('a failed or blocked item is failed; a retry of that attempt is declined and sends nothing', async () => {
    const p = provider();
    fake.autoProcess = false;
    const failing = request(account('paypal', { fail: 'RECEIVER_ACCOUNT_LOCKED' }));
    const blocked = request(account('paypal', 'blocked'));
    await p.submit(failing);
    await p.submit(blocked);
    fake.processBatches();
    const events = await webhookEvents(p);
    expect(events.map((e) => [e.payoutId, e.type, e.reason])).toEqual([
      [failing.payoutId, 'failed', 'FAILED: RECEIVER_ACCOUNT_LOCKED'],
      [blocked.payoutId, 'failed', 'BLOCKED: RISK_DECLINE'],
    ]);
    const again = await failure(p.submit(failing));
    expect([again.kind, again.code]).toEqual(['hard_decline', 'already_failed']);
    expect(fake.itemsFor(failing.payoutId)).toHaveLength(1);
  });

  it('a paid item refunded days later is returned; a late replay of the attempt says it paid', async () => {
    const p = provider();
    const req = request(account());
    await p.submit(req);
    await webhookEvents(p);
    const itemId = fake.itemsFor(req.payoutId)[0]!.payout_item_id;
    fake.refund(itemId, { days: 4 });
    expect((await webhookEvents(p)).map((e) => [e.type, e.reason])).toEqual([['returned', 'REFUNDED']]);
    expect((await p.status(req.idempotencyKey)).state).toBe('returned');
    expect(await p.submit(req)).toEqual({ state: 'paid', providerRef: itemId });
  });

  it('cancel says truthfully when it cannot (paid, or still processing); a key never sent is voided', async () => {
    const p = provider();
    const paid = request(account());
    await p.submit(paid);
    await webhookEvents(p);
    expect(await p.cancel(paid.idempotencyKey)).toEqual({
      cancelled: false,
      state: 'paid',
      reason: 'already paid',
    });
    fake.autoProcess = false;
    const processing = request(account());
    await p.submit(processing);
    expect(await p.cancel(processing.idempotencyKey)).toMatchObject({ cancelled: false, state: 'pending' });
    fake.processBatches();
    const never = request(account());
    expect(await p.cancel(never.idempotencyKey)).toEqual({
      cancelled: true,
      state: 'not_found',
      reason: 'voided: never submitted',
    });
    const err = await failure(p.submit(never));
    expect([err.kind, err.code]).toEqual(['hard_decline', 'idempotency_key_voided']);
    expect(fake.itemsFor(never.payoutId)).toHaveLength(0);
  });

  it('webhooks: verified by PayPal for the configured webhook id(s); duplicates keep their id; forgeries are refused', async () => {
    const p = provider();
    fake.duplicateWebhooks = true;
    await p.submit(request(account()));
    await fake.webhooksSent();
    const deliveries = [...received];
    const events = await webhookEvents(p);
    expect(events).toHaveLength(2);
    expect(events[0]!.eventId).toBe(events[1]!.eventId);
    const success = deliveries.find((d) => d.body.toString().includes('PAYOUTS-ITEM.SUCCEEDED'))!;
    expect(await refused(p, success.body, {})).toBe('missing_signature');
    const tampered = Buffer.from(success.body.toString().replace('"25.00"', '"2500.00"'));
    expect(await refused(p, tampered, success.headers)).toBe('invalid_signature');
    // Rotation: the old and the new webhook id are both tried.
    expect(
      await refused(provider({ webhookIds: ['OLDWEBHOOK0000', WEBHOOK_ID] }), success.body, success.headers),
    ).toBe('accepted');
    expect(await refused(provider({ webhookIds: ['OTHERWEBHOOK00'] }), success.body, success.headers)).toBe(
      'invalid_signature',
    );
    // A certificate URL that is neither PayPal's nor the configured API host is refused before asking.
    expect(
      await refused(p, success.body, {
        ...success.headers,
        'paypal-cert-url': 'https://evil.example/cert.pem',
      }),
    ).toBe('invalid_signature');
    // PayPal's verification API down: not a refusal (the route answers 503, PayPal redelivers).
    fake.verifierDown = true;
    expect(await refused(p, success.body, success.headers)).toBe('verifier_unavailable');
    fake.verifierDown = false;
    // Events of items this instance did not send are acknowledged, not mapped.
    const foreign = JSON.stringify({
      ...JSON.parse(success.body.toString()),
      id: 'WH-FOREIGN',
      resource: { sender_batch_id: 'batch-of-someone-else', payout_item: { sender_item_id: 'x' } },
    });
    expect(await p.parseWebhook(Buffer.from(foreign), fake.signedHeaders(foreign))).toEqual([]);
    expect(await provider({ name: 'paypal_eu' }).parseWebhook(success.body, success.headers)).toEqual([]);
  });
});
