// The payout workflow paying USDC through the circle adapter, against the fake Circle, end to end: the real API,
// worker, Temporal test server and PostgreSQL; Circle's notifications POSTed to the API's provider route after
// the SNS-style subscription handshake. Instant and scheduled payouts, a screening decline failing over to the
// sandbox, a timeout after Circle made the transfer resolved without paying twice, a reversal after complete,
// duplicate and out-of-order notifications, Circle's network fee booked — borne by the platform (the default)
// or, on an instance with networkFeeBearer "payee", recovered from the payee's wallet after the transfer. After
// each: the ledger verifies, no payout is paid by both Circle and the sandbox, no address received twice, and
// what left the fake Circle (transfers and network fees) plus the sandbox's paid total equals the ledger's
// provider clearing.
import { randomBytes } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { sql } from '../../src/db/sql.ts';
import { toChecksumAddress } from '../../src/payees/crypto-address.ts';
import { listSandboxDisbursements } from '../../src/providers/index.ts';
import { FakeCircle } from '../fakes/circle/server.ts';
import {
  assertPaidOnce,
  attemptOutcomes,
  clearingByCurrency,
  ledgerSteps,
  pastPayoutWindow,
  payeeWithDestination,
  requestPayoutBy,
  sandboxPaidByCurrency,
} from '../providers/e2e-support.ts';
import { type Stack, startStack } from '../support/stack.ts';
import { waitForRowState } from './row-state.ts';

const KEY = `SAND_API_KEY:${randomBytes(16).toString('hex')}:${randomBytes(16).toString('hex')}`;

interface CircleStack {
  stack: Stack;
  fake: FakeCircle;
}

/** A fake Circle, and a stack paying through it first (the sandbox second) with its notifications subscribed. */
async function startCircleStack(label: string, settings: Record<string, unknown> = {}): Promise<CircleStack> {
  const fake = new FakeCircle({ apiKey: KEY });
  await fake.start();
  process.env.E2E_CIRCLE_KEY = KEY;
  const stack = await startStack(label, {
    providers: [
      {
        name: 'circle',
        kind: 'circle',
        capabilities: { priority: 1 },
        settings: {
          apiBase: fake.url,
          apiKeyEnv: 'E2E_CIRCLE_KEY',
          walletId: fake.walletId,
          timeoutMs: 1_000,
          ...settings,
        },
      },
      { name: 'sandbox', capabilities: { priority: 2 } },
    ],
    // USDC wallets: thresholds and an instant limit in USDC micro-units (1 000 / 10 000 / 5 000 USDC).
    env: {
      APPROVAL_THRESHOLD_SINGLE: 'USD:100000,USDC:1000000000',
      APPROVAL_THRESHOLD_DUAL: 'USD:1000000,USDC:10000000000',
      PAYOUT_INSTANT_LIMITS: 'USD:500000,USDC:5000000000',
    },
  });
  // As at Circle: subscribe the endpoint; the adapter confirms through the SubscribeURL.
  const endpoint = `${stack.url}/v1/providers/circle/webhooks`;
  expect((await fetch(endpoint, { method: 'HEAD' })).status).toBe(200);
  const sub = await fake.subscribe(endpoint);
  expect(sub.status).toBe(200);
  expect(fake.endpoint).toBe(endpoint);
  return { stack, fake };
}

