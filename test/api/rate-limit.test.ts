// Rate limits shared across API processes (issue 14, finding 6): the limiter was per process (N replicas
// allowed N×), looked invalid API keys up before limiting them, and did not cover the provider webhook route.
// Now the buckets are in PostgreSQL, every request spends before any lookup, and every response carries the
// RateLimit-* headers. The apps' clock is injected and never moves unless a test moves it: no waiting.
import { randomBytes } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { Client } from '@temporalio/client';
import { listen } from '../../src/api/app.ts';
import { createHttpApp } from '../../src/app/http.ts';
import { createServices } from '../../src/app/services.ts';
import { authenticateApiKey } from '../../src/auth/api-keys.ts';
import { loadConfig } from '../../src/config/index.ts';
import { keyringFromKeys } from '../../src/crypto/index.ts';
import { sql } from '../../src/db/sql.ts';
import { createLogger } from '../../src/observability/log.ts';
import { PayoutGateway } from '../../src/payouts/gateway.ts';
import { createTestDatabase } from '../support/db.ts';
import { type CallResult, startTestApi, type TestApi } from './support.ts';

let clock = new Date('2026-05-01T10:00:00Z');
const now = () => clock;
const tick = (ms: number) => {
  clock = new Date(clock.getTime() + ms);
};
const missing = '/v1/payees/pe_000000000000000000000000';
const randomKey = () => `dsb_${randomBytes(8).toString('hex')}_${randomBytes(32).toString('base64url')}`;

function limitHeaders(r: CallResult) {
  return {
    limit: r.headers.get('ratelimit-limit'),
    remaining: r.headers.get('ratelimit-remaining'),
    reset: r.headers.get('ratelimit-reset'),
  };
}

