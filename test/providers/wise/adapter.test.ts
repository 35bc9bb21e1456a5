// Contract tests of the Wise adapter against the local fake Wise (test/fakes/wise): quote → recipient →
// transfer → fund for each supported destination, FX in integer minor units, recipient reuse, retries with the
// same customerTransactionId, unknown outcomes resolved by status(), SCA and credentials as outages, cancel
// (voided, cancelled, truthfully refused), a bounce after paid, and webhook verification with rotation.
import { generateKeyPairSync } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { WebhookVerificationError } from '../../../src/providers/errors.ts';
import { AttemptJournal } from '../../../src/providers/shared/attempts.ts';
import { Secret } from '../../../src/providers/shared/secrets.ts';
import type { SubmitRequest } from '../../../src/providers/types.ts';
import { customerTransactionId, WiseProvider } from '../../../src/providers/wise/provider.ts';
import { FakeWise } from '../../fakes/wise/server.ts';
import { createTestDatabase, type TestDatabase } from '../../support/db.ts';
import { failure } from '../support.ts';

const TOKEN = 'wise-test-token-0123456789abcdef';
const PROFILE = 4242;
const IBAN_DE = 'DE89370400440532013000';
const IBAN_GB = 'GB29NWBK60161331926819';
const ADDRESS = {
  line1: '1 Main Street',
  city: 'Springfield',
  postalCode: '62701',
  state: 'IL',
  country: 'US',
};
let db: TestDatabase;
let fake: FakeWise;
let seq = 0;

function provider(o: { timeoutMs?: number; keys?: string[]; token?: string } = {}): WiseProvider {
  return new WiseProvider({
    name: 'wise',
    db,
    profileId: PROFILE,
    apiToken: new Secret(o.token ?? TOKEN, 'TEST'),
    webhookPublicKeys: (o.keys ?? [fake.publicKey]).map((k) => new Secret(k, 'TEST')),
    apiBase: fake.url,
    timeoutMs: o.timeoutMs ?? 5_000,
  });
}

function request(destination: string, o: Partial<SubmitRequest> = {}): SubmitRequest {
  seq++;
  return {
    idempotencyKey: `po_w${seq}:1`,
    payoutId: `po_w${seq}`,
    amount: { amount: '2500', currency: 'USD', scale: 2 },
    method: 'bank_transfer',
    rail: 'batch',
    destination,
    payee: { id: `pe_${seq}`, country: 'US', name: `Payee ${seq}`, address: ADDRESS },
    ...o,
  };
}

/** The provider events the adapter makes of every webhook the fake would send for a transfer. */
const received: { body: string; signature: string }[] = [];

beforeAll(async () => {
  db = await createTestDatabase('wise_contract');
  fake = new FakeWise({ token: TOKEN, profileId: PROFILE });
  await fake.start();
});
afterEach(() => {
  fake.faults = [];
  fake.autoSend = true;
  fake.refuseHolder = undefined;
});
afterAll(async () => {
  await fake?.stop();
  await db?.drop();
});