/** The fake's behaviour back to normal, its notifications delivered, then the invariants of every test. */
async function afterCircleTest({ stack, fake }: CircleStack): Promise<void> {
  fake.faults = [];
  fake.autoComplete = true;
  fake.duplicateWebhooks = false;
  fake.holdWebhooks = false;
  fake.outOfOrder = false;
  fake.deniedAddresses.clear();
  fake.networkFee = '0.012345';
  fake.networkFeeLater = false;
  await fake.webhooksSent();
  const complete = [...fake.transfers.values()].filter((t) => t.status === 'complete').map((t) => t.id);
  const circlePaid = await sql<{ payout_id: string }>(
    stack.db.em(),
    `SELECT payout_id FROM "${stack.db.schema}".provider_attempts WHERE provider = 'circle' AND refs->>'transfer' = ANY($1)`,
    [complete],
  );
  expect(circlePaid).toHaveLength(complete.length); // every complete transfer belongs to an attempt
  const paidByCircle = new Set(circlePaid.map((r) => r.payout_id));
  await assertPaidOnce(stack, {
    fakePaidTwice: fake.paidMoreThanOnce(),
    paidByFake: (id) => paidByCircle.has(id),
  });
  // Per currency: the USD paid out through Circle left as USDC (booked as FX legs at par on clearing), and
  // so did Circle's network fees, whoever bears them: the platform paid Circle.
  const clearing = await clearingByCurrency(stack);
  expect(clearing.get('USD') ?? 0n).toBe((await sandboxPaidByCurrency(stack)).get('USD') ?? 0n);
  expect(clearing.get('USDC') ?? 0n).toBe(fake.disbursedMinor('USD', 6) + fake.networkFeesMinor());
}

async function platformBalance(stack: Stack, kind: string, currency: string): Promise<bigint> {
  const [row] = await sql<{ balance: string }>(
    stack.db.em(),
    `SELECT coalesce(sum(balance), 0)::text AS balance FROM "${stack.db.schema}".ledger_accounts
      WHERE kind = $1 AND owner = 'platform' AND currency = $2`,
    [kind, currency],
  );
  return BigInt(row?.balance ?? '0');
}

/** Type and entries (account kind, amount; by kind) of the ledger transaction of a business key. */
async function postingOf(
  stack: Stack,
  key: string,
): Promise<{ type: string; entries: { kind: string; currency: string; amount: string }[] } | undefined> {
  const [posting] = await sql<{
    type: string;
    entries: { kind: string; currency: string; amount: string }[];
  }>(
    stack.db.em(),
    `SELECT t.type, json_agg(json_build_object('kind', a.kind, 'currency', a.currency, 'amount', e.amount::text)
              ORDER BY a.kind, a.currency) AS entries
       FROM "${stack.db.schema}".ledger_transactions t
       JOIN "${stack.db.schema}".ledger_entries e ON e.transaction_id = t.id
       JOIN "${stack.db.schema}".ledger_accounts a ON a.id = e.account_id
      WHERE t.idempotency_key = $1 GROUP BY t.type`,
    [key],
  );
  return posting;
}

/**
 * Circle's late notification of a transfer's network fee (status still `complete`), after the payout's workflow
 * closed: sent with duplicates, then POSTed once more, followed by the transfer's first `complete` (out of order).
 * The endpoint's answers to those two (`charges_recorded`: booked now or found booked).
 */
async function reportFeeLate({ stack, fake }: CircleStack, payoutId: string, address: string) {
  const [t] = fake.transfersTo(address);
  expect((await stack.result(payoutId)).state).toBe('paid'); // the workflow has closed
  fake.duplicateWebhooks = true;
  fake.reportNetworkFee(t!.id);
  await fake.webhooksSent();
  fake.duplicateWebhooks = false;
  const sent = fake.notifications.filter((n) => n.transferId === t!.id);
  const [feeNotice, firstComplete] = [sent.at(-1)!, sent.at(-2)!];
  expect(JSON.parse(JSON.parse(feeNotice.body).Message).transfer).toMatchObject({
    status: 'complete',
    fees: [{ amount: fake.networkFee, currency: 'USD', type: 'network' }],
  });
  expect(JSON.parse(JSON.parse(firstComplete.body).Message).transfer.fees).toBeUndefined();
  const answers: unknown[] = [];
  for (const n of [feeNotice, firstComplete]) {
    const res = await fetch(fake.endpoint!, {
      method: 'POST',
      headers: { 'content-type': 'text/plain; charset=UTF-8', 'x-amz-sns-message-type': 'Notification' },
      body: n.body,
    });
    expect(res.status).toBe(200);
    answers.push(((await res.json()) as { received: { result: string }[] }).received.map((r) => r.result));
  }
  return answers;
}

