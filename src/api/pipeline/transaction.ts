// A write runs in one transaction with its stored idempotent response, so both commit or neither does.
// Lease-mode routes with a key run without one (idempotency.ts): their effect is a workflow start, and no
// connection or lock may be held across it.
import type { Database } from '../../db/open.ts';
import type { Step } from './exchange.ts';

export function transactionFor(db: Database): Step {
  return async (x, next) => {
    const leased = x.route.idempotencyMode === 'lease' && x.idempotencyKey !== undefined;
    if (x.route.method === 'get' || leased) return next();
    await db.em().transactional(async (tx) => {
      x.em = tx;
      await next();
    });
  };
}
