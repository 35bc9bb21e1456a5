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

const hardened = new WeakSet<Pool>();

export function hardenPool(pool: Pool): void {
  if (hardened.has(pool)) return;
  hardened.add(pool);
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
