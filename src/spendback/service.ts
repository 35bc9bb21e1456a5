// The spendback service: purchases and refunds, promotional credit grants with durable expiry, and the
// automated rules — one object the HTTP routes, the worker's activities and the period close call.
import type { EntityManager } from '@mikro-orm/postgresql';
import type { SpendbackConfig } from '../config/spendback.ts';
import type { Database } from '../db/open.ts';
import type { Ledger } from '../ledger/index.ts';
import type { Money } from '../money/index.ts';
import type { PeriodCalendar } from '../periods/calendar.ts';
import type { WebhookOutbox } from '../webhooks/index.ts';
import { type SpendbackContext, startTimers } from './context.ts';
import {
  announceExpiry,
  createGrant,
  expireGrant,
  type GrantResult,
  listGrants,
  pendingTimers,
} from './grants.ts';
import { getOrder, listOrders, refund, spend } from './orders.ts';
import { UTC_MONTHS } from './rules.ts';
import { createSpendbackStore } from './store.ts';
import type { GrantTimers } from './timers.ts';
import { evaluateEarnings, evaluatePeriodTriggers, listFirings } from './triggers.ts';

export interface SpendbackServiceOptions {
  db: Database;
  ledger: Ledger;
  outbox: WebhookOutbox;
  settings: SpendbackConfig;
  now?: () => Date;
  /** Commission period calendar (default: UTC calendar months). */
  calendar?: PeriodCalendar;
}

export function createSpendbackService(o: SpendbackServiceOptions) {
  const ctx: SpendbackContext = {
    db: o.db,
    ledger: o.ledger,
    outbox: o.outbox,
    settings: o.settings,
    now: o.now ?? (() => new Date()),
    calendar: o.calendar ?? UTC_MONTHS,
    store: createSpendbackStore(o.db.schema),
  };
  return {
    settings: o.settings,

    /** A purchase (in `em`'s transaction); bonus-grant timers start last. */
    async spend(
      em: EntityManager,
      input: { payeeId: string; orderReference: string; amount: Money },
      timers?: GrantTimers,
    ) {
      const result = await spend(ctx, em, input);
      await startTimers(ctx, em, timers, result.timers);
      if (result.eventId) await timers?.deliverWebhook(result.eventId);
      return result;
    },

    /** A refund (in `em`'s transaction); its webhook is handed to a delivery workflow last. */
    async refund(
      em: EntityManager,
      input: { payeeId: string; orderReference: string; refundReference: string; amount: Money },
      timers?: GrantTimers,
    ) {
      const result = await refund(ctx, em, input);
      if (result.eventId) await timers?.deliverWebhook(result.eventId);
      return result;
    },

    getOrder: (em: EntityManager, payeeId: string, orderReference: string) =>
      getOrder(ctx, em, payeeId, orderReference),

    /** A payee's orders, newest first (at most `limit`). */
    listOrders: (em: EntityManager, payeeId: string, limit: number) => listOrders(ctx, em, payeeId, limit),

    /** A manual promotional credit grant; expiry defaults to the configured validity. */
    async grant(
      em: EntityManager,
      input: { payeeId: string; amount: Money; reference: string; expiresAt?: Date; reason?: string },
      timers?: GrantTimers,
    ): Promise<GrantResult> {
      const result = await createGrant(ctx, em, {
        payeeId: input.payeeId,
        amount: input.amount,
        reference: input.reference,
        expiresAt: input.expiresAt ?? new Date(ctx.now().getTime() + o.settings.grantValidityMs),
        source: 'manual',
        ...(input.reason ? { reason: input.reason } : {}),
      });
      if (result.timer) await startTimers(ctx, em, timers, [result.timer]);
      return result;
    },

    listGrants: (em: EntityManager, payeeId: string, status?: 'active' | 'expired') =>
      listGrants(ctx, em, payeeId, status),

    listFirings: (em: EntityManager, payeeId: string) => listFirings(ctx, em, payeeId),

    /** Hook for an earnings credit, in its transaction: fires the current period's threshold rules. */
    async onEarningsCredited(
      em: EntityManager,
      input: { payeeId: string; currency: string },
      timers?: GrantTimers,
    ) {
      const result = await evaluateEarnings(ctx, em, input);
      await startTimers(ctx, em, timers, result.timers);
      return result.fired;
    },

    /** Period close: threshold and discount rules for every payee with earnings in the period. Idempotent. */
    evaluatePeriodTriggers: (period: string, timers?: GrantTimers) =>
      evaluatePeriodTriggers(ctx, period, timers),

    announceExpiry: (grantId: string) => announceExpiry(ctx, grantId),
    expireGrant: (grantId: string) => expireGrant(ctx, grantId),

    /** Starts the timers of grants created where no Temporal client was at hand. Returns how many. */
    async startPendingTimers(timers: GrantTimers): Promise<number> {
      return o.db.em().transactional(async (em) => {
        const inputs = await pendingTimers(ctx, em);
        await startTimers(ctx, em, timers, inputs);
        return inputs.length;
      });
    },

    deliverWebhook: (eventId: string) => o.outbox.deliverWebhook(eventId),
    webhookExists: async (eventId: string) => (await o.outbox.get(eventId)) !== undefined,
  };
}

export type SpendbackService = ReturnType<typeof createSpendbackService>;
