// Idempotency-Key semantics for POST (and PUT/PATCH when the header is sent):
// - same caller + key + same request (method, path, canonical body) → the stored response is replayed;
// - same caller + key + a different request → 422 idempotency_key_reused;
// - a request with the same key still running → 409 idempotency_in_flight.
// Two ways to hold the key while the handler runs (the route's `idempotencyMode`):
// - transaction (default): the record is written in the handler's transaction, so the response is stored
//   exactly when the handler's writes commit. A transaction-scoped advisory lock on (caller, key) detects the
//   in-flight duplicate without waiting: the lock is released by the commit that makes the record visible.
// - lease: for handlers whose effect is not a database write alone (a workflow start) and that are idempotent
//   by business id. The key is claimed in its own statement with a lease, the handler runs without a
//   transaction (no connection or lock held across the remote call), and the response is stored when it
//   returns. While the lease lasts a duplicate is 409; once it ran out (the request died mid-way), the same
//   request takes the claim over and runs the handler again, which finishes the same work.
import { createHash } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import { IdempotencyRecord } from '../db/idempotency-entities.ts';
import { qualify } from '../db/identifiers.ts';
import { sql } from '../db/sql.ts';
import { isDatabaseUnavailable } from '../db/unavailable.ts';
import { canonicalJson } from '../shared/canonical-json.ts';
import { ApiError } from './errors.ts';

export interface StoredResponse {
  status: number;
  body: unknown;
  headers: Record<string, string>;
}

export const IDEMPOTENCY_KEY_PATTERN = /^[A-Za-z0-9._:-]{8,200}$/;

export function requestHash(method: string, path: string, body: unknown): string {
  return createHash('sha256')
    .update(`${method.toUpperCase()} ${path}\n${canonicalJson(body)}`)
    .digest('hex');
}

function lockId(actor: string, key: string): string {
  return createHash('sha256').update(`${actor}\0${key}`).digest().readBigInt64BE(0).toString();
}

/** Who sent which request under which key. */
export interface IdempotencyClaim {
  actor: string;
  key: string;
  hash: string;
}

/** What is stored under a key; `responseStatus` is null while a leased claim is in flight. */
interface ExistingRecord {
  requestHash: string;
  method: string;
  path: string;
  responseStatus: number | null | undefined;
  responseBody: unknown;
  responseHeaders: Record<string, string>;
}

/** The stored response of the same request, or the reason this request may not run now. */
function replayOrRefuse(existing: ExistingRecord, claim: IdempotencyClaim): StoredResponse {
  if (existing.requestHash !== claim.hash) {
    throw new ApiError(
      'idempotency_key_reused',
      `Idempotency-Key "${claim.key}" was already used for a different request (${existing.method} ${existing.path} ` +
        'or another body); use a new key for a new request.',
    );
  }
  if (existing.responseStatus == null) throw inFlight();
  return { status: existing.responseStatus, body: existing.responseBody, headers: existing.responseHeaders };
}

function inFlight(): ApiError {
  return new ApiError(
    'idempotency_in_flight',
    'Another request with this Idempotency-Key is still being processed; retry after it completes.',
    { headers: { 'Retry-After': '1' } },
  );
}

/**
 * Transaction mode. Call inside the request transaction before running the handler. Returns the stored
 * response to replay, or null when the handler should run (then call `saveIdempotentResponse` in the same
 * transaction).
 */
export async function claimIdempotencyKey(
  tx: EntityManager,
  claim: IdempotencyClaim,
): Promise<StoredResponse | null> {
  const [lock] = await sql<{ ok: boolean }>(tx, 'SELECT pg_try_advisory_xact_lock($1::bigint) AS ok', [
    lockId(claim.actor, claim.key),
  ]);
  if (!lock?.ok) throw inFlight();
  const existing = await tx.findOne(IdempotencyRecord, { actor: claim.actor, key: claim.key });
  return existing ? replayOrRefuse(existing, claim) : null;
}

/** How long a leased claim stays in flight: longer than any leased handler runs (one workflow start). */
const IDEMPOTENCY_LEASE_SECONDS = 60;

/**
 * Lease mode, before the handler: claims the key for this request in one committed statement, or takes over
 * the claim of the same request whose lease ran out. Returns the stored response to replay, or null when the
 * handler should run (then `completeIdempotencyLease`, or `releaseIdempotencyLease` if it throws).
 */
async function claimIdempotencyLease(
  em: EntityManager,
  schema: string,
  claim: IdempotencyClaim & { method: string; path: string },
): Promise<StoredResponse | null> {
  const table = qualify(schema, 'idempotency_keys');
  // A claim forgotten between the two statements (its request was refused) can be claimed again: retry once.
  for (let attempt = 0; attempt < 2; attempt++) {
    const claimed = await sql(
      em,
      `INSERT INTO ${table} AS k (actor, key, request_hash, method, path, lease_until)
            VALUES ($1, $2, $3, $4, $5, now() + make_interval(secs => $6))
       ON CONFLICT (actor, key) DO UPDATE SET lease_until = EXCLUDED.lease_until
             WHERE k.lease_until <= now() AND k.request_hash = EXCLUDED.request_hash
       RETURNING 1`,
      [claim.actor, claim.key, claim.hash, claim.method, claim.path, IDEMPOTENCY_LEASE_SECONDS],
      { prepare: true },
    );
    if (claimed.length > 0) return null;
    const [existing] = await sql<ExistingRecord>(
      em,
      `SELECT request_hash AS "requestHash", method, path, response_status AS "responseStatus",
              response_body AS "responseBody", response_headers AS "responseHeaders"
         FROM ${table} WHERE actor = $1 AND key = $2`,
      [claim.actor, claim.key],
    );
    if (existing) return replayOrRefuse(existing, claim);
  }
  throw inFlight();
}

