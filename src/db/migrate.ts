import { assertSchemaName } from './identifiers.ts';
import { migrations as allMigrations, type Migration } from './migrations/index.ts';
import type { Database } from './open.ts';
import { openDatabase } from './open.ts';
import { sql } from './sql.ts';

/**
 * Applies pending migrations to `schema` (created if missing) and returns the names applied.
 * Idempotent and safe to run concurrently (an advisory lock serialises migrators per schema).
 */
export async function migrate(url: string, schema = 'public'): Promise<string[]> {
  const db = await openDatabase({ url, schema, poolMax: 1 });
  try {
    return await migrateDatabase(db);
  } finally {
    await db.close();
  }
}

export async function migrateDatabase(
  db: Database,
  migrations: readonly Migration[] = allMigrations,
): Promise<string[]> {
  const schema = assertSchemaName(db.schema);
  const names = new Set<string>();
  for (const m of migrations) {
    if (names.has(m.name))
      throw new Error(`Duplicate migration name '${m.name}' in src/db/migrations/index.ts`);
    names.add(m.name);
  }
  const em = db.em();
  return em.transactional(async (tx) => {
    await sql(tx, 'SELECT pg_advisory_xact_lock(hashtext($1))', [`disburse.migrate.${schema}`]);
    await sql(tx, `CREATE SCHEMA IF NOT EXISTS "${schema}"`);
    // LOCAL: reverts at commit, so nothing leaks into other users of a shared (PGlite) session.
    await sql(tx, `SET LOCAL search_path TO "${schema}"`);
    await sql(
      tx,
      `CREATE TABLE IF NOT EXISTS schema_migrations (
         name text PRIMARY KEY,
         applied_at timestamptz NOT NULL DEFAULT now()
       )`,
    );
    const done = new Set(
      (await sql<{ name: string }>(tx, 'SELECT name FROM schema_migrations')).map((r) => r.name),
    );
    const applied: string[] = [];
    for (const m of migrations) {
      if (done.has(m.name)) continue;
      // Multi-statement text: sent without parameters (simple query protocol).
      await tx.execute(m.up);
      await sql(tx, 'INSERT INTO schema_migrations (name) VALUES ($1)', [m.name]);
      applied.push(m.name);
    }
    return applied;
  });
}
