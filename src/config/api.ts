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
      'requests per second each API key or payee token may sustain (default 200)',
    ),
    API_RATE_LIMIT_BURST: intVar(1, 1_000_000, 400).describe(
      'burst size of the per-caller token bucket (default 400)',
    ),
    API_KEY_CACHE_SECONDS: intVar(0, 300, 5).describe(
      'seconds a verified API key is trusted without a database lookup, 0-300 (default 5; a revoked key works up to this long on each API process; 0 = look up on every request)',
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
    apiKeyCacheMs: v.API_KEY_CACHE_SECONDS * 1000,
    idempotencyRetentionMs: v.IDEMPOTENCY_KEY_RETENTION,
    logLevel: v.LOG_LEVEL ?? 'info',
  }),
);

export type ApiConfig = SectionValue<typeof apiSection>;
