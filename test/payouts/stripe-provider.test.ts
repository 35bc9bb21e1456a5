// The payout workflow paying through the Stripe Connect adapter, against the fake Stripe, end to end: the real
// API, worker, Temporal test server and PostgreSQL; Stripe's webhooks POSTed to the API's provider route.
// Instant and scheduled payouts, a decline failing over to the sandbox, a timeout after Stripe paid resolved
// without paying twice, a return after paid, duplicate and out-of-order webhooks. After each: the ledger
// verifies, no payout is disbursed twice across Stripe and the sandbox, and what left the fake Stripe plus the
// sandbox's paid total equals the ledger's provider clearing.
import { randomBytes } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { listSandboxDisbursements, type StripeProvider } from '../../src/providers/index.ts';
import { type FakeAccount, FakeStripe } from '../fakes/stripe/server.ts';
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

const KEY = `sk_test_${randomBytes(12).toString('hex')}`;
const WHSEC = `whsec_${randomBytes(18).toString('base64')}`;

describe('payouts through Stripe Connect (fake Stripe)', () => {
  let stack: Stack;
  let fake: FakeStripe;
  beforeAll(async () => {
    fake = new FakeStripe({ secretKey: KEY });
    await fake.start();
    process.env.E2E_STRIPE_KEY = KEY;
    process.env.E2E_STRIPE_WHSEC = WHSEC;
    stack = await startStack('stripe_e2e', {
      providers: [
        {
          name: 'stripe',
          kind: 'stripe',
          capabilities: { priority: 1 },
          settings: {
            apiBase: fake.url,
            secretKeyEnv: 'E2E_STRIPE_KEY',
            webhookSecretEnv: 'E2E_STRIPE_WHSEC',
            timeoutMs: 1_000,
          },
        },
        { name: 'sandbox', capabilities: { priority: 2 } },
      ],
    });
    fake.webhook = { url: `${stack.url}/v1/providers/stripe/webhooks`, secret: WHSEC };
  });
  afterEach(async () => {
    fake.faults = [];
    fake.autoSettleInstant = true;
    fake.duplicateWebhooks = false;
    fake.holdWebhooks = false;
    fake.outOfOrder = false;
    await fake.webhooksSent();
    await stripe().idle();
    expect(stripe().lastBackgroundError).toBeUndefined();
    await assertInvariants();
  });

  const stripe = () => stack.services.providers.require('stripe') as StripeProvider;
  afterAll(async () => {
    await stack?.close();
    await fake?.stop();
  });

  async function assertInvariants(): Promise<void> {
    const stripePaid = new Set(
      [...fake.payouts.values()]
        .filter((p) => p.payout.status === 'paid')
        .map((p) => p.payout.metadata.disburse_payout_id),
    );
    await assertPaidOnce(stack, {
      fakePaidTwice: fake.paidMoreThanOnce(),
      paidByFake: (id) => stripePaid.has(id),
    });
    const sandbox = (await sandboxPaidByCurrency(stack)).get('USD') ?? 0n;
    expect((await clearingByCurrency(stack)).get('USD') ?? 0n).toBe(fake.disbursedTotal() + sandbox);
  }

  /** A verified US payee with a Stripe connected account (debit card) as its card destination. */
  async function stripePayee(
    o: { account?: Partial<FakeAccount> } = {},
  ): Promise<{ payeeId: string; acct: FakeAccount }> {
    const acct = fake.addAccount(o.account);
    const payeeId = await payeeWithDestination(stack, 'card', {
      cardToken: `${acct.id}:${acct.externalAccounts[0]!.id}`,
    });
    return { payeeId, acct };
  }

  const requestCardPayout = (payeeId: string, amount: string, instant: boolean) =>
    requestPayoutBy(stack, payeeId, amount, 'card', instant);

  const steps = (payoutId: string) => ledgerSteps(stack, payoutId);
  const attempts = attemptOutcomes;

  it('instant: paid to the debit card, confirmed by the signed payout.paid webhook', async () => {
    const { payeeId, acct } = await stripePayee();
    const payoutId = await requestCardPayout(payeeId, '5000', true);
    const final = await stack.result(payoutId);
    expect([final.state, final.rail]).toEqual(['paid', 'instant']);
    expect(attempts(final)).toEqual([['stripe', 'paid']]);
    const [payout] = fake.payoutsFor(payoutId);
    expect([payout!.method, payout!.status, payout!.destination]).toEqual([
      'instant',
      'paid',
      acct.externalAccounts[0]!.id,
    ]);
    // Stripe pays the net (the instant fee is Disburse's own ledger leg).
    expect(BigInt(payout!.amount)).toBe(5000n - BigInt(final.fee?.amount ?? '0'));
    expect(fake.deliveries.filter((d) => d.type === 'payout.paid').map((d) => d.status)).toContain(200);
    expect(await steps(payoutId)).toEqual(['hold', 'settle']);
  });

  it('scheduled: a standard payout in the payout window, paid when it arrives days later', async () => {
    const { payeeId } = await stripePayee();
    const payoutId = await requestCardPayout(payeeId, '7000', false);
    await pastPayoutWindow(stack, payoutId, 'awaiting_confirmation');
    const [payout] = fake.payoutsFor(payoutId);
    expect([payout!.method, payout!.status]).toEqual(['standard', 'pending']);
    fake.advanceDays(2); // arrival date: Stripe marks it paid and sends payout.paid
    await fake.webhooksSent();
    const final = await stack.result(payoutId);
    expect([final.state, final.rail]).toEqual(['paid', 'scheduled']);
    expect(attempts(final)).toEqual([['stripe', 'paid']]);
  });

  it('a decline at Stripe fails over to the sandbox, and Stripe keeps nothing of it', async () => {
    const { payeeId } = await stripePayee({ account: { refusePayouts: 'payouts_not_allowed' } });
    const platformBefore = fake.platformBalance.usd!;
    const payoutId = await requestCardPayout(payeeId, '4000', true);
    const final = await stack.result(payoutId);
    expect(final.state).toBe('paid');
    expect(attempts(final)).toEqual([
      ['stripe', 'declined'],
      ['sandbox', 'paid'],
    ]);
    expect(fake.payoutsFor(payoutId)).toEqual([]);
    expect(fake.platformBalance.usd).toBe(platformBefore); // the transfer was reversed
    expect((await listSandboxDisbursements(stack.db, { payoutId })).map((d) => d.state)).toEqual(['paid']);
  });

  it('a timeout after Stripe paid is an unknown outcome resolved by status: paid once, no failover', async () => {
    const { payeeId } = await stripePayee();
    fake.faults = [{ kind: 'timeout_after', ms: 3_000, method: 'POST', path: /^\/v1\/payouts$/ }];
    const payoutId = await requestCardPayout(payeeId, '6000', true);
    const final = await stack.result(payoutId);
    expect(final.state).toBe('paid');
    expect(final.attempts.map((a) => a.provider)).toEqual(['stripe']);
    expect(fake.payoutsFor(payoutId)).toHaveLength(1);
    expect(await listSandboxDisbursements(stack.db, { payoutId })).toEqual([]);
  });

  it('429s are retried with the same keys: one transfer, one payout', async () => {
    const { payeeId } = await stripePayee();
    fake.faults = [
      { kind: 'status', status: 429, method: 'POST', path: /^\/v1\/(transfers|payouts)$/, times: 2 },
    ];
    const payoutId = await requestCardPayout(payeeId, '3000', true);
    const final = await stack.result(payoutId);
    expect(final.state).toBe('paid');
    expect(fake.payoutsFor(payoutId)).toHaveLength(1);
    expect(fake.requests.filter((r) => r.status === 429)).not.toHaveLength(0);
  });

  it('a return days after paid is reversed back to the wallet', async () => {
    const { payeeId } = await stripePayee();
    const payoutId = await requestCardPayout(payeeId, '8000', true);
    await stack.waitForState(payoutId, ['paid']);
    const [payout] = fake.payoutsFor(payoutId);
    fake.returnPayout(payout!.id, { code: 'account_closed', days: 4 });
    await fake.webhooksSent();
    // The workflow ended at paid; the return path recorded the return on the row.
    const final = await waitForRowState(stack, payoutId, ['returned']);
    expect(final.state).toBe('returned');
    expect(await steps(payoutId)).toEqual(['hold', 'settle', 'return']);
    const wallet = await stack.call('GET', `/v1/payees/${payeeId}/wallet`);
    expect(wallet.body.balances[0].available.amount).toBe('100000');
    // The returned funds are taken back from the connected account (no automatic payout can resend them).
    await stripe().idle();
    expect([...fake.transfers.values()].find((t) => t.transfer_group === `${payoutId}:1`)?.reversed).toBe(
      true,
    );
  });

  it('a paid standard payout reversed to the connected account (payout reversal) is returned to the wallet', async () => {
    const acct = fake.addAccount();
    const payeeId = await payeeWithDestination(stack, 'card', {
      cardToken: `${acct.id}:${acct.externalAccounts[1]!.id}`, // its bank account
    });
    const payoutId = await requestCardPayout(payeeId, '6500', false);
    await pastPayoutWindow(stack, payoutId, 'awaiting_confirmation');
    const [payout] = fake.payoutsFor(payoutId);
    fake.advanceDays(2);
    await fake.webhooksSent();
    await stack.waitForState(payoutId, ['paid']);
    const reversal = fake.reverse(payout!.id);
    await fake.webhooksSent();
    expect((await stack.call('GET', `/v1/payouts/${payoutId}`)).body.state).toBe('paid'); // requested only
    fake.settleReversal(reversal.id);
    await fake.webhooksSent();
    const final = await waitForRowState(stack, payoutId, ['returned']);
    expect(final.state).toBe('returned');
    expect(await steps(payoutId)).toEqual(['hold', 'settle', 'return']);
    await stripe().idle();
    expect([...fake.transfers.values()].find((t) => t.transfer_group === `${payoutId}:1`)?.reversed).toBe(
      true,
    );
    expect(acct.balance.usd ?? 0).toBe(0);
  });

  it('duplicate webhooks settle once', async () => {
    const { payeeId } = await stripePayee();
    fake.duplicateWebhooks = true;
    const payoutId = await requestCardPayout(payeeId, '2000', true);
    const final = await stack.result(payoutId);
    expect(final.state).toBe('paid');
    const paid = fake.deliveries.filter(
      (d) =>
        d.type === 'payout.paid' &&
        fake.events.find((e) => e.id === d.eventId)?.data.object.metadata.disburse_payout_id === payoutId,
    );
    expect(paid.map((d) => d.status)).toEqual([200, 200]);
    expect(await steps(payoutId)).toEqual(['hold', 'settle']);
  });

  it('out-of-order webhooks (the return before the paid): the payout ends returned, settled and reversed once', async () => {
    const { payeeId } = await stripePayee();
    fake.holdWebhooks = true;
    fake.outOfOrder = true;
    fake.autoSettleInstant = false;
    const payoutId = await requestCardPayout(payeeId, '9000', true);
    await stack.waitForState(payoutId, ['awaiting_confirmation']);
    const [payout] = fake.payoutsFor(payoutId);
    fake.settle(payout!.id);
    fake.returnPayout(payout!.id, { days: 3 });
    await fake.flushWebhooks(); // payout.failed (a return) first, then payout.paid
    const final = await stack.result(payoutId);
    expect(final.state).toBe('returned');
    expect(await steps(payoutId)).toEqual(['hold', 'settle', 'return']);
  });
});
