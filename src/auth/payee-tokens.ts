// Payee-scoped bearer tokens: `dpt_<payload>.<mac>`, payload = base64url JSON {p: payeeId, iat, exp, jti},
// mac = HMAC-SHA256 with the token signing key. Stateless; they expire (short TTL) rather than being revoked.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Principal } from './principal.ts';

export interface IssuedPayeeToken {
  token: string;
  tokenId: string;
  expiresAt: Date;
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
  const iat = Math.floor(now.getTime() / 1000);
  const exp = iat + ttlSeconds;
  const jti = randomBytes(9).toString('base64url');
  const payload = Buffer.from(JSON.stringify({ p: payeeId, iat, exp, jti })).toString('base64url');
  return { token: `dpt_${payload}.${mac(key, payload)}`, tokenId: jti, expiresAt: new Date(exp * 1000) };
}

/** The principal for a valid, unexpired token; null otherwise. */
export function verifyPayeeToken(key: Buffer, token: string, now = new Date()): Principal | null {
  const m = /^dpt_([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]{43})$/.exec(token);
  if (!m) return null;
  const [, payload, given] = m as unknown as [string, string, string];
  const expected = Buffer.from(mac(key, payload));
  const got = Buffer.from(given);
  if (expected.length !== got.length || !timingSafeEqual(expected, got)) return null;
  let claims: { p?: unknown; exp?: unknown; jti?: unknown };
  try {
    claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
  } catch {
    return null;
  }
  if (typeof claims.p !== 'string' || typeof claims.exp !== 'number' || typeof claims.jti !== 'string')
    return null;
  if (claims.exp * 1000 <= now.getTime()) return null;
  return {
    kind: 'payee_token',
    role: 'payee',
    actor: `payee:${claims.p}`,
    payeeId: claims.p,
    tokenId: claims.jti,
  };
}
