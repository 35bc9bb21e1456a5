import { z } from 'zod';
import { defineConfigSection, intVar, type SectionValue } from './section.ts';

const identifier = /^[a-z_][a-z0-9_]{0,62}$/;

export const databaseSection = defineConfigSection(
  'database',
  z.object({
    DATABASE_URL: z
      .string()
      .regex(/^postgres(ql)?:\/\/\S+$/, 'must be a postgres:// connection URL')
      .optional()
      .describe('postgres://user[:password]@host[:port]/database; unset = embedded PGlite'),
    DATABASE_SCHEMA: z
      .string()
      .regex(identifier, 'must be a lower-case SQL identifier')
      .optional()
      .describe('a lower-case identifier such as public or disburse (default public)'),
    DATABASE_POOL_MAX: intVar(1, 200, 10).describe('an integer 1-200 (default 10)'),
    DATABASE_ACQUIRE_TIMEOUT_MS: intVar(100, 120_000, 5000).describe(
      'milliseconds 100-120000 a request waits for a database connection before answering 503 (default 5000)',
    ),
    DATABASE_IDLE_TIMEOUT_MS: intVar(1000, 3_600_000, 10_000).describe(
      'milliseconds 1000-3600000 after which an idle database connection is closed (default 10000)',
    ),
    DATABASE_APPLICATION_NAME: z
      .string()
      .regex(/^[\x21-\x7e]{1,63}$/, 'must be 1-63 printable ASCII characters without spaces')
      .optional()
      .describe('application_name shown in pg_stat_activity (default disburse)'),
    DATABASE_PREPARED_STATEMENTS: z
      .enum(['true', 'false'])
      .optional()
      .describe(
        'true or false (default true): hot-path statements prepared once per connection; false behind a pooler that cannot keep them (PgBouncer transaction mode before 1.21)',
      ),
    PGLITE_DATA_DIR: z
      .string()
      .min(1)
      .optional()
      .describe("a directory path, or 'memory://' for an in-memory database (default .data/pglite)"),
  }),
  (v) => ({
    /** Unset: start the embedded PGlite server (src/db/embedded.ts). */
    url: v.DATABASE_URL,
    schema: v.DATABASE_SCHEMA ?? 'public',
    poolMax: v.DATABASE_POOL_MAX,
    acquireTimeoutMs: v.DATABASE_ACQUIRE_TIMEOUT_MS,
    idleTimeoutMs: v.DATABASE_IDLE_TIMEOUT_MS,
    applicationName: v.DATABASE_APPLICATION_NAME ?? 'disburse',
    preparedStatements: v.DATABASE_PREPARED_STATEMENTS !== 'false',
    embeddedDataDir: v.PGLITE_DATA_DIR ?? '.data/pglite',
  }),
);

export type DatabaseConfig = SectionValue<typeof databaseSection>;
