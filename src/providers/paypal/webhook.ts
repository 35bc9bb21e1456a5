// PayPal webhooks: the transmission headers (PAYPAL-TRANSMISSION-ID / -TIME / -SIG, PAYPAL-CERT-URL,
// PAYPAL-AUTH-ALGO) are checked by PayPal's own verify-webhook-signature API against the configured webhook
// id(s) — PayPal holds the certificate chain and its rotation, we hold no key. The event goes to that API
// as the exact bytes received (spliced into the request), since a re-serialised body may not verify.
// Item and batch events map to transaction statuses; ./provider.ts turns those into provider events.
import { WebhookVerificationError } from '../errors.ts';
import type { WebhookHeaders } from '../types.ts';
import type { ItemStatus, WebhookEvent } from './api.ts';

export interface Transmission {
  id: string;
  time: string;
  sig: string;
  certUrl: string;
  authAlgo: string;
}

export function transmissionOf(headers: WebhookHeaders, trustedOrigins: readonly string[]): Transmission {
  const h = (n: string) => headers[n]?.trim() || undefined;
  const t = {
    id: h('paypal-transmission-id'),
    time: h('paypal-transmission-time'),
    sig: h('paypal-transmission-sig'),
    certUrl: h('paypal-cert-url'),
    authAlgo: h('paypal-auth-algo'),
  };
  const missing = Object.entries(t).filter(([, v]) => !v);
  if (missing.length > 0) {
    throw new WebhookVerificationError(
      'missing_signature',
      `PayPal transmission headers missing: ${missing.map(([k]) => k).join(', ')}`,
    );
  }
  // The certificate must be PayPal's (or, for a test double, served by the configured API host).
  let cert: URL;
  try {
    cert = new URL(t.certUrl!);
  } catch {
    throw new WebhookVerificationError('invalid_signature', 'PAYPAL-CERT-URL is not a URL');
  }
  const paypalHost = cert.protocol === 'https:' && /(^|\.)paypal\.com$/.test(cert.hostname);
  if (!paypalHost && !trustedOrigins.includes(cert.origin)) {
    throw new WebhookVerificationError('invalid_signature', 'PAYPAL-CERT-URL is not on a PayPal host');
  }
  return t as Transmission;
}

/** The verify-webhook-signature request, with the event as the raw bytes PayPal signed. */
export function verifyRequestBody(t: Transmission, webhookId: string, raw: Buffer): string {
  const head = JSON.stringify({
    auth_algo: t.authAlgo,
    cert_url: t.certUrl,
    transmission_id: t.id,
    transmission_sig: t.sig,
    transmission_time: t.time,
    webhook_id: webhookId,
  });
  return `${head.slice(0, -1)},"webhook_event":${raw.toString('utf8')}}`;
}

export function parseEvent(raw: Buffer): WebhookEvent {
  let event: WebhookEvent;
  try {
    event = JSON.parse(raw.toString('utf8')) as WebhookEvent;
  } catch {
    throw new WebhookVerificationError('malformed_body', 'the body is not JSON');
  }
  if (!event || typeof event.id !== 'string' || typeof event.event_type !== 'string') {
    throw new WebhookVerificationError('malformed_body', 'not a PayPal event (id, event_type)');
  }
  return event;
}

/** Item event → the item status it reports (CANCELED: an unclaimed item the sender took back). */
export const ITEM_EVENTS: Record<string, ItemStatus | 'CANCELED'> = {
  'PAYMENT.PAYOUTS-ITEM.SUCCEEDED': 'SUCCESS',
  'PAYMENT.PAYOUTS-ITEM.FAILED': 'FAILED',
  'PAYMENT.PAYOUTS-ITEM.BLOCKED': 'BLOCKED',
  'PAYMENT.PAYOUTS-ITEM.DENIED': 'DENIED',
  'PAYMENT.PAYOUTS-ITEM.RETURNED': 'RETURNED',
  'PAYMENT.PAYOUTS-ITEM.REFUNDED': 'REFUNDED',
  'PAYMENT.PAYOUTS-ITEM.UNCLAIMED': 'UNCLAIMED',
  'PAYMENT.PAYOUTS-ITEM.HELD': 'ONHOLD',
  'PAYMENT.PAYOUTS-ITEM.CANCELED': 'CANCELED',
};

export type AttemptState = 'pending' | 'unclaimed' | 'paid' | 'failed' | 'returned';

/**
 * What an item status means for the attempt. UNCLAIMED is not paid: PayPal holds the money until the recipient
 * claims it (then SUCCESS) or, after 30 days or a cancel, RETURNED to our balance — a failure, as it never
 * reached the payee, unless the item was seen paid before. REFUNDED / REVERSED come after a payment: returns.
 */
export function attemptStateOf(status: ItemStatus | 'CANCELED', seenPaid: boolean): AttemptState {
  switch (status) {
    case 'SUCCESS':
      return 'paid';
    case 'UNCLAIMED':
      return 'unclaimed';
    case 'PENDING':
    case 'ONHOLD':
    case 'NEW':
      return 'pending';
    case 'REFUNDED':
    case 'REVERSED':
      return 'returned';
    case 'RETURNED':
      return seenPaid ? 'returned' : 'failed';
    default:
      // FAILED, BLOCKED, DENIED, CANCELED: the money did not leave PayPal for the payee.
      return 'failed';
  }
}
