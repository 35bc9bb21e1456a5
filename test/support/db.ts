import { randomBytes } from 'node:crypto';
import { loadConfig } from '../../src/config/index.ts';
import { migrateDatabase } from '../../src/db/migrate.ts';
import { type Database, openDatabase } from '../../src/db/open.ts';
import { sql } from '../../src/db/sql.ts';

/** Set by jest's global setup (test/support/global-setup.ts) to the database it chose for the run. */
export const TEST_DATABASE_KIND_VAR = 'DISBURSE_TEST_EMBEDDED_DB';

/**
 * The database this run tests: `postgresql` when DATABASE_URL was set, `pglite` (embedded, one session:
 * transactions run one at a time, a second transaction waits instead of meeting a lock) when it was unset.
 * For the few assertions whose correct answer differs between the two.
 */
export function testDatabaseKind(): 'postgresql' | 'pglite' {
  return process.env[TEST_DATABASE_KIND_VAR] === 'pglite' ? 'pglite' : 'postgresql';
}

export interface TestDatabase extends Database {
  /** Drops the schema and closes the connections; call in afterAll. */
  drop(): Promise<void>;
}

/**
 * A fresh, uniquely named schema with every migration applied, so each test file is isolated and files
 * run in parallel. Connects to DATABASE_URL, which is either the PostgreSQL the run was started with or
 * the embedded PGlite server that jest's global setup started when it was unset (see testDatabaseKind).
 */
export async function createTestDatabase(
  label: string,
  options: { poolMax?: number; acquireTimeoutMs?: number } = {},
): Promise<TestDatabase> {
  const { database } = loadConfig();
  if (!database.url) {
    throw new Error('DATABASE_URL is unset: run tests through `npm test` (jest global setup starts PGlite).');
  }
  const slug = label
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '_')
    .slice(0, 30);
  const schema = `t_${slug}_${randomBytes(4).toString('hex')}`;
  // application_name = the schema: a test that terminates its own backends finds exactly those.
  const db = await openDatabase({
    url: database.url,
    schema,
    poolMax: options.poolMax ?? 20,
    applicationName: schema,
    ...(options.acquireTimeoutMs ? { acquireTimeoutMs: options.acquireTimeoutMs } : {}),
  });
  try {
    await migrateDatabase(db);
  } catch (error) {
    await db.close();
    throw error;
  }
  return {
    ...db,
    async drop() {
      try {
        await sql(db.em(), `DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      } finally {
        await db.close();
      }
    },
  };
}
