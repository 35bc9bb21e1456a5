// The read routes the console added, as any API client meets them: roles, object checks, bad input, OpenAPI;
// and the console's session endpoint refusing tampered cookies and CSRF-less sign-ins (no browser needed).
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { FINAL_STATES, PAYOUT_STATES } from '../../src/payouts/state.ts';
import { type Stack, startStack } from '../support/stack.ts';

describe('console read routes', () => {
  let stack: Stack;
  let payeeId: string;
  let otherId: string;
  let payoutId: string;
  let token: string;
  beforeAll(async () => {
    stack = await startStack('console_reads', {
      env: { APPROVAL_THRESHOLD_SINGLE: 'USD:1000', APPROVAL_THRESHOLD_DUAL: 'USD:100000' },
    });
    payeeId = await stack.createPayee({ credit: '10000' });
    otherId = await stack.createPayee({ credit: '10000' });
    payoutId = await stack.requestPayout(payeeId, '5000');
    await stack.waitForState(payoutId, ['pending_approval']);
    token = (await stack.call('POST', `/v1/payees/${payeeId}/tokens`, { body: {} })).body.token;
  });
  afterAll(async () => {
    await stack?.close();
  });

  it('whoami names the role, actor and payee of each credential', async () => {
    const of = async (key: string) => (await stack.call('GET', '/v1/whoami', { key })).body;
    expect(await of(stack.keys.operator.key)).toEqual({ role: 'operator', actor: 'olga', payeeId: null });
    expect(await of(token)).toEqual(expect.objectContaining({ role: 'payee', payeeId }));
    expect((await stack.call('GET', '/v1/whoami', { key: null })).status).toBe(401);
  });

  it('pending approvals say why, and are for staff only', async () => {
    const res = await stack.call('GET', '/v1/approvals/pending', { key: stack.keys.approver.key });
    expect(res.status).toBe(200);
    const item = res.body.items.find((i: { payoutId: string }) => i.payoutId === payoutId);
    expect(item).toEqual(
      expect.objectContaining({
        why: ['50.00 USD ≥ approval threshold 10.00'],
        approvalsRequired: 1,
        approvedBy: [],
        callerMayDecide: true,
        requestedBy: 'acme-backend',
      }),
    );
    expect(item.timer.purpose).toBe('approval_timeout');
    const platform = await stack.call('GET', '/v1/approvals/pending');
    expect(
      platform.body.items.find((i: { payoutId: string }) => i.payoutId === payoutId).callerMayDecide,
    ).toBe(false);
    expect((await stack.call('GET', '/v1/approvals/pending', { key: token })).status).toBe(403);
  });

  it.each([
    ['audit', 'payout.'],
    ['webhooks', 'payout.'],
  ])('a payout %s list is for staff, and 404 for an unknown payout', async (what) => {
    const ok = await stack.call('GET', `/v1/payouts/${payoutId}/${what}`, { key: stack.keys.operator.key });
    expect(ok.status).toBe(200);
    expect((await stack.call('GET', `/v1/payouts/${payoutId}/${what}`, { key: token })).status).toBe(403);
    const missing = await stack.call('GET', `/v1/payouts/po_${'0'.repeat(24)}/${what}`, {
      key: stack.keys.operator.key,
    });
    expect([missing.status, missing.contentType]).toEqual([404, 'application/problem+json; charset=utf-8']);
  });

  it('a quote shows the instant fee and the next window, for the payee itself only', async () => {
    const res = await stack.call(
      'GET',
      `/v1/payees/${payeeId}/payout-quote?amount=2500&currency=USD&scale=2`,
      {
        key: token,
      },
    );
    expect(res.status).toBe(200);
    expect(res.body.instant).toEqual({
      available: true,
      fee: { amount: '50', currency: 'USD', scale: 2 },
      net: { amount: '2450', currency: 'USD', scale: 2 },
    });
    expect(Date.parse(res.body.scheduled.windowAt)).toBeGreaterThan(0);
    const other = await stack.call(
      'GET',
      `/v1/payees/${otherId}/payout-quote?amount=2500&currency=USD&scale=2`,
      {
        key: token,
      },
    );
    expect([other.status, other.body.detail]).toEqual([404, `Payee ${otherId} not found`]);
    for (const q of [
      'amount=12.50&currency=USD&scale=2',
      'amount=0&currency=USD&scale=2',
      'amount=1&currency=USD',
    ]) {
      const bad = await stack.call('GET', `/v1/payees/${payeeId}/payout-quote?${q}`, { key: token });
      expect([q, bad.status]).toEqual([q, 400]);
    }
  });

  it("spendback orders list the payee's own orders only", async () => {
    const spent = await stack.call('POST', `/v1/payees/${otherId}/spendback`, {
      body: { orderReference: 'console-order-1', amount: { amount: '1200', currency: 'USD', scale: 2 } },
    });
    expect(spent.status).toBe(201);
    const list = await stack.call('GET', `/v1/payees/${otherId}/spendback-orders`, {
      key: stack.keys.operator.key,
    });
    expect(list.body.items).toEqual([
      expect.objectContaining({
        orderReference: 'console-order-1',
        amount: { amount: '1200', currency: 'USD', scale: 2 },
        fromAvailable: { amount: '1200', currency: 'USD', scale: 2 },
        refundedAvailable: { amount: '0', currency: 'USD', scale: 2 },
      }),
    ]);
    const mine = await stack.call('GET', `/v1/payees/${payeeId}/spendback-orders`, { key: token });
    expect([mine.status, mine.body.items]).toEqual([200, []]);
    const theirs = await stack.call('GET', `/v1/payees/${otherId}/spendback-orders`, { key: token });
    expect(theirs.status).toBe(404);
  });

  it("a period's workflow history is for staff, 404 before it is closed, 400 for a bad id", async () => {
    const never = await stack.call('GET', '/v1/periods/2019-01/history', { key: stack.keys.operator.key });
    expect([never.status, never.body.detail]).toEqual([404, 'Period 2019-01 has not been closed']);
    expect((await stack.call('GET', '/v1/periods/2019-01/history', { key: token })).status).toBe(403);
    const bad = await stack.call('GET', '/v1/periods/not%20a%20period/history', {
      key: stack.keys.operator.key,
    });
    expect([bad.status, bad.contentType]).toEqual([400, 'application/problem+json; charset=utf-8']);
    const cursor = await stack.call('GET', '/v1/periods/2019-01/history?cursor=abc', {
      key: stack.keys.operator.key,
    });
    expect(cursor.status).toBe(400);
  });

  it('ledger verification is for operators', async () => {
    const res = await stack.call('GET', '/v1/ledger/verify', { key: stack.keys.operator.key });
    expect([res.status, res.body.ok, res.body.violations]).toEqual([200, true, []]);
    expect(res.body.counts.transactions).toBeGreaterThan(0);
    for (const key of [stack.keys.approver.key, stack.keys.platform.key, token]) {
      expect((await stack.call('GET', '/v1/ledger/verify', { key })).status).toBe(403);
    }
  });

  it('the OpenAPI document describes the new routes', async () => {
    const doc = (await stack.call('GET', '/openapi.json')).body;
    for (const p of [
      '/v1/whoami',
      '/v1/approvals/pending',
      '/v1/payouts/{id}/audit',
      '/v1/payouts/{id}/webhooks',
      '/v1/payees/{id}/payout-quote',
      '/v1/payees/{id}/spendback-orders',
      '/v1/ledger/verify',
      '/v1/payouts/{id}/history',
      '/v1/periods/{id}/history',
    ]) {
      expect([p, typeof doc.paths[p]?.get?.summary]).toEqual([p, 'string']);
    }
  });

  it('the console lists the decimal places of every currency and configured asset', async () => {
    const res = await fetch(`${stack.url}/console/currencies`);
    expect(res.headers.get('content-security-policy')).toContain("default-src 'self'");
    const scales = (await res.json()) as Record<string, number>;
    expect([scales.USD, scales.JPY, scales.KWD, scales.USDC, scales.XYZ]).toEqual([2, 0, 3, 6, undefined]);
  });

  it('the console lists the payout states and the final ones, as the domain defines them', async () => {
    const res = await fetch(`${stack.url}/console/payout-states`);
    expect(await res.json()).toEqual({ states: [...PAYOUT_STATES], final: [...FINAL_STATES] });
  });

  it('the console refuses a tampered session cookie and a sign-in without its CSRF token', async () => {
    const forged = await fetch(`${stack.url}/console/api/v1/whoami`, {
      headers: { cookie: 'disburse_session=v1.k1.AAAA.BBBB.CCCC' },
    });
    expect(forged.status).toBe(401);
    const first = await fetch(`${stack.url}/console/session`);
    const csrf = ((await first.json()) as { csrf: string }).csrf;
    const cookie = first.headers.get('set-cookie')!.split(';')[0]!;
    expect(first.headers.get('set-cookie')).toMatch(/HttpOnly; SameSite=Strict/);
    const signIn = (headers: Record<string, string>) =>
      fetch(`${stack.url}/console/session`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: JSON.stringify({ credential: stack.keys.operator.key }),
      });
    expect((await signIn({ cookie })).status).toBe(403);
    expect((await signIn({ 'x-csrf-token': csrf })).status).toBe(403);
    const ok = await signIn({ cookie, 'x-csrf-token': csrf });
    expect(ok.status).toBe(200);
    const body = (await ok.clone().json()) as Record<string, unknown>;
    expect(body).toEqual(expect.objectContaining({ signedIn: true, role: 'operator', actor: 'olga' }));
    expect(JSON.stringify(body)).not.toContain(stack.keys.operator.key);
    // An unknown key is refused by the API itself.
    const csrf2 = (
      (await (await fetch(`${stack.url}/console/session`, { headers: { cookie } })).json()) as {
        csrf: string;
      }
    ).csrf;
    const wrong = await fetch(`${stack.url}/console/session`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', cookie, 'x-csrf-token': csrf2 },
      body: JSON.stringify({ credential: 'dsb_nope_nope' }),
    });
    expect(wrong.status).toBe(401);
  });
});
