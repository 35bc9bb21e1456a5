// Failover between real adapters, one table row per provider: two accounts of the provider (two adapter
// instances, each against its own fake). The first declines the payee (nothing moves there); the payout
// fails over to the second, which pays it. Invariants after each: the ledger verifies, at most one
// disbursement per payout across both fakes, and what each fake disbursed equals the ledger's provider
// clearing (the first's share is zero).
// Stripe: a connected account belongs to one platform, so the row models two Stripe instances of the same
// platform (two keys) that both reach the payee's connected account; across platforms it cannot fail over.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { verifyLedger } from '../../src/ledger/verify.ts';
import { toChecksumAddress } from '../../src/payees/crypto-address.ts';
import { FakeCircle } from '../fakes/circle/server.ts';
import { FakePaypal } from '../fakes/paypal/server.ts';
import { FakeStripe } from '../fakes/stripe/server.ts';
import { FakeWise } from '../fakes/wise/server.ts';
import {
  attemptOutcomes,
  clearingByCurrency,
  pastPayoutWindow,
  payeeWithDestination,
  requestPayoutBy,
  WALLET_SELLER,
} from '../providers/e2e-support.ts';
import { type Stack, startStack } from '../support/stack.ts';

interface Fake {
  start(): Promise<unknown>;
  stop(): Promise<void>;
  webhooksSent(): Promise<void>;
}

interface Row<F extends Fake> {
  kind: string;
  make(i: number): F;
  /** The DISBURSE_PROVIDERS entry for instance `name` against `fake`. */
  provider(name: string, fake: F, i: number, priority: number): unknown;
  connect(fake: F, webhookUrl: string): void | Promise<void>;
  /** Extra environment for the stack (e.g. limits in the payout asset). */
  env?: Record<string, string>;
  /** What left the fake, as [ledger clearing currency, minor units]. */
  disbursed(fake: F): [string, bigint];
  /** A payee the first fake declines and the second pays; requests its payout; returns the payout id. */
  payout(stack: Stack, a: F, b: F): Promise<string>;
  /** Disbursements of the payout at one fake (at most one across both). */
  count(fake: F, payoutId: string): number;
}

const secret = (p: string) => `${p}-${randomBytes(12).toString('hex')}`;

const wise: Row<FakeWise> = {
  kind: 'wise',
  make(i) {
    const token = secret(`wise${i}`);
    process.env[`E2E_FO_WISE${i}_TOKEN`] = token;
    const f = new FakeWise({ token, profileId: 100 + i });
    f.addressRequired.clear();
    return f;
  },
  provider: (name, fake, i, priority) => {
    process.env[`E2E_FO_WISE${i}_KEY`] = fake.publicKey;
    return {
      name,
      kind: 'wise',
      capabilities: { priority },
      settings: {
        apiBase: fake.url,
        profileId: 100 + i,
        apiTokenEnv: `E2E_FO_WISE${i}_TOKEN`,
        webhookPublicKeyEnv: `E2E_FO_WISE${i}_KEY`,
        timeoutMs: 1_000,
      },
    };
  },
  connect: (fake, url) => {
    fake.webhookUrl = url;
  },
  async payout(stack, a) {
    a.refuseHolder = 'Refused'; // a hard decline: Wise refuses the recipient, no transfer is made
    const payeeId = await stack.createPayee({
      payee: { name: 'Refused Holder' },
      bankAccount: { holderName: 'Refused Holder' },
      credit: '100000',
    });
    const payoutId = await stack.requestPayout(payeeId, '4300', { instant: false });
    await pastPayoutWindow(stack, payoutId);
    return payoutId;
  },
  count: (fake, payoutId) => fake.transfersFor(payoutId).filter((t) => t.funded).length,
  disbursed: (fake) => ['USD', fake.disbursedTotal()],
};

const paypal: Row<FakePaypal> = {
  kind: 'paypal',
  make(i) {
    const hex = (n: number) => randomBytes(n).toString('hex');
    const o = {
      clientId: `A${hex(12)}`,
      clientSecret: `E${hex(16)}`,
      webhookId: `WH${hex(8).toUpperCase()}`,
    };
    process.env[`E2E_FO_PAYPAL${i}_ID`] = o.clientId;
    process.env[`E2E_FO_PAYPAL${i}_SECRET`] = o.clientSecret;
    process.env[`E2E_FO_PAYPAL${i}_WEBHOOK`] = o.webhookId;
    return new FakePaypal(o);
  },
  provider: (name, fake, i, priority) => ({
    name,
    kind: 'paypal',
    capabilities: { priority },
    settings: {
      apiBase: fake.url,
      clientIdEnv: `E2E_FO_PAYPAL${i}_ID`,
      clientSecretEnv: `E2E_FO_PAYPAL${i}_SECRET`,
      webhookIdEnv: `E2E_FO_PAYPAL${i}_WEBHOOK`,
      timeoutMs: 1_000,
    },
  }),
  connect: (fake, url) => {
    fake.webhook = { url };
  },
  async payout(stack, a, b) {
    const email = `seller.${randomBytes(3).toString('hex')}@example.com`;
    // PayPal blocks the item (RISK_DECLINE): a hard decline, nothing paid at the first account.
    a.receivers.set(`PAYPAL:${email}`, 'blocked');
    b.receivers.set(`PAYPAL:${email}`, 'account');
    const payeeId = await payeeWithDestination(
      stack,
      'wallet',
      { provider: 'paypal', walletId: email },
      { payee: WALLET_SELLER },
    );
    return requestPayoutBy(stack, payeeId, '4300', 'wallet', true);
  },
  count: (fake, payoutId) => fake.itemsFor(payoutId).filter((i) => i.transaction_status === 'SUCCESS').length,
  disbursed: (fake) => ['USD', fake.disbursedTotal()],
};

