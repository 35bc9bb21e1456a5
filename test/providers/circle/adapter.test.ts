// Contract tests of the circle adapter against the local fake Circle (test/fakes/circle): every outcome the
// payout workflow relies on — pending then confirmed by a signed notification (transaction hash recorded),
// declined before or at Circle, retried with the same idempotencyKey, unknown outcome resolved by status(),
// cancel (voided only when never sent), a reversal after complete (returned) — amounts as exact decimal
// strings, and notification verification (ECDSA keys configured or fetched and cached, rotation, subscription).
import { randomBytes } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { toChecksumAddress } from '../../../src/payees/crypto-address.ts';
import { decimalOf, minorOf } from '../../../src/providers/circle/amount.ts';
import { circleIdempotencyKey, uuidV5 } from '../../../src/providers/circle/idempotency.ts';
import { CircleProvider } from '../../../src/providers/circle/provider.ts';
import { WebhookVerificationError } from '../../../src/providers/errors.ts';
import { AttemptJournal } from '../../../src/providers/shared/attempts.ts';
import { Secret } from '../../../src/providers/shared/secrets.ts';
import type { ProviderEvent, SubmitRequest } from '../../../src/providers/types.ts';
import { FAKE_TOPIC_ARN, FakeCircle } from '../../fakes/circle/server.ts';
import { createTestDatabase, type TestDatabase } from '../../support/db.ts';
import { failure, WebhookReceiver } from '../support.ts';

const KEY = `SAND_API_KEY:${randomBytes(16).toString('hex')}:${randomBytes(16).toString('hex')}`;
let db: TestDatabase;
let fake: FakeCircle;
const receiver = new WebhookReceiver();
const received = receiver.received;
let receiverUrl: string;
let seq = 0;

function provider(
  o: {
    timeoutMs?: number;
    name?: string;
    keys?: Record<string, string>;
    fetchKeys?: boolean;
    fetch?: typeof fetch;
    unsigned?: 'refuse' | 'lookup';
    topics?: string[];
    origins?: string[];
    feeBearer?: 'platform' | 'payee';
  } = {},
): CircleProvider {
  return new CircleProvider({
    name: o.name ?? 'circle',
    db,
    apiKey: new Secret(KEY, 'TEST'),
    walletId: fake.walletId,
    apiBase: fake.url,
    timeoutMs: o.timeoutMs ?? 5_000,
    ...(o.keys ? { webhookPublicKeys: o.keys } : {}),
    ...(o.fetchKeys === false ? { fetchWebhookKeys: false } : {}),
    ...(o.fetch ? { fetch: o.fetch } : {}),
    ...(o.unsigned ? { unsignedNotifications: o.unsigned } : {}),
    ...(o.topics ? { snsTopicArns: o.topics } : {}),
    ...(o.origins ? { subscriptionOrigins: o.origins } : {}),
    ...(o.feeBearer ? { networkFeeBearer: o.feeBearer } : {}),
  });
}

const evmAddress = () => `0x${randomBytes(20).toString('hex')}`;
/** As the payout service hands it over: identifying parts, EVM upper-cased. */
const evmDest = (address: string, network = 'ethereum') => `${network}/${address.toUpperCase()}`;

function request(destination: string, o: Partial<SubmitRequest> = {}): SubmitRequest {
  seq++;
  return {
    idempotencyKey: `po_c${seq}:1`,
    payoutId: `po_c${seq}`,
    amount: { amount: '2500', currency: 'USD', scale: 2 },
    method: 'crypto',
    rail: 'instant',
    destination,
    payee: { id: `pe_${seq}`, country: 'US', name: 'Payee' },
    ...o,
  };
}

/** Provider events of every notification the fake sent so far, each delivery parsed by the adapter. */
async function webhookEvents(p: CircleProvider): Promise<ProviderEvent[]> {
  await fake.webhooksSent();
  const out: ProviderEvent[] = [];
  for (const r of received.splice(0)) out.push(...(await p.parseWebhook(r.body, r.headers)));
  return out;
}

const posts = () => fake.requests.filter((r) => r.method === 'POST' && r.path === '/v1/transfers');
const only = <T>(xs: T[]): T => {
  expect(xs).toHaveLength(1);
  return xs[0]!;
};

