// Wise webhooks: `X-Signature-SHA256` is the Base64 RSA-SHA256 (PKCS#1 v1.5) signature of the raw body,
// checked against every configured Wise public key (several while Wise rotates its key). Only
// `transfers#state-change` events matter here; their state is mapped to provider events by the adapter, which
// knows which attempt a transfer id belongs to.
import { createPublicKey, type KeyObject, verify } from 'node:crypto';
import { WebhookVerificationError } from '../errors.ts';
import type { ProviderEventType, WebhookHeaders } from '../types.ts';

export interface WiseStateChange {
  transferId: string;
  currentState: string;
  previousState?: string;
  occurredAt: string;
  deliveryId?: string;
}

export function publicKeysOf(pems: readonly string[]): KeyObject[] {
  return pems.map((pem) => createPublicKey(pem));
}

/** Verifies the signature; returns the state change, or undefined for another event type or a test ping. */
export function verifyWiseWebhook(
  raw: Buffer,
  headers: WebhookHeaders,
  keys: readonly KeyObject[],
): WiseStateChange | undefined {
  const signature = headers['x-signature-sha256'];
  if (!signature) throw new WebhookVerificationError('missing_signature', 'no X-Signature-SHA256 header');
  if (keys.length === 0)
    throw new WebhookVerificationError('not_configured', 'no Wise public key configured');
  const sig = Buffer.from(signature, 'base64');
  if (!keys.some((k) => verify('sha256', raw, k, sig))) {
    throw new WebhookVerificationError(
      'invalid_signature',
      'X-Signature-SHA256 does not match the body for any configured Wise public key',
    );
  }
  let event: Record<string, unknown>;
  try {
    event = JSON.parse(raw.toString('utf8')) as Record<string, unknown>;
  } catch {
    throw new WebhookVerificationError('malformed_body', 'the signed body is not JSON');
  }
  if (event.event_type !== 'transfers#state-change') return undefined;
  const data = (event.data ?? {}) as Record<string, unknown>;
  const resource = (data.resource ?? {}) as Record<string, unknown>;
  if (
    (typeof resource.id !== 'number' && typeof resource.id !== 'string') ||
    typeof data.current_state !== 'string'
  ) {
    throw new WebhookVerificationError(
      'malformed_body',
      'a transfers#state-change without resource.id or current_state',
    );
  }
  const occurred = typeof data.occurred_at === 'string' ? data.occurred_at : undefined;
  const delivery = headers['x-delivery-id'];
  return {
    transferId: String(resource.id),
    currentState: data.current_state,
    ...(typeof data.previous_state === 'string' ? { previousState: data.previous_state } : {}),
    occurredAt:
      occurred && !Number.isNaN(Date.parse(occurred))
        ? new Date(occurred).toISOString()
        : new Date(0).toISOString(),
    ...(delivery ? { deliveryId: delivery } : {}),
  };
}

/**
 * What a transfer state means for the payout. outgoing_payment_sent = paid; bounced_back = returned (it was
 * sent, so paid first); funds_refunded after a bounce = returned, otherwise failed (never sent); cancelled =
 * failed; charged_back after sending = returned, else failed. Intermediate states (incoming_payment_waiting,
 * processing, funds_converted) mean nothing to the payout. Event ids are per transfer and outcome, so
 * duplicate or re-ordered deliveries of one outcome collapse into one event.
 */
export function outcomesOf(state: string, previous?: string): { type: ProviderEventType; reason?: string }[] {
  const sent = previous === 'outgoing_payment_sent' || previous === 'bounced_back';
  switch (state) {
    case 'outgoing_payment_sent':
      return [{ type: 'paid' }];
    case 'bounced_back':
      return [{ type: 'paid' }, { type: 'returned', reason: 'bounced_back' }];
    case 'funds_refunded':
      return sent
        ? [{ type: 'paid' }, { type: 'returned', reason: 'funds_refunded' }]
        : [{ type: 'failed', reason: 'funds_refunded' }];
    case 'charged_back':
      return sent
        ? [{ type: 'paid' }, { type: 'returned', reason: 'charged_back' }]
        : [{ type: 'failed', reason: 'charged_back' }];
    case 'cancelled':
      return [{ type: 'failed', reason: 'cancelled' }];
    default:
      return [];
  }
}

/** Wise's transfer status → the provider status of the attempt (`paidBefore`: the journal saw it paid). */
export function statusOf(state: string, paidBefore: boolean): 'pending' | 'paid' | 'failed' | 'returned' {
  if (state === 'outgoing_payment_sent') return 'paid';
  if (state === 'bounced_back') return 'returned';
  if (state === 'funds_refunded' || state === 'charged_back') return paidBefore ? 'returned' : 'failed';
  if (state === 'cancelled') return 'failed';
  return 'pending';
}
