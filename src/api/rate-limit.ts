// Token bucket per caller (API key id, payee token's payee, or client address when no credential is known
// yet). The buckets live in PostgreSQL (rate_limit_buckets, migration 0081) so that every API process spends
// from the same budget: N replicas allow what one allows, not N times that.
//
// Why not rate-limiter-flexible's RateLimiterPostgres: it counts fixed windows (a caller gets twice the
// limit across a window boundary, and the burst/rate settings do not map), reads Date.now() itself (tests
// here inject the clock), and creates its own table at run time outside the migrations. One
// INSERT … ON CONFLICT DO UPDATE statement does the same atomically: on PostgreSQL the conflicting row is
// locked for that statement only, so concurrent takes serialise on the row; there is no transaction, no
// advisory lock, nothing that can wait on the embedded PGlite's single session.
import type { Database } from '../db/open.ts';
import { sql } from '../db/sql.ts';

export interface RateLimitOptions {
  /** Tokens added per second. */
  ratePerSecond: number;
  /** Bucket size: the burst a caller may spend at once. */
  burst: number;
  now?: () => number;
  /** Buckets idle this long are dropped to bound memory. */
  idleMs?: number;
}

export interface RateDecision {
  allowed: boolean;
  /** Seconds until one token is available (0 when allowed). */
  retryAfterSeconds: number;
  remaining: number;
  /** The bucket size (RateLimit-Limit). */
  limit: number;
  /** Seconds until the bucket is full again (RateLimit-Reset). */
  resetSeconds: number;
  /** False when the shared store was unreachable and this process decided alone. */
  shared: boolean;
}

export interface RateLimiter {
  take(key: string): Promise<RateDecision>;
}

const MILLI = 1000;

/** Decision from a bucket level in milli-tokens (integers: no drift between processes). */
function decide(
  milliTokens: number,
  allowed: boolean,
  o: { ratePerSecond: number; burst: number },
  shared: boolean,
): RateDecision {
  const perSecond = o.ratePerSecond * MILLI;
  return {
    allowed,
    retryAfterSeconds: allowed ? 0 : Math.max(1, Math.ceil((MILLI - milliTokens) / perSecond)),
    remaining: Math.floor(milliTokens / MILLI),
    limit: o.burst,
    resetSeconds: Math.max(0, Math.ceil((o.burst * MILLI - milliTokens) / perSecond)),
    shared,
  };
}

/** In-process buckets: the fallback while the shared store is unreachable. */
export class TokenBucketLimiter implements RateLimiter {
  private readonly buckets = new Map<string, { milli: number; at: number }>();
  private readonly opts: Required<RateLimitOptions>;
  private lastSweep = 0;

  constructor(opts: RateLimitOptions) {
    this.opts = { now: () => Date.now(), idleMs: 10 * 60_000, ...opts };
  }

  async take(key: string): Promise<RateDecision> {
    return this.takeNow(key);
  }

  takeNow(key: string): RateDecision {
    const now = this.opts.now();
    this.sweep(now);
    const capacity = this.opts.burst * MILLI;
    const b = this.buckets.get(key) ?? { milli: capacity, at: now };
    b.milli = Math.min(capacity, b.milli + Math.max(0, now - b.at) * this.opts.ratePerSecond);
    b.at = Math.max(b.at, now);
    this.buckets.set(key, b);
    const allowed = b.milli >= MILLI;
    if (allowed) b.milli -= MILLI;
    return decide(b.milli, allowed, this.opts, false);
  }

  private sweep(now: number): void {
    if (now - this.lastSweep < this.opts.idleMs) return;
    this.lastSweep = now;
    for (const [k, b] of this.buckets) if (now - b.at > this.opts.idleMs) this.buckets.delete(k);
  }
}

export interface SharedRateLimitOptions {
  ratePerSecond: number;
  burst: number;
  db: Database;
  now?: () => number;
  /**
   * A take that has not answered by then is decided by the local fallback (default 500 ms: a take is one
   * short statement, and /healthz must answer within a probe's timeout while the database hangs).
   */
  timeoutMs?: number;
  /** After a store failure, decide locally this long before trying the store again (default 5000 ms). */
  retryMs?: number;
  /** Called once per outage of the store (and once when it answers again, with null). */
  onStoreError?: (error: unknown | null) => void;
}

