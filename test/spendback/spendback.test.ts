// Spendback end to end: real PostgreSQL, the real HTTP API, a real worker on the time-skipping test server.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { sql } from '../../src/db/sql.ts';
import { periodIdFor } from '../../src/periods/calendar.ts';
import {
  creditGrantWorkflowId,
  periodTriggersWorkflowId,
  spendbackWebhookWorkflowId,
} from '../../workflows/credit-grant-contract.ts';
import { type Stack, startStack, startWebhookReceiver, WEBHOOK_SECRET } from '../support/stack.ts';

const usd = (amount: string) => ({ amount, currency: 'USD', scale: 2 });
const ref = (p: string) => `${p}-${randomBytes(4).toString('hex')}`;

const RULES = {
  version: '2026.11-a',
  rules: [
    {
      id: 'earn-500',
      kind: 'earnings_threshold',
      threshold: { USD: '50000' },
      grant: { fixed: { USD: '2500' } },
    },
    { id: 'earn-pct', kind: 'earnings_threshold', threshold: { USD: '100000' }, grant: { percent: '1.5' } },
    { id: 'bonus-5', kind: 'spendback_bonus', percent: '5', oncePer: 'order' },
    { id: 'vip-10', kind: 'next_purchase_discount', threshold: { USD: '200000' }, percent: '10' },
  ],
};

