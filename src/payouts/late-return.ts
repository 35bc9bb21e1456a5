// Provider events, from a verified webhook or a manual import, handed to their payout. A running workflow gets
// them as a signal. Once it has closed (it watches for returns only during the return window), a return of
// the paid attempt is applied here as the workflow would have applied it: the same reversal key, the
// `returned` state and its `payout.returned` event committed together, the webhook delivered by a workflow.
// Any other event for a closed workflow is acknowledged and logged as ignored.
import type { PayoutStatus, ProviderEventSignal, Reason } from '../../workflows/payout-contract.ts';
import type { Database } from '../db/open.ts';
import type { ProviderEvent } from '../providers/types.ts';
import type { WebhookOutbox } from '../webhooks/outbox.ts';
import type { PayoutGateway } from './gateway.ts';
import { type PayoutService, payoutEventId } from './service.ts';
import type { PayoutRecord } from './store.ts';

/**
 * `delivered`: signalled to the running workflow. `return_recorded`: a late return applied now.
 * `already_returned`: the payout was returned before (a repeated event). `ignored`: nothing to do.
 */
export type ProviderEventOutcome = 'delivered' | 'return_recorded' | 'already_returned' | 'ignored';

interface EventLog {
  info(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
}

export interface ProviderEventDeps {
  db: Database;
  gateway: Pick<PayoutGateway, 'deliverProviderEvent' | 'deliverWebhook'>;
  payouts: Pick<PayoutService, 'store' | 'reversePayout' | 'recordPayoutState'>;
  outbox: Pick<WebhookOutbox, 'get'>;
  log: EventLog;
}

export type DeliverProviderEvent = (provider: string, event: ProviderEvent) => Promise<ProviderEventOutcome>;

/** Hands `provider`'s event to its payout: the workflow while it runs, the late-return path after. */
export function providerEventDelivery(deps: ProviderEventDeps): DeliverProviderEvent {
  return async (provider, event) => {
    const signal: ProviderEventSignal = {
      eventId: event.eventId,
      idempotencyKey: event.idempotencyKey,
      type: event.type,
      provider,
      ...(event.reason ? { reason: event.reason } : {}),
    };
    if ((await deps.gateway.deliverProviderEvent(event.payoutId, signal)) === 'delivered') return 'delivered';
    const payout = await deps.payouts.store.get(deps.db.em(), event.payoutId);
    // Ids and codes only: provider reasons are free text and stay out of the log.
    const ignored = (why: string): ProviderEventOutcome => {
      deps.log.info('provider_event.ignored', {
        provider,
        payoutId: event.payoutId,
        eventId: event.eventId,
        type: event.type,
        why,
      });
      return 'ignored';
    };
    if (!payout) return ignored('no such payout');
    const paid = paidAttempt(payout);
    if (
      event.type === 'paid' &&
      (paid?.idempotencyKey !== event.idempotencyKey || paid.provider !== provider)
    ) {
      // Money moved under an attempt this closed payout did not count as paid (its funds may be released).
      deps.log.error('provider_event.reconcile_required', {
        provider,
        payoutId: event.payoutId,
        eventId: event.eventId,
        idempotencyKey: event.idempotencyKey,
        status: payout.status,
        why: 'provider reports paid an attempt this payout did not count as paid: possible double payment',
      });
      return 'ignored';
    }
    if (event.type !== 'returned') return ignored(`payout workflow closed; payout is ${payout.status}`);
    // The workflow only ever reverses for a return of the attempt that paid.
    if (!paid || paid.idempotencyKey !== event.idempotencyKey || paid.provider !== provider) {
      return ignored('not the attempt that paid this payout');
    }
    if (payout.status === 'returned') {
      await resumeDelivery(deps, payout);
      return 'already_returned';
    }
    if (payout.status !== 'paid') return ignored(`payout is ${payout.status}`);
    const reason = event.reason ?? 'returned by provider';
    await deps.payouts.reversePayout(payout.id, reason);
    const { eventId } = await deps.payouts.recordPayoutState(
      returnedStatus(payout, { code: 'returned', message: reason }),
      'payout.returned',
    );
    if (eventId) await deps.gateway.deliverWebhook(eventId);
    deps.log.info('provider_event.late_return', { provider, payoutId: payout.id, eventId: event.eventId });
    return 'return_recorded';
  };
}

function paidAttempt(payout: PayoutRecord) {
  return payout.statusDoc.attempts?.find((a) => a.outcome === 'paid');
}

/** The status the workflow commits when a return arrives: its last one, `returned`, with the reason. */
function returnedStatus(payout: PayoutRecord, reason: Reason): PayoutStatus {
  const { nextTimer: _windowClosed, ...last } = payout.statusDoc;
  return {
    payoutId: payout.id,
    payeeId: payout.payeeId,
    amount: { amount: payout.amount, currency: payout.currency, scale: payout.scale },
    attempts: [],
    approvals: [],
    approvalsRequired: 0,
    ...last,
    state: 'returned',
    reasons: [...(last.reasons ?? []), reason],
  };
}

/** A repeated return finishes what a crashed one may have left: the webhook of a committed return. */
async function resumeDelivery(deps: ProviderEventDeps, payout: PayoutRecord): Promise<void> {
  const id = payoutEventId('payout.returned', {
    payoutId: payout.id,
    attempts: payout.statusDoc.attempts ?? [],
  });
  const event = await deps.outbox.get(id);
  if (event && !event.deliveredAt) await deps.gateway.deliverWebhook(id);
}
