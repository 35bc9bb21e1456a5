// Idempotency-Key semantics: replay, reuse with another request (422), concurrent duplicate (409), and that
// the stored response commits or rolls back with the handler's writes. Routes in lease mode (no transaction
// around the handler): the same answers, plus what happens when a request dies mid-way.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { z } from 'zod';
import { defineRoute } from '../../src/api/route.ts';
import { sql } from '../../src/db/sql.ts';
import { ApiError } from '../../src/http/errors.ts';
import { testDatabaseKind } from '../support/db.ts';
import { countRows, newIdempotencyKey, startTestApi, type TestApi } from './support.ts';

const embedded = testDatabaseKind() === 'pglite';
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

// Lease mode: each call runs until the test releases it, then answers or fails as the test says.
let leaseRuns = 0;
const leaseGates: (() => void)[] = [];
let leaseOutcome: 'ok' | 'crash' | 'refuse' = 'ok';
const leaseRoute = defineRoute({
  method: 'post',
  path: '/v1/test/lease',
  summary: 'Test-only leased write',
  roles: ['platform'],
  body: z.strictObject({ n: z.number().describe('any number') }).describe('test body'),
  responses: {
    201: { description: 'done', schema: z.object({ run: z.number().describe('run') }).describe('result') },
  },
  idempotencyMode: 'lease',
  handler: async (ctx) => {
    // Reads may run while the key is claimed; a refusal comes from them, before the key is held.
    if (leaseOutcome === 'refuse') throw new ApiError('unprocessable', 'refused before writing');
    await ctx.untilKeyHeld();
    const run = ++leaseRuns;
    await new Promise<void>((resolve) => leaseGates.push(resolve));
    await ctx.audit({ action: 'test.lease', objectType: 'test', objectId: `${ctx.body.n}:${run}` });
    if (leaseOutcome === 'crash') throw new Error('the remote call failed after the write');
    return { status: 201, body: { run } };
  },
});

/** Waits until `n` leased handler calls wait for release. */
async function leaseWaiting(n: number) {
  for (let i = 0; i < 300 && leaseGates.length < n; i++) await new Promise((r) => setTimeout(r, 10));
  expect(leaseGates.length).toBe(n);
}
const releaseLease = () => leaseGates.shift()!();

