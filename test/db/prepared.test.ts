import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { loadConfig } from '../../src/config/index.ts';
import { openDatabase } from '../../src/db/open.ts';
import { assertPreparable } from '../../src/db/prepared.ts';
import { sql } from '../../src/db/sql.ts';
import { createTestDatabase, type TestDatabase, testDatabaseKind } from '../support/db.ts';

// Hot-path statements are prepared once per connection on PostgreSQL, never on PGlite (one session shared by
// every connection, where two connections' statement names would collide).

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase('prepared statements', { poolMax: 4 });
});
afterAll(async () => {
  await db.drop();
});

/** Runs a statement (its own text per `label`) twice on one connection; that session's copies of it. */
async function preparedAfterRuns(on: typeof db, prepare: boolean, label: string) {
  const text = `SELECT $1::int + 1 AS n, current_setting($2) AS ${label}`;
  return on.em().transactional(async (tx) => {
    for (const n of [1, 2]) {
      const [row] = await sql<{ n: number }>(tx, text, [n, 'application_name'], { prepare });
      expect(row?.n).toBe(n + 1);
    }
    return sql<{ statement: string }>(
      tx,
      'SELECT statement FROM pg_prepared_statements WHERE position($1 in statement) > 0',
      [text],
    );
  });
}

describe('prepared statements', () => {
  it('a marked statement is prepared once on PostgreSQL and answers as before; PGlite keeps it unnamed', async () => {
    const prepared = await preparedAfterRuns(db, true, 'marked');
    if (testDatabaseKind() === 'pglite') expect(prepared).toEqual([]);
    else expect(prepared).toHaveLength(1);
  });

  it('an unmarked statement, or a database opened without them, prepares nothing', async () => {
    expect(await preparedAfterRuns(db, false, 'unmarked')).toEqual([]);
    const off = await openDatabase({
      url: loadConfig().database.url!,
      schema: db.schema,
      poolMax: 1,
      preparedStatements: false,
    });
    try {
      expect(await preparedAfterRuns(off as TestDatabase, true, 'switched_off')).toEqual([]);
    } finally {
      await off.close();
    }
  });

  it('refuses to prepare a statement whose result columns are *', () => {
    for (const text of [
      'SELECT * FROM payouts WHERE id = $1',
      'SELECT p.* FROM payouts p',
      'INSERT INTO t (a) VALUES ($1) RETURNING *',
      'SELECT p.id, y.* FROM payouts p JOIN payees y ON y.id = p.payee_id',
      'SELECT DISTINCT "p".* FROM payouts p',
      'UPDATE t SET a = 1 RETURNING a, *',
    ]) {
      expect(() => assertPreparable(text)).toThrow(/must name its result columns/);
    }
    for (const text of [
      'SELECT count(*) AS n FROM t WHERE a = $1',
      'SELECT a * 2 AS twice, b FROM t',
      'SELECT a, b * c AS bc FROM t',
      'SELECT sum(a) * 100 AS pct FROM t',
    ]) {
      expect(() => assertPreparable(text)).not.toThrow();
    }
  });
});