describe('submit', () => {
  it('USD to a US ABA account: quote, recipient, transfer, funded from the balance, sent → paid', async () => {
    const before = fake.balances.USD!;
    const req = request('domestic/US/011000015/40001234');
    const res = await provider().submit(req);
    expect(res.state).toBe('paid');
    const [t] = fake.transfersFor(req.payoutId);
    expect(res.providerRef).toBe(String(t!.id));
    expect(t!.customerTransactionId).toBe(customerTransactionId(PROFILE, req.idempotencyKey));
    expect(fake.recipients.get(t!.targetAccount)).toMatchObject({
      type: 'aba',
      currency: 'USD',
      accountHolderName: req.payee.name,
      details: { abartn: '011000015', accountNumber: '40001234', accountType: 'CHECKING' },
    });
    expect(fake.balances.USD).toBe(before - 2500n); // source amount fixed: exactly the net leaves
  });

  it('USD wallet to a EUR IBAN: Wise converts; the quote is journalled in integer minor units', async () => {
    const before = fake.balances.USD!;
    const req = request(`iban/${IBAN_DE}`, { amount: { amount: '100000', currency: 'USD', scale: 2 } });
    expect((await provider().submit(req)).state).toBe('paid');
    const [t] = fake.transfersFor(req.payoutId);
    // fee 0.50 + 0.40% of 1000.00 = 4.50; (1000.00 − 4.50) × 0.9250 = 920.83 (rounded down by Wise)
    expect([t!.quote.source, t!.quote.target, t!.quote.feeMinor, t!.quote.targetMinor]).toEqual([
      'USD',
      'EUR',
      450n,
      92083n,
    ]);
    expect(fake.recipients.get(t!.targetAccount)).toMatchObject({ type: 'iban', details: { iban: IBAN_DE } });
    expect(await provider().conversion(req.idempotencyKey)).toEqual({
      source: { amount: '100000', currency: 'USD', scale: 2 },
      fee: { amount: '450', currency: 'USD', scale: 2 },
      target: { amount: '92083', currency: 'EUR', scale: 2 },
    });
    const rec = await new AttemptJournal(db, 'wise').get(req.idempotencyKey);
    expect(rec!.refs.fx).toBe('100000|450|92083|EUR|0.9250');
    expect(fake.balances.USD).toBe(before - 100000n);
  });

  it('GBP by sort code: from a domestic GB account and from a GB IBAN', async () => {
    const domestic = request('domestic/GB/401276/31926819', {
      amount: { amount: '1200', currency: 'GBP', scale: 2 },
    });
    const iban = request(`iban/${IBAN_GB}`, { amount: { amount: '1300', currency: 'GBP', scale: 2 } });
    await provider().submit(domestic);
    await provider().submit(iban);
    const r1 = fake.recipients.get(fake.transfersFor(domestic.payoutId)[0]!.targetAccount);
    const r2 = fake.recipients.get(fake.transfersFor(iban.payoutId)[0]!.targetAccount);
    expect(r1).toMatchObject({
      type: 'sort_code',
      details: { sortCode: '401276', accountNumber: '31926819' },
    });
    expect(r2).toMatchObject({
      type: 'sort_code',
      details: { sortCode: '601613', accountNumber: '31926819' },
    });
  });

  it('a destination Wise cannot be paid to here is a hard decline naming the missing field; nothing is sent', async () => {
    const before = fake.requests.length;
    const err = await failure(provider().submit(request('domestic/CA/00011/1234567')));
    expect([err.kind, err.code]).toEqual(['hard_decline', 'unsupported_destination']);
    expect(err.message).toMatch(/missing field: iban/);
    const short = await failure(provider().submit(request('domestic/GB/12/31926819')));
    expect(short.message).toMatch(/missing field sortCode/);
    expect(fake.requests.length).toBe(before);
  });

  it('reuses the recipient made for the same details; a different holder gets another', async () => {
    const p = provider();
    const a = request('domestic/US/011000015/55500011');
    const b = { ...request('domestic/US/011000015/55500011'), payee: a.payee };
    const c = request('domestic/US/011000015/55500011');
    await p.submit(a);
    await p.submit(b);
    await p.submit(c);
    const [ra, rb, rc] = [a, b, c].map((r) => fake.transfersFor(r.payoutId)[0]!.targetAccount);
    expect(rb).toBe(ra);
    expect(rc).not.toBe(ra);
    expect(fake.requests.filter((r) => r.path === '/v1/accounts')).toHaveLength(
      new Set(fake.recipients.keys()).size,
    );
  });

  it('a key reused for another amount is refused before anything is sent', async () => {
    const req = request('domestic/US/011000015/40009999');
    await provider().submit(req);
    const err = await failure(provider().submit({ ...req, amount: { ...req.amount, amount: '2600' } }));
    expect(err.code).toBe('idempotency_key_reused');
  });

  it('a 429 on the transfer is retryable; the retry makes one transfer, funded once', async () => {
    fake.faults = [{ kind: 'status', status: 429, method: 'POST', path: /^\/v1\/transfers$/, times: 1 }];
    const req = request('domestic/US/011000015/40002222');
    expect((await failure(provider().submit(req))).kind).toBe('retryable');
    expect((await provider().submit(req)).state).toBe('paid');
    expect(fake.transfersFor(req.payoutId)).toHaveLength(1);
  });

  it('the transfer answer lost after Wise made it: unknown outcome; status finds it by customerTransactionId', async () => {
    fake.faults = [{ kind: 'timeout_after', ms: 1_500, method: 'POST', path: /^\/v1\/transfers$/ }];
    const req = request('domestic/US/011000015/40003333');
    const p = provider({ timeoutMs: 500 });
    expect((await failure(p.submit(req))).kind).toBe('timeout');
    const s = await p.status(req.idempotencyKey);
    expect(s.state).toBe('pending'); // made, not funded
    expect(s.providerRef).toBe(String(fake.transfersFor(req.payoutId)[0]!.id));
    // A retry (same key) funds that same transfer, never a second one.
    expect((await p.submit(req)).state).toBe('paid');
    expect(fake.transfersFor(req.payoutId)).toHaveLength(1);
  });

  it('latency within the timeout changes nothing; an unreadable answer after the work is an unknown outcome', async () => {
    fake.faults = [{ kind: 'latency', ms: 200, method: 'POST', path: /^\/v1\/accounts$/ }];
    expect((await provider().submit(request('domestic/US/011000015/40002323'))).state).toBe('paid');
    fake.faults = [{ kind: 'unreadable', method: 'POST', path: /^\/v1\/transfers$/ }];
    const req = request('domestic/US/011000015/40002424');
    expect((await failure(provider().submit(req))).kind).toBe('timeout');
    expect((await provider().status(req.idempotencyKey)).providerRef).toBe(
      String(fake.transfersFor(req.payoutId)[0]!.id),
    );
  });

  it('the funding answer lost after Wise paid: unknown outcome, status says paid, a replay pays nothing more', async () => {
    fake.faults = [{ kind: 'timeout_after', ms: 1_500, method: 'POST', path: /\/payments$/ }];
    const before = fake.balances.USD!;
    const req = request('domestic/US/011000015/40004444');
    const p = provider({ timeoutMs: 500 });
    expect((await failure(p.submit(req))).kind).toBe('timeout');
    expect((await p.status(req.idempotencyKey)).state).toBe('paid');
    expect((await p.submit(req)).state).toBe('paid');
    expect(fake.balances.USD).toBe(before - 2500n);
  });

  it('strong customer authentication (403 x-2fa-approval) is an outage that says so', async () => {
    fake.faults = [
      {
        kind: 'status',
        status: 403,
        method: 'POST',
        path: /\/payments$/,
        headers: { 'x-2fa-approval': 'abc-123' },
      },
    ];
    const err = await failure(provider().submit(request('domestic/US/011000015/40005555')));
    expect([err.kind, err.code]).toEqual(['outage', 'sca_required']);
    expect(err.message).toMatch(/strong customer authentication/);
  });

  it('a wrong token is an outage; the token never appears in the error', async () => {
    const err = await failure(
      provider({ token: 'wrong-token-0123456789' }).submit(request('domestic/US/011000015/40006666')),
    );
    expect(err.kind).toBe('outage');
    expect(err.message).not.toContain('wrong-token');
    expect((await provider({ token: 'wrong-token-0123456789' }).health()).status).toBe('down');
    expect((await provider().health()).status).toBe('up');
  });

  it('a balance that cannot fund it: the transfer is cancelled and the attempt is an outage', async () => {
    const req = request('domestic/US/011000015/40007777', {
      amount: { amount: '900', currency: 'EUR', scale: 2 },
    });
    const eur = fake.balances.EUR!;
    fake.balances.EUR = 100n;
    try {
      // EUR wallet to a USD account: EUR→USD quote, funding refused
      const err = await failure(provider().submit(req));
      expect([err.kind, err.code]).toEqual(['outage', 'balance.insufficient']);
      expect(fake.transfersFor(req.payoutId)[0]!.status).toBe('cancelled');
    } finally {
      fake.balances.EUR = eur;
    }
  });

  it('funding refused (4xx): the transfer is cancelled first, so the decline moved nothing', async () => {
    fake.faults = [
      { kind: 'status', status: 422, code: 'transfer.not-fundable', method: 'POST', path: /\/payments$/ },
    ];
    const req = request('domestic/US/011000015/40002525');
    const err = await failure(provider().submit(req));
    expect([err.kind, err.code]).toEqual(['hard_decline', 'transfer.not-fundable']);
    expect(fake.transfersFor(req.payoutId).map((t) => [t.status, t.funded])).toEqual([['cancelled', false]]);
  });

  it('funding answered 4xx although Wise funded it: seen funded, not declined', async () => {
    const before = fake.balances.USD!;
    fake.faults = [{ kind: 'status_after', status: 422, method: 'POST', path: /\/payments$/ }];
    const req = request('domestic/US/011000015/40002626');
    expect((await provider().submit(req)).state).toBe('paid');
    expect(fake.balances.USD).toBe(before - 2500n);
  });

  it('a recipient Wise refuses is a hard decline', async () => {
    fake.refuseHolder = 'Refused';
    const req = request(`iban/${IBAN_DE}`, { payee: { id: 'pe_r', country: 'DE', name: 'Refused Person' } });
    const err = await failure(provider().submit(req));
    expect(err.kind).toBe('hard_decline');
    expect(fake.transfersFor(req.payoutId)).toEqual([]);
  });
});

