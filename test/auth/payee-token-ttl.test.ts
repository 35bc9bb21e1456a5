// Payee token lifetime (issue 14, finding 6): tokens lasted up to 7 days whatever
// DISBURSE_PAYEE_TOKEN_TTL_SECONDS said, and the response carrying one had no Cache-Control. The configured
// lifetime is now the default and, unless a larger maximum is configured, the ceiling; responses with a
// token are no-store (replays included). The app's clock is injected: nothing waits.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { loadConfig } from '../../src/config/index.ts';
import { newIdempotencyKey, startTestApi, type TestApi } from '../api/support.ts';

let clock = new Date('2026-04-01T08:00:00Z');
const at = (seconds: number) => new Date(clock.getTime() + seconds * 1000).toISOString();

describe('payee token lifetime: DISBURSE_PAYEE_TOKEN_TTL_SECONDS=900, no maximum configured', () => {
  let api: TestApi;
  let payeeId: string;
  beforeAll(async () => {
    api = await startTestApi('token_ttl', { now: () => clock, security: { payeeTokenTtlSeconds: 900 } });
    payeeId = (await api.createPayee()).id;
  });
  afterAll(async () => {
    await api?.close();
  });

  const issue = (body: Record<string, unknown>, idempotencyKey?: string) =>
    api.call('POST', `/v1/payees/${payeeId}/tokens`, { body, ...(idempotencyKey ? { idempotencyKey } : {}) });

  it.each([
    ['no ttlSeconds: the configured lifetime', {}, 201, 900],
    ['a shorter one', { ttlSeconds: 600 }, 201, 600],
    ['exactly the configured lifetime', { ttlSeconds: 900 }, 201, 900],
    ['a longer one', { ttlSeconds: 901 }, 422, null],
    ['7 days', { ttlSeconds: 7 * 24 * 3600 }, 422, null],
  ])('%s', async (_what, body, status, seconds) => {
    const res = await issue(body);
    expect(res.status).toBe(status);
    if (seconds === null) {
      expect(res.contentType).toContain('application/problem+json');
      expect(res.body.detail).toContain('maximum of 900 s');
      expect(res.body.errors).toEqual([expect.objectContaining({ path: 'body.ttlSeconds' })]);
    } else {
      expect(res.body.expiresAt).toBe(at(seconds));
    }
  });

  it('answers with Cache-Control: no-store, a replay too', async () => {
    const key = newIdempotencyKey();
    const first = await issue({}, key);
    expect(first.headers.get('cache-control')).toBe('no-store');
    const replay = await issue({}, key);
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    expect(replay.headers.get('cache-control')).toBe('no-store');
  });

  it('the token stops working when its lifetime is over', async () => {
    const token = (await issue({})).body.token as string;
    const wallet = () => api.call('GET', `/v1/payees/${payeeId}/wallet`, { key: token });
    expect((await wallet()).status).toBe(200);
    clock = new Date(clock.getTime() + 899_000);
    expect((await wallet()).status).toBe(200);
    clock = new Date(clock.getTime() + 1_000);
    expect((await wallet()).status).toBe(401);
  });
});

describe('payee token lifetime: a larger maximum configured', () => {
  let api: TestApi;
  beforeAll(async () => {
    api = await startTestApi('token_ttl_max', {
      now: () => clock,
      security: { payeeTokenTtlSeconds: 900, payeeTokenMaxTtlSeconds: 7200 },
    });
  });
  afterAll(async () => {
    await api?.close();
  });

  it.each([
    [7200, 201],
    [7201, 422],
  ])('ttlSeconds %d → %d', async (ttlSeconds, status) => {
    const payeeId = (await api.createPayee()).id;
    const res = await api.call('POST', `/v1/payees/${payeeId}/tokens`, { body: { ttlSeconds } });
    expect(res.status).toBe(status);
  });
});

describe('configuration', () => {
  it.each([
    [{}, 3600, 3600],
    [{ DISBURSE_PAYEE_TOKEN_TTL_SECONDS: '900' }, 900, 900],
    [{ DISBURSE_PAYEE_TOKEN_TTL_SECONDS: '900', DISBURSE_PAYEE_TOKEN_MAX_TTL_SECONDS: '86400' }, 900, 86400],
  ])('%j → default %d s, maximum %d s', (env, ttl, max) => {
    const config = loadConfig(env);
    expect(config.security.payeeTokenTtlSeconds).toBe(ttl);
    expect(config.security.payeeTokenMaxTtlSeconds).toBe(max);
  });
});