function expect429(r: CallResult, limit: number) {
  expect(r.status).toBe(429);
  expect(r.contentType).toContain('application/problem+json');
  expect(r.body).toMatchObject({ status: 429, kind: 'rate_limited' });
  expect(Number(r.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
  expect(limitHeaders(r)).toEqual({ limit: String(limit), remaining: '0', reset: expect.any(String) });
  expect(Number(r.headers.get('ratelimit-reset'))).toBeGreaterThanOrEqual(1);
}

const opened: TestApi[] = [];
afterEach(async () => {
  // Second instances first: they serve the first one's database.
  for (const api of opened.reverse()) await api.close();
  opened.length = 0;
});
async function start(label: string, opts: Parameters<typeof startTestApi>[1] = {}) {
  const api = await startTestApi(label, { now, ...opts });
  opened.push(api);
  return api;
}

describe('shared buckets', () => {
  it('two API processes on one database spend from one budget', async () => {
    const rateLimit = { ratePerSecond: 1, burst: 5 };
    const a = await start('rl_shared', { rateLimit });
    const b = await start('rl_shared_b', { rateLimit, db: a.db, security: a.security });
    const key = a.keys.platform.key;
    const remaining: (string | null)[] = [];
    for (let i = 0; i < 3; i++) {
      const r = await a.call('GET', missing, { key });
      expect(r.status).toBe(404);
      expect(r.headers.get('ratelimit-limit')).toBe('5');
      remaining.push(r.headers.get('ratelimit-remaining'));
    }
    // The second process sees what the first spent.
    for (let i = 0; i < 2; i++) {
      const r = await b.call('GET', missing, { key });
      expect(r.status).toBe(404);
      remaining.push(r.headers.get('ratelimit-remaining'));
    }
    expect(remaining).toEqual(['4', '3', '2', '1', '0']);
    expect429(await a.call('GET', missing, { key }), 5);
    expect429(await b.call('GET', missing, { key }), 5);
    // One second refills one token, for both.
    tick(1000);
    expect((await b.call('GET', missing, { key })).status).toBe(404);
    expect429(await a.call('GET', missing, { key }), 5);
    // Another key has its own bucket.
    expect((await a.call('GET', missing, { key: a.keys.operator.key })).status).toBe(404);
  });

  it('concurrent requests on both processes spend each token once', async () => {
    const rateLimit = { ratePerSecond: 1, burst: 10 };
    const a = await start('rl_race', { rateLimit });
    const b = await start('rl_race_b', { rateLimit, db: a.db, security: a.security });
    const key = a.keys.operator.key;
    // Each process verifies the key once first: 2 of its 10 tokens (and 2 of the address's).
    await Promise.all([a.call('GET', missing, { key }), b.call('GET', missing, { key })]);
    const results = await Promise.all(
      Array.from({ length: 30 }, (_, i) => (i % 2 ? a : b).call('GET', missing, { key })),
    );
    const statuses = results.map((r) => r.status);
    expect(statuses.filter((s) => s === 404)).toHaveLength(8);
    expect(statuses.filter((s) => s === 429)).toHaveLength(22);
  });

  it('drops buckets idle long enough to be full again', async () => {
    const api = await start('rl_sweep', { rateLimit: { ratePerSecond: 1, burst: 10 } });
    const table = `"${api.db.schema}".rate_limit_buckets`;
    const keys = async () =>
      (await sql<{ key: string }>(api.db.em(), `SELECT key FROM ${table} ORDER BY key`)).map((r) => r.key);
    expect((await api.call('GET', missing, { key: api.keys.approver.key })).status).toBe(404);
    expect(await keys()).toEqual(['ip:127.0.0.1', `key:${api.keys.approver.keyId}`]);
    // 10 s refill them; a minute after that the next request's sweep drops the approver's bucket.
    tick(70_001);
    const r = await api.call('GET', missing, { key: api.keys.operator.key });
    expect(r.headers.get('ratelimit-remaining')).toBe('9');
    expect(await keys()).toEqual(['ip:127.0.0.1', `key:${api.keys.operator.keyId}`]);
  });
});

describe('unauthenticated requests', () => {
  it('a flood without credentials gets 429 problem+json with headers, on every path', async () => {
    const api = await start('rl_anon', { rateLimit: { ratePerSecond: 1, burst: 4 } });
    // A payee token taken before the flood: the payee's own bucket (the platform key spent from the address).
    const payee = (await api.createPayee()).id;
    const token = await api.payeeToken(payee);
    // The key's first request above spent one token from the address too: 3 left.
    const first = await api.call('GET', missing, { key: null });
    expect(first.status).toBe(401);
    expect(limitHeaders(first)).toEqual({ limit: '4', remaining: '2', reset: expect.any(String) });
    expect((await api.call('GET', missing, { key: 'not-a-credential' })).status).toBe(401);
    expect((await api.call('GET', '/healthz', { key: null })).status).toBe(200);
    expect429(await api.call('GET', missing, { key: null }), 4);
    expect429(await api.call('GET', '/openapi.json', { key: null }), 4);
    expect429(await api.call('GET', '/no/such/path', { key: null }), 4);
    // A forged payee token has no payee to charge: it spends from the address.
    expect429(await api.call('GET', `/v1/payees/${payee}`, { key: `${token.slice(0, -2)}AA` }), 4);
    // The payee's bucket is its own.
    const own = await api.call('GET', `/v1/payees/${payee}`, { key: token });
    expect(own.status).toBe(200);
    expect(limitHeaders(own)).toEqual({ limit: '4', remaining: '3', reset: '1' });
  });

  it('behind a proxy the address comes from X-Forwarded-For only when API_TRUST_PROXY trusts it', async () => {
    const direct = await start('rl_noproxy', { rateLimit: { ratePerSecond: 1, burst: 1 } });
    const from = (ip: string) => ({ key: null, headers: { 'x-forwarded-for': ip } });
    expect((await direct.call('GET', missing, from('203.0.113.1'))).status).toBe(401);
    // Default off: a client cannot pick a fresh bucket by sending another X-Forwarded-For.
    expect429(await direct.call('GET', missing, from('203.0.113.2')), 1);

    const proxied = await start('rl_proxy', {
      rateLimit: { ratePerSecond: 1, burst: 1 },
      app: { trustProxy: 'loopback' },
    });
    expect((await proxied.call('GET', missing, from('203.0.113.1'))).status).toBe(401);
    expect429(await proxied.call('GET', missing, from('203.0.113.1')), 1);
    expect((await proxied.call('GET', missing, from('203.0.113.2'))).status).toBe(401);
  });
});

describe('invalid API keys', () => {
  it('are refused by the address budget before they are looked up', async () => {
    let lookups = 0;
    const api = await start('rl_badkeys', {
      rateLimit: { ratePerSecond: 1, burst: 4 },
      app: {
        apiKeyLookup: (em, key) => {
          lookups++;
          return authenticateApiKey(em, key);
        },
      },
    });
    const valid = api.keys.platform.key;
    // First sight of the valid key: spent from the address (and its own bucket), looked up once.
    expect((await api.call('GET', missing, { key: valid })).status).toBe(404);
    expect(lookups).toBe(1);

    const statuses: number[] = [];
    for (let i = 0; i < 20; i++) statuses.push((await api.call('GET', missing, { key: randomKey() })).status);
    expect(statuses).toEqual([...Array(3).fill(401), ...Array(17).fill(429)]);
    // 3 lookups for 20 invalid keys: the other 17 never reached the database's api_keys.
    expect(lookups).toBe(1 + 3);

    // A key this process has verified before spends from its own bucket: the flood does not lock it out.
    expect((await api.call('GET', missing, { key: valid })).status).toBe(404);
    expect(lookups).toBe(5);
    // A second later the address has one token again: one more invalid key is looked up, then refused.
    tick(1000);
    expect((await api.call('GET', missing, { key: randomKey() })).status).toBe(401);
    expect((await api.call('GET', missing, { key: randomKey() })).status).toBe(429);
    expect(lookups).toBe(6);
  });
});

describe('provider webhooks', () => {
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  let server: Awaited<ReturnType<typeof listen>>;
  let stopServices: () => Promise<void>;
  beforeAll(async () => {
    db = await createTestDatabase('rl_webhooks');
    const config = loadConfig({ DISBURSE_PROVIDERS: 'sandbox' });
    const keyring = keyringFromKeys([['k1', randomBytes(32)]]);
    const services = await createServices({
      db,
      keyring,
      fingerprintKey: randomBytes(32),
      payouts: config.payouts,
    });
    stopServices = () => services.stop();
    // Refused webhooks never reach a payout: the gateway's client is never connected.
    const gateway = new PayoutGateway(new Client(), 'unused');
    const { app } = createHttpApp({
      services,
      gateway,
      security: {
        keyring,
        fingerprintKey: randomBytes(32),
        tokenSigningKey: randomBytes(32),
        payeeTokenTtlSeconds: 3600,
        totpIssuer: 'Disburse test',
      },
      logger: createLogger({ level: 'error', write: () => {} }),
      rateLimit: { ratePerSecond: 1, burst: 3 },
      now,
    });
    server = await listen(app);
  });
  afterAll(async () => {
    await server?.close();
    await stopServices?.();
    await db?.drop();
  });

  const post = async (provider: string): Promise<CallResult> => {
    const res = await fetch(`${server.url}/v1/providers/${provider}/webhooks`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ id: 'evt_1', type: 'payout.paid' }),
    });
    const text = await res.text();
    const contentType = res.headers.get('content-type') ?? '';
    return {
      status: res.status,
      headers: res.headers,
      contentType,
      text,
      body: contentType.includes('json') ? JSON.parse(text) : text,
    };
  };

  it('a flood of unsigned events gets 429 problem+json with headers, per provider and sender', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 3; i++) {
      const r = await post('sandbox');
      statuses.push(r.status);
      expect(r.headers.get('ratelimit-limit')).toBe('3');
    }
    expect(statuses).toEqual([401, 401, 401]);
    expect429(await post('sandbox'), 3);
    // Unknown provider names spend from the sender's address, not a bucket per made-up name.
    expect((await post('nope')).status).toBe(404);
    expect((await post('nope-2')).status).toBe(404);
    expect((await post('nope-3')).status).toBe(404);
    expect429(await post('nope-4'), 3);
  });
});

