// Provider events over real HTTP: a return reported after the payout's workflow closed still reaches the
// wallet (once), the signal names its provider, and every error of the webhook route is problem+json.
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { sql } from '../../src/db/sql.ts';
import { inHandOverOrder } from '../../src/payouts/late-return.ts';
import { DEFAULT_SANDBOX_SCENARIO } from '../../src/providers/index.ts';
import { signWebhook } from '../../src/webhooks/signing.ts';
import { type Stack, startStack, WEBHOOK_SECRET } from '../support/stack.ts';

const BODY_LIMIT = 2048;
const OTHER_SECRET = `whsec_${Buffer.alloc(24, 7).toString('base64')}`;

describe('provider events', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack('provider_events', { env: { API_BODY_LIMIT_BYTES: String(BODY_LIMIT) } });
  });
  afterEach(async () => {
    stack.sandbox().setScenario(DEFAULT_SANDBOX_SCENARIO);
    await stack.assertInvariants();
  });
  afterAll(async () => {
    await stack?.close();
  });

  const webhookUrl = (provider = 'sandbox') => `${stack.url}/v1/providers/${provider}/webhooks`;

  /** A sandbox event as the sandbox signs it (same id → the same event delivered again). */
  function sandboxEvent(
    type: string,
    payoutId: string,
    key: string,
    reason?: string,
    secret = WEBHOOK_SECRET,
  ) {
    const body = JSON.stringify({
      type: `payout.${type}`,
      timestamp: new Date().toISOString(),
      data: { idempotencyKey: key, payoutId, providerRef: `sandbox_${key}`, ...(reason ? { reason } : {}) },
    });
    const headers = signWebhook(secret, { id: `sandbox.${type}.${key}`, body });
    return { body, headers: { 'content-type': 'application/json', ...headers } };
  }

  async function post(url: string, init: { body: string | Buffer; headers: Record<string, string> }) {
    const res = await fetch(url, { method: 'POST', ...init });
    const text = await res.text();
    const contentType = res.headers.get('content-type') ?? '';
    return {
      status: res.status,
      contentType,
      headers: res.headers,
      body: text ? JSON.parse(text) : undefined,
    };
  }

  async function count(table: string, where = 'true', params: unknown[] = []): Promise<number> {
    const [row] = await sql<{ n: string }>(
      stack.db.em(),
      `SELECT count(*)::text AS n FROM "${stack.db.schema}".${table} WHERE ${where}`,
      params,
    );
    return Number(row?.n);
  }

  describe('after the workflow ended', () => {
    it('posts a late return back to the wallet as the workflow would, and a repeated one changes nothing', async () => {
      // Destination ending 0006: paid, then returned returnAfterMs later (on the sandbox's own clock).
      stack.sandbox().setScenario({ returnAfterMs: 1000 });
      const payeeId = await stack.createPayee({
        credit: '10000',
        bankAccount: { accountNumber: '7700000006' },
      });
      const payoutId = await stack.requestPayout(payeeId, '5000');
      // The workflow ends at paid; the return comes after it.
      expect((await stack.result(payoutId)).state).toBe('paid');

      const later = new Date(Date.now() + 5_000);
      await stack.sandbox().advance(later);
      const sent = await stack.sandbox().deliverPendingWebhooks(later);
      expect(sent).toEqual(expect.arrayContaining([`sandbox.returned.${payoutId}:1`]));

      const res = stack.expectStatus(await stack.call('GET', `/v1/payouts/${payoutId}`), 200, 'get payout');
      expect(res.body.state).toBe('returned');
      expect(res.body.reasons.at(-1)).toEqual({ code: 'returned', message: 'returned: account_closed' });
      expect(res.body.nextTimer).toBeNull();
      expect(res.body.ledger.map((l: { step: string }) => l.step)).toEqual(['hold', 'settle', 'return']);
      const wallet = await stack.call('GET', `/v1/payees/${payeeId}/wallet`);
      expect(wallet.body.balances[0].available.amount).toBe('10000');
      const list = await stack.call('GET', `/v1/payouts?payee=${payeeId}`);
      expect(list.body.items.map((p: { state: string }) => p.state)).toEqual(['returned']);
      await stack.assertInvariants();

      // The event the workflow would have emitted, delivered by its own workflow.
      const eventId = `payout.returned:${payoutId}:1`;
      const deadline = Date.now() + 15_000;
      while (!(await stack.services.outbox.get(eventId))?.deliveredAt && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 50));
      }
      const event = await stack.services.outbox.get(eventId);
      expect(event).toMatchObject({ type: 'payout.returned', payload: { payout: { state: 'returned' } } });
      expect(event?.deliveredAt).not.toBeNull();

      expect(stack.logs.some((l) => l.includes('7700000006'))).toBe(false);

      const before = {
        ledger: await count('ledger_transactions'),
        outbox: await count('webhook_outbox', 'id LIKE $1', [`%${payoutId}%`]),
      };
      const again = await post(
        webhookUrl(),
        sandboxEvent('returned', payoutId, `${payoutId}:1`, 'returned: account_closed'),
      );
      expect(again.status).toBe(200);
      expect(again.body.received).toEqual([
        { eventId: `sandbox.returned.${payoutId}:1`, payoutId, result: 'already_returned' },
      ]);
      expect({
        ledger: await count('ledger_transactions'),
        outbox: await count('webhook_outbox', 'id LIKE $1', [`%${payoutId}%`]),
      }).toEqual(before);
      const after = await stack.call('GET', `/v1/payouts/${payoutId}`);
      expect(after.body.reasons.filter((r: { code: string }) => r.code === 'returned')).toHaveLength(1);
      expect(
        (await stack.call('GET', `/v1/payees/${payeeId}/wallet`)).body.balances[0].available.amount,
      ).toBe('10000');
    });

    it('acknowledges and logs other events for a closed payout, changing nothing', async () => {
      const payeeId = await stack.createPayee({ credit: '10000' });
      const payoutId = await stack.requestPayout(payeeId, '4000');
      expect((await stack.result(payoutId)).state).toBe('paid');
      const ledger = await count('ledger_transactions');
      const failed = await post(webhookUrl(), sandboxEvent('failed', payoutId, `${payoutId}:1`, 'too late'));
      expect([failed.status, failed.body.received[0].result]).toEqual([200, 'ignored']);
      const logged = stack.logs
        .map((l) => JSON.parse(l))
        .filter((l) => l.msg === 'provider_event.ignored' && l.payoutId === payoutId);
      expect(logged).toEqual([
        expect.objectContaining({
          provider: 'sandbox',
          eventId: `sandbox.failed.${payoutId}:1`,
          type: 'failed',
        }),
      ]);
      expect(JSON.stringify(logged)).not.toContain('too late'); // provider free text stays out of logs
      const wrongAttempt = await post(
        webhookUrl(),
        sandboxEvent('returned', payoutId, `${payoutId}:2`, 'nope'),
      );
      expect(wrongAttempt.body.received[0].result).toBe('ignored');
      const unknown = await post(
        webhookUrl(),
        sandboxEvent('returned', 'po_doesnotexist0000', 'po_doesnotexist0000:1'),
      );
      expect([unknown.status, unknown.body.received[0].result]).toEqual([200, 'ignored']);
      expect(await count('ledger_transactions')).toBe(ledger);
      expect((await stack.call('GET', `/v1/payouts/${payoutId}`)).body.state).toBe('paid');
    });
  });

  it('names the provider on the signal it gives a running workflow', async () => {
    stack.sandbox().setScenario({ instantConfirmation: 'webhook' });
    const payeeId = await stack.createPayee({ credit: '10000' });
    const payoutId = await stack.requestPayout(payeeId, '3000');
    await stack.settleByWebhook(payoutId);
    expect((await stack.result(payoutId)).state).toBe('paid');
    const history = await stack.handle(payoutId).fetchHistory();
    const signals = (history.events ?? [])
      .map((e) => e.workflowExecutionSignaledEventAttributes)
      .filter((a) => a?.signalName === 'providerEvent')
      .map((a) => JSON.parse(Buffer.from(a!.input!.payloads![0]!.data!).toString('utf8')));
    expect(signals).toContainEqual({
      eventId: `sandbox.paid.${payoutId}:1`,
      idempotencyKey: `${payoutId}:1`,
      type: 'paid',
      provider: 'sandbox',
    });
  });

  describe('webhook route errors are problem+json', () => {
    const signed = () => sandboxEvent('paid', 'po_aaaaaaaaaaaaaaaa', 'po_aaaaaaaaaaaaaaaa:1');
    const cases: { name: string; send: () => Promise<Response>; status: number; kind: string }[] = [
      {
        name: 'a body over the configured limit',
        send: () => fetch(webhookUrl(), { method: 'POST', ...signed(), body: 'x'.repeat(BODY_LIMIT + 1) }),
        status: 413,
        kind: 'payload_too_large',
      },
      {
        name: 'a signature made with another secret',
        send: () =>
          fetch(webhookUrl(), {
            method: 'POST',
            ...sandboxEvent('paid', 'po_a', 'po_a:1', undefined, OTHER_SECRET),
          }),
        status: 401,
        kind: 'unauthenticated',
      },
      {
        name: 'no signature headers',
        send: () => fetch(webhookUrl(), { method: 'POST', body: signed().body }),
        status: 401,
        kind: 'unauthenticated',
      },
      {
        name: 'a signed body that is not JSON',
        send: () => {
          const headers = signWebhook(WEBHOOK_SECRET, { id: 'evt_not_json', body: 'not json' });
          return fetch(webhookUrl(), { method: 'POST', headers, body: 'not json' });
        },
        status: 400,
        kind: 'validation_failed',
      },
      {
        name: 'a malformed escape in the path',
        send: () => fetch(`${stack.url}/v1/providers/%E0%A4%A/webhooks`, { method: 'POST', ...signed() }),
        status: 400,
        kind: 'validation_failed',
      },
      {
        name: 'a provider that is not configured',
        send: () => fetch(webhookUrl('nosuch'), { method: 'POST', ...signed() }),
        status: 404,
        kind: 'not_found',
      },
      {
        name: 'another method',
        send: () => fetch(webhookUrl(), { method: 'GET' }),
        status: 405,
        kind: 'method_not_allowed',
      },
    ];
    for (const c of cases) {
      it(`answers ${c.status} to ${c.name}`, async () => {
        const res = await c.send();
        expect(res.status).toBe(c.status);
        expect(res.headers.get('content-type')).toContain('application/problem+json');
        const problem = (await res.json()) as { detail: string; errorId: string };
        expect(problem).toMatchObject({
          status: c.status,
          kind: c.kind,
          type: `urn:disburse:problem:${c.kind}`,
        });
        expect(problem.errorId).toEqual(expect.any(String));
        if (c.status === 413) expect(problem.detail).toContain(String(BODY_LIMIT));
        if (c.status === 405) expect(res.headers.get('allow')).toBe('POST, HEAD');
      });
    }
  });

  it('is in /openapi.json as a public route with its problem responses', async () => {
    const doc = stack.expectStatus(
      await stack.call('GET', '/openapi.json', { key: null }),
      200,
      'openapi',
    ).body;
    const op = doc.paths['/v1/providers/{name}/webhooks']?.post;
    expect(op).toMatchObject({ 'x-roles': [], security: [], tags: ['providers'] });
    for (const status of ['400', '401', '404', '413', '503']) {
      expect(op.responses[status].content['application/problem+json'].schema.$ref).toBe(
        '#/components/schemas/Problem',
      );
    }
    expect(doc.components.schemas.Problem).toBeDefined();
  });
});

describe('the order in which one notification hands its events over', () => {
  it('puts a return before the payment it implies, and keeps every other order', () => {
    const ev = (eventId: string, type: 'paid' | 'failed' | 'returned') => ({ eventId, type });
    expect(
      inHandOverOrder([ev('a', 'paid'), ev('b', 'returned'), ev('c', 'failed'), ev('d', 'returned')]).map(
        (e) => e.eventId,
      ),
    ).toEqual(['b', 'd', 'a', 'c']);
    expect(inHandOverOrder([ev('x', 'paid')]).map((e) => e.eventId)).toEqual(['x']);
  });
});
