// API keys hashed at rest, bootstrap keys, payee tokens, approver TOTP (replay refused) through a route,
// and the append-only audit log.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import {
  apiKeyAuthenticator,
  authenticateApiKey,
  createApiKey,
  hashSecret,
  parseApiKey,
  parseBootstrapKeys,
  revokeApiKey,
  storeApiKey,
} from '../../src/auth/api-keys.ts';
import { enrollApproverTotp, verifyApproverTotp } from '../../src/auth/approver-totp.ts';
import { issuePayeeToken, verifyPayeeToken } from '../../src/auth/payee-tokens.ts';
import { base32Decode, totp } from '../../src/auth/totp.ts';
import { sql } from '../../src/db/sql.ts';
import { startTestApi, type TestApi, testApproveRoute } from '../api/support.ts';

let api: TestApi;
// The project's pinned Node 24 (the machine's default node cannot run .ts files).
const pinnedNode = existsSync('node_modules/.bin/node') ? 'node_modules/.bin/node' : process.execPath;

beforeAll(async () => {
  api = await startTestApi('auth', { routes: [testApproveRoute] });
});
afterAll(async () => {
  await api?.close();
});

describe('API keys', () => {
  it('remembers a verified key for the cache TTL only: a revocation takes effect once it passes', async () => {
    let clock = 1_000_000;
    const authenticate = apiKeyAuthenticator({ ttlMs: 5_000, now: () => clock });
    const k = await createApiKey(api.db.em(), { role: 'operator', actor: 'cached-ops' });
    expect((await authenticate(api.db.em(), k.key))?.actor).toBe('cached-ops');
    await revokeApiKey(api.db.em(), k.keyId);
    clock += 4_000;
    expect((await authenticate(api.db.em(), k.key))?.actor).toBe('cached-ops');
    clock += 1_001;
    expect(await authenticate(api.db.em(), k.key)).toBeNull();
    // A wrong secret for a cached key id is never taken from the memory.
    const other = await createApiKey(api.db.em(), { role: 'operator', actor: 'cached-ops-2' });
    expect(await authenticate(api.db.em(), other.key)).not.toBeNull();
    expect(
      await authenticate(api.db.em(), `${other.key.slice(0, -1)}${other.key.endsWith('A') ? 'B' : 'A'}`),
    ).toBeNull();
  });

  it('with TTL 0 looks every key up, so a revocation is immediate', async () => {
    const authenticate = apiKeyAuthenticator({ ttlMs: 0 });
    const k = await createApiKey(api.db.em(), { role: 'operator', actor: 'uncached-ops' });
    expect(await authenticate(api.db.em(), k.key)).not.toBeNull();
    await revokeApiKey(api.db.em(), k.keyId);
    expect(await authenticate(api.db.em(), k.key)).toBeNull();
  });

  it('stores only the SHA-256 of the secret and authenticates the full key', async () => {
    const k = await createApiKey(api.db.em(), { role: 'operator', actor: 'ops-1' });
    const rows = await sql<{ row: string }>(
      api.db.em(),
      `SELECT row_to_json(k)::text AS row FROM "${api.db.schema}".api_keys k WHERE id = $1`,
      [k.keyId],
    );
    const { secret } = parseApiKey(k.key)!;
    expect(rows[0]!.row).not.toContain(secret);
    expect(rows[0]!.row).toContain(hashSecret(secret));
    expect(await authenticateApiKey(api.db.em(), k.key)).toEqual({
      kind: 'api_key',
      role: 'operator',
      actor: 'ops-1',
      keyId: k.keyId,
    });
    const wrongSecret = `dsb_${k.keyId}_${randomBytes(32).toString('base64url')}`;
    expect(await authenticateApiKey(api.db.em(), wrongSecret)).toBeNull();
    expect(await authenticateApiKey(api.db.em(), 'not-a-key')).toBeNull();
  });

  it('registers bootstrap keys idempotently and refuses a conflicting one', async () => {
    const key = `dsb_${randomBytes(8).toString('hex')}_${randomBytes(32).toString('base64url')}`;
    const [spec] = parseBootstrapKeys(`platform:boot-backend:${key}`);
    await storeApiKey(api.db.em(), spec!);
    await storeApiKey(api.db.em(), spec!);
    await expect(storeApiKey(api.db.em(), { ...spec!, role: 'approver' })).rejects.toThrow(
      /already registered/,
    );
    const res = await api.call('POST', '/v1/payees', {
      key,
      body: {
        externalId: 'boot-1',
        name: 'B',
        email: 'b@example.com',
        country: 'US',
        defaultCurrency: 'USD',
      },
    });
    expect(res.status).toBe(201);
    expect(() => parseBootstrapKeys('king:me:dsb_x')).toThrow(/role must be one of/);
    expect(() => parseBootstrapKeys('platform:me')).toThrow(/role:actor:key/);
  });

  it('creates keys from the CLI', async () => {
    const run = promisify(execFile);
    const { stdout } = await run(
      pinnedNode,
      ['src/auth/create-key-cli.ts', '--role', 'approver', '--actor', 'cli-approver', '--totp'],
      {
        env: {
          ...process.env,
          DATABASE_URL: api.db.url,
          DATABASE_SCHEMA: api.db.schema,
          // Explicit keys, so the CLI does not fall back to (and write) development secrets.
          DISBURSE_ENCRYPTION_KEYS: `k1:${api.security.keyring.keys.get('k1')!.toString('base64')}`,
          DISBURSE_FINGERPRINT_KEY: api.security.fingerprintKey.toString('base64'),
          DISBURSE_TOKEN_SIGNING_KEY: api.security.tokenSigningKey.toString('base64'),
        },
      },
    );
    const key = /dsb_[0-9a-f]{16}_[A-Za-z0-9_-]{43}/.exec(stdout)?.[0];
    expect(key).toBeDefined();
    expect(stdout).toMatch(/otpauth:\/\/totp\/Disburse%3Acli-approver\?secret=[A-Z2-7]+/);
    expect(await authenticateApiKey(api.db.em(), key!)).toMatchObject({
      role: 'approver',
      actor: 'cli-approver',
    });
    // The enrolled secret works with the same keyring the API uses.
    const secret = base32Decode(/secret=([A-Z2-7]+)/.exec(stdout)![1]!);
    const code = totp(secret, Math.floor(Date.now() / 1000));
    expect(await verifyApproverTotp(api.db.em(), api.security.keyring, 'cli-approver', code)).toEqual({
      ok: true,
    });
  });
});

