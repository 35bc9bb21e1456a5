// Inbound provider webhooks over HTTP (POST /v1/providers/:name/webhooks): a request whose Standard Webhooks
// signature does not verify is refused with 4xx problem+json, and nothing reaches the payout workflow or the
// database. The same request correctly signed is accepted, so the refusals are down to the signature alone.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { sql } from '../../src/db/sql.ts';
import { generateWebhookSecret, signWebhook } from '../../src/webhooks/signing.ts';
import { type Stack, startStack, WEBHOOK_SECRET } from '../support/stack.ts';

describe('inbound provider webhooks', () => {
  let stack: Stack;
  let payoutId: string;
  let payeeId: string;

  beforeAll(async () => {
    stack = await startStack('provider_webhooks');
    // Destination ending 0009: the sandbox accepts the payout as pending and never settles it by itself, so
    // the payout sits awaiting its confirmation webhook (virtual time does not move while the tests run).
    payeeId = await stack.createPayee({ credit: '10000', bankAccount: { accountNumber: '7700000009' } });
    payoutId = await stack.requestPayout(payeeId, '5000');
    await stack.waitForState(payoutId, ['awaiting_confirmation']);
  });
  afterAll(async () => {
    await stack?.close();
  });

  const eventBody = () =>
    JSON.stringify({
      type: 'payout.failed',
      timestamp: new Date().toISOString(),
      data: {
        idempotencyKey: `${payoutId}:1`,
        payoutId,
        providerRef: 'forged-ref',
        reason: 'rejected_by_bank: account_closed',
      },
    });

  async function post(path: string, body: string, headers: Record<string, string>) {
    const res = await fetch(`${stack.url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body,
    });
    const text = await res.text();
    return { status: res.status, contentType: res.headers.get('content-type') ?? '', text };
  }

  /** Row counts of every table in this stack's schema, and the payout's recorded status. */
  async function written() {
    const em = stack.db.em();
    const tables = await sql<{ table_name: string }>(
      em,
      `SELECT table_name FROM information_schema.tables WHERE table_schema = $1 AND table_type = 'BASE TABLE' ORDER BY 1`,
      [stack.db.schema],
    );
    const counts: Record<string, string> = {};
    for (const { table_name } of tables) {
      // A refused request still spends from its rate-limit bucket; that is the limiter, not a write.
      if (table_name === 'rate_limit_buckets') continue;
      const [row] = await sql<{ n: string }>(
        em,
        `SELECT count(*)::text AS n FROM "${stack.db.schema}"."${table_name}"`,
      );
      counts[table_name] = row!.n;
    }
    const [payout] = await sql<{ state: string; updated_at: Date }>(
      em,
      `SELECT state, updated_at FROM "${stack.db.schema}".payouts WHERE id = $1`,
      [payoutId],
    );
    return { counts, payout };
  }

  async function signals() {
    const history = await stack.handle(payoutId).fetchHistory();
    return (history.events ?? []).filter((e) => e.workflowExecutionSignaledEventAttributes).length;
  }

  const id = () => `sandbox.failed.${payoutId}:1`;
  const badRequests: [string, () => { body: string; headers: Record<string, string> }][] = [
    ['no signature headers', () => ({ body: eventBody(), headers: {} })],
    [
      'signed with another secret',
      () => {
        const body = eventBody();
        return { body, headers: signWebhook(generateWebhookSecret(), { id: id(), body }) };
      },
    ],
    [
      'body changed after signing',
      () => {
        const body = eventBody();
        const headers = signWebhook(WEBHOOK_SECRET, { id: id(), body });
        return { body: body.replace('payout.failed', 'payout.paid'), headers };
      },
    ],
    [
      'webhook id changed after signing',
      () => {
        const body = eventBody();
        return {
          body,
          headers: { ...signWebhook(WEBHOOK_SECRET, { id: id(), body }), 'webhook-id': 'other-id' },
        };
      },
    ],
    [
      'correct signature, replayed 10 minutes later',
      () => {
        const body = eventBody();
        return {
          body,
          headers: signWebhook(WEBHOOK_SECRET, { id: id(), body, timestamp: new Date(Date.now() - 600_000) }),
        };
      },
    ],
    [
      'signature that is not base64 HMAC',
      () => {
        const body = eventBody();
        const headers = signWebhook(WEBHOOK_SECRET, { id: id(), body });
        return { body, headers: { ...headers, 'webhook-signature': 'v1,AAAA v2,nonsense' } };
      },
    ],
  ];

  for (const [name, make] of badRequests) {
    it(`${name} → 401 problem+json, nothing signalled or written`, async () => {
      const before = await written();
      const signalsBefore = await signals();
      const { body, headers } = make();
      const res = await post('/v1/providers/sandbox/webhooks', body, headers);
      expect(res.status).toBe(401);
      expect(res.contentType).toContain('application/problem+json');
      const problem = JSON.parse(res.text);
      expect(problem).toMatchObject({ status: 401, instance: '/v1/providers/sandbox/webhooks' });
      expect(problem.detail).toMatch(/signature|webhook-|timestamp/);
      expect(await signals()).toBe(signalsBefore);
      expect(await written()).toEqual(before);
      expect((await stack.gateway.status(payoutId))?.state).toBe('awaiting_confirmation');
    });
  }

  it('a webhook for a provider that is not configured → 404 problem+json, nothing signalled', async () => {
    const before = await written();
    const body = eventBody();
    const res = await post(
      '/v1/providers/nosuch/webhooks',
      body,
      signWebhook(WEBHOOK_SECRET, { id: id(), body }),
    );
    expect(res.status).toBe(404);
    expect(res.contentType).toContain('application/problem+json');
    expect(await signals()).toBe(0);
    expect(await written()).toEqual(before);
  });

  it('the same event correctly signed is accepted and reaches the workflow (control)', async () => {
    expect(await signals()).toBe(0);
    const body = eventBody();
    const res = await post(
      '/v1/providers/sandbox/webhooks',
      body,
      signWebhook(WEBHOOK_SECRET, { id: id(), body }),
    );
    expect(res.status).toBe(200);
    expect(JSON.parse(res.text)).toEqual({ received: [{ eventId: id(), payoutId, result: 'delivered' }] });
    expect(await signals()).toBe(1);
    const final = await stack.result(payoutId);
    expect(final.state).toBe('failed');
    expect(final.attempts).toEqual([expect.objectContaining({ provider: 'sandbox', outcome: 'failed' })]);
    const wallet = await stack.call('GET', `/v1/payees/${payeeId}/wallet`);
    expect(wallet.body.balances[0].available.amount).toBe('10000');
    await stack.assertInvariants();
  });
});
