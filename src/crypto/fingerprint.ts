// Keyed fingerprints of normalised destinations: equal destinations give equal fingerprints, so risk rules
// can find a destination shared by several payees without decrypting anything. The HMAC key is separate
// from the encryption keys and must stay stable (rotating it means recomputing every fingerprint).
import { createHmac } from 'node:crypto';

/** Removes spaces and hyphens (and upper-cases unless the identifier is case-sensitive, e.g. base58). */
export function normaliseIdentifier(value: string, caseSensitive = false): string {
  const compact = value.normalize('NFKC').replace(/[\s-]/g, '');
  return caseSensitive ? compact : compact.toUpperCase();
}

/** `parts` must already be normalised (see normaliseIdentifier). */
export function fingerprint(key: Buffer, kind: string, parts: readonly string[]): string {
  const h = createHmac('sha256', key);
  h.update(`disburse.destination.v1\0${kind}`);
  for (const p of parts) h.update(`\0${p}`);
  return h.digest('base64url');
}
