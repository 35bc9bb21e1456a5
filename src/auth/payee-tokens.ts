// Payee-scoped bearer tokens: `dpt_<payload>.<mac>`, payload = base64url JSON {p: payeeId, iat, exp, jti},
// mac = HMAC-SHA256 with the token signing key. `iat` is a NumericDate with milliseconds (fractional
// seconds, RFC 7519), so "revoke every token issued before T" is exact to the millisecond.
//
// The signature proves the token is ours and names its payee without a database round trip (the rate limiter
// buckets by it before anything is looked up); then every request checks the token's record (payee_tokens,
// migration 0081): it must exist for that payee, not be revoked, and be issued at or after the payee's
// cutoff. Records are trusted for a short while per process (API_KEY_CACHE_SECONDS), like API keys.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import { sql } from '../db/sql.ts';
import type { Principal } from './principal.ts';

export interface IssuedPayeeToken {
  token: string;
  tokenId: string;
  issuedAt: Date;
  expiresAt: Date;
}

/** What a correctly signed, unexpired token says (revocation not checked yet). */
export interface PayeeTokenClaims {
  payeeId: string;
  tokenId: string;
  /** Epoch milliseconds. */
  issuedAtMs: number;
}

function mac(key: Buffer, payload: string): string {
  return createHmac('sha256', key).update(`disburse.payee-token.v1.${payload}`).digest('base64url');
}

export function issuePayeeToken(
  key: Buffer,
  payeeId: string,
  ttlSeconds: number,
  now = new Date(),
): IssuedPayeeToken {
  const iat = now.getTime() / 1000;
  const exp = Math.floor(iat) + ttlSeconds;
  const jti = randomBytes(9).toString('base64url');
  const payload = Buffer.from(JSON.stringify({ p: payeeId, iat, exp, jti })).toString('base64url');
  return {
    token: `dpt_${payload}.${mac(key, payload)}`,
    tokenId: jti,
    issuedAt: new Date(now.getTime()),
    expiresAt: new Date(exp * 1000),
  };
}

/** The claims of a correctly signed, unexpired token; null otherwise. No database access. */
export function readPayeeToken(key: Buffer, token: string, now = new Date()): PayeeTokenClaims | null {
  const m = /^dpt_([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]{43})$/.exec(token);
  if (!m) return null;
  const [, payload, given] = m as unknown as [string, string, string];
  const expected = Buffer.from(mac(key, payload));
  const got = Buffer.from(given);
  if (expected.length !== got.length || !timingSafeEqual(expected, got)) return null;
  let claims: { p?: unknown; iat?: unknown; exp?: unknown; jti?: unknown };
  try {
    claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
  } catch {
    return null;
  }
  if (typeof claims.p !== 'string' || typeof claims.exp !== 'number' || typeof claims.jti !== 'string')
    return null;
  if (claims.exp * 1000 <= now.getTime()) return null;
  // Tokens without iat are treated as issued at the epoch: any cutoff refuses them.
  const issuedAtMs = typeof claims.iat === 'number' ? Math.round(claims.iat * 1000) : 0;
  return { payeeId: claims.p, tokenId: claims.jti, issuedAtMs };
}

export function payeePrincipal(c: PayeeTokenClaims): Principal {
  return {
    kind: 'payee_token',
    role: 'payee',
    actor: `payee:${c.payeeId}`,
    payeeId: c.payeeId,
    tokenId: c.tokenId,
  };
}

/** The principal for a correctly signed, unexpired token (signature only: see payeeTokenChecker). */
export function verifyPayeeToken(key: Buffer, token: string, now = new Date()): Principal | null {
  const claims = readPayeeToken(key, token, now);
  return claims ? payeePrincipal(claims) : null;
}

/** Records an issued token; without its record a token is refused. Drops the payee's expired records. */
export async function recordPayeeToken(
  em: EntityManager,
  schema: string,
  t: { payeeId: string; issued: IssuedPayeeToken; issuedBy: string },
): Promise<void> {
  await sql(em, `DELETE FROM "${schema}".payee_tokens WHERE payee_id = $1 AND expires_at < $2`, [
    t.payeeId,
    t.issued.issuedAt,
  ]);
  await sql(
    em,
    `INSERT INTO "${schema}".payee_tokens (id, payee_id, issued_at, expires_at, issued_by) VALUES ($1, $2, $3, $4, $5)`,
    [t.issued.tokenId, t.payeeId, t.issued.issuedAt, t.issued.expiresAt, t.issuedBy],
  );
}

export interface RevokedPayeeToken {
  tokenId: string;
  payeeId: string;
  issuedAt: Date;
  expiresAt: Date;
  revokedAt: Date;
  revokedBy: string;
  /** True when this call revoked it; false when it already was. */
  revokedNow: boolean;
}

