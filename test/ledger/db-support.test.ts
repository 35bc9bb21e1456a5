import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { migrateDatabase } from '../../src/db/migrate.ts';
import { sql } from '../../src/db/sql.ts';
import { createTestDatabase, type TestDatabase } from '../support/db.ts';

describe('test database support', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase('db support');
  });
  afterAll(async () => {
    await db.drop();
  });

  it('creates an isolated schema with all migrations applied, and re-running migrations is a no-op', async () => {
    const rows = await sql<{ name: string }>(db.em(), `SELECT name FROM "${db.schema}".schema_migrations`);
    expect(rows.map((r) => r.name)).toContain('0001-ledger');
    expect(await migrateDatabase(db)).toEqual([]);
    const tables = await sql<{ table_name: string }>(
      db.em(),
      'SELECT table_name FROM information_schema.tables WHERE table_schema = $1 ORDER BY 1',
      [db.schema],
    );
    expect(tables.map((t) => t.table_name)).toEqual(
      expect.arrayContaining([
        'ledger_accounts',
        'ledger_entries',
        'ledger_transactions',
        'schema_migrations',
      ]),
    );
  });
});