beforeAll(async () => {
  db = await createTestDatabase('circle_contract');
  await receiver.start();
  receiverUrl = receiver.url;
  fake = new FakeCircle({ apiKey: KEY });
  await fake.start();
  fake.endpoint = receiverUrl;
});
afterEach(async () => {
  fake.faults = [];
  fake.autoComplete = true;
  fake.duplicateWebhooks = false;
  fake.deniedAddresses.clear();
  await fake.webhooksSent();
  received.length = 0;
});
afterAll(async () => {
  await fake?.stop();
  await receiver?.stop();
  await db?.drop();
});

describe('amounts and keys', () => {
  it('minor units ↔ Circle decimal strings, exactly (USD scale 2, USDC scale 6)', () => {
    expect(decimalOf(1n, 2)).toBe('0.01');
    expect(decimalOf(2500n, 2)).toBe('25.00');
    expect(decimalOf(12_345_678n, 6)).toBe('12.345678');
    expect(decimalOf(9_007_199_254_740_993n, 6)).toBe('9007199254.740993'); // beyond float precision
    expect(minorOf('12.345678', 6)).toBe(12_345_678n);
    expect(minorOf('25', 2)).toBe(2500n);
    expect(minorOf('0.123', 2)).toBeUndefined();
    expect(minorOf('1e3', 2)).toBeUndefined();
  });

  it('idempotencyKey: name-based UUIDs (RFC 9562), deterministic per provider instance and attempt', () => {
    // RFC 9562's own example: the DNS namespace and "www.example.com".
    expect(uuidV5('6ba7b810-9dad-11d1-80b4-00c04fd430c8', 'www.example.com')).toBe(
      '2ed6657d-e927-568b-95e1-2665a8aea6a2',
    );
    const k = circleIdempotencyKey('circle', 'po_1:1');
    expect(k).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(circleIdempotencyKey('circle', 'po_1:1')).toBe(k);
    expect(circleIdempotencyKey('circle', 'po_1:2')).not.toBe(k);
    expect(circleIdempotencyKey('circle_eu', 'po_1:1')).not.toBe(k);
  });
});