describe('status and cancel', () => {
  it('an unknown key is not_found; cancel voids it and a later submit is refused', async () => {
    const req = request('domestic/US/011000015/40008888');
    const p = provider();
    expect((await p.status(req.idempotencyKey)).state).toBe('not_found');
    expect(await p.cancel(req.idempotencyKey)).toMatchObject({ cancelled: true, state: 'not_found' });
    expect((await failure(p.submit(req))).kind).toBe('hard_decline');
    expect(fake.transfersFor(req.payoutId)).toEqual([]);
  });

  it('a transfer not funded yet is cancelled at Wise; a retry of the attempt is refused', async () => {
    fake.faults = [{ kind: 'status', status: 503, method: 'POST', path: /\/payments$/ }];
    const req = request('domestic/US/011000015/40001111');
    const p = provider();
    expect((await failure(p.submit(req))).kind).toBe('retryable');
    expect(await p.cancel(req.idempotencyKey)).toMatchObject({ cancelled: true, state: 'failed' });
    expect(fake.transfersFor(req.payoutId)[0]!.status).toBe('cancelled');
    expect((await failure(p.submit(req))).kind).toBe('hard_decline');
    expect((await p.status(req.idempotencyKey)).state).toBe('failed');
  });

  it('funds converted or sent: cancel says truthfully it cannot', async () => {
    fake.autoSend = false;
    const p = provider();
    const req = request('domestic/US/011000015/40001212');
    expect((await p.submit(req)).state).toBe('pending');
    expect(await p.cancel(req.idempotencyKey)).toMatchObject({ cancelled: false, state: 'pending' });
    fake.send(fake.transfersFor(req.payoutId)[0]!.id);
    expect(await p.cancel(req.idempotencyKey)).toMatchObject({ cancelled: false, state: 'paid' });
    expect((await p.status(req.idempotencyKey)).state).toBe('paid');
  });
});

