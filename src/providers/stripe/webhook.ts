// Stripe webhooks: `Stripe-Signature: t=<unix>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>`, checked by the
// official SDK against every configured signing secret (several while rotating) and the timestamp tolerance.
// Only payout events of payouts this adapter created (metadata disburse_*) become provider events.
import Stripe from 'stripe';
import { WebhookVerificationError } from '../errors.ts';
import type { ProviderEvent, WebhookHeaders } from '../types.ts';

export interface StripeWebhookOptions {
  secrets: readonly string[];
  toleranceSeconds: number;
  now: () => Date;
}

export const METADATA = {
  payoutId: 'disburse_payout_id',
  idempotencyKey: 'disburse_idempotency_key',
  provider: 'disburse_provider',
} as const;

/** Verifies the signature and returns the event; throws WebhookVerificationError. */
export function verifyStripeWebhook(
  raw: Buffer,
  headers: WebhookHeaders,
  o: StripeWebhookOptions,
): Stripe.Event {
  const header = headers['stripe-signature'];
  if (!header) throw new WebhookVerificationError('missing_signature', 'no Stripe-Signature header');
  if (o.secrets.length === 0) {
    throw new WebhookVerificationError('not_configured', 'no Stripe webhook signing secret configured');
  }
  let last: Error | undefined;
  for (const secret of o.secrets) {
    try {
      return Stripe.webhooks.constructEvent(
        raw,
        header,
        secret,
        o.toleranceSeconds,
        undefined,
        o.now().getTime(),
      );
    } catch (err) {
      last = err as Error;
    }
  }
  const stale = /tolerance/i.test(last?.message ?? '');
  throw new WebhookVerificationError(
    stale ? 'stale_timestamp' : 'invalid_signature',
    stale
      ? 'Stripe-Signature timestamp is outside the tolerance'
      : 'Stripe-Signature does not match the body for any configured signing secret',
  );
}

/**
 * payout.paid → paid; payout.canceled → failed; payout.failed → failed, or returned when it comes after the
 * payout's arrival date (an hour after it for instant payouts): Stripe marks a payout paid at its arrival
 * date, so a later failure is the bank sending it back. Events about other objects, or payouts not created by this instance, map to nothing.
 */
export function toProviderEvents(provider: string, event: Stripe.Event): ProviderEvent[] {
  if (!['payout.paid', 'payout.failed', 'payout.canceled'].includes(event.type)) return [];
  const payout = event.data.object as Stripe.Payout;
  const meta = payout.metadata ?? {};
  const payoutId = meta[METADATA.payoutId];
  const idempotencyKey = meta[METADATA.idempotencyKey];
  if (!payoutId || !idempotencyKey || (meta[METADATA.provider] && meta[METADATA.provider] !== provider))
    return [];
  const occurredAt = new Date(event.created * 1000).toISOString();
  if (event.type === 'payout.paid')
    return [{ eventId: event.id, idempotencyKey, payoutId, type: 'paid', occurredAt }];
  const reason =
    event.type === 'payout.canceled'
      ? 'canceled'
      : `${payout.failure_code ?? 'failed'}${payout.failure_message ? `: ${payout.failure_message}` : ''}`;
  // Instant payouts arrive within 30 minutes of their arrival date: allow an hour before calling it a return.
  const settledBy = payout.method === 'instant' ? payout.arrival_date + 3600 : payout.arrival_date;
  const returned = event.type === 'payout.failed' && event.created > settledBy;
  return [
    {
      eventId: event.id,
      idempotencyKey,
      payoutId,
      type: returned ? 'returned' : 'failed',
      reason,
      occurredAt,
    },
  ];
}
