// Idempotency-Key semantics: replay, reuse with another request (422), concurrent duplicate (409), and that
// the stored response commits or rolls back with the handler's writes.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { z } from 'zod';
import { ApiError } from '../../src/api/errors.ts';
import { defineRoute } from '../../src/api/route.ts';
import { countRows, newIdempotencyKey, startTestApi, type TestApi } from './support.ts';

const embedded = process.env.DISBURSE_TEST_EMBEDDED_DB === 'pglite';
let api: TestApi;
let slowRuns = 0;
let releaseSlow: (() => void) | undefined;

// A route that waits until the test releases it, to hold a request in flight.
const slowRoute = defineRoute({
  method: 'post',
  path: '/v1/test/slow',
  summary: 'Test-only slow write',
  roles: ['platform'],
  body: z.strictObject({ n: z.number().describe('any number') }).describe('test body'),
  responses: {
    201: { description: 'done', schema: z.object({ run: z.number().describe('run') }).describe('result') },
  },
  handler: async (ctx) => {
    slowRuns++;
    const run = slowRuns;
    await new Promise<void>((resolve) => {
      releaseSlow = resolve;
    });
    await ctx.audit({ action: 'test.slow', objectType: 'test', objectId: String(ctx.body.n) });
    return { status: 201, body: { run } };
  },
});

// A route that writes, then fails: nothing (not even the idempotency record) may remain.
const failingRoute = defineRoute({
  method: 'post',
  path: '/v1/test/fail-after-write',
  summary: 'Test-only failing write',
  roles: ['platform'],
  body: z.strictObject({}).describe('empty'),
  responses: { 201: { description: 'never' } },
  handler: async (ctx) => {
    await ctx.audit({ action: 'test.fail', objectType: 'test', objectId: 'x' });
    throw new ApiError('unprocessable', 'failing on purpose after a write');
  },
});

beforeAll(async () => {
  api = await startTestApi('api_idem', { routes: [slowRoute, failingRoute] });
});
afterAll(async () => {
  await api?.close();
});

const payeeBody = (ext: string) => ({
  externalId: ext,
  name: 'Idem',
  email: 'idem@example.com',
  country: 'DE',
  defaultCurrency: 'EUR',
});

