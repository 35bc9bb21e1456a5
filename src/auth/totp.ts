// TOTP (RFC 6238) on top of HOTP (RFC 4226), with node:crypto only.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

export type TotpAlgorithm = 'sha1' | 'sha256' | 'sha512';

export interface TotpOptions {
  stepSeconds?: number;
  digits?: number;
  algorithm?: TotpAlgorithm;
}

export function hotp(secret: Buffer, counter: bigint, digits = 6, algorithm: TotpAlgorithm = 'sha1'): string {
  const msg = Buffer.alloc(8);
  msg.writeBigUInt64BE(counter);
  const mac = createHmac(algorithm, secret).update(msg).digest();
  const offset = mac[mac.length - 1]! & 0x0f;
  const bin = (mac.readUInt32BE(offset) & 0x7fffffff) % 10 ** digits;
  return bin.toString().padStart(digits, '0');
}

export function totpCounter(unixSeconds: number, stepSeconds = 30): bigint {
  return BigInt(Math.floor(unixSeconds / stepSeconds));
}

export function totp(secret: Buffer, unixSeconds: number, opts: TotpOptions = {}): string {
  return hotp(secret, totpCounter(unixSeconds, opts.stepSeconds), opts.digits, opts.algorithm);
}

/**
 * Checks `code` against the time steps now-1, now, now+1. Returns the matching counter (so the caller can
 * refuse a replay of the same or an older step), or null.
 */
export function matchTotp(
  secret: Buffer,
  code: string,
  unixSeconds: number,
  opts: TotpOptions & { window?: number } = {},
): bigint | null {
  const digits = opts.digits ?? 6;
  if (!new RegExp(`^\\d{${digits}}$`).test(code)) return null;
  const now = totpCounter(unixSeconds, opts.stepSeconds);
  const window = BigInt(opts.window ?? 1);
  for (let c = now - window; c <= now + window; c++) {
    if (c < 0n) continue;
    const expected = Buffer.from(hotp(secret, c, digits, opts.algorithm));
    if (timingSafeEqual(expected, Buffer.from(code))) return c;
  }
  return null;
}

const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

export function base32Encode(buf: Buffer): string {
  let bits = 0;
  let value = 0;
  let out = '';
  for (const byte of buf) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += BASE32[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += BASE32[(value << (5 - bits)) & 31];
  return out;
}

export function base32Decode(text: string): Buffer {
  const clean = text.replace(/[\s=]/g, '').toUpperCase();
  let bits = 0;
  let value = 0;
  const out: number[] = [];
  for (const ch of clean) {
    const idx = BASE32.indexOf(ch);
    if (idx < 0) throw new Error(`invalid base32 character "${ch}" in TOTP secret`);
    value = (value << 5) | idx;
    bits += 5;
    if (bits >= 8) {
      out.push((value >>> (bits - 8)) & 0xff);
      bits -= 8;
    }
  }
  return Buffer.from(out);
}

export function newTotpSecret(): Buffer {
  return randomBytes(20);
}

export function otpauthUri(issuer: string, account: string, secret: Buffer): string {
  const label = encodeURIComponent(`${issuer}:${account}`);
  return `otpauth://totp/${label}?secret=${base32Encode(secret)}&issuer=${encodeURIComponent(issuer)}&algorithm=SHA1&digits=6&period=30`;
}

/** The secret of an `otpauth://totp/…?secret=…` URI, or a bare base32 secret. */
export function secretFromOtpauth(text: string): Buffer {
  const trimmed = text.trim();
  if (!trimmed.startsWith('otpauth://')) return nonEmpty(base32Decode(trimmed));
  const secret = new URL(trimmed).searchParams.get('secret');
  if (!secret) throw new Error('the otpauth:// URI has no secret= parameter');
  return nonEmpty(base32Decode(secret));
}

function nonEmpty(secret: Buffer): Buffer {
  if (secret.length === 0) throw new Error('the TOTP secret is empty');
  return secret;
}
