// Every request spends from a bucket before anything else runs (unknown paths and public routes too), so a
// flood is refused before it costs a lookup. The bucket is known without a database lookup (auth.ts
// `presentedOf`); a key seen for the first time on this process also spends from its own bucket (auth.ts).
import { randomUUID } from 'node:crypto';
import type { Request, RequestHandler, Response } from 'express';
import { ApiError } from '../../http/errors.ts';
import type { Logger } from '../../observability/log.ts';
import { mapError, mapRequestError, toProblem } from '../problem.ts';
import { type RateDecision, type RateLimiter, rateLimitHeaders } from '../rate-limit.ts';
import type { Presented } from './auth.ts';
import { sendProblem } from './errors.ts';

export interface RateLimiting {
  /** Spends one token; sets the RateLimit-* headers; throws rate_limited when the bucket is empty. */
  spend(res: Response, bucket: string): Promise<void>;
  /** Middleware spending under the key `bucket` gives; answers 429 problem+json itself. */
  limit(bucket: (req: Request) => string): RequestHandler;
}

export function rateLimiting(limiter: RateLimiter, log: Logger): RateLimiting {
  async function spend(res: Response, bucket: string): Promise<void> {
    const d = await limiter.take(bucket);
    for (const [k, v] of Object.entries(rateLimitHeaders(d))) res.setHeader(k, v);
    if (!d.allowed) throw rateLimited(d);
  }
  // Runs in front of the route pipeline and its error answers, so it answers and logs on its own.
  const limit =
    (bucket: (req: Request) => string): RequestHandler =>
    async (req, res, next) => {
      try {
        await spend(res, bucket(req));
        next();
      } catch (caught) {
        const mapped = mapRequestError(caught) ?? mapError(caught);
        const errorId = randomUUID();
        const problem = toProblem(mapped, req.originalUrl.split('?')[0]!, errorId);
        log.info('request', {
          method: req.method,
          path: req.path,
          status: problem.status,
          errorId,
          errorKind: mapped.kind,
        });
        sendProblem(res, problem, mapped.headers);
      }
    };
  return { spend, limit };
}

function rateLimited(d: RateDecision): ApiError {
  return new ApiError('rate_limited', `Rate limit exceeded; retry after ${d.retryAfterSeconds} s`, {
    headers: rateLimitHeaders(d),
  });
}

/**
 * The bucket a request spends from, known before any lookup: a signed payee token's payee, a key that
 * verified on this process before; anything else (no credential, a key never seen, a guessed one) the
 * client address — so a flood of invalid keys is refused before each is looked up.
 */
export function bucketOf(p: Presented, req: Request): string {
  if (p.kind === 'payee') return `payee:${p.claims.payeeId}`;
  if (p.kind === 'key' && p.keyId) return `key:${p.keyId}`;
  return `ip:${req.ip}`;
}
