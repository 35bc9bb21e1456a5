// Real emitted webhook events against the schemas the OpenAPI `webhooks` section is generated from: a payout
// paid, a credit grant, on the whole stack; every outbox row's signed body must parse.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { webhookEnvelope, webhookEvents } from '../../src/api/webhook-events.ts';
import { sql } from '../../src/db/sql.ts';
import { webhookBody } from '../../src/webhooks/index.ts';
import { type Stack, startStack } from '../support/stack.ts';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack('webhook_schemas');
});
afterAll(async () => {
  await stack?.close();
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
    expect(types).toEqual(expect.arrayContaining(['payout.paid', 'payout.completed', 'credit.granted']));
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
