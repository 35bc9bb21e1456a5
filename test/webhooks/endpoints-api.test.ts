// Webhook endpoints managed over the API, against real PostgreSQL, the payout workflows on temporal-dev and
// a real HTTP receiver this test runs: a created endpoint receives a payout's events signed with its own
// secret (Standard Webhooks, checked here from the specification), a disabled one receives nothing more, a
// rotation signs with both secrets, and a failing receiver leaves a delivery log that a replay completes.
import { createHmac } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { sql } from '../../src/db/sql.ts';
import { generateWebhookSecret, verifyWebhook } from '../../src/webhooks/signing.ts';
import { type Stack, startStack } from '../support/stack.ts';

interface Received {
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
  answered: number;
}

describe('webhook endpoints over the API', () => {
  const envSecret = generateWebhookSecret();
  let server: Server;
  let base: string;
  let stack: Stack;
  const received: Received[] = [];
  /** What each receiver path answers (default 204). */
  const answers = new Map<string, number>();

  beforeAll(async () => {
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const path = req.url ?? '';
        const answered = answers.get(path) ?? 204;
        received.push({ path, headers: req.headers, body: Buffer.concat(chunks).toString('utf8'), answered });
        res.writeHead(answered).end();
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    stack = await startStack('webhook_endpoints_api', {
      env: { WEBHOOK_ENDPOINTS: `${base}/env`, WEBHOOK_SECRET: envSecret },
    });
  });
  afterAll(async () => {
    await stack?.close();
    await new Promise<void>((r) => server.close(() => r()));
  });

  const operator = () => stack.keys.operator.key;
  const at = (path: string, payoutId: string) =>
    received.filter((r) => r.path === path && String(r.headers['webhook-id']).includes(payoutId));

  /** HMAC-SHA256 of `<id>.<timestamp>.<body>`, from the specification rather than the code under test. */
  function signature(whsec: string, r: Received): string {
    const key = Buffer.from(whsec.slice('whsec_'.length), 'base64');
    const id = r.headers['webhook-id'];
    const ts = r.headers['webhook-timestamp'];
    return `v1,${createHmac('sha256', key).update(`${id}.${ts}.${r.body}`).digest('base64')}`;
  }

  /** The outbox id of the payout's payout.paid event, as the env endpoint received it. */
  const paidEvent = (payoutId: string): string => {
    const ids = at('/env', payoutId)
      .filter((r) => JSON.parse(r.body).type === 'payout.paid')
      .map((r) => String(r.headers['webhook-id']));
    expect(ids).toHaveLength(1);
    return ids[0]!;
  };

  async function paidPayout(): Promise<string> {
    const payeeId = await stack.createPayee({ credit: '10000' });
    const payoutId = await stack.requestPayout(payeeId, '2500');
    expect((await stack.result(payoutId)).state).toBe('paid');
    return payoutId;
  }

  async function createEndpoint(path: string) {
    const res = stack.expectStatus(
      await stack.call('POST', '/v1/webhook-endpoints', {
        key: operator(),
        body: { url: `${base}${path}`, description: `receiver ${path}` },
      }),
      201,
      'create endpoint',
    );
    return res.body as { id: string; secret: string; url: string; status: string };
  }

  const deliveries = async (eventId: string) =>
    stack.expectStatus(
      await stack.call('GET', `/v1/webhook-events/${encodeURIComponent(eventId)}/deliveries`, {
        key: operator(),
      }),
      200,
      'delivery log',
    ).body;

  it('refuses other roles and bad input with problem+json, writing nothing', async () => {
    const before = await stack.call('GET', '/v1/webhook-endpoints', { key: operator() });
    const platform = await stack.call('POST', '/v1/webhook-endpoints', { body: { url: `${base}/x` } });
    expect(platform.status).toBe(403);
    for (const body of [
      { url: 'ftp://example.com/hook' },
      { url: 'not a url' },
      { url: `${base}/x`, secret: 'whsec_chosen' },
      { url: 'http://user:pw@example.com/' },
    ]) {
      const res = await stack.call('POST', '/v1/webhook-endpoints', { key: operator(), body });
      expect({ body, status: res.status, type: res.contentType }).toEqual({
        body,
        status: 400,
        type: expect.stringContaining('application/problem+json'),
      });
    }
    // A lone surrogate in the URL or the description: stored in the parser's form, never a 500.
    const odd = await stack.call('POST', '/v1/webhook-endpoints', {
      key: operator(),
      body: { url: `${base}/odd\ud800`, description: 'lone \udc00' },
    });
    expect(odd.status).toBeLessThan(500);
    if (odd.status === 201) {
      expect(odd.body.url).toBe(`${base}/odd%EF%BF%BD`);
      await stack.call('POST', `/v1/webhook-endpoints/${odd.body.id}/disable`, { key: operator() });
    }
    const bad = await stack.call('GET', '/v1/webhook-endpoints?cursor=zzz', { key: operator() });
    expect(bad.status).toBe(400);
    const missing = await stack.call('POST', '/v1/webhook-endpoints/we_000000000000000000000000/disable', {
      key: operator(),
    });
    expect(missing.status).toBe(404);
    const envRotate = await stack.call('POST', '/v1/webhook-endpoints/env:1/rotate-secret', {
      key: operator(),
      body: {},
    });
    expect(envRotate.status).toBe(400); // env endpoints are read-only: not an id these routes take
    const after = await stack.call('GET', '/v1/webhook-endpoints', { key: operator() });
    const ids = (page: { items: { id: string; url: string }[] }) =>
      page.items.filter((e) => !e.url.includes('/odd')).map((e) => e.id);
    expect(ids(after.body)).toEqual(ids(before.body));
  });

  it('delivers a payout to a created endpoint, signed with its own secret; env endpoints still work', async () => {
    const created = await createEndpoint('/ok');
    expect(created.secret).toMatch(/^whsec_/);
    expect(created.status).toBe('enabled');

    // Listed without the secret, the env endpoint first (read-only); stored encrypted, audited.
    const list = stack.expectStatus(
      await stack.call('GET', '/v1/webhook-endpoints', { key: operator() }),
      200,
      'list',
    ).body;
    expect(list.items[0]).toMatchObject({ id: 'env:1', url: `${base}/env`, source: 'env' });
    expect(list.items.map((e: { id: string }) => e.id)).toContain(created.id);
    expect(JSON.stringify(list)).not.toContain(created.secret);
    const [row] = await sql<{ secret_ciphertext: string }>(
      stack.db.em(),
      `SELECT secret_ciphertext FROM "${stack.db.schema}".webhook_endpoints WHERE id = $1`,
      [created.id],
    );
    expect(row!.secret_ciphertext).not.toContain(created.secret.slice('whsec_'.length));
    const audit = await sql<{ action: string; actor: string }>(
      stack.db.em(),
      `SELECT action, actor FROM "${stack.db.schema}".audit_log WHERE object_id = $1`,
      [created.id],
    );
    expect(audit).toEqual([{ action: 'webhook_endpoint.create', actor: 'olga' }]);

    const payoutId = await paidPayout();
    const mine = at('/ok', payoutId);
    expect(mine.map((r) => JSON.parse(r.body).type)).toEqual(expect.arrayContaining(['payout.paid']));
    for (const r of mine) {
      expect(r.headers['webhook-signature']).toBe(signature(created.secret, r));
      expect(verifyWebhook(created.secret, r.headers, r.body).id).toBe(r.headers['webhook-id']);
      expect(() => verifyWebhook(envSecret, r.headers, r.body)).toThrow(/signature/);
    }
    // The env endpoint got the same events, signed with WEBHOOK_SECRET.
    const env = at('/env', payoutId);
    expect(env.map((r) => r.headers['webhook-id']).sort()).toEqual(
      mine.map((r) => r.headers['webhook-id']).sort(),
    );
    for (const r of env) expect(r.headers['webhook-signature']).toBe(signature(envSecret, r));

    // The delivery log names the endpoint, its response code and duration.
    const log = await deliveries(paidEvent(payoutId));
    expect(log.status).toBe('delivered');
    expect(log.nextRetryAt).toBeNull();
    expect(log.attempts).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ endpointId: created.id, url: `${base}/ok`, responseStatus: 204, ok: true }),
        expect.objectContaining({ endpointId: null, url: `${base}/env`, responseStatus: 204, ok: true }),
      ]),
    );
  });

  it('signs with both secrets during a rotation, then only with the new one', async () => {
    const created = await createEndpoint('/rotating');
    const rotated = stack.expectStatus(
      await stack.call('POST', `/v1/webhook-endpoints/${created.id}/rotate-secret`, {
        key: operator(),
        body: { previousSecretValidSeconds: 3600 },
      }),
      200,
      'rotate',
    ).body;
    expect(rotated.secret).not.toBe(created.secret);
    expect(rotated.previousSecretExpiresAt).not.toBeNull();
    const during = at('/rotating', await paidPayout());
    expect(during.length).toBeGreaterThan(0);
    for (const r of during) {
      expect(r.headers['webhook-signature']).toBe(
        `${signature(rotated.secret, r)} ${signature(created.secret, r)}`,
      );
      expect(verifyWebhook(rotated.secret, r.headers, r.body).id).toBeTruthy();
      expect(verifyWebhook(created.secret, r.headers, r.body).id).toBeTruthy();
    }

    const retired = stack.expectStatus(
      await stack.call('POST', `/v1/webhook-endpoints/${created.id}/rotate-secret`, {
        key: operator(),
        body: { previousSecretValidSeconds: 0 },
      }),
      200,
      'rotate, retiring the previous secret at once',
    ).body;
    expect(retired.previousSecretExpiresAt).toBeNull();
    const afterwards = at('/rotating', await paidPayout());
    expect(afterwards.length).toBeGreaterThan(0);
    for (const r of afterwards) {
      expect(r.headers['webhook-signature']).toBe(signature(retired.secret, r));
      expect(() => verifyWebhook(rotated.secret, r.headers, r.body)).toThrow(/signature/);
    }
  });

  it('delivers nothing more to a disabled endpoint', async () => {
    const created = await createEndpoint('/disabled');
    const disabled = stack.expectStatus(
      await stack.call('POST', `/v1/webhook-endpoints/${created.id}/disable`, { key: operator() }),
      200,
      'disable',
    ).body;
    expect(disabled).toMatchObject({ id: created.id, status: 'disabled' });
    expect(disabled.disabledAt).not.toBeNull();
    const payoutId = await paidPayout();
    expect(at('/disabled', payoutId)).toEqual([]);
    expect(at('/env', payoutId).length).toBeGreaterThan(0);
    const log = await deliveries(paidEvent(payoutId));
    expect(log.attempts.filter((a: { endpointId: string }) => a.endpointId === created.id)).toEqual([]);
  });

  it('a failing receiver leaves attempts with response codes; a replay after the fix delivers', async () => {
    answers.set('/flaky', 500);
    const created = await createEndpoint('/flaky');
    const payoutId = await paidPayout(); // the workflow waits out every delivery's retries
    const eventId = paidEvent(payoutId);
    const failed = await deliveries(eventId);
    const flaky = failed.attempts.filter((a: { endpointId: string }) => a.endpointId === created.id);
    expect(failed.status).toBe('failed');
    expect(failed.deliveredAt).toBeNull();
    expect(failed.nextRetryAt).toBeNull(); // retries spent: only a replay delivers it now
    expect(failed.deliveryRuns).toBe(25);
    expect(flaky).toHaveLength(25);
    for (const a of flaky) {
      expect(a).toMatchObject({ url: `${base}/flaky`, responseStatus: 500, ok: false, error: 'HTTP 500' });
      expect(Number.isInteger(a.durationMs)).toBe(true);
    }
    // The other endpoints got it once, at the first run, and are not sent it again.
    const okAttempts = failed.attempts.filter((a: { ok: boolean }) => a.ok);
    expect(okAttempts.every((a: { responseStatus: number }) => a.responseStatus === 204)).toBe(true);

    // Found among the undelivered events, which page like other lists.
    const undelivered = await stack.call('GET', '/v1/webhook-events?status=undelivered&limit=200', {
      key: operator(),
    });
    expect(undelivered.status).toBe(200);
    expect(undelivered.body.items.map((e: { eventId: string }) => e.eventId)).toContain(eventId);
    expect(undelivered.body.items.every((e: { deliveredAt: unknown }) => e.deliveredAt === null)).toBe(true);
    const first = await stack.call('GET', '/v1/webhook-events?limit=2', { key: operator() });
    const second = await stack.call(
      'GET',
      `/v1/webhook-events?limit=2&cursor=${encodeURIComponent(first.body.nextCursor)}`,
      {
        key: operator(),
      },
    );
    expect(second.body.items).toHaveLength(2);
    expect(second.body.items.map((e: { eventId: string }) => e.eventId)).not.toContain(
      first.body.items[1].eventId,
    );

    // Paged like other lists.
    const page1 = await stack.call(
      'GET',
      `/v1/webhook-events/${encodeURIComponent(eventId)}/deliveries?limit=10`,
      { key: operator() },
    );
    expect(page1.body.attempts).toHaveLength(10);
    const page2 = await stack.call(
      'GET',
      `/v1/webhook-events/${encodeURIComponent(eventId)}/deliveries?limit=10&cursor=${page1.body.nextCursor}`,
      { key: operator() },
    );
    expect(page2.body.attempts[0].id).not.toBe(page1.body.attempts[9].id);
    expect(Number(page2.body.attempts[0].id)).toBeGreaterThan(Number(page1.body.attempts[9].id));

    const platform = await stack.call('POST', `/v1/webhook-events/${encodeURIComponent(eventId)}/replay`);
    expect(platform.status).toBe(403);

    answers.set('/flaky', 204);
    const before = received.length;
    const replay = stack.expectStatus(
      await stack.call('POST', `/v1/webhook-events/${encodeURIComponent(eventId)}/replay`, {
        key: operator(),
      }),
      200,
      'replay',
    ).body;
    expect(replay.status).toBe('delivered');
    expect(replay.attempts.at(-1)).toMatchObject({ endpointId: created.id, responseStatus: 204, ok: true });
    // Only the endpoint that lacked it was sent it, with the same webhook-id.
    const resent = received.slice(before);
    expect(resent.map((r) => [r.path, r.headers['webhook-id']])).toEqual([['/flaky', eventId]]);
    expect(resent[0]!.headers['webhook-signature']).toBe(signature(created.secret, resent[0]!));

    const again = await stack.call('POST', `/v1/webhook-events/${encodeURIComponent(eventId)}/replay`, {
      key: operator(),
    });
    expect(again.status).toBe(409);
    expect(again.contentType).toContain('application/problem+json');
    const audit = await sql<{ action: string }>(
      stack.db.em(),
      `SELECT action FROM "${stack.db.schema}".audit_log WHERE object_id = $1`,
      [eventId],
    );
    expect(audit).toEqual([{ action: 'webhook_event.replay' }]);
  });
});
