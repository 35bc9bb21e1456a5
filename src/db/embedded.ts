import { mkdir } from 'node:fs/promises';
import { resolve } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { acquireDataDirLock, type LockHolder, lockPathOf, readHolder } from './data-dir-lock.ts';
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
 *
 * Ownership: a data directory is opened by one process at a time (src/db/data-dir-lock.ts); the others
 * reach it through the owner's wire endpoint (connectEmbeddedDatabase).
 */
export interface EmbeddedDatabase {
  /** postgres:// URL of the socket server. */
  readonly url: string;
  /** Pid of the process that owns the data directory when this one only connects to it. */
  readonly servedBy?: number;
  /** Closes the database if this process opened it (a served one stays up: only its owner stops it). */
  stop(): Promise<void>;
}

export interface EmbeddedOptions {
  /** Directory for the data files, or 'memory://' (default) for a throw-away database. */
  dataDir?: string;
  /** TCP port; 0 (default) picks a free one. */
  port?: number;
  host?: string;
}

/** The data directory is open in another process; connect through its endpoint or stop it. */
export class DataDirInUseError extends Error {
  readonly holder: LockHolder;
  constructor(dataDir: string, holder: LockHolder) {
    const who = `process ${holder.pid}${holder.command ? ` (${holder.command})` : ''}`;
    super(
      holder.url
        ? `PGlite data directory ${resolve(dataDir)} is in use by ${who}, which serves it at ${holder.url}. ` +
            `Two processes must not open it (the second would overwrite the first's writes): use that ` +
            `endpoint (the CLIs do so by themselves; or DATABASE_URL=${holder.url}), or stop process ${holder.pid} first.`
        : `PGlite data directory ${resolve(dataDir)} is being opened by ${who}. Wait for it to start or stop ` +
            `process ${holder.pid}; if no such process runs, delete ${lockPathOf(dataDir)}.`,
    );
    this.name = 'DataDirInUseError';
    this.holder = holder;
  }
}

/**
 * Opens the data directory in this process and serves it. Takes the directory's lock first: fails with
 * DataDirInUseError, naming the process, when another one has it open.
 */
export async function startEmbeddedDatabase(options: EmbeddedOptions = {}): Promise<EmbeddedDatabase> {
  const dataDir = options.dataDir ?? 'memory://';
  const inMemory = dataDir.startsWith('memory://');
  let lock: Awaited<ReturnType<typeof acquireDataDirLock>> | undefined;
  if (!inMemory) {
    await mkdir(dataDir, { recursive: true });
    lock = await acquireDataDirLock(dataDir);
    if (!lock.ok) throw new DataDirInUseError(dataDir, lock.holder);
  }
  const release = async () => {
    if (lock?.ok) await lock.lock.release();
  };
  let db: PGlite;
  try {
    db = await PGlite.create(dataDir);
  } catch (error) {
    await release();
    throw error;
  }
  const host = options.host ?? '127.0.0.1';
  const server = new PGliteWireServer(db);
  let url: string;
  try {
    const port = await server.listen(options.port ?? 0, host);
    url = `postgres://postgres@${host}:${port}/postgres`;
    if (lock?.ok) await lock.lock.publish(url);
  } catch (error) {
    await server.close().catch(() => {});
    await db.close();
    await release();
    throw error;
  }
  let stopped = false;
  return {
    url,
    async stop() {
      if (stopped) return;
      stopped = true;
      try {
        await server.close();
        await db.close(); // checkpoints: the files are complete when the lock goes
      } finally {
        await release();
      }
    },
  };
}

/**
 * The embedded database at `dataDir` for a process that needs it, whoever runs: through the wire
 * endpoint of the process that has it open (e.g. `npm start`), or, when none does, opened here (and
 * then served to the others in turn). Never a second open of the same directory.
 */
export async function connectEmbeddedDatabase(
  options: EmbeddedOptions & { dataDir: string; waitMs?: number },
): Promise<EmbeddedDatabase> {
  if (options.dataDir.startsWith('memory://')) return startEmbeddedDatabase(options);
  const deadline = Date.now() + (options.waitMs ?? 60_000);
  const lockPath = lockPathOf(options.dataDir);
  for (;;) {
    try {
      return await startEmbeddedDatabase(options);
    } catch (error) {
      if (!(error instanceof DataDirInUseError)) throw error;
      let holder: LockHolder | null = error.holder;
      // The owner publishes its endpoint once the directory is open (a few seconds at most).
      while (holder && !holder.url && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 100));
        holder = await readHolder(lockPath);
      }
      if (holder?.url) return { url: holder.url, servedBy: holder.pid, stop: async () => {} };
      if (holder) throw error; // still opening after the wait: the error says what to do
      // The owner went away meanwhile: try to open it ourselves.
    }
  }
}
