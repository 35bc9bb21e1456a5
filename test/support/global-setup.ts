import { loadConfig } from '../../src/config/index.ts';
import { startEmbeddedDatabase } from '../../src/db/embedded.ts';

/**
 * With DATABASE_URL unset, start one in-memory PGlite server for the whole run and hand its URL to the
 * workers through the environment they inherit. With DATABASE_URL set, tests use that server.
 */
export default async function globalSetup(): Promise<void> {
  if (loadConfig().database.url) return;
  const embedded = await startEmbeddedDatabase({ dataDir: 'memory://' });
  (globalThis as { __disburseEmbeddedDb?: typeof embedded }).__disburseEmbeddedDb = embedded;
  process.env.DATABASE_URL = embedded.url;
  process.env.DISBURSE_TEST_EMBEDDED_DB = 'pglite';
}
