// Payee token revocation (issue 14, finding 6: tokens "cannot be revoked"). One token by id, or every token
// of a payee issued before an instant; platform and operator; audited. The app's clock is injected.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { listAudit } from '../../src/audit/audit.ts';
import { issuePayeeToken } from '../../src/auth/payee-tokens.ts';
import { startTestApi, type TestApi } from '../api/support.ts';

let clock = new Date('2026-06-01T09:00:00.000Z');
const tick = (ms: number) => {
  clock = new Date(clock.getTime() + ms);
};

describe('payee token revocation (no credential memory: API_KEY_CACHE_SECONDS=0)', () => {
  let api: TestApi;
  let payee: string;
  let other: string;
  beforeAll(async () => {
    api = await startTestApi('token_revoke', { now: () => clock });
    payee = (await api.createPayee()).id;
    other = (await api.createPayee()).id;
  });
  afterAll(async () => {
    await api?.close();
  });

  const issue = async (payeeId: string) => {
    const r = await api.call('POST', `/v1/payees/${payeeId}/tokens`, { body: {} });
    expect(r.status).toBe(201);
    return r.body as { token: string; tokenId: string };
  };
  const wallet = (payeeId: string, token: string) =>
    api.call('GET', `/v1/payees/${payeeId}/wallet`, { key: token });
  const audits = async (action: string) =>
    (await listAudit(api.db.em(), { objectType: 'payee' }, 1000)).filter((a) => a.action === action);

  it('revokes one token by id: that token stops, the payee\u2019s others keep working', async () => {
    const one = await issue(payee);
    const two = await issue(payee);
    expect((await wallet(payee, one.token)).status).toBe(200);

    const r = await api.call('POST', `/v1/payees/${payee}/tokens/${one.tokenId}/revoke`, {
      body: { reason: 'device lost' },
      idempotencyKey: null,
    });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({
      tokenId: one.tokenId,
      payeeId: payee,
      revokedAt: clock.toISOString(),
      revokedBy: 'acme-backend',
    });
    const refused = await wallet(payee, one.token);
    expect(refused.status).toBe(401);
    expect(refused.contentType).toContain('application/problem+json');
    expect((await wallet(payee, two.token)).status).toBe(200);

    const entry = (await audits('payee.token.revoke')).find((a) => a.details.tokenId === one.tokenId);
    expect(entry).toMatchObject({
      actor: 'acme-backend',
      role: 'platform',
      objectId: payee,
      details: { tokenId: one.tokenId, alreadyRevoked: false, reason: 'device lost' },
    });

    // Again, by an operator, later: the first revocation stands, and the attempt is audited.
    tick(60_000);
    const again = await api.call('POST', `/v1/payees/${payee}/tokens/${one.tokenId}/revoke`, {
      key: api.keys.operator.key,
      idempotencyKey: null,
    });
    expect(again.status).toBe(200);
    expect(again.body.revokedAt).toBe(r.body.revokedAt);
    expect(again.body.revokedBy).toBe('acme-backend');
    expect(await audits('payee.token.revoke')).toContainEqual(
      expect.objectContaining({ actor: 'olga', details: { tokenId: one.tokenId, alreadyRevoked: true } }),
    );
  });

  it('answers 404 for a token id the payee does not have, another payee\u2019s included', async () => {
    const theirs = await issue(other);
    for (const id of ['no-such-token', theirs.tokenId]) {
      const r = await api.call('POST', `/v1/payees/${payee}/tokens/${id}/revoke`, { idempotencyKey: null });
      expect(r.status).toBe(404);
      expect(r.body.detail).toBe(`Payee ${payee} has no token ${id}`);
    }
    expect((await wallet(other, theirs.token)).status).toBe(200);
    const bad = await api.call('POST', `/v1/payees/${payee}/tokens/bad%20id/revoke`, {
      idempotencyKey: null,
    });
    expect(bad.status).toBe(400);
  });

  it('revokes every token of a payee issued before now; tokens issued after, and other payees\u2019, work', async () => {
    tick(1_000);
    const before = [await issue(payee), await issue(payee)];
    const theirs = await issue(other);
    tick(1);
    const cutoffAt = clock.toISOString();
    const r = await api.call('POST', `/v1/payees/${payee}/tokens/revoke`, {
      key: api.keys.operator.key,
      body: { reason: 'account compromised' },
      idempotencyKey: null,
    });
    expect(r.status).toBe(200);
    // The two above and the one left from the first test (the revoked one is not counted again).
    expect(r.body).toEqual({ payeeId: payee, notBefore: cutoffAt, revokedTokens: 3 });
    for (const t of before) expect((await wallet(payee, t.token)).status).toBe(401);
    expect((await wallet(other, theirs.token)).status).toBe(200);
    // Issued at the cutoff instant or later: honoured (the cutoff is exact to the millisecond).
    const after = await issue(payee);
    expect((await wallet(payee, after.token)).status).toBe(200);

    expect(await audits('payee.token.revoke_all')).toContainEqual(
      expect.objectContaining({
        actor: 'olga',
        role: 'operator',
        objectId: payee,
        details: {
          issuedBefore: cutoffAt,
          notBefore: cutoffAt,
          revokedTokens: 3,
          reason: 'account compromised',
        },
      }),
    );

    // An earlier cutoff given later does not bring revoked tokens back.
    const earlier = await api.call('POST', `/v1/payees/${payee}/tokens/revoke`, {
      body: { issuedBefore: '2026-01-01T00:00:00Z' },
      idempotencyKey: null,
    });
    expect(earlier.body).toEqual({ payeeId: payee, notBefore: cutoffAt, revokedTokens: 0 });
    for (const t of before) expect((await wallet(payee, t.token)).status).toBe(401);
  });

  it('refuses a cutoff in the future (422) and an unknown payee (404), writing nothing', async () => {
    const future = await api.call('POST', `/v1/payees/${other}/tokens/revoke`, {
      body: { issuedBefore: new Date(clock.getTime() + 1000).toISOString() },
      idempotencyKey: null,
    });
    expect(future.status).toBe(422);
    expect(future.body.errors).toEqual([expect.objectContaining({ path: 'body.issuedBefore' })]);
    const unknown = await api.call('POST', '/v1/payees/pe_000000000000000000000000/tokens/revoke', {
      idempotencyKey: null,
    });
    expect(unknown.status).toBe(404);
    expect((await audits('payee.token.revoke_all')).map((a) => a.objectId)).not.toContain(other);
  });

  it('refuses a correctly signed token that was never issued (no record)', async () => {
    const minted = issuePayeeToken(api.security.tokenSigningKey, payee, 600, clock);
    expect((await wallet(payee, minted.token)).status).toBe(401);
  });

  it('a payee cannot revoke tokens (platform and operator only)', async () => {
    const mine = await issue(other);
    const r = await api.call('POST', `/v1/payees/${other}/tokens/${mine.tokenId}/revoke`, {
      key: mine.token,
      idempotencyKey: null,
    });
    expect(r.status).toBe(403);
    expect((await wallet(other, mine.token)).status).toBe(200);
  });
});

describe('payee token revocation with API_KEY_CACHE_SECONDS=5', () => {
  it('takes effect on an API process that checked the token within 5 s once those 5 s are over', async () => {
    const api = await startTestApi('token_revoke_cache', { now: () => clock, app: { apiKeyCacheMs: 5000 } });
    try {
      const payee = (await api.createPayee()).id;
      const issued = (await api.call('POST', `/v1/payees/${payee}/tokens`, { body: {} })).body;
      const wallet = () => api.call('GET', `/v1/payees/${payee}/wallet`, { key: issued.token });
      expect((await wallet()).status).toBe(200);
      const r = await api.call('POST', `/v1/payees/${payee}/tokens/${issued.tokenId}/revoke`, {
        idempotencyKey: null,
      });
      expect(r.status).toBe(200);
      tick(4_999);
      expect((await wallet()).status).toBe(200);
      tick(1);
      expect((await wallet()).status).toBe(401);
    } finally {
      await api.close();
    }
  });
});