beforeAll(async () => {
  api = await startTestApi('api_idem', { routes: [slowRoute, failingRoute, leaseRoute] });
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
    const { purgeIdempotencyRecords } = await import('../../src/http/idempotency.ts');
    const total = await countRows(api, 'idempotency_keys');
    expect(total).toBeGreaterThan(0);
    expect(await purgeIdempotencyRecords(api.db.em(), new Date(Date.now() - 3600_000))).toBe(0);
    expect(await purgeIdempotencyRecords(api.db.em(), new Date(Date.now() + 1000))).toBe(total);
    expect(await countRows(api, 'idempotency_keys')).toBe(0);
  });

  it('every API process purges answers older than the retention, now and then', async () => {
    const { startIdempotencyPurge } = await import('../../src/http/idempotency.ts');
    const [oldKey, newKey] = [newIdempotencyKey(), newIdempotencyKey()];
    for (const [key, ext] of [
      [oldKey, 'idem-purge-old'],
      [newKey, 'idem-purge-new'],
    ]) {
      expect(
        (await api.call('POST', '/v1/payees', { body: payeeBody(ext!), idempotencyKey: key! })).status,
      ).toBe(201);
    }
    await sql(
      api.db.em(),
      `UPDATE "${api.db.schema}".idempotency_keys SET created_at = now() - interval '8 days' WHERE key = $1`,
      [oldKey],
    );
    const errors: unknown[] = [];
    const stop = startIdempotencyPurge({
      em: () => api.db.em(),
      retentionMs: 7 * 86_400_000,
      everyMs: 50,
      onError: (e) => errors.push(e),
    });
    const stored = async (key: string) =>
      (await sql(api.db.em(), `SELECT 1 FROM "${api.db.schema}".idempotency_keys WHERE key = $1`, [key]))
        .length;
    try {
      for (let i = 0; i < 100 && (await stored(oldKey)) > 0; i++) await new Promise((r) => setTimeout(r, 20));
    } finally {
      stop();
    }
    expect([await stored(oldKey), await stored(newKey), errors]).toEqual([0, 1, []]);
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

describe('Idempotency-Key on a leased route (no transaction around the handler)', () => {
  const call = (key: string, n = 1) =>
    api.call('POST', '/v1/test/lease', { body: { n }, idempotencyKey: key });
  /** The stored record: whether its lease still runs (null: answered) and its answer's status. */
  const record = async (key: string) =>
    (
      await sql<{ leased: boolean | null; status: number | null }>(
        api.db.em(),
        `SELECT lease_until > now() AS leased, response_status AS status
           FROM "${api.db.schema}".idempotency_keys WHERE key = $1`,
        [key],
      )
    )[0];

  beforeEach(() => {
    leaseRuns = 0;
    leaseOutcome = 'ok';
  });

  it('a duplicate while the first is in flight is 409; once answered it is replayed; the handler ran once', async () => {
    const key = newIdempotencyKey();
    const first = call(key);
    await leaseWaiting(1);
    expect(await record(key)).toEqual({ leased: true, status: null });
    const dup = await call(key);
    expect(dup.status).toBe(409);
    expect(dup.body.kind).toBe('idempotency_in_flight');
    expect(dup.headers.get('retry-after')).toBe('1');
    releaseLease();
    const a = await first;
    expect(a.status).toBe(201);
    expect(await record(key)).toEqual({ leased: null, status: 201 });
    const again = await call(key);
    expect(again.status).toBe(201);
    expect(again.body).toEqual(a.body);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    const other = await call(key, 2);
    expect(other.status).toBe(422);
    expect(other.body.kind).toBe('idempotency_key_reused');
    // The stored answer wins over what the handler would say now (e.g. the funds are held by then).
    leaseOutcome = 'refuse';
    expect((await call(key)).body).toEqual(a.body);
    expect(leaseRuns).toBe(1);
  });

  it('a refusal (4xx) forgets the claim: the key is unused afterwards', async () => {
    const key = newIdempotencyKey();
    leaseOutcome = 'refuse';
    const keys = await countRows(api, 'idempotency_keys');
    const res = await call(key);
    expect(res.status).toBe(422);
    expect(res.body.kind).toBe('unprocessable');
    expect(await countRows(api, 'idempotency_keys')).toBe(keys);
    leaseOutcome = 'ok';
    const other = call(key, 2);
    await leaseWaiting(1);
    releaseLease();
    expect((await other).status).toBe(201);
  });

  it('after a failure mid-way the same request runs again at once; another request under the key is 422', async () => {
    const key = newIdempotencyKey();
    leaseOutcome = 'crash';
    const failed = call(key);
    await leaseWaiting(1);
    releaseLease();
    expect((await failed).status).toBe(500);
    // The claim stays (its request may have had effects) but its lease has ended.
    expect(await record(key)).toEqual({ leased: false, status: null });
    expect((await call(key, 2)).status).toBe(422);
    leaseOutcome = 'ok';
    const retried = call(key);
    await leaseWaiting(1);
    releaseLease();
    const res = await retried;
    expect(res.status).toBe(201);
    expect(res.body).toEqual({ run: 2 });
  });

  it('a claim whose lease ran out (its request died) is taken over by the same request', async () => {
    const key = newIdempotencyKey();
    const stuck = call(key);
    await leaseWaiting(1);
    // As if the process serving the first request had died: its lease runs out with no answer stored.
    await sql(
      api.db.em(),
      `UPDATE "${api.db.schema}".idempotency_keys SET lease_until = now() - interval '1 second' WHERE key = $1`,
      [key],
    );
    expect((await call(key, 2)).status).toBe(422);
    const takeover = call(key);
    await leaseWaiting(2);
    releaseLease();
    releaseLease();
    const [a, b] = await Promise.all([stuck, takeover]);
    expect([a.status, b.status]).toEqual([201, 201]);
    expect(leaseRuns).toBe(2);
    expect((await call(key)).headers.get('idempotent-replayed')).toBe('true');
  });
});