/** Revokes one token of a payee; null when the payee has no such token. Revoking twice keeps the first. */
export async function revokePayeeToken(
  em: EntityManager,
  schema: string,
  r: { payeeId: string; tokenId: string; by: string; at: Date },
): Promise<RevokedPayeeToken | null> {
  const updated = await sql<Record<string, unknown>>(
    em,
    `UPDATE "${schema}".payee_tokens SET revoked_at = $3, revoked_by = $4
      WHERE id = $1 AND payee_id = $2 AND revoked_at IS NULL
      RETURNING id, payee_id, issued_at, expires_at, revoked_at, revoked_by`,
    [r.tokenId, r.payeeId, r.at, r.by],
  );
  const rows =
    updated.length > 0
      ? updated
      : await sql<Record<string, unknown>>(
          em,
          `SELECT id, payee_id, issued_at, expires_at, revoked_at, revoked_by FROM "${schema}".payee_tokens
            WHERE id = $1 AND payee_id = $2`,
          [r.tokenId, r.payeeId],
        );
  const row = rows[0];
  if (!row) return null;
  return {
    tokenId: String(row.id),
    payeeId: String(row.payee_id),
    issuedAt: new Date(row.issued_at as string),
    expiresAt: new Date(row.expires_at as string),
    revokedAt: new Date(row.revoked_at as string),
    revokedBy: String(row.revoked_by),
    revokedNow: updated.length > 0,
  };
}

/**
 * Refuses every token of the payee issued before `before` (a cutoff that only moves forward), and marks
 * the recorded ones that are still live as revoked. Returns the cutoff in force and how many were marked.
 */
export async function revokePayeeTokensBefore(
  em: EntityManager,
  schema: string,
  r: { payeeId: string; before: Date; by: string; at: Date },
): Promise<{ notBefore: Date; revoked: number }> {
  const cutoff = await sql<{ not_before: string }>(
    em,
    `INSERT INTO "${schema}".payee_token_cutoffs AS c (payee_id, not_before, set_at, set_by)
     VALUES ($1, $2, $3, $4)
     ON CONFLICT (payee_id) DO UPDATE SET not_before = GREATEST(c.not_before, EXCLUDED.not_before),
       set_at = EXCLUDED.set_at, set_by = EXCLUDED.set_by
     RETURNING not_before`,
    [r.payeeId, r.before, r.at, r.by],
  );
  const marked = await sql(
    em,
    `UPDATE "${schema}".payee_tokens SET revoked_at = $3, revoked_by = $4
      WHERE payee_id = $1 AND issued_at < $2 AND revoked_at IS NULL AND expires_at > $3
      RETURNING id`,
    [r.payeeId, r.before, r.at, r.by],
  );
  return { notBefore: new Date(cutoff[0]!.not_before), revoked: marked.length };
}

/** Whether a signed token is still honoured: recorded for its payee, not revoked, not before the cutoff. */
export async function payeeTokenLive(
  em: EntityManager,
  schema: string,
  c: PayeeTokenClaims,
): Promise<boolean> {
  const rows = await sql<{ revoked: boolean; not_before: string | null }>(
    em,
    `SELECT t.revoked_at IS NOT NULL AS revoked,
            (SELECT not_before FROM "${schema}".payee_token_cutoffs WHERE payee_id = $2) AS not_before
       FROM "${schema}".payee_tokens t WHERE t.id = $1 AND t.payee_id = $2`,
    [c.tokenId, c.payeeId],
  );
  const row = rows[0];
  if (!row || row.revoked) return false;
  return row.not_before === null || c.issuedAtMs >= new Date(row.not_before).getTime();
}

/**
 * payeeTokenLive behind a short memory (`ttlMs`, API_KEY_CACHE_SECONDS): a token checked less than `ttlMs`
 * ago on this process is not looked up again. The price, as for API keys: a revocation takes effect on each
 * API process within `ttlMs`. `ttlMs` 0 looks up on every request.
 */
export function payeeTokenChecker(o: {
  schema: string;
  ttlMs: number;
  maxEntries?: number;
  now?: () => number;
}) {
  const now = o.now ?? Date.now;
  const max = o.maxEntries ?? 10_000;
  const checked = new Map<string, { live: boolean; until: number }>();
  return async (em: EntityManager, c: PayeeTokenClaims): Promise<boolean> => {
    if (o.ttlMs <= 0) return payeeTokenLive(em, o.schema, c);
    const id = `${c.payeeId}/${c.tokenId}`;
    const hit = checked.get(id);
    if (hit && hit.until > now()) return hit.live;
    checked.delete(id);
    const live = await payeeTokenLive(em, o.schema, c);
    if (checked.size >= max) checked.delete(checked.keys().next().value!);
    checked.set(id, { live, until: now() + o.ttlMs });
    return live;
  };
}
