// Roles and object-level access on every route: table-driven, and the table must cover every route.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startTestApi, type TestApi } from './support.ts';

type Caller =
  | 'none'
  | 'bad_key'
  | 'platform'
  | 'approver'
  | 'operator'
  | 'payee_own'
  | 'payee_other'
  | 'expired';

interface RouteCase {
  method: string;
  path: (ids: { own: string; other: string }) => string;
  body?: (n: number) => unknown;
  /** Status when the caller is allowed; anything else is listed. */
  ok: number;
  allowed: Caller[];
  /** Status for a payee token targeting another payee's object (object-level access). */
  otherPayee: 403 | 404;
}

const bank = {
  holderName: 'Pat Payee',
  country: 'US',
  currency: 'USD',
  accountNumber: '000123456789',
  routingNumber: '021000021',
};

const table: Record<string, RouteCase> = {
  'post /v1/payees': {
    method: 'POST',
    path: () => '/v1/payees',
    body: (n) => ({
      externalId: `acc-${n}-${Date.now()}`,
      name: 'N',
      email: 'n@example.com',
      country: 'US',
      defaultCurrency: 'USD',
    }),
    ok: 201,
    allowed: ['platform'],
    otherPayee: 403,
  },
  'get /v1/payees/:id': {
    method: 'GET',
    path: ({ own }) => `/v1/payees/${own}`,
    ok: 200,
    allowed: ['platform', 'approver', 'operator', 'payee_own'],
    otherPayee: 404,
  },
  'patch /v1/payees/:id': {
    method: 'PATCH',
    path: ({ own }) => `/v1/payees/${own}`,
    body: () => ({ payoutPreferences: { instantOptIn: true } }),
    ok: 200,
    allowed: ['platform', 'payee_own'],
    otherPayee: 404,
  },
  'put /v1/payees/:id/destinations/:kind': {
    method: 'PUT',
    path: ({ own }) => `/v1/payees/${own}/destinations/bank_account`,
    body: () => bank,
    ok: 200,
    allowed: ['platform', 'payee_own'],
    otherPayee: 404,
  },
  'get /v1/payees/:id/wallet': {
    method: 'GET',
    path: ({ own }) => `/v1/payees/${own}/wallet`,
    ok: 200,
    allowed: ['platform', 'approver', 'operator', 'payee_own'],
    otherPayee: 404,
  },
  'post /v1/payees/:id/credits': {
    method: 'POST',
    path: ({ own }) => `/v1/payees/${own}/credits`,
    body: (n) => ({ amount: { amount: '1000', currency: 'USD', scale: 2 }, reference: `acc-credit-${n}` }),
    ok: 201,
    allowed: ['platform'],
    otherPayee: 403,
  },
  'post /v1/payees/:id/tokens': {
    method: 'POST',
    path: ({ own }) => `/v1/payees/${own}/tokens`,
    body: () => ({}),
    ok: 201,
    allowed: ['platform'],
    otherPayee: 403,
  },
  // No such token: an allowed caller reaches the route and gets 404 (revoking a live one would end the run's tokens).
  'post /v1/payees/:id/tokens/:tokenId/revoke': {
    method: 'POST',
    path: ({ own }) => `/v1/payees/${own}/tokens/no-such-token/revoke`,
    body: () => ({}),
    ok: 404,
    allowed: ['platform', 'operator'],
    otherPayee: 403,
  },
  // A cutoff long before any token of the run: allowed, and revokes nothing.
  'post /v1/payees/:id/tokens/revoke': {
    method: 'POST',
    path: ({ own }) => `/v1/payees/${own}/tokens/revoke`,
    body: () => ({ issuedBefore: '2000-01-01T00:00:00Z' }),
    ok: 200,
    allowed: ['platform', 'operator'],
    otherPayee: 403,
  },
  // alice (the approver key's actor) has no TOTP enrolled here: the operator reaches the route and gets 404.
  'post /v1/approvers/:actor/totp/unlock': {
    method: 'POST',
    path: () => '/v1/approvers/alice/totp/unlock',
    ok: 404,
    allowed: ['operator'],
    otherPayee: 403,
  },
};

const callers: Caller[] = [
  'none',
  'bad_key',
  'expired',
  'platform',
  'approver',
  'operator',
  'payee_own',
  'payee_other',
];

