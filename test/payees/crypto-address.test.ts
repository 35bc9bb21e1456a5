// Receiving-address checks: EIP-55 checksums on mixed-case EVM addresses (the EIP's own examples), Solana
// keys that must decode to 32 bytes, and the destination schema refusing a mistyped address by name.
import { describe, expect, it } from '@jest/globals';
import { keccak256 } from '../../src/crypto/keccak.ts';
import { cryptoAddressProblem, toChecksumAddress } from '../../src/payees/crypto-address.ts';
import { cryptoDestination } from '../../src/payees/destinations.ts';

const EIP55 = [
  '0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed',
  '0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359',
  '0xdbF03B407c01E7cD3CBea99509d93f8DDDC8C6FB',
  '0xD1220A0cf47c7B9Be7A2E6BA89F429762e7b9aDb',
];

describe('crypto addresses', () => {
  it('keccak-256 matches the known digest of the empty input (not SHA3-256)', () => {
    expect(keccak256(new Uint8Array()).toString('hex')).toBe(
      'c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470',
    );
  });

  it.each(EIP55)('EIP-55 example %s checksums to itself and is accepted', (address) => {
    expect(toChecksumAddress(address.toLowerCase())).toBe(address);
    expect(cryptoAddressProblem('ethereum', address)).toBeUndefined();
  });

  it('accepts all-lower and all-upper EVM addresses (no checksum to check)', () => {
    expect(cryptoAddressProblem('base', EIP55[0]!.toLowerCase())).toBeUndefined();
    expect(cryptoAddressProblem('polygon', `0x${EIP55[0]!.slice(2).toUpperCase()}`)).toBeUndefined();
  });

  it('refuses a mixed-case address with one case flipped, naming the checksum', () => {
    const typo = `${EIP55[0]!.slice(0, -1)}D`; // last 'd' → 'D'
    expect(cryptoAddressProblem('arbitrum', typo)).toMatch(/EIP-55 checksum/);
    expect(cryptoAddressProblem('ethereum', '0x1234')).toMatch(/40 hex digits/);
  });

  it('Solana: base58 of 32 bytes', () => {
    expect(cryptoAddressProblem('solana', '4Nd1mBQtrMJVYVfKf2PJy9NZUZdTAsp7D4xWLs4gDB4T')).toBeUndefined();
    expect(cryptoAddressProblem('solana', '11111111111111111111111111111111')).toBeUndefined();
    expect(cryptoAddressProblem('solana', '0OIl1111111111111111111111111111')).toMatch(/base58/);
    expect(cryptoAddressProblem('solana', '2222222222222222222222222222222222222222222')).toMatch(/32-byte/);
  });

  it('the destination schema refuses a checksum typo on the address field', () => {
    const r = cryptoDestination.safeParse({ network: 'ethereum', address: `${EIP55[1]!.slice(0, -1)}A` });
    expect(r.success).toBe(false);
    expect(r.error?.issues.map((i) => [i.path.join('.'), i.message])).toEqual([
      ['address', expect.stringMatching(/EIP-55/)],
    ]);
    expect(cryptoDestination.safeParse({ network: 'ethereum', address: EIP55[1] }).success).toBe(true);
  });
});
