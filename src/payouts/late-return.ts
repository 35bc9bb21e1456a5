// Provider events, from a verified webhook or a manual import, handed to their payout, and the one return
// path. A running workflow gets every event as a signal; a return that comes before the payout is paid
// tells it the attempt paid, and it hands the return to PayoutService.returnPayout once it has settled.
// A return of a payout already paid (its workflow closed, or finishing) goes to that same returnPayout
// here, at once, and its `payout.returned` webhook is delivered by a workflow. A `paid` (or `returned`)
// event of the attempt a payout was settled for books the charges the provider reports with it (Circle lists
// a transfer's network fee in a later notification), running workflow or not, through
// PayoutService.bookLateCharges. Every other event for a closed payout is judged by the same double-payment
// check as the workflow's (double-payment.ts), logged, and acknowledged.
import type { ProviderEventSignal } from '../../workflows/payout-contract.ts';
import type { Database } from '../db/open.ts';
import type { ProviderEvent } from '../providers/types.ts';
import type { WebhookOutbox } from '../webhooks/outbox.ts';
import { judgeProviderEvent } from './double-payment.ts';
import type { PayoutGateway } from './gateway.ts';
import type { PayoutService } from './service.ts';

/**
 * `delivered`: signalled to the running workflow. `return_recorded`: a return applied now.
 * `already_returned`: the payout was returned before (a repeated event). `charges_recorded`: what the provider
 * charged for a payout whose workflow has closed, booked now (or found booked). `ignored`: nothing to do.
 */
export type ProviderEventOutcome =
  | 'delivered'
  | 'return_recorded'
  | 'already_returned'
  | 'charges_recorded'
  | 'ignored';

interface EventLog {
  info(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
}

export interface ProviderEventDeps {
  db: Database;
  gateway: Pick<PayoutGateway, 'deliverProviderEvent' | 'deliverWebhook'>;
  payouts: Pick<PayoutService, 'store' | 'returnPayout' | 'bookLateCharges'>;
  outbox: Pick<WebhookOutbox, 'get'>;
  log: EventLog;
}

export type DeliverProviderEvent = (provider: string, event: ProviderEvent) => Promise<ProviderEventOutcome>;

/**
 * The order in which one notification's events are handed over: a return before the payment it implies.
 * A notification that reports both (Wise's bounced_back: paid, then returned) would otherwise signal
 * `paid` first; the workflow could settle and close on it before the `returned` signal reached it, while
 * the return path, reading a row not yet paid, left the return to the workflow — and it was lost. A
 * `returned` alone tells a running workflow the attempt paid, so it settles and then returns; the `paid`
 * after it changes nothing (or, for an attempt counted not paid, still raises reconcile_required).
 */
export function inHandOverOrder<E extends { type: ProviderEvent['type'] }>(events: readonly E[]): E[] {
  return [...events].sort((a, b) => Number(b.type === 'returned') - Number(a.type === 'returned'));
}

/** Hands `provider`'s event to its payout: the workflow while it runs, the return path after. */
export function providerEventDelivery(deps: ProviderEventDeps): DeliverProviderEvent {
  return async (provider, event) => {
    const signal: ProviderEventSignal = {
      eventId: event.eventId,
      idempotencyKey: event.idempotencyKey,
      type: event.type,
      provider,
      ...(event.reason ? { reason: event.reason } : {}),
    };
    const running = (await deps.gateway.deliverProviderEvent(event.payoutId, signal)) === 'delivered';
    // After the signal: a workflow that has not settled yet reads the charges when it settles. A return
    // may be the first notification to list them (the chain kept its fee).
    const charged =
      event.type === 'paid' || event.type === 'returned'
        ? await deps.payouts.bookLateCharges({
            payoutId: event.payoutId,
            provider,
            idempotencyKey: event.idempotencyKey,
          })
        : undefined;
    // A running workflow decides every event but a return of a payout already paid: that one is recorded
    // now, by the return path (the workflow, told too, finds it done).
    if (running && event.type !== 'returned') return 'delivered';
    const payout = await deps.payouts.store.get(deps.db.em(), event.payoutId);
    if (running && payout?.state !== 'paid' && payout?.state !== 'returned') return 'delivered';
    // Ids and codes only: provider reasons are free text and stay out of the log.
    const fields = { provider, payoutId: event.payoutId, eventId: event.eventId, type: event.type };
    const ignored = (why: string): ProviderEventOutcome => {
      deps.log.info('provider_event.ignored', { ...fields, why });
      return 'ignored';
    };
    if (!payout) return ignored('no such payout');
    const judged = judgeProviderEvent(
      { state: payout.state, attempts: payout.stateDoc.attempts ?? [] },
      signal,
    );
    if (judged.reconcile) {
      // Money moved under an attempt this closed payout did not count as paid (its funds may be released).
      deps.log.error('provider_event.reconcile_required', {
        ...fields,
        idempotencyKey: event.idempotencyKey,
        state: payout.state,
        why: 'provider reports paid an attempt this payout did not count as paid: possible double payment',
      });
      return 'ignored';
    }
    if (!judged.take) return ignored(judged.why);
    if (charged?.outcome === 'charges_recorded') deps.log.info('provider_event.late_charges', fields);
    if (event.type !== 'returned') {
      if (charged?.outcome === 'charges_recorded') return 'charges_recorded';
      return ignored(`payout workflow closed; payout is ${payout.state}`);
    }
    const reason = event.reason ?? 'returned by provider';
    const returned = await deps.payouts.returnPayout({
      payoutId: payout.id,
      provider,
      idempotencyKey: event.idempotencyKey,
      reason,
    });
    if (returned.outcome === 'ignored') return ignored(returned.why ?? 'not returnable');
    if (returned.outcome === 'already_returned') {
      // A repeated return finishes what a crashed one may have left: the webhook of a committed return.
      const committed = returned.eventId ? await deps.outbox.get(returned.eventId) : undefined;
      if (committed && !committed.deliveredAt) await deps.gateway.deliverWebhook(committed.id);
      return 'already_returned';
    }
    if (returned.eventId) await deps.gateway.deliverWebhook(returned.eventId);
    deps.log.info('provider_event.late_return', { provider, payoutId: payout.id, eventId: event.eventId });
    return 'return_recorded';
  };
}
