// Console sessions: the credential a person signed in with, sealed (AES-GCM, the deployment's keyring) into
// an httpOnly, SameSite=Strict cookie, so the page never holds it and any API process can read it. Each
// session carries its own CSRF token; a state-changing request must echo it in X-CSRF-Token.
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { decrypt, encrypt, type Keyring } from '../crypto/index.ts';

export const SESSION_COOKIE = 'disburse_session';
export const CSRF_COOKIE = 'disburse_csrf';
export const CSRF_HEADER = 'x-csrf-token';
const AAD = 'console-session';

export interface ConsoleSession {
  credential: string;
  role: 'platform' | 'approver' | 'operator' | 'payee';
  actor: string;
  payeeId: string | null;
  csrf: string;
  /** Epoch ms after which the session is refused. */
  expiresAt: number;
}

export const newCsrfToken = (): string => randomBytes(24).toString('base64url');

export function sealSession(keyring: Keyring, s: ConsoleSession): string {
  return encrypt(keyring, JSON.stringify(s), AAD);
}

/** The session in the cookie, or undefined when absent, tampered with, sealed by an unknown key or expired. */
export function openSession(
  keyring: Keyring,
  sealed: string | undefined,
  now: number,
): ConsoleSession | undefined {
  if (!sealed) return undefined;
  try {
    const s = JSON.parse(decrypt(keyring, sealed, AAD)) as ConsoleSession;
    return typeof s.expiresAt === 'number' && s.expiresAt > now ? s : undefined;
  } catch {
    return undefined;
  }
}

export function sameToken(a: string | undefined, b: string | undefined): boolean {
  if (!a || !b) return false;
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

export function readCookies(header: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of (header ?? '').split(';')) {
    const i = part.indexOf('=');
    if (i < 0) continue;
    const name = part.slice(0, i).trim();
    if (name) out[name] = decodeURIComponent(part.slice(i + 1).trim());
  }
  return out;
}

export function cookie(name: string, value: string, o: { secure: boolean; maxAgeSeconds?: number }): string {
  return [
    `${name}=${encodeURIComponent(value)}`,
    'Path=/console',
    'HttpOnly',
    'SameSite=Strict',
    ...(o.secure ? ['Secure'] : []),
    ...(o.maxAgeSeconds !== undefined ? [`Max-Age=${o.maxAgeSeconds}`] : []),
  ].join('; ');
}
