// Keeps the node-postgres pool under MikroORM truthful when the server drops connections.
//
// Why: MikroORM 7 runs on Kysely's PostgresDialect over a `pg` Pool. Kysely's controlled transactions
// (kysely 0.29.6, kysely-org/kysely#1990) give their connection back only after BEGIN, COMMIT or ROLLBACK
// succeeded. When a backend is terminated inside a transaction, the query fails, MikroORM rolls back, the
// ROLLBACK fails on the dead socket too, and the client is never released: the pool keeps counting it.
// After `max` such transactions the pool is "full" of dead clients, holds 0 sessions on the server, and
// every later checkout waits forever. Here a checked-out client whose connection has ended is given back
// to the pool at once (with its error, so the pool discards it), whoever holds it; the holder's own
// release later is a no-op. Checkout failures become DatabaseUnavailable.
import { preparing } from './prepared.ts';
import { DatabaseUnavailable } from './unavailable.ts';

// The parts of node-postgres' Pool and PoolClient used here (pg ships no types; @types/pg is not installed).
export interface PoolClient {
  release(err?: Error | boolean): void;
  once(event: 'end', listener: () => void): unknown;
  removeListener(event: 'end', listener: () => void): unknown;
}
export interface Pool {
  connect(callback?: unknown): Promise<PoolClient>;
  readonly totalCount: number;
  readonly idleCount: number;
  readonly waitingCount: number;
}

interface QueryClient {
  query(text: string): Promise<{ rows: Record<string, unknown>[] }>;
}

const hardened = new WeakSet<Pool>();

/**
 * `prepare`: send marked statements as named ones (src/db/prepared.ts) once the first connection has shown
 * the server is not PGlite (whose connections share one session, so their statement names would collide).
 */
export function hardenPool(pool: Pool, options: { prepare?: boolean } = {}): void {
  if (hardened.has(pool)) return;
  hardened.add(pool);
  let prepare: boolean | undefined = options.prepare ? undefined : false;
  const connect = pool.connect.bind(pool);
  // Kysely calls connect() without a callback; pool.query's own callback form is left as it is (it
  // releases on every path itself).
  pool.connect = (callback?: unknown) => (callback === undefined ? checkout() : connect(callback));
  async function checkout(): Promise<PoolClient> {
    let client: PoolClient;
    try {
      client = await connect();
    } catch (error) {
      throw new DatabaseUnavailable(`no database connection: ${(error as Error).message}`, { cause: error });
    }
    if (prepare === undefined) {
      try {
        const { rows } = await (client as unknown as QueryClient).query('SELECT version() AS version');
        prepare = !/PGlite/i.test(String(rows[0]?.version ?? 'PGlite'));
      } catch {
        // Asked again on the next checkout; this one's own query will report the connection's trouble.
      }
    }
    preparing(client, () => prepare === true);
    return guardCheckout(client);
  }
}

/** One checkout: released exactly once, either by its holder or, when its connection ends, by us. */
function guardCheckout(client: PoolClient): PoolClient {
  const release = client.release;
  let released = false;
  const onEnd = () => {
    if (released) return;
    released = true;
    release(new Error('connection ended while checked out'));
  };
  client.once('end', onEnd);
  client.release = (err?: Error | boolean) => {
    client.removeListener('end', onEnd);
    if (released) return;
    released = true;
    release(err);
  };
  return client;
}
