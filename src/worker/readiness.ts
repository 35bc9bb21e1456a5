// The worker's GET /readyz (on WORKER_METRICS_PORT; the compose healthcheck probes it): ready while the
// Temporal worker is RUNNING — polling its task queue — and the database answers.
import type { Worker } from '@temporalio/worker';
import type { Database } from '../db/open.ts';
import { sql } from '../db/sql.ts';
import type { ReadinessProbe } from '../observability/metrics-http.ts';

const DB_TIMEOUT_MS = 3000;

export function workerReadiness(worker: Pick<Worker, 'getState'>, db: Database): ReadinessProbe {
  return async () => {
    const state = worker.getState();
    const checks: Record<string, string> = { worker: state === 'RUNNING' ? 'ok' : `state ${state}` };
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        sql(db.em(), 'SELECT 1'),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`no answer within ${DB_TIMEOUT_MS} ms`)), DB_TIMEOUT_MS);
        }),
      ]);
      checks.database = 'ok';
    } catch (error) {
      checks.database = error instanceof Error ? error.message : String(error);
    } finally {
      clearTimeout(timer);
    }
    return { ready: Object.values(checks).every((c) => c === 'ok'), checks };
  };
}
