// AES-256-GCM envelope: `v1.<kid>.<iv>.<ciphertext>.<tag>` (base64url parts). The key id travels with the
// ciphertext so any configured key can decrypt and rotation only needs the active key to re-encrypt.
// `aad` binds a ciphertext to its owner (e.g. payee id + destination kind) so it cannot be swapped between rows.
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import type { Keyring } from './keyring.ts';

const VERSION = 'v1';

export class DecryptionError extends Error {
  override name = 'DecryptionError';
}

export function encrypt(keyring: Keyring, plaintext: string, aad = ''): string {
  const key = keyring.keys.get(keyring.activeKid)!;
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(Buffer.from(`${VERSION}.${keyring.activeKid}.${aad}`));
  const ct = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  const tag = cipher.getAuthTag();
  return [
    VERSION,
    keyring.activeKid,
    iv.toString('base64url'),
    ct.toString('base64url'),
    tag.toString('base64url'),
  ].join('.');
}

export function envelopeKid(envelope: string): string {
  const parts = envelope.split('.');
  if (parts.length !== 5 || parts[0] !== VERSION) throw new DecryptionError('not a v1 encryption envelope');
  return parts[1]!;
}

export function decrypt(keyring: Keyring, envelope: string, aad = ''): string {
  const kid = envelopeKid(envelope);
  const [, , iv, ct, tag] = envelope.split('.') as [string, string, string, string, string];
  const key = keyring.keys.get(kid);
  if (!key) {
    throw new DecryptionError(
      `key "${kid}" is not configured: keep it in DISBURSE_ENCRYPTION_KEYS until rotation ends`,
    );
  }
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64url'));
    decipher.setAAD(Buffer.from(`${VERSION}.${kid}.${aad}`));
    decipher.setAuthTag(Buffer.from(tag, 'base64url'));
    return Buffer.concat([decipher.update(Buffer.from(ct, 'base64url')), decipher.final()]).toString('utf8');
  } catch {
    throw new DecryptionError(
      `ciphertext under key "${kid}" failed authentication (tampered or wrong owner)`,
    );
  }
}

/** True when the envelope was written with a key other than the active one. */
export function needsRotation(keyring: Keyring, envelope: string): boolean {
  return envelopeKid(envelope) !== keyring.activeKid;
}

/** Re-encrypts with the active key; returns the same envelope when it is already under the active key. */
export function reencrypt(keyring: Keyring, envelope: string, aad = ''): string {
  if (!needsRotation(keyring, envelope)) return envelope;
  return encrypt(keyring, decrypt(keyring, envelope, aad), aad);
}
