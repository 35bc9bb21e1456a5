import { mkdir } from 'node:fs/promises';
import { PGlite } from '@electric-sql/pglite';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';

/**
 * Embedded PostgreSQL for machines without a server: PGlite (PostgreSQL compiled to WASM, in this
 * process) served over the Postgres wire protocol by pglite-socket, so the app and tests use the very
 * same `pg` driver and SQL as in production.
 *
 * Concurrency: PGlite is ONE backend session. pglite-socket multiplexes up to `maxConnections` client
 * sockets onto it by queueing messages; while a client is inside a transaction only that client's
 * queries run, so transactions are fully serialised (row locks never wait, deadlocks cannot happen, but
 * throughput is that of one connection). Consequences: session state (`SET search_path`, temp tables,
 * prepared statements) is shared by every connection, so our code never relies on it (tables are
 * schema-qualified); and a client that opens a transaction and then waits for a query on another
 * connection hangs. Fine for trying Disburse out and for tests; production uses real PostgreSQL.
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
  maxConnections?: number;
}

export async function startEmbeddedDatabase(options: EmbeddedOptions = {}): Promise<EmbeddedDatabase> {
  const dataDir = options.dataDir ?? 'memory://';
  if (!dataDir.startsWith('memory://')) await mkdir(dataDir, { recursive: true });
  const db = await PGlite.create(dataDir);
  const host = options.host ?? '127.0.0.1';
  const server = new PGLiteSocketServer({
    db,
    host,
    port: options.port ?? 0,
    maxConnections: options.maxConnections ?? 256,
  });
  await server.start();
  // getServerConn() returns "host:port" with the port the OS assigned.
  const conn = server.getServerConn();
  const port = Number(conn.slice(conn.lastIndexOf(':') + 1));
  if (!Number.isInteger(port) || port <= 0) {
    await server.stop();
    await db.close();
    throw new Error(`pglite-socket did not report a port (got '${conn}')`);
  }
  let stopped = false;
  return {
    url: `postgres://postgres@${host}:${port}/postgres`,
    async stop() {
      if (stopped) return;
      stopped = true;
      await server.stop();
      await db.close();
    },
  };
}
