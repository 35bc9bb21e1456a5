import { loadConfig } from '../../src/config/index.ts';
import { startEmbeddedDatabase } from '../../src/db/embedded.ts';
import { TEST_DATABASE_KIND_VAR } from './db.ts';

/**
 * Chooses the database of the whole run, once: DATABASE_URL when it is set (real PostgreSQL), else one
 * in-memory PGlite server whose URL is exported as DATABASE_URL to the workers (they inherit the
 * environment). The choice is printed, so a run's output says which database it tested.
 */
export default async function globalSetup(): Promise<void> {
  const { url } = loadConfig().database;
  if (url) {
    process.env[TEST_DATABASE_KIND_VAR] = 'postgresql';
    console.log(`\ntests use PostgreSQL at ${new URL(url).host} (DATABASE_URL)`);
    return;
  }
  const embedded = await startEmbeddedDatabase({ dataDir: 'memory://' });
  (globalThis as { __disburseEmbeddedDb?: typeof embedded }).__disburseEmbeddedDb = embedded;
  process.env.DATABASE_URL = embedded.url;
  process.env[TEST_DATABASE_KIND_VAR] = 'pglite';
  console.log(
    '\ntests use embedded PGlite in memory (DATABASE_URL unset): one session, transactions serialised',
  );
}
