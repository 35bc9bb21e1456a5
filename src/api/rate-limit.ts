// Token bucket per caller (API key id, payee token's payee, or client address when unauthenticated).
// In-process: each API instance limits on its own, which bounds abuse per instance without a shared store.

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
}

export class TokenBucketLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();
  private readonly opts: Required<RateLimitOptions>;
  private lastSweep = 0;

  constructor(opts: RateLimitOptions) {
    this.opts = { now: () => Date.now(), idleMs: 10 * 60_000, ...opts };
  }

  take(key: string): RateDecision {
    const now = this.opts.now();
    this.sweep(now);
    const { ratePerSecond, burst } = this.opts;
    const b = this.buckets.get(key) ?? { tokens: burst, at: now };
    b.tokens = Math.min(burst, b.tokens + ((now - b.at) / 1000) * ratePerSecond);
    b.at = now;
    this.buckets.set(key, b);
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return { allowed: true, retryAfterSeconds: 0, remaining: Math.floor(b.tokens) };
    }
    return {
      allowed: false,
      retryAfterSeconds: Math.max(1, Math.ceil((1 - b.tokens) / ratePerSecond)),
      remaining: 0,
    };
  }

  private sweep(now: number): void {
    if (now - this.lastSweep < this.opts.idleMs) return;
    this.lastSweep = now;
    for (const [k, b] of this.buckets) if (now - b.at > this.opts.idleMs) this.buckets.delete(k);
  }
}