describe('webhooks', () => {
  /** Captures what the fake would POST, without a receiver: sign and parse directly. */
  function delivery(
    transferId: number,
    current: string,
    previous?: string,
  ): { body: Buffer; headers: Record<string, string> } {
    const body = JSON.stringify({
      data: {
        resource: { type: 'transfer', id: transferId, profile_id: PROFILE, account_id: 1 },
        current_state: current,
        ...(previous ? { previous_state: previous } : {}),
        occurred_at: '2026-01-02T03:04:05.000Z',
      },
      subscription_id: '01234567-89ab-cdef-0123-456789abcdef',
      event_type: 'transfers#state-change',
      schema_version: '4.0.0',
      sent_at: '2026-01-02T03:04:05.100Z',
    });
    received.push({ body, signature: fake.sign(body) });
    return {
      body: Buffer.from(body),
      headers: { 'x-signature-sha256': fake.sign(body), 'x-delivery-id': 'd-1' },
    };
  }

  it('outgoing_payment_sent → paid; bounced_back → paid + returned; same ids on duplicates', async () => {
    fake.autoSend = false;
    const p = provider();
    const req = request('domestic/US/011000015/40001313');
    await p.submit(req);
    const t = fake.transfersFor(req.payoutId)[0]!;
    const sent = delivery(t.id, 'outgoing_payment_sent', 'funds_converted');
    const first = await p.parseWebhook(sent.body, sent.headers);
    const again = await p.parseWebhook(sent.body, sent.headers);
    expect(first).toEqual([
      {
        eventId: `wise:${t.id}:paid`,
        idempotencyKey: req.idempotencyKey,
        payoutId: req.payoutId,
        type: 'paid',
        occurredAt: '2026-01-02T03:04:05.000Z',
      },
    ]);
    expect(again).toEqual(first);
    const bounced = delivery(t.id, 'bounced_back', 'outgoing_payment_sent');
    expect((await p.parseWebhook(bounced.body, bounced.headers)).map((e) => [e.eventId, e.type])).toEqual([
      [`wise:${t.id}:paid`, 'paid'],
      [`wise:${t.id}:returned`, 'returned'],
    ]);
    const refunded = delivery(t.id, 'funds_refunded', 'bounced_back');
    expect((await p.parseWebhook(refunded.body, refunded.headers)).map((e) => e.type)).toEqual([
      'paid',
      'returned',
    ]);
    const mid = delivery(t.id, 'processing', 'incoming_payment_waiting');
    expect(await p.parseWebhook(mid.body, mid.headers)).toEqual([]);
  });

  it('a bounce days after paid: status says returned', async () => {
    const p = provider();
    const req = request('domestic/US/011000015/40001414');
    await p.submit(req);
    const t = fake.transfersFor(req.payoutId)[0]!;
    fake.bounce(t.id, { days: 4 });
    expect(await p.status(req.idempotencyKey)).toMatchObject({ state: 'returned', reason: 'funds_refunded' });
  });

  it('cancelled → failed; a transfer of no attempt of this instance → nothing', async () => {
    const p = provider();
    const cancelled = delivery(999_999, 'cancelled', 'incoming_payment_waiting');
    expect(await p.parseWebhook(cancelled.body, cancelled.headers)).toEqual([]);
  });

  it('refuses a missing or wrong signature; accepts either key while Wise rotates', async () => {
    const other = generateKeyPairSync('rsa', { modulusLength: 2048 })
      .publicKey.export({ type: 'spki', format: 'pem' })
      .toString();
    const d = delivery(1, 'processing');
    await expect(provider().parseWebhook(d.body, {})).rejects.toMatchObject({ code: 'missing_signature' });
    await expect(provider({ keys: [other] }).parseWebhook(d.body, d.headers)).rejects.toBeInstanceOf(
      WebhookVerificationError,
    );
    await expect(
      provider().parseWebhook(Buffer.from(`${d.body.toString()} `), d.headers),
    ).rejects.toMatchObject({ code: 'invalid_signature' });
    expect(await provider({ keys: [other, fake.publicKey] }).parseWebhook(d.body, d.headers)).toEqual([]);
  });
});

