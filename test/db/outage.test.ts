// The pool heals after the server ends its connections: terminated backends under concurrent transactions
// leave no dead connection counted in the pool, a checkout is bounded, and every such failure is classified
// as "database unavailable" (503 / retry), never as something about the request.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { UniqueConstraintViolationException } from '@mikro-orm/postgresql';
import { openDatabase } from '../../src/db/open.ts';
import { sql } from '../../src/db/sql.ts';
import { DatabaseUnavailable, isDatabaseUnavailable } from '../../src/db/unavailable.ts';
import { freePort } from '../../src/temporal/embedded-server.ts';
import { createTestDatabase, type TestDatabase, testDatabaseKind } from '../support/db.ts';
import { backendKiller } from '../support/db-faults.ts';

const onServer = testDatabaseKind() === 'postgresql';
// PGlite serves every connection from one in-process session: pg_terminate_backend cannot end one of them
// the way a PostgreSQL server ends a backend, so the termination scenario runs on PostgreSQL only.
const itOnServer = onServer ? it : it.skip;

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase('db outage', { poolMax: 10, acquireTimeoutMs: 2000 });
  await sql(db.em(), `CREATE TABLE "${db.schema}".outage_probe (n int PRIMARY KEY)`);
});
afterAll(async () => {
  await db?.drop();
});

const until = async (what: string, done: () => Promise<boolean>, limitMs = 30_000) => {
  const deadline = Date.now() + limitMs;
  while (!(await done())) {
    if (Date.now() > deadline) throw new Error(`never happened: ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
};

describe('database outages', () => {
  itOnServer(
    'backends terminated again and again under 20 concurrent transactions: the pool recovers',
    async () => {
      const killer = await backendKiller(db.schema);
      let stop = false;
      let committed = 0;
      const failures: unknown[] = [];
      const loop = async (w: number) => {
        for (let i = 0; !stop; i++) {
          try {
            await db.em().transactional(async (em) => {
              await sql(em, `INSERT INTO "${db.schema}".outage_probe (n) VALUES ($1)`, [w * 1_000_000 + i]);
              await sql(em, 'SELECT pg_sleep(0.002)');
            });
            committed++;
          } catch (error) {
            failures.push(error);
          }
        }
      };
      const loops = Array.from({ length: 20 }, (_, w) => loop(w));
      let terminated = 0;
      try {
        for (let round = 0; round < 8; round++) {
          // Terminate only once the pool has reconnected (since the fix it does; before, it never did).
          await until('backends to reconnect', async () => (await killer.live()) > 0);
          terminated += await killer.terminate();
        }
      } finally {
        stop = true;
        await Promise.all(loops);
      }
      expect(terminated).toBeGreaterThan(0);
      expect(failures.length).toBeGreaterThan(0);
      // Every failure is the outage, recognisably: none looks like bad input or a conflict.
      const unclassified = failures.filter((e) => !isDatabaseUnavailable(e)).map((e) => String(e));
      expect(unclassified).toEqual([]);
      // Healed: a query answers, and the pool counts no connection the server no longer has.
      await expect(sql(db.em(), 'SELECT 1 AS one')).resolves.toEqual([{ one: 1 }]);
      await until(
        'the pool to count only live connections',
        async () => db.poolStats().total <= (await killer.live()),
      );
      const [row] = await sql<{ n: number }>(
        db.em(),
        `SELECT count(*)::int AS n FROM "${db.schema}".outage_probe`,
      );
      expect(row?.n).toBe(committed);
      await killer.close();
    },
  );

  it('a checkout waits at most the acquire timeout, then fails as DatabaseUnavailable', async () => {
    const small = await openDatabase({ url: db.url, schema: db.schema, poolMax: 1, acquireTimeoutMs: 200 });
    let release!: () => void;
    const held = new Promise<void>((r) => {
      release = r;
    });
    const holder = small.em().transactional(async (em) => {
      await sql(em, 'SELECT 1');
      await held;
    });
    try {
      await until(
        'the only connection to be taken',
        async () => small.poolStats().idle === 0 && small.poolStats().total === 1,
      );
      const waited = await sql(small.em(), 'SELECT 1').then(
        () => 'answered',
        (e: unknown) => e,
      );
      expect(isDatabaseUnavailable(waited)).toBe(true);
      expect(String(waited)).toMatch(/no database connection: timeout exceeded/);
    } finally {
      release();
      await holder;
      await small.close();
    }
  });

  it('a server that refuses connections fails as DatabaseUnavailable', async () => {
    const port = await freePort();
    const down = await openDatabase({ url: `postgres://postgres@127.0.0.1:${port}/postgres`, poolMax: 2 });
    try {
      const refused = await sql(down.em(), 'SELECT 1').then(
        () => 'answered',
        (e: unknown) => e,
      );
      expect(isDatabaseUnavailable(refused)).toBe(true);
      expect(String(refused)).toMatch(/ECONNREFUSED|connect/);
    } finally {
      await down.close();
    }
  });

  it('classifies connection failures as unavailable and nothing else', () => {
    const withCode = (code: string, message = 'x') => Object.assign(new Error(message), { code });
    const unavailable = [
      new DatabaseUnavailable('no connection'),
      withCode('57P01', 'terminating connection due to administrator command'),
      withCode('57P03', 'the database system is starting up'),
      withCode('08006'),
      withCode('53300', 'too many connections'),
      withCode('ECONNREFUSED'),
      withCode('ECONNRESET'),
      new Error('Connection terminated unexpectedly'),
      new Error('Client has encountered a connection error and is not queryable'),
      // MikroORM's DriverException copies own properties; a cause chain is followed.
      new Error('wrapped', { cause: withCode('57P01') }),
      Object.assign(new Error('wrapped'), { originalError: new DatabaseUnavailable('x') }),
    ];
    const other = [
      withCode('23505', 'duplicate key'),
      withCode('40001', 'could not serialize'),
      withCode('22P05', 'unsupported Unicode escape sequence'),
      new UniqueConstraintViolationException(withCode('23505')),
      new Error('Connection refused by the payout provider'),
      'a string',
      undefined,
    ];
    expect(unavailable.map(isDatabaseUnavailable)).toEqual(unavailable.map(() => true));
    expect(other.map(isDatabaseUnavailable)).toEqual(other.map(() => false));
  });
});
