// Stripe webhooks: `Stripe-Signature: t=<unix>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>`, checked by the
// official SDK against every configured signing secret (several while rotating) and the timestamp tolerance.
// Only payout events of payouts this adapter created (metadata disburse_*), and of reversal payouts, matter.
import Stripe from 'stripe';
import { WebhookVerificationError } from '../errors.ts';
import type { WebhookHeaders } from '../types.ts';

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

/** A payout event this instance cares about, before the adapter decides failed versus returned. */
export type StripePayoutNotice =
  | {
      kind: 'own';
      type: 'payout.paid' | 'payout.failed' | 'payout.canceled';
      payout: Stripe.Payout;
      idempotencyKey: string;
      payoutId: string;
      /** The connected account the event is about (Connect events carry it). */
      account: string | undefined;
      /** The payout's status before this event, when Stripe sends it (data.previous_attributes). */
      previousStatus: string | undefined;
    }
  /** A reversal payout (POST /v1/payouts/:id/reverse): its `original_payout` is the payout it brings back. */
  | { kind: 'reversal'; type: string; payout: Stripe.Payout; originalPayout: string };

/**
 * payout.paid / payout.failed / payout.canceled of payouts this instance created (metadata disburse_*), and
 * events of reversal payouts (they carry no metadata of ours, only `original_payout`). Anything else: none.
 */
export function noticeOf(provider: string, event: Stripe.Event): StripePayoutNotice | undefined {
  if (!event.type.startsWith('payout.')) return undefined;
  const payout = event.data.object as Stripe.Payout;
  const original =
    typeof payout.original_payout === 'string' ? payout.original_payout : payout.original_payout?.id;
  if (original) return { kind: 'reversal', type: event.type, payout, originalPayout: original };
  if (!['payout.paid', 'payout.failed', 'payout.canceled'].includes(event.type)) return undefined;
  const meta = payout.metadata ?? {};
  const payoutId = meta[METADATA.payoutId];
  const idempotencyKey = meta[METADATA.idempotencyKey];
  if (!payoutId || !idempotencyKey || (meta[METADATA.provider] && meta[METADATA.provider] !== provider))
    return undefined;
  const previous = (event.data as { previous_attributes?: { status?: unknown } }).previous_attributes;
  return {
    kind: 'own',
    type: event.type as 'payout.paid' | 'payout.failed' | 'payout.canceled',
    payout,
    idempotencyKey,
    payoutId,
    account: event.account,
    previousStatus: typeof previous?.status === 'string' ? previous.status : undefined,
  };
}

/** Stripe's failure code and message of a payout that did not pay (or came back). */
export function failureReason(p: Stripe.Payout): string {
  if (p.status === 'canceled') return 'canceled';
  return `${p.failure_code ?? 'failed'}${p.failure_message ? `: ${p.failure_message}` : ''}`;
}