describe('payee tokens', () => {
  const key = randomBytes(32);
  it('verify only with the right key, before expiry', () => {
    const now = new Date('2026-01-01T00:00:00Z');
    const t = issuePayeeToken(key, 'pe_1', 600, now);
    expect(verifyPayeeToken(key, t.token, new Date(now.getTime() + 599_000))).toMatchObject({
      role: 'payee',
      payeeId: 'pe_1',
    });
    expect(verifyPayeeToken(key, t.token, new Date(now.getTime() + 600_000))).toBeNull();
    expect(verifyPayeeToken(randomBytes(32), t.token, now)).toBeNull();
    expect(verifyPayeeToken(key, `${t.token}x`, now)).toBeNull();
  });
});

describe('approver TOTP', () => {
  it('accepts a valid code once, refuses replays and older steps, stores the secret encrypted', async () => {
    const secret = randomBytes(20);
    await enrollApproverTotp(api.db.em(), api.security.keyring, 'alice', { secret });
    const rows = await sql<{ c: string }>(
      api.db.em(),
      `SELECT secret_ciphertext AS c FROM "${api.db.schema}".approver_totp WHERE actor = 'alice'`,
    );
    expect(rows[0]!.c.startsWith('v1.k1.')).toBe(true);
    expect(rows[0]!.c).not.toContain(secret.toString('base64'));

    const now = Math.floor(Date.now() / 1000);
    const current = totp(secret, now);
    const previous = totp(secret, now - 30);
    const approve = (code: string) =>
      api.call('POST', '/v1/test/approve', { key: api.keys.approver.key, body: { totp: code } });

    const ok = await approve(current);
    expect(ok.status).toBe(200);
    expect(ok.body).toEqual({ by: 'alice' });
    const replay = await approve(current);
    expect(replay.status).toBe(403);
    expect(replay.body.kind).toBe('totp_invalid');
    expect(replay.body.detail).toMatch(/already used/);
    // An older step after a newer one was used is a replay too.
    expect((await approve(previous)).status).toBe(403);
    const wrong = await approve(current === '000000' ? '111111' : '000000');
    expect(wrong.status).toBe(403);
    expect(wrong.body.detail).toMatch(/wrong/);
    // A failed approval wrote no audit entry.
    const audits = await sql<{ n: string }>(
      api.db.em(),
      `SELECT count(*)::text AS n FROM "${api.db.schema}".audit_log WHERE action = 'test.approve'`,
    );
    expect(audits[0]!.n).toBe('1');
  });

  it('refuses approvers without an enrolled secret, and the same code for two actors counts per actor', async () => {
    expect(await verifyApproverTotp(api.db.em(), api.security.keyring, 'nobody', '123456')).toEqual({
      ok: false,
      reason: 'not_enrolled',
    });
    const shared = randomBytes(20);
    await enrollApproverTotp(api.db.em(), api.security.keyring, 'bob', { secret: shared });
    await enrollApproverTotp(api.db.em(), api.security.keyring, 'carol', { secret: shared });
    const at = new Date();
    const code = totp(shared, Math.floor(at.getTime() / 1000));
    expect(await verifyApproverTotp(api.db.em(), api.security.keyring, 'bob', code, at)).toEqual({
      ok: true,
    });
    expect(await verifyApproverTotp(api.db.em(), api.security.keyring, 'carol', code, at)).toEqual({
      ok: true,
    });
    expect(await verifyApproverTotp(api.db.em(), api.security.keyring, 'bob', code, at)).toEqual({
      ok: false,
      reason: 'replayed',
    });
  });
});