describe('circle adapter against the fake Circle', () => {
  it('pending, then confirmed by the signed notification; the transaction hash is recorded', async () => {
    const p = provider();
    fake.autoComplete = false;
    const address = evmAddress();
    const req = request(evmDest(address));
    const res = await p.submit(req);
    expect(res.state).toBe('pending');
    const t = fake.transfers.get(res.providerRef)!;
    expect([t.amount, t.destination]).toEqual([
      { amount: '25.00', currency: 'USD' },
      { type: 'blockchain', address, chain: 'ETH' },
    ]);
    expect(only(posts()).idempotencyKey).toBe(circleIdempotencyKey('circle', req.idempotencyKey));
    fake.complete(t.id); // the chain confirms
    const events = await webhookEvents(p);
    expect(events).toEqual([
      expect.objectContaining({ type: 'paid', idempotencyKey: req.idempotencyKey, payoutId: req.payoutId }),
    ]);
    expect(await p.status(req.idempotencyKey)).toEqual({ state: 'paid', providerRef: t.id });
    const rec = await new AttemptJournal(db, 'circle').get(req.idempotencyKey);
    expect(rec?.refs.transactionHash).toBe(fake.transfers.get(t.id)!.transactionHash);
    expect(rec?.refs.transactionHash).toMatch(/^0x[0-9a-f]{64}$/);
  });

  it('conversion: a USD payout left as USDC at par (booked as FX legs); a USDC payout converts nothing', async () => {
    const p = provider();
    fake.autoComplete = false;
    const usd = request(evmDest(evmAddress()));
    await p.submit(usd);
    expect(await p.conversion(usd.idempotencyKey)).toEqual({
      source: { amount: '2500', currency: 'USD', scale: 2 },
      fee: { amount: '0', currency: 'USD', scale: 2 },
      target: { amount: '25000000', currency: 'USDC', scale: 6 },
    });
    const usdc = request(evmDest(evmAddress()), {
      amount: { amount: '1500000', currency: 'USDC', scale: 6 },
    });
    await p.submit(usdc);
    expect(await p.conversion(usdc.idempotencyKey)).toBeUndefined();
    expect(await p.conversion('po_never:1')).toBeUndefined();
  });

  it('USDC at scale 6 to a Solana address; MATIC, ARB and BASE chains', async () => {
    const p = provider();
    fake.autoComplete = false;
    const sol = '4Nd1mBQtrMJVYVfKf2PJy9NZUZdTAsp7D4xWLs4gDB4T';
    const res = await p.submit(
      request(`solana/${sol}`, { amount: { amount: '12345678', currency: 'USDC', scale: 6 } }),
    );
    expect(fake.transfers.get(res.providerRef)).toMatchObject({
      amount: { amount: '12.345678', currency: 'USD' },
      destination: { address: sol, chain: 'SOL' },
    });
    for (const [network, chain] of [
      ['polygon', 'MATIC'],
      ['arbitrum', 'ARB'],
      ['base', 'BASE'],
    ]) {
      const r = await p.submit(request(evmDest(evmAddress(), network)));
      expect(fake.transfers.get(r.providerRef)!.destination.chain).toBe(chain);
    }
  });

  it('hard declines before anything is sent: checksum typo, unsupported chain, wrong scale or currency', async () => {
    const p = provider();
    // A checksummed address with the case of one letter flipped: one mistyped character.
    const good = toChecksumAddress(`0x${'ab'.repeat(20)}`);
    const typo = `0x${good[2] === 'a' ? 'A' : 'a'}${good.slice(3)}`;
    const before = posts().length;
    const usdc2 = { amount: '2500', currency: 'USDC', scale: 2 };
    const gbp = { amount: '2500', currency: 'GBP', scale: 2 };
    const cases: [SubmitRequest, string, RegExp][] = [
      [request(`ethereum/${typo}`), 'invalid_address', /EIP-55/],
      [request('bitcoin/bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq'), 'chain_not_supported', /bitcoin/],
      [request('solana/0OIl'), 'invalid_address', /solana/],
      [request(evmDest(evmAddress()), { amount: usdc2 }), 'invalid_amount', /scale 6/],
      [request(evmDest(evmAddress()), { amount: gbp }), 'currency_unsupported', /GBP/],
    ];
    for (const [req, code, message] of cases) {
      const e = await failure(p.submit(req));
      expect([e.kind, e.code]).toEqual(['hard_decline', code]);
      expect(e.message).toMatch(message);
    }
    expect(posts()).toHaveLength(before);
  });

  it('a transfer Circle refuses (screening, funds) is a hard decline that moved nothing', async () => {
    const p = provider();
    const denied = evmAddress();
    fake.deniedAddresses.add(denied);
    const usd = fake.balance.USD;
    const e = await failure(p.submit(request(evmDest(denied))));
    expect([e.kind, e.code]).toEqual(['hard_decline', 'transfer_denied']);
    expect(fake.balance.USD).toBe(usd);
    const poor = provider({ name: 'circle_poor' });
    const keep = fake.balance.USD!;
    fake.balance.USD = 1n;
    try {
      const e2 = await failure(poor.submit(request(evmDest(evmAddress()))));
      expect([e2.kind, e2.code]).toEqual(['hard_decline', 'circle_5001']);
    } finally {
      fake.balance.USD = keep;
    }
  });

  it('429 and 503 are retryable; the retry with the same idempotencyKey makes one transfer', async () => {
    const p = provider();
    const req = request(evmDest(evmAddress()));
    fake.faults = [{ kind: 'status', status: 429, method: 'POST', path: /^\/v1\/transfers$/ }];
    expect((await failure(p.submit(req))).kind).toBe('retryable');
    fake.faults = [{ kind: 'status', status: 503, method: 'POST', path: /^\/v1\/transfers$/ }];
    expect((await failure(p.submit(req))).kind).toBe('retryable');
    const res = await p.submit(req);
    expect(res.state).toBe('pending');
    expect(fake.transfersTo(fake.transfers.get(res.providerRef)!.destination.address)).toHaveLength(1);
  });

  it('a timeout after Circle made the transfer is an unknown outcome; status() finds it, a replay returns it', async () => {
    const p = provider({ timeoutMs: 300 });
    fake.autoComplete = false;
    const address = evmAddress();
    const req = request(evmDest(address));
    fake.faults = [{ kind: 'timeout_after', ms: 1_000, method: 'POST', path: /^\/v1\/transfers$/ }];
    const e = await failure(p.submit(req));
    expect(e.kind).toBe('timeout');
    const [t] = fake.transfersTo(address);
    expect(await p.status(req.idempotencyKey)).toEqual({ state: 'pending', providerRef: t!.id });
    const again = await p.submit(req); // the journal knows the transfer id now: a GET, not a create
    expect(again.providerRef).toBe(t!.id);
    expect(fake.transfersTo(address)).toHaveLength(1);
    fake.complete(t!.id);
    expect((await p.status(req.idempotencyKey)).state).toBe('paid');
  });

  it('a notification that arrives before the create answer is tied to its attempt by what was sent', async () => {
    const p = provider({ timeoutMs: 300 });
    fake.autoComplete = false;
    const address = evmAddress();
    const req = request(evmDest(address));
    fake.faults = [{ kind: 'timeout_after', ms: 1_000, method: 'POST', path: /^\/v1\/transfers$/ }];
    expect((await failure(p.submit(req))).kind).toBe('timeout');
    fake.complete(only(fake.transfersTo(address)).id);
    const events = await webhookEvents(p);
    expect(events.map((e) => [e.type, e.idempotencyKey])).toEqual([['paid', req.idempotencyKey]]);
  });

  it('500 is an unknown outcome, 401 an outage, 400 a decline', async () => {
    const p = provider();
    fake.faults = [{ kind: 'status', status: 500, method: 'POST' }];
    expect((await failure(p.submit(request(evmDest(evmAddress()))))).kind).toBe('timeout');
    const wrong = new CircleProvider({
      name: 'circle_wrong',
      db,
      apiKey: new Secret('SAND_API_KEY:00000000:00000000', 'TEST'),
      walletId: fake.walletId,
      apiBase: fake.url,
    });
    const e = await failure(wrong.submit(request(evmDest(evmAddress()))));
    expect([e.kind, e.code]).toEqual(['outage', 'circle_401']);
    expect(await wrong.health()).toEqual({ status: 'down', detail: 'circle_401' });
    expect(await p.health()).toEqual({ status: 'up' });
  });

  it('cancel: a never-sent key is voided (and refused later); a submitted transfer cannot be cancelled', async () => {
    const p = provider();
    fake.autoComplete = false;
    const never = request(evmDest(evmAddress()));
    expect(await p.cancel(never.idempotencyKey)).toEqual({
      cancelled: true,
      state: 'not_found',
      reason: 'voided: never submitted',
    });
    expect((await failure(p.submit(never))).kind).toBe('hard_decline');
    const req = request(evmDest(evmAddress()));
    const res = await p.submit(req);
    expect(await p.cancel(req.idempotencyKey)).toEqual({
      cancelled: false,
      state: 'pending',
      reason: 'a blockchain transfer cannot be cancelled once submitted to Circle',
    });
    fake.fail(res.providerRef, 'blockchain_error');
    expect(await p.cancel(req.idempotencyKey)).toEqual({
      cancelled: true,
      state: 'failed',
      reason: 'blockchain_error',
    });
  });

  it('a complete transfer reversed days later (reorg) is returned, by status and by notification', async () => {
    const p = provider();
    fake.autoComplete = false;
    const req = request(evmDest(evmAddress()));
    const res = await p.submit(req);
    fake.complete(res.providerRef);
    expect((await webhookEvents(p)).map((e) => e.type)).toEqual(['paid']);
    fake.reverse(res.providerRef, { days: 4 });
    expect((await webhookEvents(p)).map((e) => [e.type, e.reason])).toEqual([
      ['returned', 'blockchain_error'],
    ]);
    expect(await p.status(req.idempotencyKey)).toEqual({
      state: 'returned',
      providerRef: res.providerRef,
      reason: 'blockchain_error',
    });
  });
});