/** A verified US payee (USD credit) with its own address (EIP-55 checksummed) as its crypto destination. */
async function cryptoPayee(
  stack: Stack,
  network = 'ethereum',
  credit = '100000',
): Promise<{ payeeId: string; address: string }> {
  const address = toChecksumAddress(`0x${randomBytes(20).toString('hex')}`);
  return { payeeId: await payeeWithDestination(stack, 'crypto', { network, address }, { credit }), address };
}

/** Credits the payee 25.123456 USDC and asks for an instant payout of 12.345678 USDC of it; the payout id. */
async function usdcPayout(stack: Stack, payeeId: string): Promise<string> {
  stack.expectStatus(
    await stack.call('POST', `/v1/payees/${payeeId}/credits`, {
      body: { amount: { amount: '25123456', currency: 'USDC', scale: 6 }, reference: `earn-usdc-${payeeId}` },
    }),
    201,
    'credit USDC',
  );
  const res = await stack.call('POST', '/v1/payouts', {
    body: {
      payeeId,
      amount: { amount: '12345678', currency: 'USDC', scale: 6 },
      method: 'crypto',
      instant: true,
    },
  });
  stack.expectStatus(res, 202, 'request USDC payout');
  return res.body.id as string;
}

describe('payouts through Circle (fake Circle)', () => {
  let stack: Stack;
  let fake: FakeCircle;
  beforeAll(async () => {
    ({ stack, fake } = await startCircleStack('circle_e2e'));
  });
  afterEach(async () => {
    await afterCircleTest({ stack, fake });
    // The platform bears every network fee: its expense (provider_fees), nothing taken from payees.
    expect(await platformBalance(stack, 'provider_fees', 'USDC')).toBe(-fake.networkFeesMinor());
  });
  afterAll(async () => {
    await stack?.close();
    await fake?.stop();
  });

  const requestCryptoPayout = (payeeId: string, amount: string, instant: boolean) =>
    requestPayoutBy(stack, payeeId, amount, 'crypto', instant);

  const steps = (payoutId: string) => ledgerSteps(stack, payoutId);
  const attempts = attemptOutcomes;

  it('a checksum typo in the address is refused at registration, naming the problem', async () => {
    const payeeId = await stack.createPayee({ bankAccount: null });
    const good = toChecksumAddress(`0x${'cd'.repeat(20)}`);
    const typo = `0x${good[2] === 'c' ? 'C' : 'c'}${good.slice(3)}`;
    const res = await stack.call('PUT', `/v1/payees/${payeeId}/destinations/crypto`, {
      body: { network: 'ethereum', address: typo },
    });
    expect(res.status).toBe(400);
    expect(res.contentType).toMatch(/application\/problem\+json/);
    expect(res.text).toMatch(/EIP-55/);
  });

  it('instant: USDC to the address, confirmed by the signed notification; transaction hash recorded', async () => {
    const { payeeId, address } = await cryptoPayee(stack);
    const payoutId = await requestCryptoPayout(payeeId, '5000', true);
    const final = await stack.result(payoutId);
    expect([final.state, final.rail]).toEqual(['paid', 'instant']);
    expect(attempts(final)).toEqual([['circle', 'paid']]);
    const [t] = fake.transfersTo(address);
    expect([t!.status, t!.destination.chain, t!.destination.address]).toEqual([
      'complete',
      'ETH',
      address.toLowerCase(),
    ]);
    // Circle pays the net (the instant fee is Disburse's own ledger leg), as a decimal string.
    const net = 5000n - BigInt(final.fee?.amount ?? '0');
    expect(t!.amount).toEqual({
      amount: `${net / 100n}.${String(net % 100n).padStart(2, '0')}`,
      currency: 'USD',
    });
    const [rec] = await sql<{ tx: string; fee: string }>(
      stack.db.em(),
      `SELECT refs->>'transactionHash' AS tx, refs->>'networkFee' AS fee
         FROM "${stack.db.schema}".provider_attempts WHERE payout_id = $1`,
      [payoutId],
    );
    expect(rec?.tx).toBe(t!.transactionHash);
    // Circle's network fee of the transfer, recorded with it and booked after the settlement.
    expect(rec?.fee).toBe(t!.fees?.[0]?.amount);
    expect(rec?.fee).toBe(fake.networkFee);
    expect(await steps(payoutId)).toEqual(['hold', 'settle', 'fx', 'network_fee']);
  });

  it("Circle's network fee is booked once, as the platform's expense against provider clearing", async () => {
    const { payeeId } = await cryptoPayee(stack);
    fake.duplicateWebhooks = true;
    const feesBefore = await platformBalance(stack, 'provider_fees', 'USDC');
    const payoutId = await requestCryptoPayout(payeeId, '4500', true);
    expect((await stack.result(payoutId)).state).toBe('paid');
    await fake.webhooksSent();
    // 0.012345 USD at Circle = 12 345 micro-USDC out of the wallet on top of the transfer.
    expect(await postingOf(stack, `payout:${payoutId}:network-fee`)).toEqual({
      type: 'payout.network_fee',
      entries: [
        { kind: 'provider_clearing', currency: 'USDC', amount: '12345' },
        { kind: 'provider_fees', currency: 'USDC', amount: '-12345' },
      ],
    });
    expect(await postingOf(stack, `payout:${payoutId}:network-fee-payee`)).toBeUndefined();
    expect((await platformBalance(stack, 'provider_fees', 'USDC')) - feesBefore).toBe(-12345n);
  });

  it('a network fee Circle notifies after the payout closed is booked then, once, despite duplicates and out-of-order notifications', async () => {
    const { payeeId, address } = await cryptoPayee(stack);
    fake.networkFeeLater = true;
    const feesBefore = await platformBalance(stack, 'provider_fees', 'USDC');
    const payoutId = await requestCryptoPayout(payeeId, '4200', true);
    expect((await stack.result(payoutId)).state).toBe('paid');
    await fake.webhooksSent();
    // `complete` came without a fee: nothing to book yet.
    expect(await steps(payoutId)).toEqual(['hold', 'settle', 'fx']);
    // Booked by the first copy of the late notification; every later one, with the fee or not, finds it booked.
    expect(await reportFeeLate({ stack, fake }, payoutId, address)).toEqual([
      ['charges_recorded'],
      ['charges_recorded'],
    ]);
    expect(await steps(payoutId)).toEqual(['hold', 'settle', 'fx', 'network_fee']);
    expect(await postingOf(stack, `payout:${payoutId}:network-fee`)).toEqual({
      type: 'payout.network_fee',
      entries: [
        { kind: 'provider_clearing', currency: 'USDC', amount: '12345' },
        { kind: 'provider_fees', currency: 'USDC', amount: '-12345' },
      ],
    });
    expect((await platformBalance(stack, 'provider_fees', 'USDC')) - feesBefore).toBe(-12345n);
  });

  it('the late fee notification delivered before the first `complete`: booked once, with the settlement', async () => {
    const { payeeId, address } = await cryptoPayee(stack);
    fake.networkFeeLater = true;
    fake.holdWebhooks = true;
    fake.outOfOrder = true;
    fake.autoComplete = false;
    const payoutId = await requestCryptoPayout(payeeId, '3900', true);
    await stack.waitForState(payoutId, ['awaiting_confirmation']);
    const [t] = fake.transfersTo(address);
    fake.complete(t!.id);
    fake.reportNetworkFee(t!.id);
    await fake.flushWebhooks(); // the fee's notification, then the fee-less `complete`, then `pending`
    expect((await stack.result(payoutId)).state).toBe('paid');
    expect(await steps(payoutId)).toEqual(['hold', 'settle', 'fx', 'network_fee']);
    expect((await postingOf(stack, `payout:${payoutId}:network-fee`))?.entries).toContainEqual({
      kind: 'provider_clearing',
      currency: 'USDC',
      amount: '12345',
    });
  });

  it('a fee first notified with the reversal of a returned transfer is booked with the return: the chain kept it', async () => {
    const { payeeId, address } = await cryptoPayee(stack);
    fake.networkFeeLater = true;
    const payoutId = await requestCryptoPayout(payeeId, '4100', true);
    expect((await stack.result(payoutId)).state).toBe('paid');
    const [t] = fake.transfersTo(address);
    fake.holdWebhooks = true;
    fake.reverse(t!.id, { days: 2 });
    fake.reportNetworkFee(t!.id); // its notification: status failed, with the fee
    fake.holdWebhooks = false;
    await fake.flushWebhooks();
    expect((await waitForRowState(stack, payoutId, ['returned'])).state).toBe('returned');
    expect(await steps(payoutId)).toEqual(['hold', 'settle', 'fx', 'network_fee', 'fx_return', 'return']);
  });

  it('a transfer Circle charged no network fee for books none', async () => {
    const { payeeId } = await cryptoPayee(stack);
    fake.networkFee = '0';
    try {
      const payoutId = await requestCryptoPayout(payeeId, '1500', true);
      expect((await stack.result(payoutId)).state).toBe('paid');
      expect(await steps(payoutId)).toEqual(['hold', 'settle', 'fx']);
    } finally {
      fake.networkFee = '0.012345';
    }
  });

  it('a wallet held in USDC pays USDC at 6 decimals, exactly, with no conversion', async () => {
    const { payeeId, address } = await cryptoPayee(stack, 'polygon');
    const payoutId = await usdcPayout(stack, payeeId);
    const final = await stack.result(payoutId);
    expect([final.state, final.amount]).toEqual(['paid', { amount: '12345678', currency: 'USDC', scale: 6 }]);
    const [t] = fake.transfersTo(address);
    expect([t!.amount, t!.destination.chain]).toEqual([{ amount: '12.345678', currency: 'USD' }, 'MATIC']);
    expect(await steps(payoutId)).toEqual(['hold', 'settle', 'network_fee']);
    const wallet = await stack.call('GET', `/v1/payees/${payeeId}/wallet`);
    const usdcBalance = wallet.body.balances.find((b: { currency: string }) => b.currency === 'USDC');
    expect(usdcBalance.available).toEqual({ amount: '12777778', currency: 'USDC', scale: 6 });
  });

  it('scheduled: the transfer is made in the payout window and paid when the chain confirms', async () => {
    const { payeeId, address } = await cryptoPayee(stack, 'base');
    fake.autoComplete = false;
    const payoutId = await requestCryptoPayout(payeeId, '7000', false);
    await pastPayoutWindow(stack, payoutId, 'awaiting_confirmation');
    const [t] = fake.transfersTo(address);
    expect([t!.status, t!.destination.chain]).toEqual(['pending', 'BASE']);
    fake.complete(t!.id);
    await fake.webhooksSent();
    const final = await stack.result(payoutId);
    expect([final.state, final.rail]).toEqual(['paid', 'scheduled']);
    expect(attempts(final)).toEqual([['circle', 'paid']]);
  });

  it("Circle's screening refuses the address: failover to the sandbox, nothing left the Circle wallet", async () => {
    const { payeeId, address } = await cryptoPayee(stack);
    fake.deniedAddresses.add(address.toLowerCase());
    const before = fake.balance.USD;
    const payoutId = await requestCryptoPayout(payeeId, '4000', true);
    const final = await stack.result(payoutId);
    expect(final.state).toBe('paid');
    expect(attempts(final)).toEqual([
      ['circle', 'declined'],
      ['sandbox', 'paid'],
    ]);
    expect(fake.transfersTo(address).map((t) => t.status)).toEqual(['failed']);
    expect(fake.balance.USD).toBe(before);
    expect((await listSandboxDisbursements(stack.db, { payoutId })).map((d) => d.state)).toEqual(['paid']);
  });

  it('a timeout after Circle made the transfer is an unknown outcome resolved by status: paid once, no failover', async () => {
    const { payeeId, address } = await cryptoPayee(stack);
    fake.faults = [{ kind: 'timeout_after', ms: 3_000, method: 'POST', path: /^\/v1\/transfers$/ }];
    const payoutId = await requestCryptoPayout(payeeId, '6000', true);
    const final = await stack.result(payoutId);
    expect(final.state).toBe('paid');
    expect(final.attempts.map((a) => a.provider)).toEqual(['circle']);
    expect(fake.transfersTo(address)).toHaveLength(1);
    expect(await listSandboxDisbursements(stack.db, { payoutId })).toEqual([]);
  });

  it('429s are retried with the same idempotencyKey: one transfer', async () => {
    const { payeeId, address } = await cryptoPayee(stack);
    const from = fake.requests.length;
    fake.faults = [{ kind: 'status', status: 429, method: 'POST', path: /^\/v1\/transfers$/, times: 2 }];
    const payoutId = await requestCryptoPayout(payeeId, '3000', true);
    const final = await stack.result(payoutId);
    expect(final.state).toBe('paid');
    expect(fake.transfersTo(address)).toHaveLength(1);
    const posts = fake.requests.slice(from).filter((r) => r.method === 'POST' && r.path === '/v1/transfers');
    expect(posts.map((r) => r.status)).toEqual([429, 429, 201]);
    expect(new Set(posts.map((r) => r.idempotencyKey)).size).toBe(1);
  });

  it('a transfer reversed days after complete (reorg) is returned to the wallet', async () => {
    const { payeeId, address } = await cryptoPayee(stack);
    const payoutId = await requestCryptoPayout(payeeId, '8000', true);
    await stack.waitForState(payoutId, ['paid']);
    const [t] = fake.transfersTo(address);
    fake.reverse(t!.id, { days: 4 });
    await fake.webhooksSent();
    const final = await waitForRowState(stack, payoutId, ['returned']);
    expect(final.state).toBe('returned');
    // The network fee stays booked: the chain kept it.
    expect(await steps(payoutId)).toEqual(['hold', 'settle', 'fx', 'network_fee', 'fx_return', 'return']);
    const wallet = await stack.call('GET', `/v1/payees/${payeeId}/wallet`);
    expect(wallet.body.balances[0].available.amount).toBe('100000');
  });

  it('duplicate notifications settle once', async () => {
    const { payeeId, address } = await cryptoPayee(stack);
    fake.duplicateWebhooks = true;
    const payoutId = await requestCryptoPayout(payeeId, '2000', true);
    const final = await stack.result(payoutId);
    expect(final.state).toBe('paid');
    await fake.webhooksSent();
    const [t] = fake.transfersTo(address);
    const forIt = fake.deliveries.filter((d) => d.transferId === t!.id);
    expect(forIt.length).toBeGreaterThanOrEqual(4); // pending ×2, complete ×2
    expect(forIt.every((d) => d.status === 200)).toBe(true);
    expect(await steps(payoutId)).toEqual(['hold', 'settle', 'fx', 'network_fee']);
  });

  it('out-of-order notifications (complete before pending): paid once', async () => {
    const { payeeId, address } = await cryptoPayee(stack);
    fake.holdWebhooks = true;
    fake.outOfOrder = true;
    fake.autoComplete = false;
    const payoutId = await requestCryptoPayout(payeeId, '9000', true);
    await stack.waitForState(payoutId, ['awaiting_confirmation']);
    const [t] = fake.transfersTo(address);
    fake.complete(t!.id);
    await fake.flushWebhooks(); // complete first, then the older pending one
    const final = await stack.result(payoutId);
    expect(final.state).toBe('paid');
    expect(await steps(payoutId)).toEqual(['hold', 'settle', 'fx', 'network_fee']);
  });
});

