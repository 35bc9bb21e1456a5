// The ledger verification (the same check as `npm run ledger:verify`) run periodically by the worker when
// LEDGER_VERIFY_INTERVAL is set: it reads every ledger row, so it is off by default and meant to run
// rarely (e.g. 1h) on one worker; its last result is exposed as disburse_ledger_verify_*.

import type { Database } from '../db/open.ts';
import { type LedgerReport, verifyLedger } from '../ledger/verify.ts';
import type { Logger } from './log.ts';
import { recordLedgerVerify } from './metrics.ts';

export async function runLedgerVerify(db: Pick<Database, 'em' | 'schema'>): Promise<LedgerReport> {
  const report = await verifyLedger(db.em(), db.schema);
  recordLedgerVerify(report);
  return report;
}

/** Runs the check every `intervalMs` (first one after one interval); returns its stop. */
export function startLedgerVerify(
  db: Pick<Database, 'em' | 'schema'>,
  intervalMs: number,
  log: Logger,
): () => void {
  if (intervalMs <= 0) return () => {};
  let running = false;
  const timer = setInterval(() => {
    if (running) return; // a slow run is not stacked
    running = true;
    runLedgerVerify(db)
      .then((r) =>
        r.ok
          ? log.info('ledger.verify_ok', { counts: r.counts })
          : log.error('ledger.verify_failed', {
              violations: r.violations.slice(0, 10),
              count: r.violations.length,
            }),
      )
      .catch((error: unknown) => log.warn('ledger.verify_unavailable', { error: String(error) }))
      .finally(() => {
        running = false;
      });
  }, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
