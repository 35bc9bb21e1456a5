// Bad input: a 4xx application/problem+json naming the field, and nothing written.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { countRows, startTestApi, type TestApi } from './support.ts';

let api: TestApi;
let payeeId: string;
const tables = [
  'payees',
  'payee_destinations',
  'payee_destination_changes',
  'audit_log',
  'idempotency_keys',
  'ledger_transactions',
];

async function snapshot() {
  const out: Record<string, number> = {};
  for (const t of tables) out[t] = await countRows(api, t);
  return out;
}

beforeAll(async () => {
  api = await startTestApi('api_validation', { bodyLimitBytes: 2048 });
  payeeId = (await api.createPayee({ externalId: 'valid-existing' })).id;
});
afterAll(async () => {
  await api?.close();
});

const validPayee = {
  externalId: 'v-1',
  name: 'V',
  email: 'v@example.com',
  country: 'US',
  defaultCurrency: 'USD',
};

type Case = [
  name: string,
  method: string,
  path: () => string,
  opts: Record<string, unknown>,
  status: number,
  kind: string,
  fieldPath?: string,
];

const cases: Case[] = [
  [
    'unknown field',
    'POST',
    () => '/v1/payees',
    { body: { ...validPayee, isAdmin: true } },
    400,
    'validation_failed',
    'body.isAdmin',
  ],
  [
    'missing field',
    'POST',
    () => '/v1/payees',
    { body: { ...validPayee, email: undefined } },
    400,
    'validation_failed',
    'body.email',
  ],
  [
    'bad email',
    'POST',
    () => '/v1/payees',
    { body: { ...validPayee, email: 'nope' } },
    400,
    'validation_failed',
    'body.email',
  ],
  [
    'bad country',
    'POST',
    () => '/v1/payees',
    { body: { ...validPayee, country: 'usa' } },
    400,
    'validation_failed',
    'body.country',
  ],
  [
    'bad TIN',
    'POST',
    () => '/v1/payees',
    { body: { ...validPayee, taxProfile: { form: 'w9', tin: '12' } } },
    400,
    'validation_failed',
    'body.taxProfile.tin',
  ],
  [
    'duplicate externalId',
    'POST',
    () => '/v1/payees',
    { body: { ...validPayee, externalId: 'valid-existing' } },
    409,
    'conflict',
  ],
  [
    'unknown sponsor',
    'POST',
    () => '/v1/payees',
    { body: { ...validPayee, sponsorId: 'pe_000000000000000000000000' } },
    422,
    'unprocessable',
  ],
  ['array body', 'POST', () => '/v1/payees', { body: [validPayee] }, 400, 'validation_failed'],
  [
    'malformed JSON',
    'POST',
    () => '/v1/payees',
    { rawBody: '{"externalId":', headers: { 'content-type': 'application/json' } },
    400,
    'malformed_json',
  ],
  [
    'not JSON',
    'POST',
    () => '/v1/payees',
    { rawBody: 'externalId=x', headers: { 'content-type': 'application/x-www-form-urlencoded' } },
    415,
    'unsupported_media_type',
  ],
  [
    'too large',
    'POST',
    () => '/v1/payees',
    { body: { ...validPayee, name: 'x'.repeat(5000) } },
    413,
    'payload_too_large',
  ],
  [
    'bad idempotency key',
    'POST',
    () => '/v1/payees',
    { body: validPayee, idempotencyKey: 'short' },
    400,
    'validation_failed',
  ],
  ['bad payee id', 'GET', () => '/v1/payees/123', {}, 400, 'validation_failed', 'params.id'],
  ['unknown payee', 'GET', () => '/v1/payees/pe_000000000000000000000000', {}, 404, 'not_found'],
  [
    'bad destination kind',
    'PUT',
    () => `/v1/payees/${payeeId}/destinations/cash`,
    { body: {} },
    400,
    'validation_failed',
    'params.kind',
  ],
  [
    'invalid IBAN',
    'PUT',
    () => `/v1/payees/${payeeId}/destinations/bank_account`,
    { body: { holderName: 'A', country: 'DE', currency: 'EUR', iban: 'DE00370400440532013000' } },
    400,
    'validation_failed',
    'body.iban',
  ],
  [
    'bad ABA routing',
    'PUT',
    () => `/v1/payees/${payeeId}/destinations/bank_account`,
    {
      body: {
        holderName: 'A',
        country: 'US',
        currency: 'USD',
        accountNumber: '12345678',
        routingNumber: '123456789',
      },
    },
    400,
    'validation_failed',
    'body.routingNumber',
  ],
  [
    'card number instead of token',
    'PUT',
    () => `/v1/payees/${payeeId}/destinations/card`,
    { body: { cardToken: '4111111111111111' } },
    400,
    'validation_failed',
    'body.cardToken',
  ],
  [
    'wallet body for card kind',
    'PUT',
    () => `/v1/payees/${payeeId}/destinations/card`,
    { body: { provider: 'paypal', walletId: 'a@b.c' } },
    400,
    'validation_failed',
    'body.provider',
  ],
  [
    'bad crypto address',
    'PUT',
    () => `/v1/payees/${payeeId}/destinations/crypto`,
    { body: { network: 'ethereum', address: '0x123' } },
    400,
    'validation_failed',
    'body.address',
  ],
  [
    'float money',
    'POST',
    () => `/v1/payees/${payeeId}/credits`,
    { body: { amount: { amount: '12.50', currency: 'USD', scale: 2 }, reference: 'r1' } },
    400,
    'validation_failed',
    'body.amount.amount',
  ],
  [
    'zero credit',
    'POST',
    () => `/v1/payees/${payeeId}/credits`,
    { body: { amount: { amount: '0', currency: 'USD', scale: 2 }, reference: 'r2' } },
    400,
    'validation_failed',
  ],
  [
    'unknown currency',
    'POST',
    () => `/v1/payees/${payeeId}/credits`,
    { body: { amount: { amount: '100', currency: 'XXQ', scale: 2 }, reference: 'r3' } },
    400,
    'validation_failed',
  ],
  [
    'credit to unknown payee',
    'POST',
    () => '/v1/payees/pe_000000000000000000000000/credits',
    { body: { amount: { amount: '100', currency: 'USD', scale: 2 }, reference: 'r4' } },
    404,
    'not_found',
  ],
  [
    'unknown query parameter',
    'GET',
    () => `/v1/payees/${payeeId}/wallet?foo=1`,
    {},
    400,
    'validation_failed',
    'query.foo',
  ],
  [
    'bad limit',
    'GET',
    () => `/v1/payees/${payeeId}/wallet?limit=1000`,
    {},
    400,
    'validation_failed',
    'query.limit',
  ],
  ['bad cursor', 'GET', () => `/v1/payees/${payeeId}/wallet?cursor=garbage`, {}, 400, 'validation_failed'],
  [
    'body on GET-less route',
    'POST',
    () => `/v1/payees/${payeeId}/tokens`,
    { body: { ttlSeconds: 5 } },
    400,
    'validation_failed',
    'body.ttlSeconds',
  ],
  ['unknown route', 'GET', () => '/v1/nothing', {}, 404, 'not_found'],
  ['wrong method', 'DELETE', () => `/v1/payees/${payeeId}`, {}, 405, 'method_not_allowed'],
];

