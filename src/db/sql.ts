import type { EntityManager } from '@mikro-orm/postgresql';
import { CompiledQuery } from 'kysely';

/**
 * Runs parameterised SQL ($1, $2, …) on the EntityManager's connection — inside its transaction when
 * called within `em.transactional(...)`. Parameters are bound by the driver, never spliced into text.
 */
export async function sql<Row = Record<string, unknown>>(
  em: EntityManager,
  text: string,
  params: readonly unknown[] = [],
): Promise<Row[]> {
  const result = await em.getKysely().executeQuery(CompiledQuery.raw(text, [...params]));
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
