import { randomBytes } from 'node:crypto';
import { loadConfig } from '../../src/config/index.ts';
import { migrateDatabase } from '../../src/db/migrate.ts';
import { type Database, openDatabase } from '../../src/db/open.ts';
import { sql } from '../../src/db/sql.ts';

export interface TestDatabase extends Database {
  /** Drops the schema and closes the connections; call in afterAll. */
  drop(): Promise<void>;
}

/**
 * A fresh, uniquely named schema with every migration applied, so each test file is isolated and files
 * run in parallel. Uses DATABASE_URL (real PostgreSQL) or, when it is unset, the embedded PGlite server
 * that jest's global setup started (it exports its URL as DATABASE_URL to the workers).
 */
export async function createTestDatabase(
  label: string,
  options: { poolMax?: number } = {},
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
  const db = await openDatabase({ url: database.url, schema, poolMax: options.poolMax ?? 20 });
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