describe('the shared store unreachable', () => {
  it('fails open to per-process buckets, says so once, and goes back to the store when it answers', async () => {
    const api = await start('rl_store_down', { rateLimit: { ratePerSecond: 1, burst: 3 } });
    const key = api.keys.platform.key;
    expect((await api.call('GET', missing, { key })).status).toBe(404);
    const table = `"${api.db.schema}".rate_limit_buckets`;
    await sql(api.db.em(), `ALTER TABLE ${table} RENAME TO rate_limit_buckets_away`);
    // Requests are still served, and still limited: by this process alone, from a full local bucket.
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) statuses.push((await api.call('GET', missing, { key })).status);
    expect(statuses).toEqual([404, 404, 404, 429]);
    const warned = api.logs.filter((l) => l.includes('rate_limit.store_unreachable'));
    expect(warned).toHaveLength(1);

    await sql(
      api.db.em(),
      `ALTER TABLE "${api.db.schema}".rate_limit_buckets_away RENAME TO rate_limit_buckets`,
    );
    // The store is tried again after 5 s; the shared bucket (2 left, plus 5 refilled, capped at 3) decides.
    tick(5000);
    const back = await api.call('GET', missing, { key });
    expect(back.status).toBe(404);
    expect(back.headers.get('ratelimit-remaining')).toBe('2');
    expect(api.logs.filter((l) => l.includes('rate_limit.store_back'))).toHaveLength(1);
    const rows = await sql<{ key: string }>(api.db.em(), `SELECT key FROM ${table} ORDER BY key`);
    expect(rows.map((r) => r.key)).toEqual([`ip:127.0.0.1`, `key:${api.keys.platform.keyId}`]);
  });
});

describe('API_TRUST_PROXY', () => {
  it.each([
    [undefined, false],
    ['false', false],
    ['true', true],
    ['2', 2],
    ['loopback, 10.0.0.0/8', 'loopback,10.0.0.0/8'],
    ['fd00::/8', 'fd00::/8'],
  ])('%s → trust proxy %j', (value, expected) => {
    expect(loadConfig(value === undefined ? {} : { API_TRUST_PROXY: value }).api.trustProxy).toEqual(
      expected,
    );
  });

  it.each(['yes', '10.0.0.0/33', 'proxy.example.com'])('refuses %s, naming the variable', (value) => {
    expect(() => loadConfig({ API_TRUST_PROXY: value })).toThrow(/API_TRUST_PROXY/);
  });
});