describe('spendback and promotional credits', () => {
  let stack: Stack;
  let schema: string;
  let receiver: Awaited<ReturnType<typeof startWebhookReceiver>>;
  /** The event type of the verified delivery with this webhook id, if the platform's endpoint got it. */
  const deliveredType = (id: string) => receiver.received.find((r) => r.id === id)?.type;
  beforeAll(async () => {
    receiver = await startWebhookReceiver();
    stack = await startStack('spendback', {
      env: {
        SPENDBACK_RULES: JSON.stringify(RULES),
        WEBHOOK_ENDPOINTS: receiver.url,
        WEBHOOK_SECRET,
      },
    });
    schema = stack.db.schema;
  });
  afterAll(async () => {
    await stack?.close();
    await receiver?.close();
  });

  /**
   * Lets virtual time run while `wait` is pending. The SDK's result() unlocks time skipping once and locks
   * it again after; concurrent waits can leave extra locks behind. Unlocking saturates at zero, so a few
   * extra unlocks make this independent of how many locks the stack currently holds.
   */
  async function skippingTime<T>(wait: () => Promise<T>): Promise<T> {
    for (let i = 0; i < 8; i++) await stack.temporal.connection.testService?.unlockTimeSkipping({});
    return wait();
  }

  /** Ledger invariants, plus: every payee's restricted balance is exactly what its grants have left. */
  async function assertInvariants(): Promise<void> {
    await stack.assertInvariants();
    const drift = await sql<{ owner: string; currency: string; ledger: string; grants: string }>(
      stack.db.em(),
      `SELECT a.owner, a.currency, a.balance::text AS ledger, coalesce(g.left_total, 0)::text AS grants
         FROM "${schema}".ledger_accounts a
         LEFT JOIN (SELECT payee_id, currency, sum(remaining) AS left_total FROM "${schema}".credit_grants
                     GROUP BY payee_id, currency) g ON g.payee_id = a.owner AND g.currency = a.currency
        WHERE a.kind = 'payee_restricted' AND a.balance <> coalesce(g.left_total, 0)`,
    );
    expect(drift).toEqual([]);
  }

  async function count(table: string, where = 'true', params: unknown[] = []): Promise<number> {
    const rows = await sql<{ n: string }>(
      stack.db.em(),
      `SELECT count(*)::text AS n FROM "${schema}".${table} WHERE ${where}`,
      params,
    );
    return Number(rows[0]!.n);
  }

  async function wallet(payeeId: string) {
    const res = stack.expectStatus(await stack.call('GET', `/v1/payees/${payeeId}/wallet`), 200, 'wallet');
    const b = res.body.balances.find((x: { currency: string }) => x.currency === 'USD');
    return { available: b.available.amount, held: b.held.amount, restricted: b.restricted.amount };
  }

  async function grant(payeeId: string, amount: string, expiresInDays?: number) {
    const res = await stack.call('POST', `/v1/payees/${payeeId}/credits/grants`, {
      body: {
        amount: usd(amount),
        reference: ref('promo'),
        ...(expiresInDays
          ? { expiresAt: new Date(Date.now() + expiresInDays * 86_400_000).toISOString() }
          : {}),
      },
    });
    stack.expectStatus(res, 201, 'grant');
    return res.body as { id: string; expiresAt: string };
  }

  const spend = (
    payeeId: string,
    orderReference: string,
    amount: string,
    o: { idempotencyKey?: string } = {},
  ) =>
    stack.call('POST', `/v1/payees/${payeeId}/spendback`, {
      body: { orderReference, amount: usd(amount) },
      ...(o.idempotencyKey ? { idempotencyKey: o.idempotencyKey } : {}),
    });
  const refund = (payeeId: string, order: string, refundReference: string, amount: string) =>
    stack.call('POST', `/v1/payees/${payeeId}/spendback/${order}/refunds`, {
      body: { refundReference, amount: usd(amount) },
    });

  it('spends restricted credit first (soonest expiry first), then available, with explicit legs', async () => {
    const payeeId = await stack.createPayee({ credit: '30000' });
    const later = await grant(payeeId, '5000', 30);
    const sooner = await grant(payeeId, '3000', 10);
    expect(await wallet(payeeId)).toEqual({ available: '30000', held: '0', restricted: '8000' });

    const res = stack.expectStatus(await spend(payeeId, 'order-1', '10000'), 201, 'spend');
    expect(res.body).toMatchObject({
      fromRestricted: usd('8000'),
      fromAvailable: usd('2000'),
      grants: [
        { grantId: sooner.id, amount: usd('3000') },
        { grantId: later.id, amount: usd('5000') },
      ],
      replayed: false,
    });
    // Spendback bonus: 5% of the 20.00 paid from earnings, as new restricted credit.
    expect(res.body.bonusGrantId).toMatch(/^cg_/);
    expect(await wallet(payeeId)).toEqual({ available: '28000', held: '0', restricted: '100' });

    const tx = await stack.services.ledger.getTransaction(`spendback:${payeeId}:order-1`);
    const legs = Object.fromEntries(
      tx!.entries.map((e) => [`${e.account.kind}/${e.account.owner}`, e.amount.amount]),
    );
    expect(legs).toEqual({
      [`payee_restricted/${payeeId}`]: '-8000',
      [`payee_available/${payeeId}`]: '-2000',
      'spendback_revenue/promotions': '8000',
      'spendback_revenue/platform': '2000',
    });

    // Retried with a new Idempotency-Key: same order, nothing new. Another amount for the order: 409.
    const again = stack.expectStatus(await spend(payeeId, 'order-1', '10000'), 200, 'replay');
    expect(again.body).toMatchObject({ replayed: true, transactionId: res.body.transactionId });
    const clash = await spend(payeeId, 'order-1', '9999');
    expect(clash.status).toBe(409);
    expect(clash.contentType).toContain('application/problem+json');
    expect(await count('credit_grants', 'payee_id = $1', [payeeId])).toBe(3);
    await assertInvariants();

    // Refunds: reverse spend order — available first, then the last grant spent.
    const r1 = stack.expectStatus(await refund(payeeId, 'order-1', 'rf-1', '1500'), 201, 'refund 1');
    // The 1.00 bonus was earned on 20.00 from earnings; 15.00 of those refunded takes back 0.75 of it.
    expect(r1.body).toMatchObject({
      toAvailable: usd('1500'),
      toRestricted: usd('0'),
      toPlatform: usd('0'),
      bonusClawedBack: usd('75'),
    });
    const r2 = stack.expectStatus(await refund(payeeId, 'order-1', 'rf-2', '2000'), 201, 'refund 2');
    expect(r2.body).toMatchObject({
      toAvailable: usd('500'),
      toRestricted: usd('1500'),
      bonusClawedBack: usd('25'),
    });
    expect(await wallet(payeeId)).toEqual({ available: '30000', held: '0', restricted: '1500' });

    const txBefore = await count('ledger_transactions');
    const over = await refund(payeeId, 'order-1', 'rf-3', '6501');
    expect(over.status).toBe(422);
    expect(over.contentType).toContain('application/problem+json');
    expect(over.body.detail).toMatch(/exceeds what is left/);
    expect(await count('ledger_transactions')).toBe(txBefore);
    expect(await count('spendback_refunds', 'payee_id = $1', [payeeId])).toBe(2);

    const r3 = stack.expectStatus(await refund(payeeId, 'order-1', 'rf-3', '6500'), 201, 'full refund');
    expect(r3.body).toMatchObject({
      toAvailable: usd('0'),
      toRestricted: usd('6500'),
      bonusClawedBack: usd('0'),
    });
    stack.expectStatus(await refund(payeeId, 'order-1', 'rf-3', '6500'), 200, 'refund replay');
    expect((await refund(payeeId, 'order-1', 'rf-4', '1')).status).toBe(422);

    const grants = stack.expectStatus(
      await stack.call('GET', `/v1/payees/${payeeId}/credits/grants`),
      200,
      'grants',
    );
    const remaining = Object.fromEntries(
      grants.body.grants.map((g: { id: string; remaining: { amount: string } }) => [
        g.id,
        g.remaining.amount,
      ]),
    );
    expect(remaining[sooner.id]).toBe('3000');
    expect(remaining[later.id]).toBe('5000');
    // Fully refunded: the wallet is exactly as before the purchase (the bonus went back to the platform).
    expect(await wallet(payeeId)).toEqual({ available: '30000', held: '0', restricted: '8000' });
    const order = stack.expectStatus(
      await stack.call('GET', `/v1/payees/${payeeId}/spendback/order-1`),
      200,
      'order',
    );
    expect(order.body.refunded).toEqual(usd('10000'));
    await assertInvariants();
  });

  it('documents every spendback route and field in the OpenAPI document', async () => {
    const doc = stack.expectStatus(
      await stack.call('GET', '/openapi.json', { key: null }),
      200,
      'openapi',
    ).body;
    for (const [path, method] of [
      ['/v1/payees/{id}/spendback', 'post'],
      ['/v1/payees/{id}/spendback/{orderReference}', 'get'],
      ['/v1/payees/{id}/spendback/{orderReference}/refunds', 'post'],
      ['/v1/payees/{id}/credits/grants', 'post'],
      ['/v1/payees/{id}/credits/grants', 'get'],
    ] as const) {
      expect({ path, method, summary: typeof doc.paths[path]?.[method]?.summary }).toEqual({
        path,
        method,
        summary: 'string',
      });
    }
    const missing: string[] = [];
    const walk = (node: unknown, where: string) => {
      if (!node || typeof node !== 'object') return;
      const n = node as {
        properties?: Record<string, { description?: string; $ref?: string }>;
        items?: unknown;
      };
      for (const [k, v] of Object.entries(n.properties ?? {})) {
        if (!v.$ref && typeof v.description !== 'string') missing.push(`${where}.${k}`);
        walk(v, `${where}.${k}`);
      }
      if (n.items) walk(n.items, `${where}[]`);
    };
    for (const name of [
      'SpendbackRequest',
      'Spendback',
      'SpendbackRefundRequest',
      'SpendbackRefund',
      'CreditGrantRequest',
      'CreditGrant',
      'CreditGrants',
      'NextPurchaseDiscount',
    ]) {
      expect({ name, found: name in doc.components.schemas }).toEqual({ name, found: true });
      walk(doc.components.schemas[name], name);
    }
    expect(missing).toEqual([]);
  });

  it('refuses bad input and insufficient funds with problem+json, writing nothing', async () => {
    const payeeId = await stack.createPayee({ credit: '1000' });
    await grant(payeeId, '500');
    const before = {
      tx: await count('ledger_transactions'),
      orders: await count('spendback_orders'),
      grants: await count('credit_grants'),
      outbox: await count('webhook_outbox'),
    };
    const cases: [string, unknown, number][] = [
      ['insufficient', { orderReference: 'o-big', amount: usd('1501') }, 422],
      ['negative', { orderReference: 'o-neg', amount: usd('-100') }, 400],
      ['zero', { orderReference: 'o-zero', amount: usd('0') }, 400],
      ['unknown field', { orderReference: 'o-x', amount: usd('100'), coupon: 'FREE' }, 400],
      ['no reference', { amount: usd('100') }, 400],
      ['bad reference', { orderReference: 'has space', amount: usd('100') }, 400],
      [
        'bad currency',
        { orderReference: 'o-cur', amount: { amount: '100', currency: 'usd', scale: 2 } },
        400,
      ],
    ];
    for (const [what, body, status] of cases) {
      const res = await stack.call('POST', `/v1/payees/${payeeId}/spendback`, { body });
      expect({ what, status: res.status }).toEqual({ what, status });
      expect(res.contentType).toContain('application/problem+json');
    }
    const short = await spend(payeeId, 'o-big', '1501');
    expect(short.body.kind).toBe('insufficient_funds');
    expect(short.body.detail).toMatch(/500 in restricted credit and 1000 available/);
    expect((await spend('pe_000000000000000000000000', 'o-1', '100')).status).toBe(404);
    expect((await refund(payeeId, 'no-such-order', 'rf', '100')).status).toBe(404);
    const badGrant = await stack.call('POST', `/v1/payees/${payeeId}/credits/grants`, {
      body: { amount: usd('100'), reference: 'past', expiresAt: '2020-01-01T00:00:00Z' },
    });
    expect(badGrant.status).toBe(400);
    expect(await count('ledger_transactions')).toBe(before.tx);
    expect(await count('spendback_orders')).toBe(before.orders);
    expect(await count('credit_grants')).toBe(before.grants);
    expect(await count('webhook_outbox')).toBe(before.outbox);
    // Exactly the whole balance works.
    stack.expectStatus(await spend(payeeId, 'o-all', '1500'), 201, 'spend all');
    const orders = await stack.services.spendback.listOrders(stack.db.em(), payeeId, 10);
    expect(orders.map((o) => [o.orderReference, o.amount.amount])).toEqual([['o-all', '1500']]);
    // Exactly the whole balance works (the 5% bonus on the 10.00 from earnings is new credit).
    expect(await wallet(payeeId)).toEqual({ available: '0', held: '0', restricted: '50' });
    await assertInvariants();
  });

  it('a payee token can spend from its own wallet only; refunds are platform-only', async () => {
    const mine = await stack.createPayee({ credit: '5000' });
    const other = await stack.createPayee({ credit: '5000' });
    const tok = stack.expectStatus(
      await stack.call('POST', `/v1/payees/${mine}/tokens`, { body: {} }),
      201,
      'token',
    ).body.token as string;
    const own = await stack.call('POST', `/v1/payees/${mine}/spendback`, {
      key: tok,
      body: { orderReference: 'tok-1', amount: usd('1000') },
    });
    expect(own.status).toBe(201);
    const cross = await stack.call('POST', `/v1/payees/${other}/spendback`, {
      key: tok,
      body: { orderReference: 'tok-2', amount: usd('1000') },
    });
    expect(cross.status).toBe(404);
    const refundByPayee = await stack.call('POST', `/v1/payees/${mine}/spendback/tok-1/refunds`, {
      key: tok,
      body: { refundReference: 'r', amount: usd('10') },
    });
    expect(refundByPayee.status).toBe(403);
    expect(await wallet(other)).toMatchObject({ available: '5000' });
  });

  it('never overdraws when spendback and payout race for the same wallet', async () => {
    const payees = await Promise.all([1, 2, 3, 4].map(() => stack.createPayee({ credit: '10000' })));
    const started = await Promise.all(
      payees.map(async (payeeId, i) => {
        const payoutCall = () =>
          stack.call('POST', '/v1/payouts', {
            body: { payeeId, amount: usd('7000'), method: 'bank_transfer', instant: true },
          });
        // Half start with the payout, half with the purchase; both in flight together.
        const [a, b] =
          i % 2 === 0
            ? await Promise.all([spend(payeeId, 'race', '7000'), payoutCall()])
            : await Promise.all([payoutCall(), spend(payeeId, 'race', '7000')]).then(([p, sb]) => [sb, p]);
        return { payeeId, sb: a!, payout: b! };
      }),
    );
    for (const { payeeId, sb, payout } of started) {
      expect([201, 422]).toContain(sb.status);
      // The payout request checks the committed balance before it starts anything, so who wins decides
      // where the payout loses: refused at once (422) when the purchase committed first — usual on the
      // embedded database, which runs transactions one at a time — or accepted and then rejected when its
      // hold finds the money spent — usual on PostgreSQL, whose snapshot still shows the balance. Both
      // are correct; neither may overdraw.
      expect([202, 422]).toContain(payout.status);
      let paid = false;
      if (payout.status === 422) {
        expect(payout.body.kind).toBe('insufficient_funds');
        expect(await count('payouts', 'payee_id = $1', [payeeId])).toBe(0);
      } else {
        // One result at a time: each wait re-locks time skipping when it returns.
        const final = await skippingTime(() => stack.result(payout.body.id));
        if (final.state !== 'paid') {
          expect([final.state, final.reasons.at(-1)?.code]).toEqual(['rejected', 'insufficient_funds']);
        }
        paid = final.state === 'paid';
      }
      // Exactly one of the two got the money.
      expect({ spent: sb.status === 201, paid }).toEqual(
        sb.status === 201 ? { spent: true, paid: false } : { spent: false, paid: true },
      );
      const w = await wallet(payeeId);
      expect(w).toEqual({ available: '3000', held: '0', restricted: sb.status === 201 ? '350' : '0' });
    }
    await assertInvariants();
  });

  it('serialises spendback and payout holds on one wallet in the database (no overdraft under contention)', async () => {
    const payees = await Promise.all(
      Array.from({ length: 8 }, () => stack.createPayee({ credit: '10000', bankAccount: null })),
    );
    const results = await Promise.all(
      payees.flatMap((payeeId) => [
        stack.services.db
          .em()
          .transactional((em) =>
            stack.services.spendback.spend(em, { payeeId, orderReference: 'db-race', amount: usd('6000') }),
          )
          .then(
            () => ({ payeeId, what: 'spend', ok: true }),
            (e: Error) => ({ payeeId, what: 'spend', ok: false, error: e.message }),
          ),
        stack.services.ledger
          .hold({ payeeId, amount: usd('6000'), idempotencyKey: `db-race-hold:${payeeId}` })
          .then(
            () => ({ payeeId, what: 'hold', ok: true }),
            (e: Error) => ({ payeeId, what: 'hold', ok: false, error: e.message }),
          ),
      ]),
    );
    for (const payeeId of payees) {
      const mine = results.filter((r) => r.payeeId === payeeId);
      expect(mine.filter((r) => r.ok)).toHaveLength(1);
      const w = await wallet(payeeId);
      expect(BigInt(w.available)).toBe(4000n);
    }
    await assertInvariants();
  });

  it('credits that fire a grant and purchases on the same wallet run concurrently without errors', async () => {
    const payees = await Promise.all(Array.from({ length: 6 }, () => stack.createPayee({ credit: '5000' })));
    const txBefore = await count('ledger_transactions');
    const results = await Promise.all(
      payees.flatMap((payeeId) => [
        // 50.00 + 600.00 crosses the 500.00 threshold: the credit's transaction also grants 25.00.
        stack.call('POST', `/v1/payees/${payeeId}/credits`, {
          body: { amount: usd('60000'), reference: 'big-sale' },
        }),
        spend(payeeId, 'concurrent-1', '1000'),
        spend(payeeId, 'concurrent-2', '1000'),
      ]),
    );
    expect(results.map((r) => r.status)).toEqual(payees.flatMap(() => [201, 201, 201]));
    for (const payeeId of payees) {
      const w = await wallet(payeeId);
      // 650.00 credited − 20.00 spent = 630.00 in total wallet value, plus the 25.00 grant and 5% bonuses;
      // which purchase used the grant depends on timing, so check the sum.
      const bonuses = await sql<{ total: string }>(
        stack.db.em(),
        `SELECT coalesce(sum(amount), 0)::text AS total FROM "${schema}".credit_grants
          WHERE payee_id = $1 AND rule_id = 'bonus-5'`,
        [payeeId],
      );
      expect(BigInt(w.available) + BigInt(w.restricted)).toBe(63_000n + 2_500n + BigInt(bonuses[0]!.total));
      expect(await count('trigger_firings', `payee_id = $1 AND rule_id = 'earn-500'`, [payeeId])).toBe(1);
    }
    expect(await count('ledger_transactions')).toBeGreaterThan(txBefore);
    await assertInvariants();
  });

  it('fires each trigger exactly once per period: on credits, retries, period close and worker restart', async () => {
    const payeeId = await stack.createPayee();
    const credit = (reference: string, amount: string) =>
      stack.call('POST', `/v1/payees/${payeeId}/credits`, { body: { amount: usd(amount), reference } });
    stack.expectStatus(await credit('e1', '30000'), 201, 'credit 1');
    expect(await count('trigger_firings', 'payee_id = $1', [payeeId])).toBe(0);
    stack.expectStatus(await credit('e2', '25000'), 201, 'credit 2'); // 550.00 ≥ 500.00
    stack.expectStatus(await credit('e2', '25000'), 200, 'credit 2 retried');
    stack.expectStatus(await credit('e3', '50000'), 201, 'credit 3'); // 1,050.00 ≥ 1,000.00
    stack.expectStatus(await credit('e4', '100000'), 201, 'credit 4'); // 2,050.00 ≥ 2,000.00
    stack.expectStatus(await credit('e5', '100'), 201, 'credit 5');

    const period = periodIdFor(new Date(), stack.services.periodsConfig.calendar);
    const runPeriodClose = async (suffix: string) => {
      const handle = await stack.temporal.client.workflow.start('spendbackPeriodTriggersWorkflow', {
        workflowId: `${periodTriggersWorkflowId(period)}-${suffix}`,
        taskQueue: stack.taskQueue,
        args: [{ period }],
      });
      return (await skippingTime(() => handle.result())) as { payees: number; fired: number };
    };
    expect((await runPeriodClose('a')).fired).toBe(0);
    // Period close started while no worker runs, picked up by a restarted worker: still nothing new.
    await stack.stopWorker();
    const pending = runPeriodClose('b');
    await new Promise((r) => setTimeout(r, 200));
    await stack.startWorker();
    expect((await pending).fired).toBe(0);
    // The same work retried after it committed (an activity retry) finds every firing already claimed.
    expect(await stack.services.spendback.evaluatePeriodTriggers(period)).toMatchObject({ fired: 0 });

    const view = stack.expectStatus(
      await stack.call('GET', `/v1/payees/${payeeId}/credits/grants`),
      200,
      'grants',
    );
    const firings = view.body.firings.map((f: { ruleId: string; ruleVersion: string; period: string }) => [
      f.ruleId,
      f.ruleVersion,
      f.period,
    ]);
    expect(firings.sort()).toEqual([
      ['earn-500', '2026.11-a', period],
      ['earn-pct', '2026.11-a', period],
      ['vip-10', '2026.11-a', period],
    ]);
    const amounts = view.body.grants.map((g: { ruleId: string; amount: { amount: string } }) => [
      g.ruleId,
      g.amount.amount,
    ]);
    // earn-pct: 1.5% of the 1,050.00 earned when it fired = 15.75.
    expect(amounts.sort()).toEqual([
      ['earn-500', '2500'],
      ['earn-pct', '1575'],
    ]);
    // The firing is in the payee's restricted transactions with the rule that caused it.
    const history = stack.expectStatus(
      await stack.call('GET', `/v1/payees/${payeeId}/wallet?account=restricted`),
      200,
      'history',
    );
    expect(history.body.transactions.entries.map((e: { reference: string }) => e.reference).sort()).toEqual([
      `rule:earn-500:${period}`,
      `rule:earn-pct:${period}`,
    ]);
    const posted = await stack.services.ledger.getTransaction(`credit-grant:${view.body.grants[0].id}`);
    expect(posted?.metadata).toMatchObject({ ruleVersion: '2026.11-a', period });

    // The discount is reported once, with the next purchase.
    const first = stack.expectStatus(await spend(payeeId, 'after-vip-1', '1000'), 201, 'spend');
    expect(first.body.nextPurchaseDiscount).toEqual({
      ruleId: 'vip-10',
      ruleVersion: '2026.11-a',
      percent: '10.00',
      period,
    });
    const webhook = await stack.services.outbox.get(`spendback.completed:${payeeId}:after-vip-1`);
    expect(webhook?.payload).toMatchObject({ spendback: { nextPurchaseDiscount: { ruleId: 'vip-10' } } });
    const second = stack.expectStatus(await spend(payeeId, 'after-vip-2', '5000'), 201, 'spend 2');
    expect(second.body.nextPurchaseDiscount).toBeNull();

    // Spendback bonus under concurrent retries of one order: one purchase, one bonus.
    const retries = await Promise.all([1, 2, 3].map(() => spend(payeeId, 'bonus-order', '20000')));
    expect(retries.map((r) => r.status).sort()).toEqual([200, 200, 201]);
    expect(
      await count(
        'trigger_firings',
        `payee_id = $1 AND rule_id = 'bonus-5' AND occasion = 'order:bonus-order'`,
        [payeeId],
      ),
    ).toBe(1);
    expect(await count('spendback_orders', 'payee_id = $1', [payeeId])).toBe(3);
    await assertInvariants();
  });

  it('period close grants to payees whose earnings never went through the credit route, once', async () => {
    const payeeId = await stack.createPayee();
    await stack.services.ledger.creditEarnings({
      payeeId,
      amount: usd('60000'),
      idempotencyKey: `period-close-test:${payeeId}`,
      type: 'earnings.commission',
    });
    const period = periodIdFor(new Date(), stack.services.periodsConfig.calendar);
    // A period-close credit (posted by the period workflow) counts as earnings too.
    const closed = await stack.createPayee();
    await stack.services.ledger.post({
      type: 'period.credit',
      idempotencyKey: `period-credit-test:${closed}`,
      entries: [
        { account: { kind: 'platform_funding' }, amount: usd('-52000') },
        { account: { kind: 'payee_available', owner: closed }, amount: usd('52000') },
      ],
    });
    const results = await Promise.all([
      stack.services.spendback.evaluatePeriodTriggers(period),
      stack.services.spendback.evaluatePeriodTriggers(period),
    ]);
    expect(results.reduce((s, r) => s + r.fired, 0)).toBe(2);
    expect(await count('trigger_firings', 'payee_id = $1', [payeeId])).toBe(1);
    expect(await count('trigger_firings', `payee_id = $1 AND rule_id = 'earn-500'`, [closed])).toBe(1);
    // Without a Temporal client the grant waits for its timer; the worker side starts pending timers.
    expect(await count('credit_grants', 'payee_id = $1 AND NOT timer_started', [payeeId])).toBe(1);
    const { CreditGrantTimers } = await import('../../src/spendback/timers.ts');
    expect(
      await stack.services.spendback.startPendingTimers(
        new CreditGrantTimers(stack.temporal.client, stack.taskQueue),
      ),
    ).toBeGreaterThanOrEqual(1);
    expect(await count('credit_grants', 'payee_id = $1 AND NOT timer_started', [payeeId])).toBe(0);
    expect(await stack.services.spendback.evaluatePeriodTriggers(period)).toMatchObject({ fired: 0 });
    expect(await wallet(payeeId)).toMatchObject({ restricted: '2500' });

    // Through the worker (the period-close hook): the activity starts the new grant's timer itself.
    const late = await stack.createPayee();
    await stack.services.ledger.creditEarnings({
      payeeId: late,
      amount: usd('50000'),
      idempotencyKey: `period-close-late:${late}`,
    });
    const handle = await stack.temporal.client.workflow.start('spendbackPeriodTriggersWorkflow', {
      workflowId: `${periodTriggersWorkflowId(period)}-late`,
      taskQueue: stack.taskQueue,
      args: [{ period }],
    });
    expect(await skippingTime(() => handle.result())).toMatchObject({ fired: 1 });
    const [lateGrant] = await sql<{ id: string; timer_started: boolean }>(
      stack.db.em(),
      `SELECT id, timer_started FROM "${schema}".credit_grants WHERE payee_id = $1`,
      [late],
    );
    expect(lateGrant?.timer_started).toBe(true);
    const timer = await stack.temporal.client.workflow
      .getHandle(creditGrantWorkflowId(lateGrant!.id))
      .describe();
    expect(timer.type).toBe('creditGrantWorkflow');
    await assertInvariants();
  });

  it('expires a 90-day credit on its durable timer, returning the unspent remainder to the platform', async () => {
    const payeeId = await stack.createPayee();
    const g = await grant(payeeId, '9000'); // default validity: 90 days
    expect(new Date(g.expiresAt).getTime() - Date.now()).toBeGreaterThan(89 * 86_400_000);
    stack.expectStatus(await spend(payeeId, 'pre-expiry', '4000'), 201, 'partial spend');
    expect(await wallet(payeeId)).toMatchObject({ restricted: '5000' });
    const promotionsBefore = await stack.services.ledger.balance({
      kind: 'platform_funding',
      owner: 'promotions',
      currency: 'USD',
    });

    const expiry = await skippingTime(() =>
      stack.temporal.client.workflow.getHandle(creditGrantWorkflowId(g.id)).result(),
    );
    expect(expiry).toMatchObject({ grantId: g.id, outcome: 'expired', returned: '5000' });
    expect(await wallet(payeeId)).toMatchObject({ restricted: '0' });
    const promotionsAfter = await stack.services.ledger.balance({
      kind: 'platform_funding',
      owner: 'promotions',
      currency: 'USD',
    });
    expect(BigInt(promotionsAfter.amount) - BigInt(promotionsBefore.amount)).toBeGreaterThanOrEqual(5000n);

    const view = stack.expectStatus(
      await stack.call('GET', `/v1/payees/${payeeId}/credits/grants`),
      200,
      'grants',
    );
    expect(view.body.grants[0]).toMatchObject({
      id: g.id,
      status: 'expired',
      remaining: usd('0'),
      expiredAmount: usd('5000'),
    });
    // The grant's workflow delivered its three webhooks, signed, to the platform's endpoint.
    for (const type of ['credit.granted', 'credit.expiring_soon', 'credit.expired']) {
      expect({ type, delivered: deliveredType(`${type}:${g.id}`) }).toEqual({ type, delivered: type });
    }
    // Expired credit is no longer spendable; a refund of credit from the expired grant goes to the platform.
    expect((await spend(payeeId, 'post-expiry', '100')).status).toBe(422);
    const r = stack.expectStatus(
      await refund(payeeId, 'pre-expiry', 'rf-exp', '1000'),
      201,
      'refund expired',
    );
    expect(r.body).toMatchObject({ toRestricted: usd('0'), toPlatform: usd('1000') });
    // Purchase and refund webhooks are delivered by their own workflows once the request committed.
    for (const eventId of [
      `spendback.completed:${payeeId}:pre-expiry`,
      `spendback.refunded:${payeeId}:pre-expiry:rf-exp`,
    ]) {
      await skippingTime(() =>
        stack.temporal.client.workflow.getHandle(spendbackWebhookWorkflowId(eventId)).result(),
      );
      expect(deliveredType(eventId)).toBe(eventId.split(':')[0]);
      expect((await stack.services.outbox.get(eventId))?.deliveredAt).not.toBeNull();
    }
    expect(await wallet(payeeId)).toMatchObject({ restricted: '0', available: '0' });
    // A re-run of the expiry is a replay.
    expect(await stack.services.spendback.expireGrant(g.id)).toMatchObject({
      outcome: 'already_expired',
      returned: '5000',
    });
    await assertInvariants();
  });
});
