import { describe, expect, it } from '@jest/globals';
import { base32Decode, base32Encode, matchTotp, totp, totpCounter } from '../../src/auth/totp.ts';

// RFC 6238 Appendix B: seeds are the ASCII strings below (20/32/64 bytes for SHA1/SHA256/SHA512), 8 digits.
const seeds = {
  sha1: Buffer.from('12345678901234567890'),
  sha256: Buffer.from('12345678901234567890123456789012'),
  sha512: Buffer.from('1234567890123456789012345678901234567890123456789012345678901234'),
} as const;

const vectors: [number, string, string, string][] = [
  [59, '94287082', '46119246', '90693936'],
  [1111111109, '07081804', '68084774', '25091201'],
  [1111111111, '14050471', '67062674', '99943326'],
  [1234567890, '89005924', '91819424', '93441116'],
  [2000000000, '69279037', '90698825', '38618901'],
  [20000000000, '65353130', '77737706', '47863826'],
];

describe('TOTP (RFC 6238)', () => {
  it.each(vectors)('T=%d matches the RFC vectors for SHA1/SHA256/SHA512', (t, s1, s256, s512) => {
    expect(totp(seeds.sha1, t, { digits: 8, algorithm: 'sha1' })).toBe(s1);
    expect(totp(seeds.sha256, t, { digits: 8, algorithm: 'sha256' })).toBe(s256);
    expect(totp(seeds.sha512, t, { digits: 8, algorithm: 'sha512' })).toBe(s512);
  });

  it('accepts codes one step either side, not two', () => {
    const t = 1_700_000_000;
    const prev = totp(seeds.sha1, t - 30);
    const next = totp(seeds.sha1, t + 30);
    const far = totp(seeds.sha1, t - 60);
    expect(matchTotp(seeds.sha1, prev, t)).toBe(totpCounter(t) - 1n);
    expect(matchTotp(seeds.sha1, next, t)).toBe(totpCounter(t) + 1n);
    expect(matchTotp(seeds.sha1, far, t)).toBeNull();
    expect(matchTotp(seeds.sha1, 'abcdef', t)).toBeNull();
    expect(matchTotp(seeds.sha1, '1234567', t)).toBeNull();
  });

  it('round-trips base32 secrets', () => {
    expect(base32Encode(seeds.sha1)).toBe('GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ');
    expect(base32Decode('GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ')).toEqual(seeds.sha1);
  });
});
