import type { EntityManager } from '@mikro-orm/postgresql';
import { CompiledQuery } from 'kysely';
import { assertPreparable, PREPARE_MARK } from './prepared.ts';

/**
 * Runs parameterised SQL ($1, $2, …) on the EntityManager's connection — inside its transaction when
 * called within `em.transactional(...)`. Parameters are bound by the driver, never spliced into text.
 * `prepare`: a hot-path statement of fixed text, planned once per connection (src/db/prepared.ts).
 */
export async function sql<Row = Record<string, unknown>>(
  em: EntityManager,
  text: string,
  params: readonly unknown[] = [],
  options: { prepare?: boolean } = {},
): Promise<Row[]> {
  if (options.prepare) assertPreparable(text);
  const sent = options.prepare ? PREPARE_MARK + text : text;
  const result = await em.getKysely().executeQuery(CompiledQuery.raw(sent, [...params]));
  return result.rows as Row[];
}

/** PostgreSQL SQLSTATE of a driver error (MikroORM wraps it; the code survives on the error or its cause). */
export function sqlState(error: unknown): string | undefined {
  let e: unknown = error;
  for (let depth = 0; e && depth < 5; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code)) return code;
    e = (e as { cause?: unknown }).cause ?? (e as { originalError?: unknown }).originalError;
  }
  return undefined;
}
