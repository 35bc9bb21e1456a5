// Receiving-address checks per network, shared by the destination schema (registration: 4xx naming the
// problem) and the Circle adapter (submission: a hard decline naming it). EVM: 0x + 40 hex, and when the
// address is mixed case its EIP-55 checksum must hold (a mistyped character is then caught before paying).
// Solana: base58 of a 32-byte public key.
import { keccak256 } from '../crypto/keccak.ts';

export const evmNetworks = ['ethereum', 'polygon', 'base', 'arbitrum'] as const;

/** The EIP-55 mixed-case form of a 0x-hex-40 address. */
export function toChecksumAddress(address: string): string {
  const hex = address.slice(2).toLowerCase();
  const hash = keccak256(Buffer.from(hex, 'ascii')).toString('hex');
  let out = '0x';
  for (let i = 0; i < 40; i++) out += Number.parseInt(hash[i]!, 16) >= 8 ? hex[i]!.toUpperCase() : hex[i]!;
  return out;
}

const B58 = '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz';

/** Bytes of a base58 string, or undefined when it holds a character outside the alphabet. */
export function base58Decode(text: string): Buffer | undefined {
  let n = 0n;
  for (const ch of text) {
    const v = B58.indexOf(ch);
    if (v < 0) return undefined;
    n = n * 58n + BigInt(v);
  }
  const bytes: number[] = [];
  while (n > 0n) {
    bytes.unshift(Number(n & 0xffn));
    n >>= 8n;
  }
  for (const ch of text) {
    if (ch !== '1') break;
    bytes.unshift(0);
  }
  return Buffer.from(bytes);
}

/** Why `address` cannot receive on `network`, or undefined when it can. Unknown networks are not judged here. */
export function cryptoAddressProblem(network: string, address: string): string | undefined {
  if ((evmNetworks as readonly string[]).includes(network)) {
    if (!/^0x[0-9a-fA-F]{40}$/.test(address))
      return `is not a ${network} address (0x followed by 40 hex digits)`;
    const body = address.slice(2);
    const mixed = body !== body.toLowerCase() && body !== body.toUpperCase();
    if (mixed && toChecksumAddress(address) !== address) {
      return `fails its EIP-55 checksum (a character is mistyped); check the ${network} address`;
    }
    return undefined;
  }
  if (network === 'solana') {
    if (!/^[1-9A-HJ-NP-Za-km-z]{32,44}$/.test(address))
      return 'is not a solana address (base58, 32-44 characters)';
    if (base58Decode(address)?.length !== 32) return 'is not a solana address (must decode to a 32-byte key)';
    return undefined;
  }
  return undefined;
}