describe('payouts through Circle with networkFeeBearer "payee" (fake Circle)', () => {
  let stack: Stack;
  let fake: FakeCircle;
  beforeAll(async () => {
    ({ stack, fake } = await startCircleStack('circle_fee_payee_e2e', { networkFeeBearer: 'payee' }));
  });
  afterEach(async () => {
    await afterCircleTest({ stack, fake });
    // The platform paid every fee to Circle and took back from payees what they bear: provider_fees in USD
    // nets to zero (the FX legs moved it into USDC); in USDC what remains is the sub-cent rounding of each
    // fiat payout's fee, never more than Circle charged.
    expect(await platformBalance(stack, 'provider_fees', 'USD')).toBe(0n);
    const [row] = await sql<{ recovered: string }>(
      stack.db.em(),
      `SELECT coalesce(sum(e.amount), 0)::text AS recovered
         FROM "${stack.db.schema}".ledger_transactions t
         JOIN "${stack.db.schema}".ledger_entries e ON e.transaction_id = t.id
         JOIN "${stack.db.schema}".ledger_accounts a ON a.id = e.account_id
        WHERE t.idempotency_key LIKE 'payout:%:network-fee-payee%' AND a.kind = 'provider_fees'
          AND a.currency = 'USDC'`,
    );
    const recovered = BigInt(row!.recovered);
    const fees = fake.networkFeesMinor();
    expect(await platformBalance(stack, 'provider_fees', 'USDC')).toBe(recovered - fees);
    expect(fees - recovered).toBeGreaterThanOrEqual(0n);
    expect(fees - recovered).toBeLessThan(10_000n * BigInt(fake.transfers.size));
  });
  afterAll(async () => {
    await stack?.close();
    await fake?.stop();
  });

  const wallet = async (payeeId: string, currency = 'USD') =>
    (await stack.call('GET', `/v1/payees/${payeeId}/wallet`)).body.balances.find(
      (b: { currency: string }) => b.currency === currency,
    ) as Record<'available' | 'held' | 'receivable', { amount: string }>;

  it('recovered from the wallet once Circle reports it, rounded down to the cent, with FX legs into USDC; once despite duplicate notifications', async () => {
    const { payeeId, address } = await cryptoPayee(stack);
    fake.duplicateWebhooks = true;
    const payoutId = await requestPayoutBy(stack, payeeId, '5000', 'crypto', true);
    const final = await stack.result(payoutId);
    expect(final.state).toBe('paid');
    await fake.webhooksSent();
    // The payee received the full net: Circle cannot take the fee from the amount sent.
    const [t] = fake.transfersTo(address);
    const net = 5000n - BigInt(final.fee?.amount ?? '0');
    expect(t!.amount.amount).toBe(`${net / 100n}.${String(net % 100n).padStart(2, '0')}`);
    expect(t!.fees).toEqual([{ amount: '0.012345', currency: 'USD', type: 'network' }]);
    // 12 345 micro-USDC is 1.2345 cents at the payout's rate (par): the payee bears 1 cent.
    expect(await postingOf(stack, `payout:${payoutId}:network-fee-payee`)).toEqual({
      type: 'payout.network_fee_payee',
      entries: [
        { kind: 'payee_available', currency: 'USD', amount: '-1' },
        { kind: 'provider_fees', currency: 'USD', amount: '1' },
      ],
    });
    expect(await postingOf(stack, `payout:${payoutId}:network-fee-payee-fx`)).toEqual({
      type: 'fx.convert',
      entries: [
        { kind: 'fx', currency: 'USD', amount: '1' },
        { kind: 'fx', currency: 'USDC', amount: '-10000' },
        { kind: 'provider_fees', currency: 'USD', amount: '-1' },
        { kind: 'provider_fees', currency: 'USDC', amount: '10000' },
      ],
    });
    expect((await wallet(payeeId)).available.amount).toBe(String(100000 - 5000 - 1));
  });

  it('a fee Circle notifies after the payout closed is recovered from the payee then, once; the payout view shows both steps', async () => {
    const { payeeId, address } = await cryptoPayee(stack);
    fake.networkFeeLater = true;
    const payoutId = await requestPayoutBy(stack, payeeId, '5000', 'crypto', true);
    expect((await stack.result(payoutId)).state).toBe('paid');
    await fake.webhooksSent();
    expect(await ledgerSteps(stack, payoutId)).toEqual(['hold', 'settle', 'fx']);
    expect((await wallet(payeeId)).available.amount).toBe(String(100000 - 5000));
    expect(await reportFeeLate({ stack, fake }, payoutId, address)).toEqual([
      ['charges_recorded'],
      ['charges_recorded'],
    ]);
    expect(await ledgerSteps(stack, payoutId)).toEqual([
      'hold',
      'settle',
      'fx',
      'network_fee',
      'network_fee_payee',
      'network_fee_payee_fx',
    ]);
    expect((await postingOf(stack, `payout:${payoutId}:network-fee-payee`))?.entries).toEqual([
      { kind: 'payee_available', currency: 'USD', amount: '-1' },
      { kind: 'provider_fees', currency: 'USD', amount: '1' },
    ]);
    expect((await wallet(payeeId)).available.amount).toBe(String(100000 - 5000 - 1));
  });

  it('a payout of the whole balance: what the wallet cannot cover is a receivable, never a negative wallet', async () => {
    const { payeeId } = await cryptoPayee(stack, 'ethereum', '3000');
    const payoutId = await requestPayoutBy(stack, payeeId, '3000', 'crypto', true);
    expect((await stack.result(payoutId)).state).toBe('paid');
    expect((await postingOf(stack, `payout:${payoutId}:network-fee-payee`))?.entries).toEqual([
      { kind: 'payee_receivable', currency: 'USD', amount: '-1' },
      { kind: 'provider_fees', currency: 'USD', amount: '1' },
    ]);
    const w = await wallet(payeeId);
    expect([w.available.amount, w.held.amount, w.receivable.amount]).toEqual(['0', '0', '-1']);
  });

  it('a wallet held in USDC bears the fee exactly, in USDC, with no conversion', async () => {
    const { payeeId } = await cryptoPayee(stack, 'polygon');
    const payoutId = await usdcPayout(stack, payeeId);
    expect((await stack.result(payoutId)).state).toBe('paid');
    expect((await postingOf(stack, `payout:${payoutId}:network-fee-payee`))?.entries).toEqual([
      { kind: 'payee_available', currency: 'USDC', amount: '-12345' },
      { kind: 'provider_fees', currency: 'USDC', amount: '12345' },
    ]);
    expect(await postingOf(stack, `payout:${payoutId}:network-fee-payee-fx`)).toBeUndefined();
    expect((await wallet(payeeId, 'USDC')).available.amount).toBe(String(25123456 - 12345678 - 12345));
  });

  it('a transfer Circle charged no network fee for takes nothing from the payee', async () => {
    const { payeeId } = await cryptoPayee(stack);
    fake.networkFee = '0';
    const payoutId = await requestPayoutBy(stack, payeeId, '1500', 'crypto', true);
    expect((await stack.result(payoutId)).state).toBe('paid');
    expect(await postingOf(stack, `payout:${payoutId}:network-fee-payee`)).toBeUndefined();
    expect((await wallet(payeeId)).available.amount).toBe(String(100000 - 1500));
  });
});
