import type { EmbeddedDatabase } from '../../src/db/embedded.ts';

export default async function globalTeardown(): Promise<void> {
  const g = globalThis as { __disburseEmbeddedDb?: EmbeddedDatabase };
  await g.__disburseEmbeddedDb?.stop();
  g.__disburseEmbeddedDb = undefined;
}
