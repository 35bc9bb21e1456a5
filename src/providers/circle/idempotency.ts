// Circle's idempotencyKey must be a UUID (its reference says v4); ours are `<payoutId>:<attempt>`. The key is
// name-based: SHA-1 of a namespace and the attempt key (RFC 9562 version 5), so it is the same on every retry
// and in every process, and different per provider instance (two Circle accounts never share keys). Circle's
// key carries the version bits of a v4 (its documented format); the bits after them are the hash, not random.
import { createHash } from 'node:crypto';

/** Namespace of Disburse's Circle keys (a fixed random UUID). */
export const DISBURSE_CIRCLE_NAMESPACE = '5f1e0c1a-3c7b-4d55-9b0e-8a4f6d2c7e91';

function bytesOf(uuid: string): Buffer {
  const hex = uuid.replace(/-/g, '');
  if (!/^[0-9a-f]{32}$/i.test(hex)) throw new Error(`not a UUID: ${uuid}`);
  return Buffer.from(hex, 'hex');
}

/** RFC 9562 name-based UUID of `name` in `namespace`: version 5, or a v4-formatted one (same hash). */
export function uuidV5(namespace: string, name: string, version: 4 | 5 = 5): string {
  const h = createHash('sha1').update(bytesOf(namespace)).update(name, 'utf8').digest();
  h[6] = (h[6]! & 0x0f) | (version << 4);
  h[8] = (h[8]! & 0x3f) | 0x80;
  const x = h.subarray(0, 16).toString('hex');
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20)}`;
}

/** The idempotencyKey Circle sees for an attempt of this provider instance. */
export function circleIdempotencyKey(provider: string, attemptKey: string): string {
  return uuidV5(uuidV5(DISBURSE_CIRCLE_NAMESPACE, provider), attemptKey, 4);
}
