import { isIP } from 'node:net';
import { z } from 'zod';
import { duration } from './payouts.ts';
import { defineConfigSection, intVar, type SectionValue } from './section.ts';

export const apiSection = defineConfigSection(
  'api',
  z.object({
    API_PORT: intVar(0, 65535, 3000).describe('a TCP port 0-65535 (default 3000; 0 = any free port)'),
    API_HOST: z
      .string()
      .min(1)
      .optional()
      .describe('an interface address to listen on, e.g. 0.0.0.0 (default 127.0.0.1)'),
    API_BODY_LIMIT_BYTES: intVar(1024, 10 * 1024 * 1024, 100 * 1024).describe(
      'maximum request body in bytes, 1024-10485760 (default 102400)',
    ),
    API_RATE_LIMIT_PER_SECOND: intVar(1, 1_000_000, 200).describe(
      'requests per second each API key, payee, client address (unauthenticated or unverified key) and provider webhook sender may sustain, shared by all API processes (default 200)',
    ),
    API_RATE_LIMIT_BURST: intVar(1, 1_000_000, 400).describe(
      'burst size of the per-caller token bucket (default 400)',
    ),
    API_TRUST_PROXY: z
      .string()
      .transform((s, ctx) => parseTrustProxy(s, ctx))
      .optional()
      .describe(
        "which reverse proxies give the client address in X-Forwarded-For: false (default: the TCP peer is the client), true, a hop count, or a comma list of addresses/subnets (loopback, linklocal, uniquelocal, 10.0.0.0/8, …); behind a proxy without it every client shares the proxy's rate-limit bucket",
      ),
    API_KEY_CACHE_SECONDS: intVar(0, 300, 5).describe(
      "seconds a verified API key, and a payee token's revocation status, is trusted without a database lookup, 0-300 (default 5; a revoked key or token works up to this long on each API process; 0 = look up on every request)",
    ),
    IDEMPOTENCY_KEY_RETENTION: duration(
      '7d',
      'how long the answer stored under an Idempotency-Key is kept (a retry after that is a new request; a payout under the same key is still the same payout)',
    ).refine((ms) => ms >= 3_600_000, 'must be at least 1h'),
    LOG_LEVEL: z
      .enum(['debug', 'info', 'warn', 'error'])
      .optional()
      .describe('one of debug, info, warn, error (default info)'),
  }),
  (v) => ({
    port: v.API_PORT,
    host: v.API_HOST ?? '127.0.0.1',
    bodyLimitBytes: v.API_BODY_LIMIT_BYTES,
    rateLimit: { ratePerSecond: v.API_RATE_LIMIT_PER_SECOND, burst: v.API_RATE_LIMIT_BURST },
    trustProxy: v.API_TRUST_PROXY ?? false,
    apiKeyCacheMs: v.API_KEY_CACHE_SECONDS * 1000,
    idempotencyRetentionMs: v.IDEMPOTENCY_KEY_RETENTION,
    logLevel: v.LOG_LEVEL ?? 'info',
  }),
);

export type ApiConfig = SectionValue<typeof apiSection>;

const PROXY_NAMES = new Set(['loopback', 'linklocal', 'uniquelocal']);

/** Express `trust proxy` from API_TRUST_PROXY; refuses what Express would misread. */
function parseTrustProxy(s: string, ctx: z.RefinementCtx): boolean | number | string {
  const v = s.trim();
  if (v === 'false' || v === '') return false;
  if (v === 'true') return true;
  if (/^\d+$/.test(v)) return Number(v);
  const entries = v.split(',').map((e) => e.trim());
  for (const e of entries) {
    const [addr, bits, ...rest] = e.split('/');
    const bitsOk =
      bits === undefined || (/^\d{1,3}$/.test(bits) && Number(bits) <= (isIP(addr!) === 6 ? 128 : 32));
    if (!PROXY_NAMES.has(e) && (rest.length > 0 || isIP(addr ?? '') === 0 || !bitsOk)) {
      ctx.addIssue({
        code: 'custom',
        message: `"${e}" is not true, false, a hop count, an address, a subnet or one of loopback, linklocal, uniquelocal`,
      });
    }
  }
  return entries.join(',');
}
