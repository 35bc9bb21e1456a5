// The payout workflow paying through the Wise adapter, against the fake Wise, end to end: the real API, worker,
// Temporal test server and PostgreSQL; Wise's signed transfers#state-change webhooks POSTed to the API's
// provider route. Wise is a batch rail: payouts go out in the payout window. Scheduled paid (same currency and
// with FX), a refused recipient failing over to the sandbox, a funding answer lost after Wise paid resolved
// without paying twice, a bounce after paid, duplicate and out-of-order webhooks. After each: the ledger
// verifies, no payout is disbursed twice across Wise and the sandbox, and what left the Wise balance for good
// plus the sandbox's paid total equals the ledger's provider clearing.
import { randomBytes } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { sql } from '../../src/db/sql.ts';
import { listSandboxDisbursements } from '../../src/providers/index.ts';
import { FakeWise } from '../fakes/wise/server.ts';
import {
  assertPaidOnce,
  attemptOutcomes,
  clearingByCurrency,
  ledgerSteps,
  pastPayoutWindow,
  sandboxPaidByCurrency,
} from '../providers/e2e-support.ts';
import { type Stack, startStack } from '../support/stack.ts';
import { waitForRowState } from './row-state.ts';

const TOKEN = `wise-${randomBytes(16).toString('hex')}`;
const PROFILE = 31337;

