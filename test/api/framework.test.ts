// Framework behaviour the payout and webhook routes rely on: raw body for signatures, optional
// idempotency, non-JSON responses, response schemas stripping undeclared fields, and 500s that roll back.
import { createHmac } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { z } from 'zod';
import { defineRoute } from '../../src/api/route.ts';
import { countRows, startTestApi, type TestApi } from './support.ts';

const webhookSecret = 'whsec_test';
let api: TestApi;

const routes = [
  defineRoute({
    method: 'post',
    path: '/v1/test/webhooks/:provider',
    summary: 'Test-only signed webhook',
    roles: [],
    idempotency: 'optional',
    params: z.strictObject({ provider: z.string().describe('provider name') }),
    body: z.strictObject({ id: z.string().describe('event id') }).describe('event'),
    responses: { 202: { description: 'accepted' } },
    handler: async (ctx) => {
      const expected = createHmac('sha256', webhookSecret)
        .update(ctx.rawBody ?? Buffer.alloc(0))
        .digest('hex');
      if (ctx.req.get('x-signature') !== expected) {
        throw Object.assign(new Error('signature mismatch'), { kind: 'unauthenticated' });
      }
      return { status: 202 };
    },
  }),
  defineRoute({
    method: 'get',
    path: '/v1/test/export.csv',
    summary: 'Test-only CSV',
    roles: ['operator'],
    responses: { 200: { description: 'CSV', contentType: 'text/csv' } },
    handler: async () => ({ status: 200, body: 'a,b\n1,2\n' }),
  }),
  defineRoute({
    method: 'get',
    path: '/v1/test/strip',
    summary: 'Test-only response stripping',
    roles: ['operator'],
    responses: {
      200: { description: 'ok', schema: z.object({ shown: z.string().describe('shown') }).describe('view') },
    },
    handler: async () => ({ status: 200, body: { shown: 'yes', accountNumber: '123456789' } }),
  }),
  defineRoute({
    method: 'post',
    path: '/v1/test/undeclared',
    summary: 'Test-only bug',
    roles: ['platform'],
    responses: { 201: { description: 'never' } },
    handler: async (ctx) => {
      await ctx.audit({ action: 'test.bug', objectType: 'test', objectId: '1' });
      return { status: 299 };
    },
  }),
];

beforeAll(async () => {
  api = await startTestApi('api_framework', { routes });
});
afterAll(async () => {
  await api?.close();
});

describe('framework', () => {
  it('gives handlers the exact raw body and lets public webhooks skip Idempotency-Key', async () => {
    const raw = '{ "id":"evt_1" }';
    const sig = createHmac('sha256', webhookSecret).update(raw).digest('hex');
    const headers = { 'content-type': 'application/json', 'x-signature': sig };
    const ok = await api.call('POST', '/v1/test/webhooks/sandbox', {
      key: null,
      rawBody: raw,
      headers,
      idempotencyKey: null,
    });
    expect(ok.status).toBe(202);
    const bad = await api.call('POST', '/v1/test/webhooks/sandbox', {
      key: null,
      rawBody: raw,
      headers: { ...headers, 'x-signature': 'nope' },
      idempotencyKey: null,
    });
    expect(bad.status).toBe(401);
    const post = api.openapi.paths['/v1/test/webhooks/{provider}']!.post as {
      parameters: { name: string; required: boolean }[];
    };
    expect(post.parameters.find((p) => p.name === 'Idempotency-Key')?.required).toBe(false);
  });

  it('sends non-JSON responses as declared', async () => {
    const res = await api.call('GET', '/v1/test/export.csv', { key: api.keys.operator.key });
    expect(res.status).toBe(200);
    expect(res.contentType).toContain('text/csv');
    expect(res.text).toBe('a,b\n1,2\n');
  });

  it('strips fields a response schema does not declare', async () => {
    const res = await api.call('GET', '/v1/test/strip', { key: api.keys.operator.key });
    expect(res.body).toEqual({ shown: 'yes' });
  });

  it('turns a handler bug into a 500 problem with an errorId in the error log, and rolls back', async () => {
    const before = await countRows(api, 'audit_log');
    const res = await api.call('POST', '/v1/test/undeclared', { body: {} });
    expect(res.status).toBe(500);
    expect(res.body.kind).toBe('internal');
    expect(res.body.detail).not.toMatch(/299/);
    const line = api.logs.map((l) => JSON.parse(l)).find((l) => l.errorId === res.body.errorId);
    expect(line).toMatchObject({ level: 'error', status: 500, errorKind: 'internal' });
    expect(line.error.message).toMatch(/undeclared status 299/);
    expect(await countRows(api, 'audit_log')).toBe(before);
  });

  it('echoes a valid X-Request-Id and logs it', async () => {
    const res = await api.call('GET', '/healthz', {
      key: null,
      headers: { 'x-request-id': 'trace-abc.123' },
    });
    expect(res.headers.get('x-request-id')).toBe('trace-abc.123');
    expect(api.logs.some((l) => JSON.parse(l).requestId === 'trace-abc.123')).toBe(true);
    const generated = await api.call('GET', '/healthz', {
      key: null,
      headers: { 'x-request-id': 'bad id with spaces' },
    });
    expect(generated.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });
});