describe('audit log', () => {
  it.each([
    ['UPDATE', (t: string) => `UPDATE ${t} SET actor = 'mallory'`],
    ['DELETE', (t: string) => `DELETE FROM ${t}`],
    ['TRUNCATE', (t: string) => `TRUNCATE ${t}`],
  ])('refuses %s', async (_op, statement) => {
    const table = `"${api.db.schema}".audit_log`;
    const before = await sql<{ n: string }>(api.db.em(), `SELECT count(*)::text AS n FROM ${table}`);
    expect(Number(before[0]!.n)).toBeGreaterThan(0);
    await expect(sql(api.db.em(), statement(table))).rejects.toThrow(/append-only/);
    const after = await sql<{ n: string }>(api.db.em(), `SELECT count(*)::text AS n FROM ${table}`);
    expect(after[0]!.n).toBe(before[0]!.n);
  });
});

describe('first-run keys', () => {
  it('creates one key per role only when no key exists', async () => {
    const { createFirstRunKeys } = await import('../../src/api/server.ts');
    // This schema already has keys: nothing is created.
    expect(await createFirstRunKeys(api.db, api.security)).toEqual([]);
    const { createTestDatabase } = await import('../support/db.ts');
    const fresh = await createTestDatabase('auth_first_run');
    try {
      const keys = await createFirstRunKeys(fresh, api.security);
      expect(keys.map((k) => k.role)).toEqual(['platform', 'approver', 'operator']);
      expect(keys[1]!.totpUri).toMatch(/^otpauth:\/\/totp\//);
      for (const k of keys)
        expect(await authenticateApiKey(fresh.em(), k.key)).toMatchObject({ role: k.role });
      expect(await createFirstRunKeys(fresh, api.security)).toEqual([]);
    } finally {
      await fresh.drop();
    }
  });
});
