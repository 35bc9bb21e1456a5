import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import {
  generateWebhookSecret,
  verifyWebhook,
  WebhookDeliveryError,
  WebhookEventNotFoundError,
  WebhookOutbox,
  webhookEventId,
} from '../../src/webhooks/index.ts';
import { createTestDatabase, type TestDatabase } from '../support/db.ts';

interface Received {
  path: string;
  headers: IncomingMessage['headers'];
  body: Buffer;
}

let db: TestDatabase;
let server: Server;
let base: string;
const received: Received[] = [];
let failNext = 0;

beforeAll(async () => {
  db = await createTestDatabase('webhooks_outbox');
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received.push({ path: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks) });
      if (req.url === '/broken' && failNext > 0) {
        failNext--;
        res.writeHead(503).end('try later');
        return;
      }
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await db.drop();
});

describe('WebhookOutbox', () => {
  const secret = generateWebhookSecret();

  it('enqueues idempotently on the business event id', async () => {
    const outbox = new WebhookOutbox({ db, endpoints: [] });
    const id = webhookEventId('payout.paid', 'p-idem');
    expect(id).toBe('payout.paid:p-idem');
    const event = {
      id,
      type: 'payout.paid',
      data: { payoutId: 'p-idem' },
      occurredAt: new Date('2026-11-21T10:00:00Z'),
    };
    // No endpoint subscribed: stored delivered, nothing to deliver; a repeat leaves the decision to delivery.
    expect(await outbox.enqueue(event)).toEqual({ inserted: true, deliver: false });
    expect(await outbox.enqueue({ ...event, data: { payoutId: 'changed' } })).toEqual({
      inserted: false,
      deliver: true,
    });
    expect((await outbox.get(id))?.payload).toEqual({ payoutId: 'p-idem' });
    expect((await outbox.get(id))?.deliveredAt).toBeInstanceOf(Date);
    expect(await outbox.undelivered()).not.toContain(id);
  });

  it('enqueue inside a rolled-back transaction leaves nothing behind', async () => {
    const outbox = new WebhookOutbox({ db, endpoints: [] });
    const id = webhookEventId('payout.failed', 'p-rollback');
    await expect(
      db.em().transactional(async (tx) => {
        await outbox.enqueue({ id, type: 'payout.failed', data: {}, occurredAt: new Date() }, tx);
        throw new Error('state change failed');
      }),
    ).rejects.toThrow('state change failed');
    expect(await outbox.get(id)).toBeUndefined();
  });

  it('POSTs signed events to every endpoint and records the attempts', async () => {
    const outbox = new WebhookOutbox({
      db,
      endpoints: [
        { url: `${base}/a`, secrets: [secret] },
        { url: `${base}/b`, secrets: [secret] },
      ],
    });
    const id = webhookEventId('payout.paid', 'p-1');
    const enqueued = await outbox.enqueue({
      id,
      type: 'payout.paid',
      data: { payoutId: 'p-1', amount: { amount: '1000', currency: 'USD', scale: 2 } },
      occurredAt: new Date('2026-11-21T10:00:00Z'),
    });
    expect(enqueued).toEqual({ inserted: true, deliver: true });
    expect((await outbox.get(id))?.deliveredAt).toBeNull();
    const before = received.length;
    expect(await outbox.deliverWebhook(id)).toEqual({
      delivered: [`${base}/a`, `${base}/b`],
      alreadyDelivered: [],
    });
    const got = received.slice(before);
    expect(got.map((r) => r.path)).toEqual(['/a', '/b']);
    for (const r of got) {
      const v = verifyWebhook(secret, r.headers as Record<string, string>, r.body);
      expect(v.id).toBe(id);
      expect(JSON.parse(r.body.toString())).toEqual({
        type: 'payout.paid',
        timestamp: '2026-11-21T10:00:00.000Z',
        data: { payoutId: 'p-1', amount: { amount: '1000', currency: 'USD', scale: 2 } },
      });
    }
    expect((await outbox.get(id))?.deliveredAt).toBeInstanceOf(Date);
    // A second delivery (activity retried after a crash) does not re-send.
    expect(await outbox.deliverWebhook(id)).toEqual({
      delivered: [],
      alreadyDelivered: [`${base}/a`, `${base}/b`],
    });
    expect(received.length).toBe(before + 2);
  });

  it('throws on non-2xx so the activity retries, and retries only the failed endpoint', async () => {
    const outbox = new WebhookOutbox({
      db,
      endpoints: [
        { url: `${base}/ok`, secrets: [secret] },
        { url: `${base}/broken`, secrets: [secret] },
      ],
    });
    const id = webhookEventId('payout.returned', 'p-2');
    await outbox.enqueue({ id, type: 'payout.returned', data: { payoutId: 'p-2' }, occurredAt: new Date() });
    failNext = 1;
    const err = await outbox.deliverWebhook(id).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WebhookDeliveryError);
    expect((err as WebhookDeliveryError).failures).toEqual([
      { endpoint: `${base}/broken`, status: 503, error: 'HTTP 503' },
    ]);
    expect((await outbox.get(id))?.deliveredAt).toBeNull();
    expect(await outbox.undelivered()).toContain(id);

    expect(await outbox.deliverWebhook(id)).toEqual({
      delivered: [`${base}/broken`],
      alreadyDelivered: [`${base}/ok`],
    });
    const attempts = await outbox.attempts(id);
    expect(attempts.map((a) => [a.endpoint.replace(base, ''), a.httpStatus, a.ok])).toEqual([
      ['/ok', 204, true],
      ['/broken', 503, false],
      ['/broken', 204, true],
    ]);
    expect(await outbox.undelivered()).not.toContain(id);
  });

  it('records a connection failure', async () => {
    const outbox = new WebhookOutbox({
      db,
      endpoints: [{ url: 'http://127.0.0.1:1/nothing', secrets: [secret] }],
      timeoutMs: 2000,
    });
    const id = webhookEventId('payout.paid', 'p-3');
    await outbox.enqueue({ id, type: 'payout.paid', data: {}, occurredAt: new Date() });
    await expect(outbox.deliverWebhook(id)).rejects.toThrow(WebhookDeliveryError);
    const [attempt] = await outbox.attempts(id);
    expect(attempt?.ok).toBe(false);
    expect(attempt?.httpStatus).toBeNull();
    expect(attempt?.error).toMatch(/fetch failed|ECONNREFUSED/);
  });

  it('refuses an unknown event id', async () => {
    const outbox = new WebhookOutbox({ db, endpoints: [] });
    await expect(outbox.deliverWebhook('payout.paid:nope')).rejects.toThrow(WebhookEventNotFoundError);
  });
});
