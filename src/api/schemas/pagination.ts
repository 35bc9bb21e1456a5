import { z } from 'zod';

/** `?limit=` of a paginated list: 1-200 items, default chosen by the route. */
export const pageLimit = z
  .string()
  .regex(/^\d{1,3}$/, 'must be a whole number 1-200')
  .transform(Number)
  .pipe(z.number().int().min(1).max(200))
  .optional()
  .describe('Page size, 1-200 (default 50)');

const INVALID_CURSOR = 'is not a cursor this API returned; start again without a cursor';
const BIGINT_MAX = 2n ** 63n - 1n;
const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?Z$/;

function decoded(cursor: string): unknown {
  try {
    return JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    return undefined;
  }
}

/** A real instant in ISO 8601 UTC that reads back as itself (2026-02-30 does not). */
function isRealInstant(text: string): boolean {
  // Year 0000 does not exist in PostgreSQL either.
  if (!ISO_UTC.test(text) || text.startsWith('0000')) return false;
  const at = new Date(text);
  return !Number.isNaN(at.getTime()) && at.toISOString().slice(0, 19) === text.slice(0, 19);
}

/**
 * `?cursor=` of the payout list: base64url JSON [createdAt, payoutId], checked here (a real instant, a
 * payout id) so that a tampered one is a 400, not a database error.
 */
export const payoutCursor = z
  .string()
  .max(300)
  .refine((c) => {
    const v = decoded(c);
    return (
      Array.isArray(v) &&
      v.length === 2 &&
      typeof v[0] === 'string' &&
      typeof v[1] === 'string' &&
      isRealInstant(v[0]) &&
      /^po_[a-z0-9]{8,64}$/.test(v[1])
    );
  }, INVALID_CURSOR)
  .describe('nextCursor from the previous page');

/** `?cursor=` of a wallet's history: base64url JSON {v: 1, before: ledger entry id within bigint}. */
export const ledgerCursor = z
  .string()
  .max(200)
  .refine((c) => {
    const v = decoded(c) as { v?: unknown; before?: unknown } | undefined;
    if (!v || typeof v !== 'object' || v.v !== 1 || typeof v.before !== 'string') return false;
    if (!/^[1-9]\d{0,18}$/.test(v.before)) return false;
    return BigInt(v.before) <= BIGINT_MAX;
  }, INVALID_CURSOR)
  .describe('nextCursor from the previous page');
