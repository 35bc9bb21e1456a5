import { type EntityManager, MikroORM } from '@mikro-orm/postgresql';
import { entities } from './entities.ts';
import { assertSchemaName } from './identifiers.ts';
import { hardenPool, type Pool } from './pool.ts';

export interface DatabaseOptions {
  url: string;
  /** PostgreSQL schema holding Disburse's tables (default 'public'). */
  schema?: string;
  poolMax?: number;
  /** application_name of every connection (pg_stat_activity), so operators and tests can find them. */
  applicationName?: string;
  /** Longest wait for a pooled connection (or a new one) before DatabaseUnavailable (default 5000). */
  acquireTimeoutMs?: number;
  /** An idle connection is closed after this long (default 10000). */
  idleTimeoutMs?: number;
  /** Log SQL (MikroORM debug). */
  debug?: boolean;
  /** Hot-path statements as server-side prepared ones (default true; always off on PGlite). */
  preparedStatements?: boolean;
}

export interface Database {
  readonly orm: MikroORM;
  readonly schema: string;
  readonly url: string;
  /** A fresh EntityManager (own identity map); use one per request / activity / unit of work. */
  em(): EntityManager;
  /** Connections of the pool: open (checked out or idle), idle, and requests waiting for one. */
  poolStats(): { total: number; idle: number; waiting: number };
  close(): Promise<void>;
}

export const DEFAULT_ACQUIRE_TIMEOUT_MS = 5000;
export const DEFAULT_IDLE_TIMEOUT_MS = 10_000;

export async function openDatabase(options: DatabaseOptions): Promise<Database> {
  const schema = assertSchemaName(options.schema ?? 'public');
  let pool: Pool | undefined;
  const orm = await MikroORM.init({
    clientUrl: options.url,
    schema,
    entities,
    pool: {
      min: 0,
      max: options.poolMax ?? 10,
      idleTimeoutMillis: options.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS,
    },
    // Passed to the pg Pool. A bounded checkout (connectionTimeoutMillis, which also bounds connecting);
    // TCP keepalive so a connection to a vanished host is noticed while idle; dead checkouts evicted.
    driverOptions: {
      application_name: options.applicationName ?? 'disburse',
      connectionTimeoutMillis: options.acquireTimeoutMs ?? DEFAULT_ACQUIRE_TIMEOUT_MS,
      keepAlive: true,
      keepAliveInitialDelayMillis: 10_000,
      onPoolCreated: (created: Pool) => {
        pool = created;
        hardenPool(created, { prepare: options.preparedStatements !== false });
      },
    },
    debug: options.debug ?? false,
    ensureDatabase: false,
    allowGlobalContext: false,
  });
  let closed = false;
  return {
    orm,
    schema,
    url: options.url,
    em: () => orm.em.fork(),
    poolStats: () => ({
      total: pool?.totalCount ?? 0,
      idle: pool?.idleCount ?? 0,
      waiting: pool?.waitingCount ?? 0,
    }),
    async close() {
      if (closed) return;
      closed = true;
      await orm.close(true);
    },
  };
}
