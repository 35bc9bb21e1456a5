// The database of a process: DATABASE_URL, or the embedded PGlite (owned here, or a running owner's
// endpoint). Kept apart from src/app/runtime.ts so the CLIs open it without loading the worker and services.
import type { Config } from '../config/index.ts';
import { connectEmbeddedDatabase, type EmbeddedDatabase, startEmbeddedDatabase } from './embedded.ts';
import { migrateDatabase } from './migrate.ts';
import { type Database, openDatabase } from './open.ts';

export interface DatabaseHandle {
  db: Database;
  embedded?: EmbeddedDatabase;
  close(): Promise<void>;
}

/**
 * Opens DATABASE_URL or, when it is unset, the embedded PGlite; applies migrations if asked. `own`: this
 * process must open the data directory itself (`npm start`, which also runs temporal-dev on its state:
 * a second one must not start); otherwise a running owner's endpoint is used when there is one.
 */
export async function openRuntimeDatabase(
  config: Config,
  opts: { migrate: boolean; own?: boolean },
): Promise<DatabaseHandle> {
  const dataDir = config.database.embeddedDataDir;
  const embedded = config.database.url
    ? undefined
    : opts.own
      ? await startEmbeddedDatabase({ dataDir })
      : await connectEmbeddedDatabase({ dataDir });
  const db = await openDatabase({
    url: config.database.url ?? embedded!.url,
    schema: config.database.schema,
    poolMax: config.database.poolMax,
    acquireTimeoutMs: config.database.acquireTimeoutMs,
    idleTimeoutMs: config.database.idleTimeoutMs,
    applicationName: config.database.applicationName,
    preparedStatements: config.database.preparedStatements,
  });
  // An embedded database opened here belongs to this process: its schema is always brought up to date.
  if (opts.migrate || (embedded && !embedded.servedBy)) await migrateDatabase(db);
  return {
    db,
    ...(embedded ? { embedded } : {}),
    async close() {
      await db.close();
      await embedded?.stop();
    },
  };
}
