// Idempotency-Key semantics for POST (and PUT/PATCH when the header is sent):
// - same caller + key + same request (method, path, canonical body) → the stored response is replayed;
// - same caller + key + a different request → 422 idempotency_key_reused;
// - a request with the same key still running → 409 idempotency_in_flight.
// The record is written in the handler's transaction, so the response is stored exactly when the handler's
// writes commit. A transaction-scoped advisory lock on (caller, key) detects the in-flight duplicate
// without waiting: the lock is released by the commit that makes the record visible.
import { createHash } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import { sql } from '../db/sql.ts';
import { IdempotencyRecord } from './entities.ts';
import { ApiError } from './errors.ts';

export interface StoredResponse {
  status: number;
  body: unknown;
  headers: Record<string, string>;
}

export const IDEMPOTENCY_KEY_PATTERN = /^[A-Za-z0-9._:-]{8,200}$/;

/** JSON with sorted object keys, so `{a,b}` and `{b,a}` hash the same. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value ?? null);
}

export function requestHash(method: string, path: string, body: unknown): string {
  return createHash('sha256')
    .update(`${method.toUpperCase()} ${path}\n${canonicalJson(body)}`)
    .digest('hex');
}

function lockId(actor: string, key: string): string {
  return createHash('sha256').update(`${actor}\0${key}`).digest().readBigInt64BE(0).toString();
}

/**
 * Call inside the request transaction before running the handler. Returns the stored response to replay,
 * or null when the handler should run (then call `saveIdempotentResponse` in the same transaction).
 */
export async function claimIdempotencyKey(
  tx: EntityManager,
  claim: { actor: string; key: string; hash: string },
): Promise<StoredResponse | null> {
  const [lock] = await sql<{ ok: boolean }>(tx, 'SELECT pg_try_advisory_xact_lock($1::bigint) AS ok', [
    lockId(claim.actor, claim.key),
  ]);
  if (!lock?.ok) {
    throw new ApiError(
      'idempotency_in_flight',
      'Another request with this Idempotency-Key is still being processed; retry after it completes.',
      { headers: { 'Retry-After': '1' } },
    );
  }
  const existing = await tx.findOne(IdempotencyRecord, { actor: claim.actor, key: claim.key });
  if (!existing) return null;
  if (existing.requestHash !== claim.hash) {
    throw new ApiError(
      'idempotency_key_reused',
      `Idempotency-Key "${claim.key}" was already used for a different request (${existing.method} ${existing.path} ` +
        'or another body); use a new key for a new request.',
    );
  }
  return { status: existing.responseStatus, body: existing.responseBody, headers: existing.responseHeaders };
}

export async function saveIdempotentResponse(
  tx: EntityManager,
  rec: { actor: string; key: string; hash: string; method: string; path: string; response: StoredResponse },
  now = new Date(),
): Promise<void> {
  tx.create(IdempotencyRecord, {
    actor: rec.actor,
    key: rec.key,
    requestHash: rec.hash,
    method: rec.method,
    path: rec.path,
    responseStatus: rec.response.status,
    responseBody: rec.response.body ?? null,
    responseHeaders: rec.response.headers,
    createdAt: now,
  });
  await tx.flush();
}

/** Deletes stored responses older than `olderThan` (clients retry within hours, not weeks). Returns the count. */
export async function purgeIdempotencyRecords(em: EntityManager, olderThan: Date): Promise<number> {
  return em.nativeDelete(IdempotencyRecord, { createdAt: { $lt: olderThan } });
}
