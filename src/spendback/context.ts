// What the spendback modules share: the database, the ledger, the webhook outbox, settings and a clock.
import { createHash } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import type { CreditGrantTimerInput } from '../../workflows/credit-grant-contract.ts';
import type { SpendbackConfig } from '../config/spendback.ts';
import type { Database } from '../db/open.ts';
import type { Ledger } from '../ledger/index.ts';
import type { PeriodCalendar } from '../periods/calendar.ts';
import type { WebhookOutbox } from '../webhooks/index.ts';
import type { SpendbackStore } from './store.ts';
import type { GrantTimers } from './timers.ts';

export interface SpendbackContext {
  readonly db: Database;
  readonly ledger: Ledger;
  readonly outbox: WebhookOutbox;
  readonly settings: SpendbackConfig;
  readonly now: () => Date;
  /** The commission period calendar: rules fire once per (rule, payee, period) of this calendar. */
  readonly calendar: PeriodCalendar;
  /** The spendback tables. */
  readonly store: SpendbackStore;
}

/** Sub-ledger (owner) of the platform accounts that fund promotions and record promotion-paid revenue. */
export const PROMOTIONS = 'promotions';

/** Grant id derived from the business key (payee + reference), so a retried grant is the same grant. */
export function grantIdFor(payeeId: string, reference: string): string {
  return `cg_${createHash('sha256').update(`${payeeId}\u0000${reference}`).digest('hex').slice(0, 24)}`;
}

/** "1050" basis points → "10.50". */
export function bpsToPercent(bps: number): string {
  return `${Math.floor(bps / 100)}.${String(bps % 100).padStart(2, '0')}`;
}

/**
 * Starts the expiry timers of grants created in `em`'s transaction, then flags them. Called last in the
 * transaction: should it roll back after all, the workflow finds no grant and ends without effect. Without
 * `timers` (a process with no Temporal client) the grants stay flagged pending for `startPendingTimers`.
 */
export async function startTimers(
  ctx: SpendbackContext,
  em: EntityManager,
  timers: GrantTimers | undefined,
  inputs: readonly CreditGrantTimerInput[],
): Promise<void> {
  if (!timers || inputs.length === 0) return;
  for (const input of inputs) await timers.start(input);
  await ctx.store.markTimersStarted(
    em,
    inputs.map((i) => i.grantId),
  );
}