describe('bad input', () => {
  // Rest parameters: jest would take a declared 7th parameter for a done callback on 6-element rows.
  it.each(cases)('%s (%s)', async (...row: Case) => {
    const [, method, path, opts, status, kind, fieldPath] = row;
    const before = await snapshot();
    const res = await api.call(method, path(), opts);
    expect(res.status).toBe(status);
    expect(res.contentType).toContain('application/problem+json');
    expect(res.body).toMatchObject({
      status,
      kind,
      type: `urn:disburse:problem:${kind}`,
      instance: path().split('?')[0],
    });
    expect(typeof res.body.title).toBe('string');
    expect(res.body.detail.length).toBeGreaterThan(5);
    expect(res.body.errorId).toMatch(/^[0-9a-f-]{36}$/);
    if (fieldPath) expect(res.body.errors.map((e: { path: string }) => e.path)).toContain(fieldPath);
    expect(await snapshot()).toEqual(before);
    // The error id is in the log line of that request.
    expect(api.logs.some((l) => l.includes(res.body.errorId))).toBe(true);
  });

  it('answers 429 with Retry-After when a key exceeds its rate', async () => {
    const limited = await startTestApi('api_ratelimit', { rateLimit: { ratePerSecond: 1, burst: 3 } });
    try {
      const statuses: number[] = [];
      let retryAfter: string | null = null;
      for (let i = 0; i < 5; i++) {
        const r = await limited.call('GET', '/v1/payees/pe_000000000000000000000000');
        statuses.push(r.status);
        if (r.status === 429) retryAfter = r.headers.get('retry-after');
      }
      expect(statuses.slice(0, 3)).toEqual([404, 404, 404]);
      expect(statuses.slice(3)).toEqual([429, 429]);
      expect(Number(retryAfter)).toBeGreaterThanOrEqual(1);
      // Another key has its own bucket.
      const other = await limited.call('GET', '/v1/payees/pe_000000000000000000000000', {
        key: limited.keys.operator.key,
      });
      expect(other.status).toBe(404);
    } finally {
      await limited.close();
    }
  });
});

describe('health', () => {
  it('healthz is up; readyz reports each check and 503 when one fails', async () => {
    const failing = await startTestApi('api_ready', {
      readinessChecks: [{ name: 'temporal', check: () => Promise.reject(new Error('connection refused')) }],
    });
    try {
      expect((await failing.call('GET', '/healthz', { key: null })).status).toBe(200);
      const r = await failing.call('GET', '/readyz', { key: null });
      expect(r.status).toBe(503);
      expect(r.body.status).toBe('not_ready');
      expect(r.body.checks).toEqual([
        expect.objectContaining({ name: 'database', ok: true }),
        expect.objectContaining({ name: 'temporal', ok: false, error: 'connection refused' }),
      ]);
    } finally {
      await failing.close();
    }
    expect((await api.call('GET', '/readyz', { key: null })).body.status).toBe('ready');
  });
});
