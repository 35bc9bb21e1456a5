// Placeholder replaced below.
import type { Engine, Logger } from './engine.ts';
export async function attachPersistence(_engine: Engine, _file: string, log: Logger): Promise<void> {
  log.warn('temporal-dev: --db-filename persistence not available yet; running in memory');
}
