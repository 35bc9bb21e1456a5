import { mkdir } from 'node:fs/promises';
import { PGlite } from '@electric-sql/pglite';
import { PGliteWireServer } from './pglite-server.ts';

/**
 * Embedded PostgreSQL for machines without a server: PGlite (PostgreSQL compiled to WASM, in this
 * process) served over the Postgres wire protocol, so the app and tests use the very same `pg` driver
 * and SQL as in production.
 *
 * Concurrency: PGlite is ONE backend session. @electric-sql/pglite-socket (0.2.x) multiplexes client
 * sockets onto it message by message, which interleaves the extended-protocol messages of concurrent
 * clients and breaks parallel parameterised queries; src/db/pglite-server.ts multiplexes per
 * Sync-delimited unit instead and pins the session to a client while it is inside a transaction.
 * Consequences: transactions are fully serialised (row locks never wait, no deadlocks, throughput of
 * one connection); session state (`SET search_path`, temp tables, named prepared statements) is shared
 * by every connection, so our code never relies on it (tables are schema-qualified, `SET LOCAL` only);
 * and a client that opens a transaction and then waits for a query on ANOTHER connection hangs. Fine
 * for trying Disburse out and for tests; production uses real PostgreSQL.
 */
export interface EmbeddedDatabase {
  /** postgres:// URL of the socket server. */
  readonly url: string;
  stop(): Promise<void>;
}

export interface EmbeddedOptions {
  /** Directory for the data files, or 'memory://' (default) for a throw-away database. */
  dataDir?: string;
  /** TCP port; 0 (default) picks a free one. */
  port?: number;
  host?: string;
}

export async function startEmbeddedDatabase(options: EmbeddedOptions = {}): Promise<EmbeddedDatabase> {
  const dataDir = options.dataDir ?? 'memory://';
  if (!dataDir.startsWith('memory://')) await mkdir(dataDir, { recursive: true });
  const db = await PGlite.create(dataDir);
  const host = options.host ?? '127.0.0.1';
  const server = new PGliteWireServer(db);
  let port: number;
  try {
    port = await server.listen(options.port ?? 0, host);
  } catch (error) {
    await db.close();
    throw error;
  }
  let stopped = false;
  return {
    url: `postgres://postgres@${host}:${port}/postgres`,
    async stop() {
      if (stopped) return;
      stopped = true;
      await server.close();
      await db.close();
    },
  };
}
