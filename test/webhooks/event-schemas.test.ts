// Real emitted webhook events against the schemas the OpenAPI `webhooks` section is generated from: a payout
// paid, a credit grant, on the whole stack; every outbox row's body and every body a signed delivery
// brought to the platform's endpoint must parse.
import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { webhookEnvelope, webhookEvents } from '../../src/api/webhook-events.ts';
import { sql } from '../../src/db/sql.ts';
import { freePort } from '../../src/temporal/embedded-server.ts';
import { verifyWebhook, webhookBody } from '../../src/webhooks/index.ts';
import { type Stack, startStack, WEBHOOK_SECRET } from '../support/stack.ts';

let stack: Stack;
let receiver: Server;
/** Verified bodies the platform's endpoint received, as sent. */
const received: unknown[] = [];
beforeAll(async () => {
  const port = await freePort();
  receiver = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      try {
        const body = Buffer.concat(chunks);
        verifyWebhook(WEBHOOK_SECRET, req.headers, body);
        received.push(JSON.parse(body.toString('utf8')));
        res.writeHead(204).end();
      } catch {
        res.writeHead(400).end();
      }
    });
  });
  await new Promise<void>((resolve) => receiver.listen(port, '127.0.0.1', resolve));
  stack = await startStack('webhook_schemas', {
    env: { WEBHOOK_ENDPOINTS: `http://127.0.0.1:${port}/hooks`, WEBHOOK_SECRET },
  });
});
afterAll(async () => {
  await stack?.close();
  await new Promise((resolve) => receiver?.close(resolve));
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
    const deliveredTypes = received.map((b) => (b as { type: string }).type);
    expect(deliveredTypes).toEqual(expect.arrayContaining(['payout.paid']));
    for (const body of received) {
      const type = (body as { type: string }).type;
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
