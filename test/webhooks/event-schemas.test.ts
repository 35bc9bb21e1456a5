// Real emitted webhook events against the schemas the OpenAPI `webhooks` section is generated from: a payout
// paid, a credit grant, on the whole stack; every outbox row's body and every body a signed delivery
// brought to the platform's endpoint must parse.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { webhookEnvelope, webhookEvents } from '../../src/api/webhook-events.ts';
import { sql } from '../../src/db/sql.ts';
import { webhookBody } from '../../src/webhooks/index.ts';
import { type Stack, startStack, startWebhookReceiver, WEBHOOK_SECRET } from '../support/stack.ts';

let stack: Stack;
let receiver: Awaited<ReturnType<typeof startWebhookReceiver>>;
beforeAll(async () => {
  receiver = await startWebhookReceiver();
  stack = await startStack('webhook_schemas', {
    env: { WEBHOOK_ENDPOINTS: receiver.url, WEBHOOK_SECRET },
  });
});
afterAll(async () => {
  await stack?.close();
  await receiver?.close();
});

describe('webhook event schemas', () => {
  it('every event the outbox emitted parses with its documented schema', async () => {
    const payee = await stack.createPayee({ credit: '5000' });
    await stack.result(await stack.requestPayout(payee, '1200'));
    const grant = await stack.call('POST', `/v1/payees/${payee}/credits/grants`, {
      body: { amount: { amount: '300', currency: 'USD', scale: 2 }, reference: 'schema-grant-1' },
    });
    stack.expectStatus(grant, 201, 'grant');

    const rows = await sql<{ type: string; payload: Record<string, unknown>; occurred_at: Date }>(
      stack.db.em(),
      `SELECT type, payload, occurred_at FROM "${stack.db.schema}".webhook_outbox ORDER BY occurred_at, id`,
    );
    const types = rows.map((r) => r.type);
    expect(types).toEqual(expect.arrayContaining(['payout.paid', 'credit.granted']));
    const failures: unknown[] = [];
    for (const row of rows) {
      expect(webhookEvents[row.type]).toBeDefined();
      const body = JSON.parse(
        webhookBody({ type: row.type, occurredAt: new Date(row.occurred_at), data: row.payload }),
      );
      const parsed = webhookEnvelope(row.type).safeParse(body);
      if (!parsed.success) failures.push({ type: row.type, issues: parsed.error.issues });
    }
    expect(failures).toEqual([]);

    // The payout workflow awaits its deliveries before it returns: its events have reached the endpoint.
    const deliveredTypes = receiver.received.map((r) => r.type);
    expect(deliveredTypes).toEqual(expect.arrayContaining(['payout.paid']));
    for (const { type, body } of receiver.received) {
      const parsed = webhookEnvelope(type).safeParse(body);
      if (!parsed.success) failures.push({ delivered: type, issues: parsed.error.issues });
    }
    expect(failures).toEqual([]);
  });

  it('refuses a payload that is not what the type carries', () => {
    const bad = webhookEnvelope('payout.paid').safeParse({
      type: 'payout.paid',
      timestamp: new Date().toISOString(),
      data: { payout: { payoutId: 'po_1', state: 'paid' } },
    });
    expect(bad.success).toBe(false);
  });
});