describe('payouts through Wise (fake Wise)', () => {
  let stack: Stack;
  let fake: FakeWise;
  beforeAll(async () => {
    fake = new FakeWise({ token: TOKEN, profileId: PROFILE });
    // Payee records keep no postal address yet: these payouts go by a route whose requirements ask none (Wise's
    // requirements differ by route and profile); the test below puts the address requirement back.
    fake.addressRequired.clear();
    await fake.start();
    process.env.E2E_WISE_TOKEN = TOKEN;
    process.env.E2E_WISE_KEY = fake.publicKey;
    stack = await startStack('wise_e2e', {
      providers: [
        {
          name: 'wise',
          kind: 'wise',
          capabilities: { priority: 1 },
          settings: {
            apiBase: fake.url,
            profileId: PROFILE,
            apiTokenEnv: 'E2E_WISE_TOKEN',
            webhookPublicKeyEnv: 'E2E_WISE_KEY',
            timeoutMs: 1_000,
          },
        },
        // The fallback is a batch rail too, so an instant request has no instant provider (Wise is batch only).
        { name: 'sandbox', capabilities: { priority: 2, rails: ['batch'] } },
      ],
    });
    fake.webhookUrl = `${stack.url}/v1/providers/wise/webhooks`;
    fake.autoSend = false;
  });
  afterEach(async () => {
    fake.faults = [];
    fake.autoSend = false;
    fake.duplicateWebhooks = false;
    fake.holdWebhooks = false;
    fake.outOfOrder = false;
    fake.refuseHolder = undefined;
    await fake.webhooksSent();
    await assertInvariants();
  });
  afterAll(async () => {
    await stack?.close();
    await fake?.stop();
  });

  async function assertInvariants(): Promise<void> {
    const wiseSent = new Set(
      [...fake.transfers.values()]
        .filter((t) => t.funded && t.status !== 'cancelled')
        .map((t) => t.reference),
    );
    await assertPaidOnce(stack, {
      fakePaidTwice: fake.paidMoreThanOnce(),
      paidByFake: (id) => wiseSent.has(id.slice(0, 18)),
    });
    // Per currency: the fake's sent transfers (the source amount, or the provider's fee in the source currency
    // and the converted amount in the target currency) plus the sandbox's paid = the ledger's provider clearing.
    const expected = new Map<string, bigint>();
    const add = (c: string, v: bigint) => expected.set(c, (expected.get(c) ?? 0n) + v);
    for (const t of fake.transfers.values()) {
      if (t.status !== 'outgoing_payment_sent') continue;
      if (t.quote.source === t.quote.target) add(t.quote.source, t.quote.sourceMinor);
      else {
        add(t.quote.source, t.quote.feeMinor);
        add(t.quote.target, t.quote.targetMinor);
      }
    }
    for (const [c, v] of await sandboxPaidByCurrency(stack)) add(c, v);
    const clearing = await clearingByCurrency(stack);
    for (const c of new Set([...expected.keys(), ...clearing.keys()])) {
      expect([c, clearing.get(c) ?? 0n]).toEqual([c, expected.get(c) ?? 0n]);
    }
  }

  async function balances(kind: string): Promise<Map<string, bigint>> {
    const rows = await sql<{ currency: string; total: string }>(
      stack.db.em(),
      `SELECT currency, coalesce(sum(balance), 0)::text AS total FROM "${stack.db.schema}".ledger_accounts
        WHERE kind = $1 GROUP BY currency`,
      [kind],
    );
    return new Map(rows.map((r) => [r.currency, BigInt(r.total)]));
  }

  const steps = (payoutId: string) => ledgerSteps(stack, payoutId);
  const attempts = attemptOutcomes;

  /** A scheduled payout: waits for the payout window (virtual time), then for Wise to hold it. */
  async function scheduled(
    payeeId: string,
    amount: string,
    state = 'awaiting_confirmation',
    instant = false,
  ): Promise<string> {
    const payoutId = await stack.requestPayout(payeeId, amount, { instant });
    await pastPayoutWindow(stack, payoutId, state || undefined);
    return payoutId;
  }

  const transferOf = (payoutId: string) => {
    const list = fake.transfersFor(payoutId).filter((t) => t.funded);
    expect(list).toHaveLength(1);
    return list[0]!;
  };

  it('scheduled USD to a US account: funded in the payout window, paid by outgoing_payment_sent', async () => {
    const payeeId = await stack.createPayee({ credit: '100000' });
    const payoutId = await scheduled(payeeId, '7000');
    const t = transferOf(payoutId);
    expect([t.status, t.quote.source, t.quote.target, t.quote.sourceMinor]).toEqual([
      'funds_converted',
      'USD',
      'USD',
      7000n,
    ]);
    fake.send(t.id);
    await fake.webhooksSent();
    const final = await stack.result(payoutId);
    expect([final.state, final.rail]).toEqual(['paid', 'scheduled']);
    expect(attempts(final)).toEqual([['wise', 'paid']]);
    expect(await steps(payoutId)).toEqual(['hold', 'settle']);
    expect(
      fake.deliveries.filter((d) => d.transferId === t.id).map((d) => [d.state, d.status]),
    ).toContainEqual(['outgoing_payment_sent', 200]);
  });

  it('a USD wallet paid to a EUR IBAN: Wise converts; the conversion is booked as FX legs, reversed on a bounce', async () => {
    const payeeId = await stack.createPayee({
      payee: { country: 'DE' },
      bankAccount: {
        iban: 'DE62370400440532013001',
        accountNumber: undefined,
        routingNumber: undefined,
        country: 'DE',
        currency: 'EUR',
      },
      credit: '100000',
    });
    const payoutId = await scheduled(payeeId, '50000');
    const t = transferOf(payoutId);
    // fee 0.50 + 0.40% of 500.00 = 2.50; (500.00 − 2.50) × 0.9250 = 460.18 EUR
    expect([
      t.quote.source,
      t.quote.sourceMinor,
      t.quote.feeMinor,
      t.quote.target,
      t.quote.targetMinor,
    ]).toEqual(['USD', 50000n, 250n, 'EUR', 46018n]);
    const [clearing0, fx0] = [await balances('provider_clearing'), await balances('fx')];
    fake.send(t.id);
    await fake.webhooksSent();
    await stack.waitForState(payoutId, ['paid']);
    // Settled held → clearing[USD] 500.00, then Wise's conversion as FX legs: clearing[USD] −497.50 →
    // fx[USD] +497.50, fx[EUR] −460.18 → clearing[EUR] +460.18; Wise's 2.50 fee stays on clearing[USD].
    const delta = async (kind: string, before: Map<string, bigint>) => {
      const now = await balances(kind);
      return ['USD', 'EUR'].map((c) => (now.get(c) ?? 0n) - (before.get(c) ?? 0n));
    };
    expect(await delta('provider_clearing', clearing0)).toEqual([250n, 46018n]);
    expect(await delta('fx', fx0)).toEqual([49750n, -46018n]);
    // The bank sends it back: both the conversion and the settlement are reversed.
    fake.bounce(t.id, { days: 2 });
    await fake.webhooksSent();
    // The bounce goes down the return path; the payout's row is returned.
    expect((await stack.call('GET', `/v1/payouts/${payoutId}`)).body.state).toBe('returned');
    expect(await steps(payoutId)).toEqual(['hold', 'settle', 'fx', 'fx_return', 'return']);
    expect(await delta('provider_clearing', clearing0)).toEqual([0n, 0n]);
    expect(await delta('fx', fx0)).toEqual([0n, 0n]);
    const wallet = await stack.call('GET', `/v1/payees/${payeeId}/wallet`);
    expect(wallet.body.balances[0].available.amount).toBe('100000');
  });

  it('an instant request: Wise has no instant rail, so it goes out scheduled, in the payout window', async () => {
    const payeeId = await stack.createPayee({ credit: '100000' });
    const payoutId = await scheduled(payeeId, '3000', 'awaiting_confirmation', true);
    fake.send(transferOf(payoutId).id);
    await fake.webhooksSent();
    const final = await stack.result(payoutId);
    expect([final.state, final.rail]).toEqual(['paid', 'scheduled']);
    expect(attempts(final)).toEqual([['wise', 'paid']]);
  });

  it('429s are retried with the same customerTransactionId: one transfer, funded once', async () => {
    fake.faults = [
      { kind: 'status', status: 429, method: 'POST', path: /^\/v1\/transfers$|\/payments$/, times: 2 },
    ];
    const payeeId = await stack.createPayee({ credit: '100000' });
    const payoutId = await scheduled(payeeId, '3500', '');
    await stack.waitForState(payoutId, ['awaiting_confirmation']);
    fake.send(transferOf(payoutId).id);
    await fake.webhooksSent();
    expect((await stack.result(payoutId)).state).toBe('paid');
    expect(fake.transfersFor(payoutId)).toHaveLength(1);
    expect(fake.requests.filter((r) => r.status === 429)).toHaveLength(2);
  });

  it('a webhook not signed by the configured Wise key is refused with 401 problem+json', async () => {
    const body = JSON.stringify({ event_type: 'transfers#state-change', data: { resource: { id: 1 } } });
    const post = (signature: string) =>
      fetch(`${stack.url}/v1/providers/wise/webhooks`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', 'X-Signature-SHA256': signature },
        body,
      });
    const forged = await post(fake.sign(`${body} `));
    expect(forged.status).toBe(401);
    expect(forged.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect((await post(fake.sign(body))).status).toBe(400); // signed, but not a state change we can read
  });

  it('USD to a US account where Wise asks a postal address the payee record lacks: declined naming the fields, paid by the fallback', async () => {
    fake.addressRequired.add('USD');
    try {
      const payeeId = await stack.createPayee({ credit: '100000' });
      const recipients = fake.recipients.size;
      const payoutId = await scheduled(payeeId, '4100', '');
      const final = await stack.resultWithBatches(payoutId);
      expect(final.state).toBe('paid');
      expect(attempts(final)).toEqual([
        ['wise', 'declined'],
        ['sandbox', 'paid'],
      ]);
      const wise = final.attempts.find((a) => a.provider === 'wise') as unknown as Record<string, unknown>;
      expect(JSON.stringify(wise)).toContain('address.city');
      expect(fake.transfersFor(payoutId)).toEqual([]);
      expect(fake.recipients.size).toBe(recipients);
    } finally {
      fake.addressRequired.clear();
    }
  });

  it("USD to a US account whose destination carries the holder's postal address: Wise's recipient gets it, paid by Wise", async () => {
    fake.addressRequired.add('USD');
    try {
      const address = {
        line1: '1 Main Street',
        city: 'Springfield',
        postalCode: '62701',
        state: 'IL',
        country: 'US',
      };
      const payeeId = await stack.createPayee({ bankAccount: { address }, credit: '100000' });
      const dest = await stack.call('GET', `/v1/payees/${payeeId}`);
      expect(JSON.stringify(dest.body)).not.toContain('Main Street'); // encrypted; the view says only "on file"
      const payoutId = await scheduled(payeeId, '4200');
      const t = transferOf(payoutId);
      const recipient = fake.recipients.get(t.targetAccount) as unknown as { details: { address?: unknown } };
      expect(recipient.details.address).toEqual({
        country: 'US',
        city: 'Springfield',
        firstLine: '1 Main Street',
        postCode: '62701',
        state: 'IL',
      });
      fake.send(t.id);
      await fake.webhooksSent();
      const final = await stack.result(payoutId);
      expect(attempts(final)).toEqual([['wise', 'paid']]);
    } finally {
      fake.addressRequired.clear();
    }
  });

  it('an incomplete postal address is refused at the API edge, naming each missing field; nothing is stored', async () => {
    const payeeId = await stack.createPayee({ bankAccount: null });
    const res = await stack.call('PUT', `/v1/payees/${payeeId}/destinations/bank_account`, {
      body: {
        holderName: 'Pat Payee',
        country: 'US',
        currency: 'USD',
        accountNumber: '40001234',
        routingNumber: '011000015',
        address: { line1: '1 Main Street', country: 'US', postalCode: '62701' },
      },
    });
    expect(res.status).toBe(400);
    expect(res.contentType).toMatch(/application\/problem\+json/);
    const paths = (res.body.errors as { path: string }[]).map((e) => e.path);
    expect(paths).toEqual(expect.arrayContaining(['body.address.city']));
    const payee = await stack.call('GET', `/v1/payees/${payeeId}`);
    expect(JSON.stringify(payee.body.destinations ?? [])).not.toContain('bank_account');
  });

  it('a recipient Wise refuses fails over to the sandbox; Wise moved nothing', async () => {
    fake.refuseHolder = 'Refused';
    const payeeId = await stack.createPayee({
      payee: { name: 'Refused Holder' },
      bankAccount: { holderName: 'Refused Holder' },
      credit: '100000',
    });
    const payoutId = await scheduled(payeeId, '4000', '');
    const final = await stack.resultWithBatches(payoutId);
    expect(final.state).toBe('paid');
    expect(attempts(final)).toEqual([
      ['wise', 'declined'],
      ['sandbox', 'paid'],
    ]);
    expect(fake.transfersFor(payoutId)).toEqual([]);
    expect((await listSandboxDisbursements(stack.db, { payoutId })).map((d) => d.state)).toEqual(['paid']);
  });

  it('the funding answer lost after Wise paid: an unknown outcome resolved by status, paid once, no failover', async () => {
    fake.autoSend = true;
    fake.faults = [{ kind: 'timeout_after', ms: 3_000, method: 'POST', path: /\/payments$/ }];
    const payeeId = await stack.createPayee({ credit: '100000' });
    const payoutId = await scheduled(payeeId, '6000', '');
    const final = await stack.result(payoutId);
    expect(final.state).toBe('paid');
    expect(final.attempts.map((a) => a.provider)).toEqual(['wise']);
    expect(fake.transfersFor(payoutId)).toHaveLength(1);
    expect(await listSandboxDisbursements(stack.db, { payoutId })).toEqual([]);
  });

  it('a bounce days after paid is reversed back to the wallet', async () => {
    const payeeId = await stack.createPayee({ credit: '100000' });
    const payoutId = await scheduled(payeeId, '8000');
    const t = transferOf(payoutId);
    fake.send(t.id);
    await fake.webhooksSent();
    await stack.waitForState(payoutId, ['paid']);
    fake.bounce(t.id, { days: 4 });
    await fake.webhooksSent();
    const final = await waitForRowState(stack, payoutId, ['returned']);
    expect(final.state).toBe('returned');
    expect(await steps(payoutId)).toEqual(['hold', 'settle', 'return']);
    const wallet = await stack.call('GET', `/v1/payees/${payeeId}/wallet`);
    expect(wallet.body.balances[0].available.amount).toBe('100000');
  });

  it('duplicate webhooks settle once', async () => {
    fake.duplicateWebhooks = true;
    const payeeId = await stack.createPayee({ credit: '100000' });
    const payoutId = await scheduled(payeeId, '2000');
    const t = transferOf(payoutId);
    fake.send(t.id);
    await fake.webhooksSent();
    const final = await stack.result(payoutId);
    expect(final.state).toBe('paid');
    const sent = fake.deliveries.filter((d) => d.transferId === t.id && d.state === 'outgoing_payment_sent');
    expect(sent.map((d) => d.status)).toEqual([200, 200]);
    expect(await steps(payoutId)).toEqual(['hold', 'settle']);
  });

  it('out-of-order webhooks (the bounce before the payment): the payout ends returned, settled once', async () => {
    const payeeId = await stack.createPayee({ credit: '100000' });
    const payoutId = await scheduled(payeeId, '9000');
    const t = transferOf(payoutId);
    fake.holdWebhooks = true;
    fake.outOfOrder = true;
    fake.send(t.id);
    fake.bounce(t.id, { days: 2 });
    await fake.flushWebhooks(); // funds_refunded, bounced_back, then outgoing_payment_sent
    // The bounce may reach the run, or (when the payment's event ended it first) the return path: the row says.
    await stack.result(payoutId);
    const final = await waitForRowState(stack, payoutId, ['returned']);
    expect(final.state).toBe('returned');
    expect(await steps(payoutId)).toEqual(['hold', 'settle', 'return']);
  });
});
