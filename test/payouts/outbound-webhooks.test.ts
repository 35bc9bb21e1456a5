// Outbound payout webhooks, delivered to a real HTTP endpoint this test runs: every delivery is signed per
// Standard Webhooks (webhook-id, webhook-timestamp, webhook-signature) with the configured secret(s), is sent
// only once the state it describes is committed, and a failed delivery is retried with the same id and body.
import { createHmac } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { sql } from '../../src/db/sql.ts';
import { generateWebhookSecret, verifyWebhook } from '../../src/webhooks/signing.ts';
import { type Stack, startStack } from '../support/stack.ts';

interface Received {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
  /** The payout's committed status in the database when the request arrived. */
  committed: string | undefined;
  answered: number;
}

describe('outbound payout webhooks', () => {
  const secret = generateWebhookSecret();
  const previousSecret = generateWebhookSecret(); // still valid during a rotation
  let server: Server;
  let stack: Stack;
  const received: Received[] = [];
  /** Event ids whose first delivery the endpoint refuses (503). */
  const refuseFirst = new Set<string>();

  beforeAll(async () => {
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', async () => {
        const body = Buffer.concat(chunks).toString('utf8');
        let committed: string | undefined;
        try {
          const payoutId = JSON.parse(body)?.data?.payout?.payoutId;
          const [row] = await sql<{ state: string }>(
            stack.db.em(),
            `SELECT state FROM "${stack.db.schema}".payouts WHERE id = $1`,
            [payoutId],
          );
          committed = row?.state;
        } catch {
          committed = undefined;
        }
        const id = String(req.headers['webhook-id']);
        const refuse = refuseFirst.delete(id);
        const answered = refuse ? 503 : 204;
        received.push({
          method: req.method ?? '',
          url: req.url ?? '',
          headers: req.headers,
          body,
          committed,
          answered,
        });
        res.writeHead(answered).end();
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const { port } = server.address() as AddressInfo;
    stack = await startStack('outbound_webhooks', {
      env: {
        WEBHOOK_ENDPOINTS: `http://127.0.0.1:${port}/disburse-hooks`,
        WEBHOOK_SECRET: `${secret},${previousSecret}`,
      },
    });
  });
  afterAll(async () => {
    await stack?.close();
    await new Promise<void>((r) => server.close(() => r()));
  });

  /** HMAC-SHA256 of `<id>.<timestamp>.<body>` with the secret's key, computed here from the specification. */
  function expectedSignature(whsec: string, id: string, timestamp: string, body: string): string {
    const key = Buffer.from(whsec.slice('whsec_'.length), 'base64');
    return createHmac('sha256', key).update(`${id}.${timestamp}.${body}`).digest('base64');
  }

  const forPayout = (payoutId: string) =>
    received.filter((r) => JSON.parse(r.body)?.data?.payout?.payoutId === payoutId);

  it('delivers each event of a paid payout, signed with every configured secret, after its state is committed', async () => {
    const account = '6060606060123';
    const payeeId = await stack.createPayee({ credit: '10000', bankAccount: { accountNumber: account } });
    const payoutId = await stack.requestPayout(payeeId, '5000');
    const startedAt = Math.floor(Date.now() / 1000);
    expect((await stack.result(payoutId)).state).toBe('paid');

    const deliveries = forPayout(payoutId);
    const types = deliveries.map((d) => JSON.parse(d.body).type);
    expect(types).toEqual(expect.arrayContaining(['payout.paid']));
    for (const d of deliveries) {
      expect(d.method).toBe('POST');
      expect(d.url).toBe('/disburse-hooks');
      expect(d.headers['content-type']).toContain('application/json');
      const id = d.headers['webhook-id'] as string;
      const timestamp = d.headers['webhook-timestamp'] as string;
      const signatures = (d.headers['webhook-signature'] as string).split(' ');
      // The stable id of the outbox event, the same one the outbox recorded as delivered.
      const [row] = await sql<{ type: string; delivered_at: Date | null }>(
        stack.db.em(),
        `SELECT type, delivered_at FROM "${stack.db.schema}".webhook_outbox WHERE id = $1`,
        [id],
      );
      expect(row?.type).toBe(JSON.parse(d.body).type);
      expect(row?.delivered_at).not.toBeNull();
      expect(id).toContain(payoutId);
      // Integer seconds, close to now.
      expect(timestamp).toMatch(/^\d+$/);
      expect(Math.abs(Number(timestamp) - startedAt)).toBeLessThan(120);
      // One v1 signature per configured secret; each is the HMAC of id.timestamp.body with that secret.
      expect(signatures).toEqual([
        `v1,${expectedSignature(secret, id, timestamp, d.body)}`,
        `v1,${expectedSignature(previousSecret, id, timestamp, d.body)}`,
      ]);
      expect(verifyWebhook(secret, d.headers, d.body).id).toBe(id);
      expect(verifyWebhook(previousSecret, d.headers, d.body).id).toBe(id);
      expect(() => verifyWebhook(generateWebhookSecret(), d.headers, d.body)).toThrow(/signature/);
      expect(() => verifyWebhook(secret, d.headers, d.body.replace('"paid"', '"failed"'))).toThrow(
        /signature/,
      );
      // The payload (Standard Webhooks shape) carries the payout's status, never its bank details.
      const payload = JSON.parse(d.body);
      expect(payload).toMatchObject({ type: expect.any(String), timestamp: expect.any(String) });
      expect(payload.data.payout).toMatchObject({ payoutId, payeeId });
      expect(d.body).not.toContain(account);
      expect(d.body).not.toContain(account.slice(0, 9));
    }
    // Sent only after the state it announces was committed.
    const paid = deliveries.find((d) => JSON.parse(d.body).type === 'payout.paid')!;
    expect(JSON.parse(paid.body).data.payout.state).toBe('paid');
    expect(paid.committed).toBe('paid');
    await stack.assertInvariants();
  });

  it('retries a refused delivery with the same id and body until the endpoint accepts it', async () => {
    const payeeId = await stack.createPayee({ credit: '10000' });
    const payoutId = await stack.requestPayout(payeeId, '2500', { instant: true });
    // The attempt count is the sub-key of payout.paid: one attempt here.
    refuseFirst.add(`payout.paid:${payoutId}:1`);
    expect((await stack.result(payoutId)).state).toBe('paid');

    const paid = forPayout(payoutId).filter((d) => JSON.parse(d.body).type === 'payout.paid');
    expect(paid.map((d) => d.answered)).toEqual([503, 204]);
    expect(paid[1]!.headers['webhook-id']).toBe(paid[0]!.headers['webhook-id']);
    expect(paid[1]!.body).toBe(paid[0]!.body);
    for (const d of paid)
      expect(verifyWebhook(secret, d.headers, d.body).id).toBe(`payout.paid:${payoutId}:1`);
    const attempts = await sql<{ ok: boolean; http_status: number | null }>(
      stack.db.em(),
      `SELECT ok, http_status FROM "${stack.db.schema}".webhook_delivery_attempts WHERE event_id = $1 ORDER BY id`,
      [`payout.paid:${payoutId}:1`],
    );
    expect(attempts).toEqual([
      { ok: false, http_status: 503 },
      { ok: true, http_status: 204 },
    ]);
  });
});