describe('circle notifications', () => {
  it('duplicates carry the same event id; pending notifications map to nothing', async () => {
    const p = provider();
    fake.autoComplete = false;
    fake.duplicateWebhooks = true;
    const res = await p.submit(request(evmDest(evmAddress())));
    fake.complete(res.providerRef);
    const events = await webhookEvents(p);
    expect(events.map((e) => e.type)).toEqual(['paid', 'paid']);
    expect(new Set(events.map((e) => e.eventId)).size).toBe(1);
  });

  it('rejects a missing or wrong signature and a body changed after signing', async () => {
    const p = provider();
    const body = Buffer.from(
      JSON.stringify({ notificationType: 'transfers', transfer: { id: 'x', status: 'complete' } }),
    );
    const headers = fake.signBody(body.toString());
    await expect(p.parseWebhook(body, {})).rejects.toMatchObject({ code: 'missing_signature' });
    await expect(p.parseWebhook(Buffer.from(`${body} `), headers)).rejects.toMatchObject({
      code: 'invalid_signature',
    });
    await expect(
      p.parseWebhook(body, {
        ...headers,
        'x-circle-signature': fake.signBody('other')['x-circle-signature'],
      }),
    ).rejects.toBeInstanceOf(WebhookVerificationError);
    expect(await p.parseWebhook(body, headers)).toEqual([]); // verified, but not a transfer of this instance
  });

  it('fetches an unknown key once and caches it; a rotated key is fetched once more', async () => {
    let keyFetches = 0;
    const counting: typeof fetch = (input, init) => {
      if (String(input).includes('/v2/notifications/publicKey/')) keyFetches++;
      return fetch(input, init);
    };
    const p = provider({ fetch: counting });
    const body = Buffer.from(JSON.stringify({ notificationType: 'webhooks' }));
    await p.parseWebhook(body, fake.signBody(body.toString()));
    await p.parseWebhook(body, fake.signBody(body.toString()));
    expect(keyFetches).toBe(1);
    fake.rotateKey();
    await p.parseWebhook(body, fake.signBody(body.toString()));
    await p.parseWebhook(body, fake.signBody(body.toString(), fake.keys[0]!)); // the old key still verifies
    expect(keyFetches).toBe(2);
  });

  it('configured keys only: an unknown key id is refused without asking Circle', async () => {
    const k = fake.signingKey;
    const p = provider({ keys: { [k.id]: k.publicKeyB64 }, fetchKeys: false });
    const body = Buffer.from('{"notificationType":"webhooks"}');
    expect(await p.parseWebhook(body, fake.signBody(body.toString(), k))).toEqual([]);
    fake.rotateKey();
    await expect(p.parseWebhook(body, fake.signBody(body.toString()))).rejects.toMatchObject({
      code: 'unknown_key',
    });
  });

  it('unsigned notifications: refused by default; with lookup, only the transfer id is believed', async () => {
    const strict = provider();
    const lookup = provider({ unsigned: 'lookup' });
    fake.autoComplete = false;
    const req = request(evmDest(evmAddress()));
    const res = await lookup.submit(req);
    const t = fake.transfers.get(res.providerRef)!;
    // A forged "complete" for a transfer still pending at Circle.
    const forged = Buffer.from(
      JSON.stringify({ notificationType: 'transfers', transfer: { ...t, status: 'complete' } }),
    );
    await expect(strict.parseWebhook(forged, {})).rejects.toMatchObject({ code: 'missing_signature' });
    expect(await lookup.parseWebhook(forged, {})).toEqual([]);
    fake.complete(t.id);
    expect((await lookup.parseWebhook(forged, {})).map((e) => [e.type, e.idempotencyKey])).toEqual([
      ['paid', req.idempotencyKey],
    ]);
    const unknown = Buffer.from(
      JSON.stringify({
        notificationType: 'transfers',
        transfer: { ...t, id: '00000000-0000-4000-8000-000000000000' },
      }),
    );
    expect(await lookup.parseWebhook(unknown, {})).toEqual([]);
    // Signed-looking but wrong: a signature present is always checked.
    await expect(
      lookup.parseWebhook(forged, { 'x-circle-key-id': fake.signingKey.id, 'x-circle-signature': 'AAAA' }),
    ).rejects.toMatchObject({ code: 'invalid_signature' });
  });

  it('subscription confirmation: the SubscribeURL is fetched at an allowed origin, refused elsewhere', async () => {
    const p = provider();
    const saved = fake.endpoint;
    try {
      await fake.subscribe(receiverUrl);
      const confirmation = received
        .splice(0)
        .find((r) => r.body.toString().includes('SubscriptionConfirmation'))!;
      expect(await p.parseWebhook(confirmation.body, confirmation.headers)).toEqual([]);
      expect(fake.subscriptions.at(-1)?.confirmed).toBe(true);
      const foreign = {
        ...JSON.parse(confirmation.body.toString()),
        SubscribeURL: 'http://169.254.169.254/latest/meta-data',
      };
      // Unsigned (or its signature dropped): refused before anything is fetched.
      const { Signature: _s, SigningCertURL: _c, ...bare } = foreign;
      await expect(p.parseWebhook(Buffer.from(JSON.stringify(bare)), {})).rejects.toMatchObject({
        code: 'missing_signature',
      });
      // The URL changed after signing: the SNS signature no longer matches.
      await expect(p.parseWebhook(Buffer.from(JSON.stringify(foreign)), {})).rejects.toMatchObject({
        code: 'invalid_signature',
      });
      // Signed, but at a foreign origin: never fetched.
      const signed = fake.signSns({ ...bare, SignatureVersion: undefined } as Record<string, string>);
      await expect(p.parseWebhook(Buffer.from(JSON.stringify(signed)), {})).rejects.toMatchObject({
        code: 'untrusted_subscription',
      });
    } finally {
      fake.endpoint = saved;
    }
  });
});

