const identifier = /^[a-z_][a-z0-9_]{0,62}$/;

/** Validates a schema name before it is spliced into SQL (identifiers cannot be bound parameters). */
export function assertSchemaName(schema: string): string {
  if (!identifier.test(schema)) {
    throw new Error(`Invalid schema name '${schema}': use lower-case letters, digits and _ (max 63).`);
  }
  return schema;
}

/** `"schema"."table"` for raw SQL; session search_path is never relied upon (PGlite shares one session). */
export function qualify(schema: string, table: string): string {
  return `"${assertSchemaName(schema)}"."${table}"`;
}

/** `qualify` for each table a store uses, under the store's own names: `{ bulks: 'payout_bulks' }` → `t.bulks`. */
export function qualifyTables<K extends string>(
  schema: string,
  tables: Record<K, string>,
): Record<K, string> {
  const entries = Object.entries<string>(tables).map(([key, table]) => [key, qualify(schema, table)]);
  return Object.fromEntries(entries) as Record<K, string>;
}
