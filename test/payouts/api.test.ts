// Payout HTTP API: roles and object-level access on every route, Idempotency-Key semantics, bad input →
// 4xx problem+json with nothing written, CSV export, bulk payouts.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Client, Connection } from '@temporalio/client';
import { sql } from '../../src/db/sql.ts';
import { requestHash } from '../../src/http/idempotency.ts';
import { PayoutGateway, payoutIdFor } from '../../src/payouts/gateway.ts';
import { newPayoutFrom, payoutInputFrom } from '../../src/payouts/service.ts';
import { PayoutStore } from '../../src/payouts/store.ts';
import { type Stack, startStack } from '../support/stack.ts';

describe('payout API', () => {
  let stack: Stack;
  let own: string; // payee with a token
  let other: string;
  let ownToken: string;
  let otherPayout: string;
  let ownPayout: string;

  beforeAll(async () => {
    stack = await startStack('payout_api', {
      // The manual provider takes no USD payouts here: it is present for its operator routes.
      providers: [
        { name: 'sandbox' },
        { name: 'manual', kind: 'manual', capabilities: { currencies: ['EUR'] } },
      ],
      env: { APPROVAL_THRESHOLD_SINGLE: 'USD:10000000', APPROVAL_THRESHOLD_DUAL: 'USD:20000000' },
    });
    own = await stack.createPayee({ credit: '100000' });
    other = await stack.createPayee({ credit: '100000' });
    const token = await stack.call('POST', `/v1/payees/${own}/tokens`, { body: {} });
    ownToken = stack.expectStatus(token, 201, 'token').body.token;
    ownPayout = await stack.requestPayout(own, '1000', { key: ownToken });
    otherPayout = await stack.requestPayout(other, '1000');
    await stack.result(ownPayout);
    await stack.result(otherPayout);
  });
  afterAll(async () => {
    await stack?.assertInvariants();
    await stack?.close();
  });

  async function counts() {
    const n = async (table: string) =>
      Number(
        (
          await sql<{ n: string }>(
            stack.db.em(),
            `SELECT count(*)::text AS n FROM "${stack.db.schema}".${table}`,
          )
        )[0]!.n,
      );
    return { payouts: await n('payouts'), ledger: await n('ledger_transactions') };
  }

  const body = (payeeId: string, amount = '500') => ({
    payeeId,
    amount: { amount, currency: 'USD', scale: 2 },
    method: 'bank_transfer',
  });

  describe('roles and object access', () => {
    type Who = 'platform' | 'approver' | 'operator' | 'payee' | 'none';
    const keyOf = (who: Who): string | null =>
      who === 'none' ? null : who === 'payee' ? ownToken : stack.keys[who].key;
    // One row per authenticated route the app registers (the last test below checks the table is complete).
    // Where a valid request would change state the test does not want changed, the body is one the route
    // refuses after authorisation (400/422): an allowed caller still gets past the role check, the others
    // get 401/403 before the body is read.
    const cases: {
      route: string;
      path: () => string;
      body?: () => unknown;
      allowed: Who[];
      /** The object does not exist here: an allowed caller may get a 404 from the handler. */
      missingObject?: true;
      /** The same route on another payee's object: a payee token gets 404. */
      otherPath?: () => string;
    }[] = [
      {
        route: 'GET /v1/payouts',
        path: () => '/v1/payouts',
        allowed: ['platform', 'approver', 'operator', 'payee'],
      },
      {
        route: 'GET /v1/payouts/:id',
        path: () => `/v1/payouts/${ownPayout}`,
        allowed: ['platform', 'approver', 'operator', 'payee'],
        otherPath: () => `/v1/payouts/${otherPayout}`,
      },
      {
        route: 'GET /v1/payouts/:id/history',
        path: () => `/v1/payouts/${ownPayout}/history`,
        allowed: ['platform', 'approver', 'operator'],
      },
      {
        route: 'GET /v1/payouts/:id/audit',
        path: () => `/v1/payouts/${ownPayout}/audit`,
        allowed: ['platform', 'approver', 'operator'],
      },
      {
        route: 'GET /v1/payouts/:id/webhooks',
        path: () => `/v1/payouts/${ownPayout}/webhooks`,
        allowed: ['platform', 'approver', 'operator'],
      },
      {
        route: 'GET /v1/approvals/pending',
        path: () => '/v1/approvals/pending',
        allowed: ['platform', 'approver', 'operator'],
      },
      { route: 'GET /v1/ledger/verify', path: () => '/v1/ledger/verify', allowed: ['operator'] },
      {
        route: 'GET /v1/whoami',
        path: () => '/v1/whoami',
        allowed: ['platform', 'approver', 'operator', 'payee'],
      },
      {
        route: 'GET /v1/payees/:id/payout-quote',
        path: () => `/v1/payees/${own}/payout-quote?amount=100&currency=USD`,
        allowed: ['platform', 'approver', 'operator', 'payee'],
        otherPath: () => `/v1/payees/${other}/payout-quote?amount=100&currency=USD`,
      },
      {
        route: 'GET /v1/payees/:id/spendback-orders',
        path: () => `/v1/payees/${own}/spendback-orders`,
        allowed: ['platform', 'approver', 'operator', 'payee'],
        otherPath: () => `/v1/payees/${other}/spendback-orders`,
      },
      { route: 'GET /v1/webhook-endpoints', path: () => '/v1/webhook-endpoints', allowed: ['operator'] },
      {
        route: 'POST /v1/webhook-endpoints',
        path: () => '/v1/webhook-endpoints',
        body: () => ({ url: 'not a url' }),
        allowed: ['operator'],
      },
      {
        route: 'GET /v1/webhook-endpoints/:id',
        path: () => '/v1/webhook-endpoints/we_000000000000000000000000',
        allowed: ['operator'],
        missingObject: true,
      },
      {
        route: 'POST /v1/webhook-endpoints/:id/disable',
        path: () => '/v1/webhook-endpoints/we_000000000000000000000000/disable',
        allowed: ['operator'],
        missingObject: true,
      },
      {
        route: 'POST /v1/webhook-endpoints/:id/rotate-secret',
        path: () => '/v1/webhook-endpoints/we_000000000000000000000000/rotate-secret',
        allowed: ['operator'],
        missingObject: true,
      },
      { route: 'GET /v1/webhook-events', path: () => '/v1/webhook-events', allowed: ['operator'] },
      {
        route: 'GET /v1/webhook-events/:eventId/deliveries',
        path: () => '/v1/webhook-events/payout.paid:po_none/deliveries',
        allowed: ['operator'],
        missingObject: true,
      },
      {
        route: 'POST /v1/webhook-events/:eventId/replay',
        path: () => '/v1/webhook-events/payout.paid:po_none/replay',
        allowed: ['operator'],
        missingObject: true,
      },
      {
        route: 'GET /v1/payouts/export.csv',
        path: () => '/v1/payouts/export.csv',
        allowed: ['platform', 'operator'],
      },
      {
        route: 'POST /v1/payouts',
        path: () => '/v1/payouts',
        body: () => body(own),
        allowed: ['platform', 'payee'],
      },
      {
        route: 'POST /v1/payouts/bulk',
        path: () => '/v1/payouts/bulk',
        body: () => ({ currency: 'USD', method: 'bank_transfer', minBalance: '999999999' }),
        allowed: ['platform', 'operator'],
      },
      {
        route: 'POST /v1/payouts/bulk/:id/cancel',
        path: () => '/v1/payouts/bulk/bulk_000000000000000000000000/cancel',
        body: () => ({ reason: 'role check' }),
        allowed: ['platform', 'operator'],
        missingObject: true,
      },
      {
        route: 'GET /v1/payouts/bulk/:id',
        path: () => '/v1/payouts/bulk/bulk_000000000000000000000000',
        allowed: ['platform', 'operator'],
        missingObject: true,
      },
      {
        route: 'POST /v1/payouts/:id/cancel',
        path: () => `/v1/payouts/${ownPayout}/cancel`,
        body: () => ({ reason: 'no longer needed' }),
        allowed: ['platform', 'operator', 'payee'],
        otherPath: () => `/v1/payouts/${otherPayout}/cancel`,
      },
      {
        route: 'POST /v1/payouts/:id/compliance-clear',
        path: () => `/v1/payouts/${ownPayout}/compliance-clear`,
        body: () => ({ reason: 'manually verified' }),
        allowed: ['operator'],
      },
      {
        route: 'POST /v1/payouts/:id/resolve',
        path: () => `/v1/payouts/${ownPayout}/resolve`,
        body: () => ({ outcome: 'paid', reason: 'bank statement checked' }),
        allowed: ['operator'],
      },
      {
        route: 'POST /v1/payouts/:id/approve',
        path: () => `/v1/payouts/${ownPayout}/approve`,
        body: () => ({ reason: 'fine', totp: '123456' }),
        allowed: ['approver'],
      },
      {
        route: 'POST /v1/payouts/:id/reject',
        path: () => `/v1/payouts/${ownPayout}/reject`,
        body: () => ({ reason: 'not fine', totp: '123456' }),
        allowed: ['approver'],
      },
      {
        route: 'GET /v1/providers/:name/export.csv',
        path: () => '/v1/providers/manual/export.csv',
        allowed: ['operator'],
      },
      {
        route: 'POST /v1/providers/:name/import',
        path: () => '/v1/providers/manual/import',
        // A header without rows: refused (422), nothing imported.
        body: () => ({ csv: 'payout_id,idempotency_key,outcome,reason\r\n' }),
        allowed: ['operator'],
      },
      {
        route: 'POST /v1/approvers/:actor/totp/unlock',
        path: () => '/v1/approvers/alice/totp/unlock',
        allowed: ['operator'],
        missingObject: true,
      },
      { route: 'POST /v1/payees', path: () => '/v1/payees', body: () => ({}), allowed: ['platform'] },
      {
        route: 'GET /v1/payees/:id',
        path: () => `/v1/payees/${own}`,
        allowed: ['platform', 'approver', 'operator', 'payee'],
        otherPath: () => `/v1/payees/${other}`,
      },
      {
        route: 'PATCH /v1/payees/:id',
        path: () => `/v1/payees/${own}`,
        body: () => ({ payoutPreferences: { instantOptIn: true } }),
        allowed: ['platform', 'payee'],
        otherPath: () => `/v1/payees/${other}`,
      },
      {
        route: 'PUT /v1/payees/:id/destinations/:kind',
        path: () => `/v1/payees/${own}/destinations/bank_account`,
        body: () => ({}),
        allowed: ['platform', 'payee'],
        otherPath: () => `/v1/payees/${other}/destinations/bank_account`,
      },
      {
        route: 'GET /v1/payees/:id/wallet',
        path: () => `/v1/payees/${own}/wallet`,
        allowed: ['platform', 'approver', 'operator', 'payee'],
        otherPath: () => `/v1/payees/${other}/wallet`,
      },
      {
        route: 'POST /v1/payees/:id/credits',
        path: () => `/v1/payees/${own}/credits`,
        body: () => ({}),
        allowed: ['platform'],
      },
      {
        route: 'POST /v1/payees/:id/tokens',
        path: () => `/v1/payees/${own}/tokens`,
        body: () => ({ unknown: true }),
        allowed: ['platform'],
      },
      {
        route: 'POST /v1/payees/:id/tokens/:tokenId/revoke',
        path: () => `/v1/payees/${own}/tokens/some-token/revoke`,
        body: () => ({ unknown: true }),
        allowed: ['platform', 'operator'],
      },
      {
        route: 'POST /v1/payees/:id/tokens/revoke',
        path: () => `/v1/payees/${own}/tokens/revoke`,
        body: () => ({ unknown: true }),
        allowed: ['platform', 'operator'],
      },
      { route: 'POST /v1/earnings', path: () => '/v1/earnings', body: () => ({}), allowed: ['platform'] },
      {
        route: 'GET /v1/payees/:id/earnings',
        path: () => `/v1/payees/${own}/earnings`,
        allowed: ['platform', 'approver', 'operator', 'payee'],
        otherPath: () => `/v1/payees/${other}/earnings`,
      },
      {
        route: 'POST /v1/periods/:id/close',
        path: () => '/v1/periods/2026-11/close',
        body: () => ({ planVersion: 'no-such-plan' }),
        allowed: ['platform', 'operator'],
      },
      {
        route: 'GET /v1/periods/schedule',
        path: () => '/v1/periods/schedule',
        allowed: ['platform', 'operator'],
        missingObject: true,
      },
      {
        route: 'POST /v1/periods/schedule/pause',
        path: () => '/v1/periods/schedule/pause',
        body: () => ({}),
        allowed: ['operator'],
      },
      {
        route: 'POST /v1/periods/schedule/unpause',
        path: () => '/v1/periods/schedule/unpause',
        body: () => ({}),
        allowed: ['operator'],
      },
      {
        route: 'GET /v1/periods/:id',
        path: () => '/v1/periods/2026-11',
        allowed: ['platform', 'approver', 'operator'],
        missingObject: true,
      },
      {
        route: 'GET /v1/periods/:id/statements',
        path: () => '/v1/periods/2026-11/statements',
        allowed: ['platform', 'approver', 'operator'],
        missingObject: true,
      },
      {
        route: 'GET /v1/periods/:id/history',
        path: () => '/v1/periods/2026-11/history',
        allowed: ['platform', 'approver', 'operator'],
        missingObject: true,
      },
      {
        route: 'POST /v1/periods/:id/recalculate',
        path: () => '/v1/periods/2026-11/recalculate',
        body: () => ({ planVersion: 'no-such-plan' }),
        allowed: ['approver', 'operator'],
      },
      {
        route: 'POST /v1/periods/:id/approve',
        path: () => '/v1/periods/2026-11/approve',
        body: () => ({ totp: '123456' }),
        allowed: ['approver'],
      },
      {
        route: 'POST /v1/periods/:id/reject',
        path: () => '/v1/periods/2026-11/reject',
        body: () => ({ totp: '123456', reason: 'wrong plan' }),
        allowed: ['approver'],
      },
      {
        route: 'POST /v1/payees/:id/spendback',
        path: () => `/v1/payees/${own}/spendback`,
        body: () => ({}),
        allowed: ['platform', 'payee'],
        otherPath: () => `/v1/payees/${other}/spendback`,
      },
      {
        route: 'GET /v1/payees/:id/spendback/:orderReference',
        path: () => `/v1/payees/${own}/spendback/order-none`,
        allowed: ['platform', 'approver', 'operator', 'payee'],
        missingObject: true,
        otherPath: () => `/v1/payees/${other}/spendback/order-none`,
      },
      {
        route: 'POST /v1/payees/:id/spendback/:orderReference/refunds',
        path: () => `/v1/payees/${own}/spendback/order-none/refunds`,
        body: () => ({}),
        allowed: ['platform'],
      },
      {
        route: 'POST /v1/payees/:id/credits/grants',
        path: () => `/v1/payees/${own}/credits/grants`,
        body: () => ({}),
        allowed: ['platform'],
      },
      {
        route: 'GET /v1/payees/:id/credits/grants',
        path: () => `/v1/payees/${own}/credits/grants`,
        allowed: ['platform', 'approver', 'operator', 'payee'],
        otherPath: () => `/v1/payees/${other}/credits/grants`,
      },
    ];
    const everyone: Who[] = ['platform', 'approver', 'operator', 'payee', 'none'];
    for (const c of cases) {
      const method = c.route.split(' ')[0]!;
      for (const who of everyone) {
        const allowed = c.allowed.includes(who);
        it(`${c.route} as ${who}: ${allowed ? 'passes the role check' : who === 'none' ? '401' : '403'}`, async () => {
          const res = await stack.call(method, c.path(), {
            key: keyOf(who),
            ...(c.body ? { body: c.body() } : {}),
          });
          // Let payouts started here finish, so later row counts are stable.
          if (c.route === 'POST /v1/payouts' && res.status === 202) await stack.result(res.body.id);
          if (allowed) {
            // Allowed callers get past authorisation; state rules (409), validation (400/422), a missing
            // object (404 where the table says so) or TOTP (403 totp_invalid) may still apply.
            expect(res.status).not.toBe(401);
            if (res.status === 404) {
              expect(c.missingObject).toBe(true);
              expect(res.body.detail).not.toMatch(/^Payee .* not found$/);
            }
            if (res.status === 403) expect(res.body.kind).toBe('totp_invalid');
            expect(res.status).toBeLessThan(500);
          } else {
            expect(res.status).toBe(who === 'none' ? 401 : 403);
            expect(res.contentType).toContain('application/problem+json');
            if (who !== 'none') expect(res.body.kind).toBe('forbidden');
          }
        });
      }
      const otherPath = c.otherPath;
      if (otherPath && c.allowed.includes('payee')) {
        it(`${c.route} on another payee's object as payee: 404`, async () => {
          const res = await stack.call(method, otherPath(), {
            key: ownToken,
            ...(c.body ? { body: c.body() } : {}),
          });
          expect(res.status).toBe(404);
          expect(res.contentType).toContain('application/problem+json');
        });
      }
    }

    it('the table covers every route the app registers, with the roles the app declares', async () => {
      // The OpenAPI document is generated from the app's route registry (the same definitions it serves).
      const doc = stack.expectStatus(
        await stack.call('GET', '/openapi.json', { key: null }),
        200,
        'openapi',
      ).body;
      const registered = new Map<string, string[]>();
      for (const [path, ops] of Object.entries(
        doc.paths as Record<string, Record<string, { 'x-roles': string[] }>>,
      ))
        for (const [m, op] of Object.entries(ops))
          registered.set(`${m.toUpperCase()} ${path.replace(/\{(\w+)\}/g, ':$1')}`, op['x-roles']);
      const authenticated = [...registered].filter(([, roles]) => roles.length > 0).map(([r]) => r);
      expect(authenticated.sort()).toEqual(cases.map((c) => c.route).sort());
      // Public routes are exactly these (a new route that forgot its roles would be public). Provider webhooks
      // carry no API key: the provider's signature authenticates them (test/payouts/provider-webhooks.test.ts).
      expect(
        [...registered]
          .filter(([, roles]) => roles.length === 0)
          .map(([r]) => r)
          .sort(),
      ).toEqual(['GET /healthz', 'GET /openapi.json', 'GET /readyz', 'POST /v1/providers/:name/webhooks']);
      for (const c of cases)
        expect([c.route, [...registered.get(c.route)!].sort()]).toEqual([c.route, [...c.allowed].sort()]);
    });

    it("hides another payee's payouts from a payee token (404, and filtered lists)", async () => {
      const res = await stack.call('GET', `/v1/payouts/${otherPayout}`, { key: ownToken });
      expect(res.status).toBe(404);
      const cancel = await stack.call('POST', `/v1/payouts/${otherPayout}/cancel`, {
        key: ownToken,
        body: { reason: 'not mine' },
      });
      expect(cancel.status).toBe(404);
      const create = await stack.call('POST', '/v1/payouts', { key: ownToken, body: body(other) });
      expect(create.status).toBe(404);
      const list = await stack.call('GET', '/v1/payouts', { key: ownToken });
      expect(list.body.items.length).toBeGreaterThan(0);
      expect(list.body.items.every((p: { payeeId: string }) => p.payeeId === own)).toBe(true);
      expect((await stack.call('GET', `/v1/payouts?payee=${other}`, { key: ownToken })).status).toBe(404);
    });
  });

  describe('idempotency', () => {
    it('replays the same response for the same key and body, starting one payout', async () => {
      const before = await counts();
      const first = await stack.call('POST', '/v1/payouts', {
        idempotencyKey: 'same-key-0001',
        body: body(own, '700'),
      });
      const again = await stack.call('POST', '/v1/payouts', {
        idempotencyKey: 'same-key-0001',
        body: body(own, '700'),
      });
      expect(first.status).toBe(202);
      expect(again.status).toBe(202);
      expect(again.body.id).toBe(first.body.id);
      expect((await counts()).payouts).toBe(before.payouts + 1);
      await stack.result(first.body.id);
    });

    it('replays an accepted payout of the whole balance, though the funds are held by then', async () => {
      const payee = await stack.createPayee({ credit: '900' });
      const first = await stack.call('POST', '/v1/payouts', {
        idempotencyKey: 'whole-balance-01',
        body: body(payee, '900'),
      });
      expect(first.status).toBe(202);
      await stack.waitForState(first.body.id, ['paid']);
      const again = await stack.call('POST', '/v1/payouts', {
        idempotencyKey: 'whole-balance-01',
        body: body(payee, '900'),
      });
      expect([again.status, again.body]).toEqual([202, first.body]);
      const fresh = await stack.call('POST', '/v1/payouts', {
        idempotencyKey: 'whole-balance-02',
        body: body(payee, '900'),
      });
      expect(fresh.body.kind).toBe('insufficient_funds');
    });

    it('once the stored answer is purged, the key still means the same payout', async () => {
      const payee = await stack.createPayee({ credit: '1000' });
      const first = await stack.call('POST', '/v1/payouts', {
        idempotencyKey: 'purged-key-01',
        body: body(payee, '600'),
      });
      expect((await stack.result(first.body.id)).state).toBe('paid');
      // What the retention purge does to this key's stored answer.
      const purge = () =>
        sql(stack.db.em(), `DELETE FROM "${stack.db.schema}".idempotency_keys WHERE key = 'purged-key-01'`);
      await purge();
      const before = await counts();
      const again = await stack.call('POST', '/v1/payouts', {
        idempotencyKey: 'purged-key-01',
        body: body(payee, '600'),
      });
      expect([again.status, again.body.id, again.body.state]).toEqual([202, first.body.id, 'paid']);
      await purge();
      const other = await stack.call('POST', '/v1/payouts', {
        idempotencyKey: 'purged-key-01',
        body: body(payee, '300'),
      });
      expect([other.status, other.body.kind]).toEqual([422, 'idempotency_key_reused']);
      expect(other.body.detail).toContain(first.body.id);
      expect(await counts()).toEqual(before);
    });

    it('answers 503 when Temporal is unreachable; the retry finishes the same payout', async () => {
      // A gateway whose Temporal does not answer (nothing listens on port 1), with a short start deadline.
      const connection = Connection.lazy({ address: '127.0.0.1:1' });
      const dead = new PayoutGateway(new Client({ connection }), stack.taskQueue, { startTimeoutMs: 300 });
      const cut = await stack.apiWith(dead);
      try {
        const payee = await stack.createPayee({ credit: '1000' });
        const request = { idempotencyKey: 'temporal-down-01', body: body(payee, '700') };
        const res = await fetch(`${cut.url}/v1/payouts`, {
          method: 'POST',
          headers: {
            authorization: `Bearer ${stack.keys.platform.key}`,
            'content-type': 'application/json',
            'idempotency-key': request.idempotencyKey,
          },
          body: JSON.stringify(request.body),
        });
        expect(res.status).toBe(503);
        expect(res.headers.get('content-type')).toContain('application/problem+json');
        expect(res.headers.get('retry-after')).toBe('5');
        expect(((await res.json()) as { detail: string }).detail).toContain('same Idempotency-Key');
        // Temporal is back (the normal API): the same request at once finishes that payout, once.
        const before = await counts();
        const retried = await stack.call('POST', '/v1/payouts', request);
        expect(retried.status).toBe(202);
        expect(retried.body.id).toBe(payoutIdFor('acme-backend', request.idempotencyKey));
        expect((await stack.result(retried.body.id)).state).toBe('paid');
        expect((await counts()).payouts).toBe(before.payouts);
      } finally {
        await cut.close();
        await connection.close();
      }
    });

    it('refuses the same key with a different body (422)', async () => {
      const first = await stack.call('POST', '/v1/payouts', {
        idempotencyKey: 'same-key-0002',
        body: body(own, '300'),
      });
      await stack.result(first.body.id);
      const changed = await stack.call('POST', '/v1/payouts', {
        idempotencyKey: 'same-key-0002',
        body: body(own, '301'),
      });
      expect(changed.status).toBe(422);
      expect(changed.contentType).toContain('application/problem+json');
    });

    it('finishes a request that died after writing its payout, before starting its workflow', async () => {
      // What an API process killed mid-request leaves: the key claimed with its lease run out, the payout row
      // written, no workflow. The client's retry must start that payout, not refuse it or create another.
      const key = 'died-midway-0001';
      const payee = await stack.createPayee({ credit: '1000' });
      const request = body(payee, '400');
      const payoutId = payoutIdFor('acme-backend', key);
      await sql(
        stack.db.em(),
        `INSERT INTO "${stack.db.schema}".idempotency_keys (actor, key, request_hash, method, path, lease_until)
         VALUES ('acme-backend', $1, $2, 'POST', '/v1/payouts', now() - interval '1 second')`,
        [key, requestHash('post', '/v1/payouts', request)],
      );
      await new PayoutStore(stack.db.schema).insert(
        stack.db.em(),
        newPayoutFrom({
          payoutId,
          payeeId: payee,
          amount: request.amount,
          method: 'bank_transfer',
          instantRequested: true,
          requestedBy: { actor: 'acme-backend', role: 'platform' },
        }),
      );
      const before = await counts();
      const retried = await stack.call('POST', '/v1/payouts', { idempotencyKey: key, body: request });
      expect(retried.status).toBe(202);
      expect(retried.body.id).toBe(payoutId);
      expect((await stack.result(payoutId)).state).toBe('paid');
      expect((await counts()).payouts).toBe(before.payouts);
      const replay = await stack.call('POST', '/v1/payouts', { idempotencyKey: key, body: request });
      expect(replay.body).toEqual(retried.body);
      // Starting a payout again after its workflow closed does not run it a second time.
      const runId = (await stack.handle(payoutId).describe()).runId;
      await stack.gateway.start(
        payoutInputFrom((await new PayoutStore(stack.db.schema).get(stack.db.em(), payoutId))!),
      );
      expect((await stack.handle(payoutId).describe()).runId).toBe(runId);
    });
  });

  describe('bad input writes nothing', () => {
    const bad: [string, () => unknown, number][] = [
      ['negative amount', () => ({ ...body(own), amount: { amount: '-5', currency: 'USD', scale: 2 } }), 400],
      ['zero amount', () => ({ ...body(own), amount: { amount: '0', currency: 'USD', scale: 2 } }), 400],
      [
        'decimal amount',
        () => ({ ...body(own), amount: { amount: '5.00', currency: 'USD', scale: 2 } }),
        400,
      ],
      ['float amount', () => ({ ...body(own), amount: { amount: 5.5, currency: 'USD', scale: 2 } }), 400],
      [
        'unknown currency',
        () => ({ ...body(own), amount: { amount: '500', currency: 'XYZ', scale: 2 } }),
        400,
      ],
      [
        'sub-cent amount',
        () => ({ ...body(own), amount: { amount: '5001', currency: 'USD', scale: 3 } }),
        400,
      ],
      ['unknown field', () => ({ ...body(own), priority: 'high' }), 400],
      ['unknown method', () => ({ ...body(own), method: 'cheque' }), 400],
      ['missing payee', () => ({ amount: { amount: '500', currency: 'USD', scale: 2 } }), 400],
      ['payee that does not exist', () => body('pe_000000000000000000000000'), 404],
      ['more than the balance', () => body(own, '99999999'), 422],
      ['method without destination', () => ({ ...body(own), method: 'crypto' }), 422],
    ];
    for (const [name, make, status] of bad) {
      it(`${name} → ${status}`, async () => {
        const before = await counts();
        const res = await stack.call('POST', '/v1/payouts', { body: make() });
        expect(res.status).toBe(status);
        expect(res.contentType).toContain('application/problem+json');
        expect(typeof res.body.detail).toBe('string');
        expect(await counts()).toEqual(before);
      });
    }

    it('rejects a malformed payout id and a bad query', async () => {
      expect((await stack.call('GET', '/v1/payouts/not-a-payout')).status).toBe(400);
      expect((await stack.call('GET', '/v1/payouts?state=lost')).status).toBe(400);
      expect((await stack.call('GET', '/v1/payouts?limit=5000')).status).toBe(400);
    });
  });

  it('exports payouts as CSV with decimal amounts', async () => {
    const res = stack.expectStatus(
      await stack.call('GET', `/v1/payouts/export.csv?payee=${own}`, { key: stack.keys.operator.key }),
      200,
      'export',
    );
    expect(res.contentType).toContain('text/csv');
    const lines = res.text.trim().split(/\r?\n/);
    // The payout's lifecycle column says `state`, the word the API and the filters use.
    expect(lines[0]).toBe(
      'payout_id,payee_id,amount,currency,fee,withholding,method,state,rail,provider,period_id,bulk_id,requested_by,created_at,updated_at',
    );
    expect(lines.some((l) => l.startsWith(`${ownPayout},${own},10.00,USD`))).toBe(true);
  });

  it('pays out full balances in bulk, honouring criteria and exclusions', async () => {
    const a = await stack.createPayee({ credit: '12345', payee: { country: 'CA' } });
    const b = await stack.createPayee({ credit: '20000', payee: { country: 'CA' } });
    const c = await stack.createPayee({ credit: '30000', payee: { country: 'CA' }, bankAccount: null });
    const d = await stack.createPayee({ credit: '40000', payee: { country: 'CA' } });
    const res = stack.expectStatus(
      await stack.call('POST', '/v1/payouts/bulk', {
        key: stack.keys.operator.key,
        body: {
          currency: 'USD',
          method: 'bank_transfer',
          country: 'CA',
          minBalance: '15000',
          excludePayeeIds: [d],
          instant: true,
        },
      }),
      202,
      'bulk',
    );
    expect(res.body.created.map((p: { payeeId: string }) => p.payeeId)).toEqual([b]);
    expect(res.body.created[0].amount).toEqual({ amount: '20000', currency: 'USD', scale: 2 });
    expect(res.body.skipped).toEqual(
      expect.arrayContaining([
        { payeeId: c, reason: 'no bank_account destination' },
        { payeeId: d, reason: 'excluded by the request' },
      ]),
    );
    expect(res.body.created.map((p: { payeeId: string }) => p.payeeId)).not.toContain(a);
    expect(res.body.status).toBe('running');
    expect(res.body.payouts.total).toBe(1);
    // The bulk's workflow starts the payout and completes once it is no longer in flight.
    const summary = await stack.bulkResult(res.body.bulkId);
    expect(summary).toEqual({ bulkId: res.body.bulkId, payouts: { paid: 1 }, total: 1, skipped: 2 });
    expect((await stack.result(res.body.created[0].payoutId)).state).toBe('paid');
    const listed = await stack.call('GET', `/v1/payouts?bulkId=${res.body.bulkId}`);
    expect(listed.body.items).toHaveLength(1);
    const status = stack.expectStatus(
      await stack.call('GET', `/v1/payouts/bulk/${res.body.bulkId}`, { key: stack.keys.operator.key }),
      200,
      'bulk status',
    );
    expect(status.body).toMatchObject({
      bulkId: res.body.bulkId,
      status: 'completed',
      criteria: { currency: 'USD', method: 'bank_transfer', country: 'CA', minBalance: '15000' },
      requestedBy: { actor: 'olga', role: 'operator' },
      payouts: { total: 1, started: 1, byState: { paid: 1 } },
      summary,
    });
    expect(status.body.skipped).toHaveLength(2);
    await stack.assertInvariants();
  });

  it('refuses a bulk request with bad input or a reused key, writing nothing', async () => {
    const unknownCurrency = await stack.call('POST', '/v1/payouts/bulk', {
      body: { currency: 'XYZ', method: 'bank_transfer' },
    });
    expect(unknownCurrency.status).toBe(400);
    expect(unknownCurrency.contentType).toContain('application/problem+json');
    const unknownField = await stack.call('POST', '/v1/payouts/bulk', {
      body: { currency: 'USD', method: 'bank_transfer', everyone: true },
    });
    expect(unknownField.status).toBe(400);
    const [bulks] = await sql<{ n: string }>(
      stack.db.em(),
      `SELECT count(*)::text AS n FROM "${stack.db.schema}".payout_bulks WHERE criteria->>'currency' = 'XYZ'`,
    );
    expect(bulks?.n).toBe('0');
    const key = `bulk-reuse-${Date.now()}`;
    const body = { currency: 'USD', method: 'bank_transfer', country: 'NZ' };
    stack.expectStatus(
      await stack.call('POST', '/v1/payouts/bulk', { idempotencyKey: key, body }),
      202,
      'bulk',
    );
    const again = await stack.call('POST', '/v1/payouts/bulk', {
      idempotencyKey: key,
      body: { ...body, country: 'AU' },
    });
    expect(again.status).toBe(422);
    const missing = await stack.call('GET', '/v1/payouts/bulk/bulk_000000000000000000000000');
    expect(missing.status).toBe(404);
  });

  it('finishes a bulk whose request died after its snapshot: payouts already started are not started twice', async () => {
    const e = await stack.createPayee({ credit: '20000', payee: { country: 'DE' } });
    const f = await stack.createPayee({ credit: '30000', payee: { country: 'DE' } });
    const key = `bulk-retry-${Date.now()}`;
    const bulkId = payoutIdFor('olga', `bulk:${key}`).replace(/^po_/, 'bulk_');
    const payoutIdOf = (payeeId: string) => payoutIdFor('olga', `bulk:${key}:${payeeId}`);
    const body = { currency: 'USD', method: 'bank_transfer', country: 'DE', instant: true };
    // The first request committed its snapshot and died before its workflow started; a wave of an earlier
    // workflow run had started e's payout but died before marking it started.
    await stack.services.bulks.snapshot(stack.db.em(), {
      bulkId,
      criteria: body as Parameters<typeof stack.services.bulks.snapshot>[1]['criteria'],
      requestedBy: { actor: 'olga', role: 'operator' },
      payoutIdOf,
      audit: { actor: 'olga', role: 'operator', action: 'payout.bulk', objectType: 'bulk', objectId: bulkId },
    });
    // A wave writes the payout's row before it starts the workflow (which reads it).
    const started = {
      payoutId: payoutIdOf(e),
      payeeId: e,
      amount: { amount: '20000', currency: 'USD', scale: 2 },
      method: 'bank_transfer' as const,
      instantRequested: true,
      requestedBy: { actor: 'olga', role: 'operator' as const },
      bulkId,
    };
    await new PayoutStore(stack.db.schema).insert(stack.db.em(), newPayoutFrom(started));
    await stack.gateway.start(started);
    await stack.waitForState(payoutIdOf(e), ['reserved', 'submitting', 'awaiting_confirmation', 'paid']);
    // Balances have moved since (e's funds are held or paid): the retry keeps the snapshot's amounts.
    const retry = stack.expectStatus(
      await stack.call('POST', '/v1/payouts/bulk', {
        key: stack.keys.operator.key,
        idempotencyKey: key,
        body,
      }),
      202,
      'bulk retry',
    );
    expect(retry.body.bulkId).toBe(bulkId);
    const byPayee = Object.fromEntries(
      retry.body.created.map((p: { payeeId: string; payoutId: string; amount: { amount: string } }) => [
        p.payeeId,
        [p.payoutId, p.amount.amount],
      ]),
    );
    expect(byPayee).toEqual({ [e]: [payoutIdOf(e), '20000'], [f]: [payoutIdOf(f), '30000'] });
    expect(await stack.bulkResult(bulkId)).toMatchObject({ payouts: { paid: 2 }, total: 2 });
    for (const [payoutId] of Object.values(byPayee) as [string, string][]) {
      expect((await stack.result(payoutId)).state).toBe('paid');
    }
    const listed = await stack.call('GET', `/v1/payouts?bulkId=${bulkId}`);
    expect(listed.body.items).toHaveLength(2);
    const [audits] = await sql<{ n: string }>(
      stack.db.em(),
      `SELECT count(*)::text AS n FROM "${stack.db.schema}".audit_log WHERE object_id = $1`,
      [bulkId],
    );
    expect(audits?.n).toBe('1');
    await stack.assertInvariants();
  });
});