const circle: Row<FakeCircle> = {
  kind: 'circle',
  make(i) {
    process.env[`E2E_FO_CIRCLE${i}_KEY`] =
      `SAND_API_KEY:${randomBytes(16).toString('hex')}:${randomBytes(16).toString('hex')}`;
    return new FakeCircle({ apiKey: process.env[`E2E_FO_CIRCLE${i}_KEY`]! });
  },
  provider: (name, fake, i, priority) => ({
    name,
    kind: 'circle',
    capabilities: { priority },
    settings: {
      apiBase: fake.url,
      apiKeyEnv: `E2E_FO_CIRCLE${i}_KEY`,
      walletId: fake.walletId,
      timeoutMs: 1_000,
    },
  }),
  // As at Circle: subscribe the endpoint; the adapter confirms through the SubscribeURL.
  async connect(fake, url) {
    expect((await fake.subscribe(url)).status).toBe(200);
  },
  // USDC wallets: thresholds and an instant limit in USDC micro-units.
  env: {
    APPROVAL_THRESHOLD_SINGLE: 'USD:100000,USDC:1000000000',
    APPROVAL_THRESHOLD_DUAL: 'USD:1000000,USDC:10000000000',
    PAYOUT_INSTANT_LIMITS: 'USD:500000,USDC:5000000000',
  },
  async payout(stack, a) {
    const address = toChecksumAddress(`0x${randomBytes(20).toString('hex')}`);
    a.deniedAddresses.add(address.toLowerCase()); // the first account's screening refuses the address
    const payeeId = await payeeWithDestination(stack, 'crypto', { network: 'ethereum', address });
    return requestPayoutBy(stack, payeeId, '4300', 'crypto', true);
  },
  // Transfers carry no payout id (Circle's idempotencyKey is a UUID); these fakes see only this payout.
  count: (fake) => [...fake.transfers.values()].filter((t) => t.status === 'complete').length,
  // USD paid through Circle leaves as USDC, and so do its network fees (booked on clearing).
  disbursed: (fake) => ['USDC', fake.disbursedMinor('USD', 6) + fake.networkFeesMinor()],
};

const stripe: Row<FakeStripe> = {
  kind: 'stripe',
  make(i) {
    const key = `sk_test_${randomBytes(12).toString('hex')}`;
    process.env[`E2E_FO_STRIPE${i}_KEY`] = key;
    process.env[`E2E_FO_STRIPE${i}_WHSEC`] = `whsec_${randomBytes(18).toString('base64')}`;
    return new FakeStripe({ secretKey: key });
  },
  provider: (name, fake, i, priority) => ({
    name,
    kind: 'stripe',
    capabilities: { priority },
    settings: {
      apiBase: fake.url,
      secretKeyEnv: `E2E_FO_STRIPE${i}_KEY`,
      webhookSecretEnv: `E2E_FO_STRIPE${i}_WHSEC`,
      timeoutMs: 1_000,
    },
  }),
  connect: (fake, url) => {
    fake.webhook = {
      url,
      secret: process.env[url.includes('stripe-a') ? 'E2E_FO_STRIPE1_WHSEC' : 'E2E_FO_STRIPE2_WHSEC']!,
    };
  },
  async payout(stack, a, b) {
    const acct = a.addAccount({ refusePayouts: 'payouts_not_allowed' }); // a hard decline at the first
    b.addAccount({ id: acct.id, externalAccounts: acct.externalAccounts });
    const payeeId = await payeeWithDestination(stack, 'card', {
      cardToken: `${acct.id}:${acct.externalAccounts[0]!.id}`,
    });
    return requestPayoutBy(stack, payeeId, '4300', 'card', true);
  },
  count: (fake, payoutId) => fake.payoutsFor(payoutId).filter((p) => p.status === 'paid').length,
  disbursed: (fake) => ['USD', fake.disbursedTotal()],
};

const rows = [{ row: wise }, { row: paypal }, { row: circle }, { row: stripe }] as { row: Row<Fake> }[];

describe.each(rows)('failover from one $row.kind account to another', ({ row }) => {
  let stack: Stack;
  let a: Fake;
  let b: Fake;
  const [nameA, nameB] = [`${row.kind}-a`, `${row.kind}-b`];
  beforeAll(async () => {
    a = row.make(1);
    b = row.make(2);
    await a.start();
    await b.start();
    stack = await startStack(`${row.kind}_failover_e2e`, {
      providers: [row.provider(nameA, a, 1, 1), row.provider(nameB, b, 2, 2)] as never,
      ...(row.env ? { env: row.env } : {}),
    });
    await row.connect(a, `${stack.url}/v1/providers/${nameA}/webhooks`);
    await row.connect(b, `${stack.url}/v1/providers/${nameB}/webhooks`);
  });
  afterAll(async () => {
    await stack?.close();
    await a?.stop();
    await b?.stop();
  });

  it('a payee the first account declines is paid by the second; one disbursement in all', async () => {
    const payoutId = await row.payout(stack, a, b);
    await a.webhooksSent();
    await b.webhooksSent();
    const final = await stack.result(payoutId);
    expect(final.state).toBe('paid');
    expect(attemptOutcomes(final)).toEqual([
      [nameA, 'declined'],
      [nameB, 'paid'],
    ]);
    expect([row.count(a, payoutId), row.count(b, payoutId)]).toEqual([0, 1]);
    expect((await verifyLedger(stack.db.em(), stack.db.schema)).violations).toEqual([]);
    const [currency, total] = row.disbursed(b);
    expect(row.disbursed(a)[1]).toBe(0n);
    expect((await clearingByCurrency(stack)).get(currency)).toBe(total);
  });
});