describe("Wise's account requirements (dynamic recipient fields)", () => {
  const counts = () => ({
    recipients: fake.recipients.size,
    transfers: fake.transfers.size,
    quotes: fake.quotes.size,
  });

  it('a US account without a postal address: a hard decline naming each missing field; nothing is created', async () => {
    const before = counts();
    const req = request('domestic/US/011000015/40008800', {
      payee: { id: 'pe_noaddr', country: 'US', name: 'No Address' },
    });
    const err = await failure(provider().submit(req));
    expect([err.kind, err.code]).toEqual(['hard_decline', 'missing_field']);
    expect(err.message).toContain(
      'address.city ("City"), address.firstLine ("Address"), address.postCode ("Post code")',
    );
    expect(err.message).not.toContain('40008800'); // bank data never in a message
    expect(counts()).toEqual(before);
    const asked = fake.requests.filter((r) => r.path === '/v1/account-requirements').map((r) => r.method);
    expect(asked.slice(-2)).toEqual(['GET', 'POST']); // the country set: asked again for what it adds
  });

  it('the state is asked once the country is US; a value Wise does not allow is refused by name', async () => {
    const before = counts();
    const { state: _s, ...noState } = ADDRESS;
    const missing = await failure(
      provider().submit(
        request('domestic/US/011000015/40008801', {
          payee: { id: 'pe_a', country: 'US', name: 'A B', address: noState },
        }),
      ),
    );
    expect([missing.code, missing.message]).toEqual([
      'missing_field',
      expect.stringContaining('missing: address.state ("State")'),
    ]);
    const wrong = await failure(
      provider().submit(
        request('domestic/US/011000015/40008802', {
          payee: { id: 'pe_b', country: 'US', name: 'A B', address: { ...ADDRESS, state: 'XX' } },
        }),
      ),
    );
    expect([wrong.code, wrong.message]).toEqual([
      'invalid_field',
      expect.stringContaining('not in the values Wise allows: address.state ("State")'),
    ]);
    expect(counts()).toEqual(before);
  });

  it('a route that asks no address pays without one; a recipient Wise reused is not asked again', async () => {
    const p = provider();
    const gb = request('domestic/GB/400515/31926819', {
      amount: { amount: '1000', currency: 'GBP', scale: 2 },
      payee: { id: 'pe_gb', country: 'GB', name: 'Gb Payee' },
    });
    expect((await p.submit(gb)).state).toBe('paid');
    const asked = () => fake.requests.filter((r) => r.path === '/v1/account-requirements').length;
    const n = asked();
    expect((await p.submit({ ...gb, idempotencyKey: `${gb.payoutId}:2` })).state).toBe('paid');
    expect(asked()).toBe(n);
  });
});

describe("Wise's own capability lookup (the profile's balances)", () => {
  it('only currencies the profile holds a balance in stay payable (health refreshes them)', async () => {
    const saved = { ...fake.balances };
    try {
      delete fake.balances.GBP;
      const p = provider();
      expect(p.capabilities().currencies).toEqual(['EUR', 'GBP', 'USD']);
      expect(await p.health()).toEqual({ status: 'up' });
      expect(p.capabilities().currencies).toEqual(['EUR', 'USD']);
      const err = await failure(
        p.submit(
          request('domestic/GB/400515/31926819', { amount: { amount: '1000', currency: 'GBP', scale: 2 } }),
        ),
      );
      expect(err.code).toBe('currency_unsupported');
    } finally {
      Object.assign(fake.balances, saved);
    }
  });
});
