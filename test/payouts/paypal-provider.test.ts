// The payout workflow paying through the PayPal Payouts adapter, against the fake PayPal, end to end: the real
// API, worker, Temporal test server and PostgreSQL; PayPal's webhooks POSTed to the API's provider route and
// verified through the fake's verify-webhook-signature. Instant and scheduled wallet payouts, a failed item
// failing over to the sandbox, an unclaimed item returned after 30 days failing over, a timeout after PayPal
// made the batch resolved without paying twice, a refund after paid, duplicate and out-of-order webhooks. After
// each: the ledger verifies, no payout is disbursed twice across PayPal and the sandbox, and what PayPal paid
// out plus the sandbox's paid total equals the ledger's provider clearing.
import { randomBytes } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { listSandboxDisbursements } from '../../src/providers/index.ts';
import { FakePaypal, type ReceiverBehaviour } from '../fakes/paypal/server.ts';
import {
  assertPaidOnce,
  attemptOutcomes,
  clearingByCurrency,
  ledgerSteps,
  pastPayoutWindow,
  payeeWithDestination,
  requestPayoutBy,
  sandboxPaidByCurrency,
  WALLET_SELLER,
} from '../providers/e2e-support.ts';
import { type Stack, startStack } from '../support/stack.ts';
import { waitForRowState } from './row-state.ts';

const CLIENT_ID = `A${randomBytes(12).toString('hex')}`;
const SECRET = `E${randomBytes(16).toString('hex')}`;
const WEBHOOK_ID = `WH${randomBytes(8).toString('hex').toUpperCase()}`;