describe('Idempotency-Key', () => {
  it('is required on POST', async () => {
    const before = await countRows(api, 'payees');
    const res = await api.call('POST', '/v1/payees', {
      body: payeeBody('idem-missing'),
      idempotencyKey: null,
    });
    expect(res.status).toBe(400);
    expect(res.body.kind).toBe('idempotency_key_missing');
    expect(await countRows(api, 'payees')).toBe(before);
  });

  it('same key + same body replays the stored response without a second write', async () => {
    const key = newIdempotencyKey();
    const first = await api.call('POST', '/v1/payees', {
      body: payeeBody('idem-replay'),
      idempotencyKey: key,
    });
    expect(first.status).toBe(201);
    const count = await countRows(api, 'payees');
    // Same JSON with keys in another order is the same request.
    const { externalId, ...rest } = payeeBody('idem-replay');
    const second = await api.call('POST', '/v1/payees', {
      body: { ...rest, externalId },
      idempotencyKey: key,
    });
    expect(second.status).toBe(201);
    expect(second.body).toEqual(first.body);
    expect(second.headers.get('idempotent-replayed')).toBe('true');
    expect(await countRows(api, 'payees')).toBe(count);
  });

  it('same key + different body is 422 and writes nothing', async () => {
    const key = newIdempotencyKey();
    expect(
      (await api.call('POST', '/v1/payees', { body: payeeBody('idem-a'), idempotencyKey: key })).status,
    ).toBe(201);
    const count = await countRows(api, 'payees');
    const res = await api.call('POST', '/v1/payees', { body: payeeBody('idem-b'), idempotencyKey: key });
    expect(res.status).toBe(422);
    expect(res.body.kind).toBe('idempotency_key_reused');
    expect(await countRows(api, 'payees')).toBe(count);
  });

  it('same key on another path is 422', async () => {
    const key = newIdempotencyKey();
    const p = await api.createPayee();
    expect(
      (await api.call('POST', `/v1/payees/${p.id}/tokens`, { body: {}, idempotencyKey: key })).status,
    ).toBe(201);
    const res = await api.call('POST', '/v1/payees', { body: {}, idempotencyKey: key });
    // Body validation comes first (bad input never touches the key); a valid body then conflicts.
    expect(res.status).toBe(400);
    const res2 = await api.call('POST', '/v1/payees', { body: payeeBody('idem-path'), idempotencyKey: key });
    expect(res2.status).toBe(422);
  });

  it('keys are scoped per caller', async () => {
    const key = newIdempotencyKey();
    const p = await api.createPayee();
    const { createApiKey } = await import('../../src/auth/api-keys.ts');
    const otherPlatform = await createApiKey(api.db.em(), { role: 'platform', actor: 'other-backend' });
    const a = await api.call('POST', `/v1/payees/${p.id}/tokens`, { body: {}, idempotencyKey: key });
    const b = await api.call('POST', `/v1/payees/${p.id}/tokens`, {
      body: {},
      idempotencyKey: key,
      key: otherPlatform.key,
    });
    expect(a.status).toBe(201);
    expect(b.status).toBe(201);
    expect(b.body.tokenId).not.toBe(a.body.tokenId);
  });

  it('a token response is replayed identically but stored encrypted', async () => {
    const key = newIdempotencyKey();
    const p = await api.createPayee();
    const a = await api.call('POST', `/v1/payees/${p.id}/tokens`, { body: {}, idempotencyKey: key });
    const b = await api.call('POST', `/v1/payees/${p.id}/tokens`, { body: {}, idempotencyKey: key });
    expect(b.body).toEqual(a.body);
    const { sql } = await import('../../src/db/sql.ts');
    const rows = await sql<{ body: string }>(
      api.db.em(),
      `SELECT response_body::text AS body FROM "${api.db.schema}".idempotency_keys WHERE key = $1`,
      [key],
    );
    expect(rows[0]!.body).not.toContain(a.body.token);
    expect(rows[0]!.body).toContain('sealed');
  });

  it('old records can be purged', async () => {
    const { purgeIdempotencyRecords } = await import('../../src/api/idempotency.ts');
    const total = await countRows(api, 'idempotency_keys');
    expect(total).toBeGreaterThan(0);
    expect(await purgeIdempotencyRecords(api.db.em(), new Date(Date.now() - 3600_000))).toBe(0);
    expect(await purgeIdempotencyRecords(api.db.em(), new Date(Date.now() + 1000))).toBe(total);
    expect(await countRows(api, 'idempotency_keys')).toBe(0);
  });

  it('a failed handler leaves no idempotency record and no writes; the key can be retried', async () => {
    const key = newIdempotencyKey();
    const audits = await countRows(api, 'audit_log');
    const keys = await countRows(api, 'idempotency_keys');
    const res = await api.call('POST', '/v1/test/fail-after-write', { body: {}, idempotencyKey: key });
    expect(res.status).toBe(422);
    expect(await countRows(api, 'audit_log')).toBe(audits);
    expect(await countRows(api, 'idempotency_keys')).toBe(keys);
  });

  it(`a concurrent duplicate is ${embedded ? 'serialised and replayed (PGlite: one session)' : 'refused with 409'}; the handler runs once`, async () => {
    const key = newIdempotencyKey();
    slowRuns = 0;
    const first = api.call('POST', '/v1/test/slow', { body: { n: 1 }, idempotencyKey: key });
    // Wait until the first request is inside its handler (holding the key).
    for (let i = 0; i < 200 && slowRuns === 0; i++) await new Promise((r) => setTimeout(r, 10));
    expect(slowRuns).toBe(1);
    if (embedded) {
      const second = api.call('POST', '/v1/test/slow', { body: { n: 1 }, idempotencyKey: key });
      await new Promise((r) => setTimeout(r, 100));
      releaseSlow!();
      const [a, b] = await Promise.all([first, second]);
      expect(a.status).toBe(201);
      expect(b.body).toEqual(a.body);
    } else {
      const second = await api.call('POST', '/v1/test/slow', { body: { n: 1 }, idempotencyKey: key });
      expect(second.status).toBe(409);
      expect(second.body.kind).toBe('idempotency_in_flight');
      expect(second.headers.get('retry-after')).toBe('1');
      releaseSlow!();
      const a = await first;
      expect(a.status).toBe(201);
      const third = await api.call('POST', '/v1/test/slow', { body: { n: 1 }, idempotencyKey: key });
      expect(third.status).toBe(201);
      expect(third.body).toEqual(a.body);
    }
    expect(slowRuns).toBe(1);
  });
});