/**
 * Lease mode, the whole request: claims the key while the handler makes its first reads (it awaits
 * `untilKeyHeld` before writing), then stores the handler's answer, or releases the claim when it throws
 * (`refused`: the error is a 4xx, given before any write). A stored answer of this request wins over what
 * the handler says now; another request's claim or answer makes this one 409 or 422.
 */
export async function runUnderLease<R>(o: {
  em: () => EntityManager;
  schema: string;
  claim: IdempotencyClaim & { method: string; path: string };
  handler: (untilKeyHeld: () => Promise<void>) => Promise<R>;
  toStore: (result: R) => StoredResponse;
  refused: (error: unknown) => boolean;
  onReleaseError: (error: unknown) => void;
}): Promise<{ replay: StoredResponse } | { fresh: R }> {
  const claimed = claimIdempotencyLease(o.em(), o.schema, o.claim).then(
    (replay) => ({ replay }),
    (refusal: unknown) => ({ replay: null, refusal }),
  );
  const untilKeyHeld = async () => {
    const c = await claimed;
    if ('refusal' in c || c.replay) throw new Error("superseded: the Idempotency-Key is not this request's");
  };
  const handled = await o.handler(untilKeyHeld).then(
    (fresh) => ({ fresh }),
    (error: unknown) => ({ error }),
  );
  const c = await claimed;
  if ('refusal' in c) throw c.refusal;
  if (c.replay) return { replay: c.replay };
  if ('error' in handled) {
    await releaseUntilDone(
      () => releaseIdempotencyLease(o.em(), o.schema, o.claim, { forget: o.refused(handled.error) }),
      o.onReleaseError,
    );
    throw handled.error;
  }
  await completeIdempotencyLease(o.em(), o.schema, o.claim, o.toStore(handled.fresh));
  return { fresh: handled.fresh };
}

/**
 * Lease mode, after the handler returned: stores its response and ends the lease. Committed without waiting
 * for the WAL flush: a crash can lose only this write, which leaves the claim as if its request had died
 * mid-way, so the retry finishes the same (idempotent) work and stores the answer again.
 */
async function completeIdempotencyLease(
  em: EntityManager,
  schema: string,
  claim: IdempotencyClaim,
  response: StoredResponse,
): Promise<void> {
  await sql(
    em,
    `UPDATE ${qualify(schema, 'idempotency_keys')}
        SET response_status = $4, response_body = $5::jsonb, response_headers = $6::jsonb, lease_until = NULL
       FROM (SELECT set_config('synchronous_commit', 'off', true)) AS async_commit
      WHERE actor = $1 AND key = $2 AND request_hash = $3`,
    [
      claim.actor,
      claim.key,
      claim.hash,
      response.status,
      JSON.stringify(response.body ?? null),
      JSON.stringify(response.headers),
    ],
    { prepare: true },
  );
}

/** Delays between background tries of a release the database refused; together shorter than a lease. */
export const RELEASE_RETRY_DELAYS_MS = [250, 500, 1000, 2000, 4000, 8000, 15_000, 25_000];

/**
 * Runs `release` once; when the database is away, tries again in the background (the answer, often a 503 for
 * that same outage, is not held up). Without this, a retry of the request met 409 until the lease ran out.
 */
export async function releaseUntilDone(
  release: () => Promise<void>,
  onError: (error: unknown) => void,
  delaysMs: readonly number[] = RELEASE_RETRY_DELAYS_MS,
): Promise<void> {
  try {
    await release();
  } catch (error) {
    if (!isDatabaseUnavailable(error) || delaysMs.length === 0) return onError(error);
    const [delay, ...rest] = delaysMs;
    setTimeout(() => void releaseUntilDone(release, onError, rest), delay).unref();
  }
}

/**
 * Lease mode, after the handler threw. `forget` (the request was refused before the handler wrote anything,
 * a 4xx) deletes the claim: the key is unused. Otherwise the lease ends now and the claim stays, so a retry
 * of the same request takes over at once and another request under this key is still refused.
 */
async function releaseIdempotencyLease(
  em: EntityManager,
  schema: string,
  claim: IdempotencyClaim,
  opts: { forget: boolean },
): Promise<void> {
  const table = qualify(schema, 'idempotency_keys');
  await sql(
    em,
    opts.forget
      ? `DELETE FROM ${table} WHERE actor = $1 AND key = $2 AND request_hash = $3 AND lease_until IS NOT NULL`
      : `UPDATE ${table} SET lease_until = now() WHERE actor = $1 AND key = $2 AND request_hash = $3
            AND lease_until IS NOT NULL`,
    [claim.actor, claim.key, claim.hash],
  );
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

/**
 * Purges records older than `retentionMs` now and then every `everyMs` (each API process does it; the
 * deletes are idempotent). Returns a stop function.
 */
export function startIdempotencyPurge(o: {
  em: () => EntityManager;
  retentionMs: number;
  everyMs?: number;
  onError: (error: unknown) => void;
}): () => void {
  const purge = () =>
    void purgeIdempotencyRecords(o.em(), new Date(Date.now() - o.retentionMs)).catch(o.onError);
  purge();
  const timer = setInterval(purge, o.everyMs ?? 3_600_000);
  timer.unref();
  return () => clearInterval(timer);
}