describe('payouts through PayPal Payouts (fake PayPal)', () => {
  let stack: Stack;
  let fake: FakePaypal;
  let seq = 0;
  beforeAll(async () => {
    fake = new FakePaypal({ clientId: CLIENT_ID, clientSecret: SECRET, webhookId: WEBHOOK_ID });
    await fake.start();
    process.env.E2E_PAYPAL_ID = CLIENT_ID;
    process.env.E2E_PAYPAL_SECRET = SECRET;
    process.env.E2E_PAYPAL_WEBHOOK = WEBHOOK_ID;
    stack = await startStack('paypal_e2e', {
      providers: [
        {
          name: 'paypal',
          kind: 'paypal',
          capabilities: { priority: 1 },
          settings: {
            apiBase: fake.url,
            clientIdEnv: 'E2E_PAYPAL_ID',
            clientSecretEnv: 'E2E_PAYPAL_SECRET',
            webhookIdEnv: 'E2E_PAYPAL_WEBHOOK',
            timeoutMs: 1_000,
          },
        },
        { name: 'sandbox', capabilities: { priority: 2 } },
      ],
    });
    fake.webhook = { url: `${stack.url}/v1/providers/paypal/webhooks` };
  });
  afterEach(async () => {
    fake.faults = [];
    fake.autoProcess = true;
    fake.duplicateWebhooks = false;
    fake.holdWebhooks = false;
    fake.outOfOrder = false;
    await fake.webhooksSent();
    await assertInvariants();
  });
  afterAll(async () => {
    await stack?.close();
    await fake?.stop();
  });

  async function assertInvariants(): Promise<void> {
    const paypalPaid = new Set(
      [...fake.items.values()]
        .filter((i) => i.transaction_status === 'SUCCESS' || i.transaction_status === 'REFUNDED')
        .map((i) => i.sender_batch_id.replace(/:\d+$/, '')),
    );
    await assertPaidOnce(stack, {
      fakePaidTwice: fake.paidMoreThanOnce(),
      paidByFake: (id) => paypalPaid.has(id),
    });
    const sandbox = (await sandboxPaidByCurrency(stack)).get('USD') ?? 0n;
    expect((await clearingByCurrency(stack)).get('USD') ?? 0n).toBe(fake.disbursedTotal() + sandbox);
  }

  /** A verified US payee whose wallet destination is a PayPal email (behaving at the fake as told). */
  async function paypalPayee(
    behaviour: ReceiverBehaviour = 'account',
  ): Promise<{ payeeId: string; email: string }> {
    seq++;
    const email = `seller${seq}.${randomBytes(3).toString('hex')}@example.com`;
    fake.receivers.set(`PAYPAL:${email}`, behaviour);
    const payeeId = await payeeWithDestination(
      stack,
      'wallet',
      { provider: 'paypal', walletId: email },
      { payee: WALLET_SELLER },
    );
    return { payeeId, email };
  }

  const requestWalletPayout = (payeeId: string, amount: string, instant: boolean) =>
    requestPayoutBy(stack, payeeId, amount, 'wallet', instant);

  const steps = (payoutId: string) => ledgerSteps(stack, payoutId);
  const attempts = attemptOutcomes;
  const itemDeliveries = (payoutId: string, type: string) =>
    fake.deliveries.filter(
      (d) =>
        d.type === type &&
        fake.events.find((e) => e.id === d.eventId)?.resource.sender_batch_id === `${payoutId}:1`,
    );

  it('instant: paid to the PayPal account, confirmed by the verified PAYMENT.PAYOUTS-ITEM.SUCCEEDED webhook', async () => {
    const { payeeId, email } = await paypalPayee();
    const payoutId = await requestWalletPayout(payeeId, '5000', true);
    const final = await stack.result(payoutId);
    expect([final.state, final.rail]).toEqual(['paid', 'instant']);
    expect(attempts(final)).toEqual([['paypal', 'paid']]);
    const [item] = fake.itemsFor(payoutId);
    expect([
      item!.transaction_status,
      item!.payout_item.receiver,
      item!.payout_item.recipient_wallet,
    ]).toEqual(['SUCCESS', email, 'PAYPAL']);
    // PayPal pays the net (the instant fee is Disburse's own ledger leg).
    expect(item!.minor).toBe(5000n - BigInt(final.fee?.amount ?? '0'));
    expect(await steps(payoutId)).toEqual(['hold', 'settle']);
  });

  it('scheduled: sent in the payout window, paid when PayPal processes the batch', async () => {
    const { payeeId } = await paypalPayee();
    fake.autoProcess = false;
    const payoutId = await requestWalletPayout(payeeId, '7000', false);
    await pastPayoutWindow(stack, payoutId, 'awaiting_confirmation');
    expect(fake.itemsFor(payoutId).map((i) => i.transaction_status)).toEqual(['PENDING']);
    fake.processBatches();
    await fake.webhooksSent();
    const final = await stack.result(payoutId);
    expect([final.state, final.rail]).toEqual(['paid', 'scheduled']);
    expect(attempts(final)).toEqual([['paypal', 'paid']]);
  });

  it('an item PayPal fails fails over to the sandbox; PayPal keeps nothing of it', async () => {
    const { payeeId } = await paypalPayee({ fail: 'RECEIVER_ACCOUNT_LOCKED' });
    fake.autoProcess = false;
    const balance = fake.balance.USD!;
    const payoutId = await requestWalletPayout(payeeId, '4000', true);
    await stack.waitForState(payoutId, ['awaiting_confirmation']);
    fake.processBatches();
    await fake.webhooksSent();
    const final = await stack.result(payoutId);
    expect(final.state).toBe('paid');
    expect(attempts(final)).toEqual([
      ['paypal', 'failed'],
      ['sandbox', 'paid'],
    ]);
    expect(fake.balance.USD).toBe(balance); // the failed item's money came back to the sender
    expect((await listSandboxDisbursements(stack.db, { payoutId })).map((d) => d.state)).toEqual(['paid']);
  });

  it('unclaimed is not paid: returned after 30 days, the payout fails over to the sandbox', async () => {
    const { payeeId } = await paypalPayee('unregistered');
    const payoutId = await requestWalletPayout(payeeId, '3500', true);
    await stack.waitForState(payoutId, ['awaiting_confirmation']);
    await fake.webhooksSent();
    expect(fake.itemsFor(payoutId).map((i) => i.transaction_status)).toEqual(['UNCLAIMED']);
    expect((await stack.call('GET', `/v1/payouts/${payoutId}`)).body.state).toBe('awaiting_confirmation');
    fake.advanceDays(30);
    await fake.webhooksSent();
    const final = await stack.result(payoutId);
    expect(final.state).toBe('paid');
    expect(attempts(final)).toEqual([
      ['paypal', 'failed'],
      ['sandbox', 'paid'],
    ]);
    expect(fake.itemsFor(payoutId).map((i) => i.transaction_status)).toEqual(['RETURNED']);
  });

  it('a timeout after PayPal made the batch: the retry with the same sender_batch_id finds it, paid once, no failover', async () => {
    const { payeeId } = await paypalPayee();
    fake.faults = [{ kind: 'timeout_after', ms: 3_000, method: 'POST', path: /^\/v1\/payments\/payouts$/ }];
    const payoutId = await requestWalletPayout(payeeId, '6000', true);
    const final = await stack.result(payoutId);
    expect(final.state).toBe('paid');
    expect(final.attempts.map((a) => a.provider)).toEqual(['paypal']);
    expect(fake.itemsFor(payoutId)).toHaveLength(1);
    // The create call's answer was lost (status 0); what named the batch after it — the PayPal-Request-Id replay
    // of a retry, or PayPal's batch webhook — made nothing new.
    expect(fake.requests.filter((r) => r.requestId === `disburse-${payoutId}:1`)[0]?.status).toBe(0);
    expect(await listSandboxDisbursements(stack.db, { payoutId })).toEqual([]);
  });

  it('a refund days after paid is reversed back to the wallet', async () => {
    const { payeeId } = await paypalPayee();
    const payoutId = await requestWalletPayout(payeeId, '8000', true);
    await stack.waitForState(payoutId, ['paid']);
    const [item] = fake.itemsFor(payoutId);
    fake.refund(item!.payout_item_id, { days: 4 });
    await fake.webhooksSent();
    // The workflow ended at paid; the return path recorded the return on the row.
    const final = await waitForRowState(stack, payoutId, ['returned']);
    expect(final.state).toBe('returned');
    expect(await steps(payoutId)).toEqual(['hold', 'settle', 'return']);
    const wallet = await stack.call('GET', `/v1/payees/${payeeId}/wallet`);
    expect(wallet.body.balances[0].available.amount).toBe('100000');
  });

  it('duplicate webhooks settle once', async () => {
    const { payeeId } = await paypalPayee();
    fake.duplicateWebhooks = true;
    const payoutId = await requestWalletPayout(payeeId, '2000', true);
    const final = await stack.result(payoutId);
    expect(final.state).toBe('paid');
    await fake.webhooksSent();
    const succeeded = itemDeliveries(payoutId, 'PAYMENT.PAYOUTS-ITEM.SUCCEEDED');
    expect(succeeded.map((d) => d.status)).toEqual([200, 200]);
    expect(await steps(payoutId)).toEqual(['hold', 'settle']);
    // PayPal's verification API down: the route answers 503 (PayPal redelivers later), not 401.
    fake.verifierDown = true;
    fake.duplicateWebhooks = false;
    await fake.redeliver(succeeded[0]!.eventId);
    fake.verifierDown = false;
    expect(fake.deliveries.at(-1)).toEqual({
      eventId: succeeded[0]!.eventId,
      type: 'PAYMENT.PAYOUTS-ITEM.SUCCEEDED',
      status: 503,
    });
    await fake.redeliver(succeeded[0]!.eventId);
    expect(fake.deliveries.at(-1)!.status).toBe(200);
  });

  it('out-of-order webhooks (the refund before the success): the payout ends returned, settled and reversed once', async () => {
    const { payeeId } = await paypalPayee();
    fake.holdWebhooks = true;
    fake.outOfOrder = true;
    const payoutId = await requestWalletPayout(payeeId, '9000', true);
    await stack.waitForState(payoutId, ['awaiting_confirmation', 'paid']);
    const [item] = fake.itemsFor(payoutId);
    fake.refund(item!.payout_item_id, { days: 3 });
    await fake.flushWebhooks(); // REFUNDED first, then SUCCEEDED
    // Whether the workflow was still confirming or had ended at paid, the row ends returned.
    const final = await waitForRowState(stack, payoutId, ['returned']);
    expect(final.state).toBe('returned');
    expect(await steps(payoutId)).toEqual(['hold', 'settle', 'return']);
  });
});
