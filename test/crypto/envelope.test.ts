import { randomBytes } from 'node:crypto';
import { describe, expect, it } from '@jest/globals';
import {
  DecryptionError,
  decrypt,
  encrypt,
  envelopeKid,
  fingerprint,
  KeyringConfigError,
  keyringFromKeys,
  mask,
  needsRotation,
  normaliseIdentifier,
  parseKeyring,
  reencrypt,
} from '../../src/crypto/index.ts';

const k1 = randomBytes(32);
const k2 = randomBytes(32);

describe('AES-256-GCM envelope', () => {
  it('round-trips and never contains the clear text', () => {
    const ring = keyringFromKeys([['k1', k1]]);
    const env = encrypt(ring, 'DE89370400440532013000', 'payee-1/bank_account');
    expect(env).not.toContain('DE89370400440532013000');
    expect(envelopeKid(env)).toBe('k1');
    expect(decrypt(ring, env, 'payee-1/bank_account')).toBe('DE89370400440532013000');
  });

  it('rejects a ciphertext moved to another owner or tampered with', () => {
    const ring = keyringFromKeys([['k1', k1]]);
    const env = encrypt(ring, '123456789', 'payee-1/card');
    expect(() => decrypt(ring, env, 'payee-2/card')).toThrow(DecryptionError);
    const parts = env.split('.');
    parts[3] = Buffer.from('tampered').toString('base64url');
    expect(() => decrypt(ring, parts.join('.'), 'payee-1/card')).toThrow(DecryptionError);
  });

  it('rotates: old key still decrypts, re-encryption moves to the active key', () => {
    const old = keyringFromKeys([['k1', k1]]);
    const env = encrypt(old, 'secret', 'a');
    const rotated = parseKeyring(`k2:${k2.toString('base64')},k1:${k1.toString('base64')}`);
    expect(rotated.activeKid).toBe('k2');
    expect(decrypt(rotated, env, 'a')).toBe('secret');
    expect(needsRotation(rotated, env)).toBe(true);
    const fresh = reencrypt(rotated, env, 'a');
    expect(envelopeKid(fresh)).toBe('k2');
    expect(reencrypt(rotated, fresh, 'a')).toBe(fresh);
    const onlyNew = keyringFromKeys([['k2', k2]]);
    expect(decrypt(onlyNew, fresh, 'a')).toBe('secret');
    expect(() => decrypt(onlyNew, env, 'a')).toThrow(/key "k1" is not configured/);
  });

  it.each([
    ['', /not set/],
    ['k1', /kid:base64key/],
    ['k1:c2hvcnQ=', /32 bytes/],
    [`bad kid!:${k1.toString('base64')}`, /key id/],
    [`k1:${k1.toString('base64')},k1:${k2.toString('base64')}`, /twice/],
  ])('refuses keyring spec %p', (spec, message) => {
    expect(() => parseKeyring(spec)).toThrow(KeyringConfigError);
    expect(() => parseKeyring(spec)).toThrow(message);
  });
});

describe('fingerprints and masking', () => {
  const fk = randomBytes(32);
  it('equal destinations give equal fingerprints regardless of spacing and case', () => {
    expect(fingerprint(fk, 'bank_account', [normaliseIdentifier('de89 3704 0044 0532 0130 00')])).toBe(
      fingerprint(fk, 'bank_account', ['DE89370400440532013000']),
    );
    expect(fingerprint(fk, 'bank_account', ['1'])).not.toBe(fingerprint(fk, 'card', ['1']));
    expect(fingerprint(randomBytes(32), 'card', ['1'])).not.toBe(fingerprint(fk, 'card', ['1']));
  });
  it('masks to the last four', () => {
    expect(mask('123456789')).toBe('****6789');
    expect(mask('DE89 3704 0044 0532 0130 00')).toBe('****3000');
    expect(mask('12')).toBe('****12');
  });
});

describe('normaliseIdentifier', () => {
  it('keeps case for case-sensitive identifiers', () => {
    expect(normaliseIdentifier('ab-cD 1')).toBe('ABCD1');
    expect(normaliseIdentifier('ab-cD 1', true)).toBe('abcD1');
  });
});