describe('SNS-signed notifications (Circle Mint)', () => {
  const notification = async (p: CircleProvider) => {
    fake.autoComplete = false;
    const req = request(evmDest(evmAddress()));
    const res = await p.submit(req);
    await fake.webhooksSent();
    received.length = 0;
    fake.complete(res.providerRef);
    await fake.webhooksSent();
    const r = received.splice(0).at(-1)!;
    return { req, res, body: JSON.parse(r.body.toString()) as Record<string, string>, headers: r.headers };
  };

  it('verifies the SNS signature (SignatureVersion 2 and 1) with the certificate at SigningCertURL, fetched once', async () => {
    let certFetches = 0;
    const counting: typeof fetch = (input, init) => {
      if (String(input).endsWith('.pem')) certFetches++;
      return fetch(input, init);
    };
    const p = provider({ fetch: counting });
    const { req, body, headers } = await notification(p);
    expect(headers['x-circle-signature']).toBeUndefined(); // Circle Mint: SNS signs, not Circle
    expect(body.SignatureVersion).toBe('2');
    expect((await p.parseWebhook(Buffer.from(JSON.stringify(body)), headers)).map((e) => e.type)).toEqual([
      'paid',
    ]);
    const v1 = fake.signSns({ ...body, Signature: undefined } as unknown as Record<string, string>, '1');
    const events = await p.parseWebhook(Buffer.from(JSON.stringify(v1)), {});
    expect(events.map((e) => [e.type, e.idempotencyKey])).toEqual([['paid', req.idempotencyKey]]);
    expect(certFetches).toBe(1);
  });

  it('refuses a changed message, an unknown version, an untrusted certificate URL and an unexpected topic', async () => {
    const p = provider();
    const { body } = await notification(p);
    const refused = async (b: Record<string, unknown>, q = p) => {
      try {
        await q.parseWebhook(Buffer.from(JSON.stringify(b)), {});
      } catch (err) {
        if (err instanceof WebhookVerificationError) return err.code;
        throw err;
      }
      return 'accepted';
    };
    const message = JSON.parse(body.Message!) as { transfer: { status: string; amount: { amount: string } } };
    message.transfer.amount.amount = '99999.00';
    expect(await refused({ ...body, Message: JSON.stringify(message) })).toBe('invalid_signature');
    expect(await refused({ ...body, SignatureVersion: '3' })).toBe('unsupported_algorithm');
    expect(
      await refused({ ...body, SigningCertURL: 'https://evil.example/SimpleNotificationService-x.pem' }),
    ).toBe('untrusted_certificate');
    expect(
      await refused({ ...body, SigningCertURL: 'https://sns.us-east-1.amazonaws.com.evil.example/x.pem' }),
    ).toBe('untrusted_certificate');
    expect(
      await refused(body, provider({ topics: ['arn:aws:sns:us-east-1:123456789012:other-topic'] })),
    ).toBe('unexpected_topic');
    expect(await refused(body, provider({ topics: [FAKE_TOPIC_ARN] }))).toBe('accepted');
  });

  it('the network fee and the transaction hash of a complete transfer are recorded; charges() reports the fee', async () => {
    const p = provider();
    const { req, res } = await notification(p);
    const t = fake.transfers.get(res.providerRef)!;
    expect(t.fees).toEqual([{ amount: '0.012345', currency: 'USD', type: 'network' }]);
    expect(await p.charges(req.idempotencyKey)).toEqual([]); // not seen complete yet
    expect((await p.status(req.idempotencyKey)).state).toBe('paid');
    expect(await p.charges(req.idempotencyKey)).toEqual([
      {
        kind: 'network_fee',
        amount: { amount: '12345', currency: 'USDC', scale: 6 },
        reference: t.transactionHash,
        bearer: 'platform',
      },
    ]);
    const rec = await new AttemptJournal(db, 'circle').get(req.idempotencyKey);
    expect([rec?.refs.networkFee, rec?.refs.transactionHash]).toEqual(['0.012345', t.transactionHash]);
    // Who bears it is fixed when the attempt is sent: a later change of the setting does not move it.
    expect((await provider({ feeBearer: 'payee' }).charges(req.idempotencyKey))[0]?.bearer).toBe('platform');
  });

  it('a fee Circle lists in a later notification that keeps `complete` is recorded then; a fee-less one after it keeps it', async () => {
    const p = provider();
    fake.networkFeeLater = true;
    try {
      fake.autoComplete = false;
      const req = request(evmDest(evmAddress()));
      const res = await p.submit(req);
      fake.complete(res.providerRef);
      await webhookEvents(p); // pending, then complete without fees
      const firstComplete = fake.notifications.at(-1)!;
      expect(await p.charges(req.idempotencyKey)).toEqual([]);
      fake.reportNetworkFee(res.providerRef);
      // Still a `paid` event of the attempt: the payout service books the fee from it (bookLateCharges).
      expect((await webhookEvents(p)).map((e) => [e.type, e.idempotencyKey])).toEqual([
        ['paid', req.idempotencyKey],
      ]);
      const fee = [{ kind: 'network_fee', amount: { amount: '12345', currency: 'USDC', scale: 6 } }];
      expect(await p.charges(req.idempotencyKey)).toMatchObject(fee);
      await fake.redeliver(firstComplete.messageId); // out of order: the fee-less `complete` again
      expect((await webhookEvents(p)).map((e) => e.type)).toEqual(['paid']);
      expect(await p.charges(req.idempotencyKey)).toMatchObject(fee);
    } finally {
      fake.networkFeeLater = false;
    }
  });

  it('networkFeeBearer "payee": charges() names the payee as the bearer of the fee Circle reported', async () => {
    const p = provider({ feeBearer: 'payee' });
    const { req } = await notification(p);
    expect((await p.status(req.idempotencyKey)).state).toBe('paid');
    const [charge] = await p.charges(req.idempotencyKey);
    expect([charge?.amount.amount, charge?.bearer]).toEqual(['12345', 'payee']);
    expect((await provider().charges(req.idempotencyKey))[0]?.bearer).toBe('payee');
  });
});