let api: TestApi;
let own: string;
let other: string;
const tokens: Record<string, string> = {};

beforeAll(async () => {
  api = await startTestApi('api_access');
  own = (await api.createPayee()).id;
  other = (await api.createPayee()).id;
  tokens.own = await api.payeeToken(own);
  tokens.other = await api.payeeToken(other);
  const { issuePayeeToken } = await import('../../src/auth/payee-tokens.ts');
  tokens.expired = issuePayeeToken(
    api.security.tokenSigningKey,
    own,
    60,
    new Date(Date.now() - 3600_000),
  ).token;
});
afterAll(async () => {
  await api?.close();
});

function keyFor(caller: Caller): string | null {
  switch (caller) {
    case 'none':
      return null;
    case 'bad_key':
      return 'dsb_0000000000000000_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA';
    case 'expired':
      return tokens.expired!;
    case 'payee_own':
      return tokens.own!;
    case 'payee_other':
      return tokens.other!;
    default:
      return api.keys[caller].key;
  }
}

function expected(c: RouteCase, caller: Caller): number {
  if (caller === 'none' || caller === 'bad_key' || caller === 'expired') return 401;
  if (c.allowed.includes(caller)) return c.ok;
  if (caller === 'payee_other') return c.otherPayee;
  return 403;
}

describe('access control', () => {
  it('the table covers every authenticated route', () => {
    const registered = api.routes.filter((r) => r.roles.length > 0).map((r) => `${r.method} ${r.path}`);
    expect(registered.sort()).toEqual(Object.keys(table).sort());
  });

  const cases = Object.keys(table).flatMap((name) => callers.map((caller) => [name, caller] as const));
  let n = 0;
  it.each(cases)('%s as %s', async (name, caller) => {
    const c = table[name]!;
    n++;
    const res = await api.call(c.method, c.path({ own, other }), {
      key: keyFor(caller),
      ...(c.body ? { body: c.body(n) } : {}),
    });
    const want = expected(c, caller);
    expect({ status: res.status, body: res.status === want ? undefined : res.body }).toEqual({
      status: want,
      body: undefined,
    });
    if (want >= 400) {
      expect(res.contentType).toContain('application/problem+json');
      expect(res.body.status).toBe(want);
      if (want === 401) expect(res.headers.get('www-authenticate')).toBe('Bearer');
    }
  });

  it('a payee token never sees another payee, even the existence of one', async () => {
    const missing = 'pe_000000000000000000000000';
    const a = await api.call('GET', `/v1/payees/${other}`, { key: tokens.own! });
    const b = await api.call('GET', `/v1/payees/${missing}`, { key: tokens.own! });
    expect(a.status).toBe(404);
    expect(b.status).toBe(404);
    expect(a.body.detail.replace(other, 'X')).toBe(b.body.detail.replace(missing, 'X'));
  });

  it('a payee token may change only its payout preferences', async () => {
    const res = await api.call('PATCH', `/v1/payees/${own}`, {
      key: tokens.own!,
      body: { kycStatus: 'verified' },
    });
    expect(res.status).toBe(403);
    expect(res.body.detail).toMatch(/payoutPreferences/);
    const after = await api.call('GET', `/v1/payees/${own}`);
    expect(after.body.kycStatus).toBe('pending');
  });

  it('a tampered payee token is rejected', async () => {
    const t = tokens.own!;
    const forged = t.replace(/^dpt_([^.]+)/, (_, p: string) => {
      const claims = JSON.parse(Buffer.from(p, 'base64url').toString());
      claims.p = other;
      return `dpt_${Buffer.from(JSON.stringify(claims)).toString('base64url')}`;
    });
    const res = await api.call('GET', `/v1/payees/${other}`, { key: forged });
    expect(res.status).toBe(401);
  });

  it('a revoked API key is rejected', async () => {
    const { createApiKey, revokeApiKey } = await import('../../src/auth/api-keys.ts');
    const k = await createApiKey(api.db.em(), { role: 'operator', actor: 'temp' });
    expect((await api.call('GET', `/v1/payees/${own}`, { key: k.key })).status).toBe(200);
    await revokeApiKey(api.db.em(), k.keyId);
    expect((await api.call('GET', `/v1/payees/${own}`, { key: k.key })).status).toBe(401);
  });
});
