import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startTestApi, type TestApi } from './support.ts';

let api: TestApi;
beforeAll(async () => {
  api = await startTestApi('api_smoke');
});
afterAll(async () => {
  await api?.close();
});

describe('smoke', () => {
  it('creates and reads a payee', async () => {
    const p = await api.createPayee();
    const got = await api.call('GET', `/v1/payees/${p.id}`);
    expect(got.status).toBe(200);
    expect(got.body.id).toBe(p.id);
    const healthz = await api.call('GET', '/healthz', { key: null });
    expect(healthz.body).toEqual({ status: 'ok' });
    const readyz = await api.call('GET', '/readyz', { key: null });
    expect(readyz.status).toBe(200);
  });
});