/**
 * Buckets in PostgreSQL. If the store fails or does not answer in time, the request is decided by this
 * process's own buckets (fail open to per-process limits) until the store answers again: the store is the
 * application's own database, so an outage of it already refuses the work (503); closing the limiter too
 * would only add refusals of the requests that need no database (health, cached keys), while a local
 * budget still bounds a flood per process.
 */
export class SharedRateLimiter implements RateLimiter {
  private readonly o: Required<Omit<SharedRateLimitOptions, 'onStoreError'>> &
    Pick<SharedRateLimitOptions, 'onStoreError'>;
  private readonly local: TokenBucketLimiter;
  private readonly statement: string;
  private readonly sweepStatement: string;
  private localUntil = 0;
  private degraded = false;
  private lastSweep: number;

  constructor(o: SharedRateLimitOptions) {
    this.o = { now: () => Date.now(), timeoutMs: 500, retryMs: 5000, ...o };
    this.local = new TokenBucketLimiter({ ratePerSecond: o.ratePerSecond, burst: o.burst, now: this.o.now });
    this.lastSweep = this.o.now();
    const table = `"${o.db.schema}".rate_limit_buckets`;
    // $1 key, $2 now (epoch ms), $3 capacity (milli-tokens), $4 refill (milli-tokens per ms = tokens/s).
    // Elapsed time is capped at $3 ms (rate ≥ 1 fills the bucket by then) to keep the product small; a clock
    // that runs behind the bucket's refills nothing and never moves the bucket back. Prepared: one per request.
    this.statement = `
INSERT INTO ${table} AS b (key, milli_tokens, at_ms, allowed)
VALUES ($1, $3::bigint - ${MILLI}, $2::bigint, true)
ON CONFLICT (key) DO UPDATE SET (milli_tokens, allowed, at_ms) = (
  SELECT CASE WHEN r >= ${MILLI} THEN r - ${MILLI} ELSE r END, r >= ${MILLI}, GREATEST(b.at_ms, $2::bigint)
  FROM (SELECT LEAST($3::bigint,
          b.milli_tokens + LEAST(GREATEST(0, $2::bigint - b.at_ms), $3::bigint) * $4::bigint) AS r) AS refill
)
RETURNING milli_tokens::text AS milli, allowed`;
    this.sweepStatement = `DELETE FROM ${table} WHERE at_ms < $1::bigint`;
  }

  async take(key: string): Promise<RateDecision> {
    const now = this.o.now();
    if (now < this.localUntil) return this.local.takeNow(key);
    try {
      const rows = await this.withTimeout(
        sql<{ milli: string; allowed: boolean }>(
          this.o.db.em(),
          this.statement,
          [key, now, this.o.burst * MILLI, this.o.ratePerSecond],
          { prepare: true },
        ),
      );
      const row = rows[0]!;
      if (this.degraded) {
        this.degraded = false;
        this.o.onStoreError?.(null);
      }
      await this.sweep(now);
      return decide(Number(row.milli), row.allowed, this.o, true);
    } catch (error) {
      this.localUntil = now + this.o.retryMs;
      if (!this.degraded) {
        this.degraded = true;
        this.o.onStoreError?.(error);
      }
      return this.local.takeNow(key);
    }
  }

  private withTimeout<T>(p: Promise<T>): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`rate limit store did not answer in ${this.o.timeoutMs} ms`)),
        this.o.timeoutMs,
      );
      timer.unref();
    });
    return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
  }

  /**
   * Drops buckets idle long enough to be full again (a full bucket and no row behave the same), at most
   * once a minute per process. A failed sweep is left to the next one.
   */
  private async sweep(now: number): Promise<void> {
    if (now - this.lastSweep < 60_000) return;
    this.lastSweep = now;
    const fullAfterMs = Math.ceil(this.o.burst / this.o.ratePerSecond) * 1000;
    await this.withTimeout(sql(this.o.db.em(), this.sweepStatement, [now - fullAfterMs - 60_000])).catch(
      () => {},
    );
  }
}

/** The IETF draft headers (draft-ietf-httpapi-ratelimit-headers) for a decision. */
export function rateLimitHeaders(d: RateDecision): Record<string, string> {
  return {
    'RateLimit-Limit': String(d.limit),
    'RateLimit-Remaining': String(d.remaining),
    'RateLimit-Reset': String(d.resetSeconds),
    ...(d.allowed ? {} : { 'Retry-After': String(d.retryAfterSeconds) }),
  };
}