describe("Circle's own capability lookup (GET /v1/stablecoins)", () => {
  it('narrows the currencies to the listed stablecoins and declines a chain Circle does not list, sending nothing', async () => {
    const saved = structuredClone(fake.stablecoinChains);
    try {
      fake.stablecoinChains = { USDC: ['ETH', 'SOL'] };
      const p = new CircleProvider({
        name: 'circle',
        db,
        apiKey: new Secret(KEY, 'TEST'),
        walletId: fake.walletId,
        apiBase: fake.url,
        capabilities: { currencies: ['USD', 'USDC', 'EUR', 'EURC'] },
      });
      expect(p.capabilities().currencies).toEqual(['USD', 'USDC', 'EUR', 'EURC']);
      expect(await p.health()).toEqual({ status: 'up' });
      expect(p.capabilities().currencies).toEqual(['USD', 'USDC']);
      const before = posts().length;
      const e = await failure(p.submit(request(evmDest(evmAddress(), 'base'))));
      expect([e.kind, e.code]).toEqual(['hard_decline', 'chain_not_supported']);
      expect(e.message).toContain('Circle lists USDC on ethereum, solana; not on BASE');
      expect(posts().length).toBe(before);
      expect((await p.submit(request(evmDest(evmAddress())))).state).toBe('pending');
    } finally {
      fake.stablecoinChains = saved;
    }
  });
});
