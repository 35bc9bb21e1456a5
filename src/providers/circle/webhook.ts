// Circle notifications. Circle Mint POSTs to the subscriber endpoint through an Amazon SNS subscription: first a
// `SubscriptionConfirmation` (the endpoint confirms by GETting its SubscribeURL), then `Notification`s whose
// `Message` is the JSON notification (`notificationType: "transfers"`, `transfer: {…}`); SNS signs each message
// (./sns.ts). Circle's v2 notifications are signed by Circle itself instead: `X-Circle-Signature` = base64 ECDSA
// (P-256, SHA-256) signature of the raw body, `X-Circle-Key-Id` = the key's UUID; public keys come from
// configuration or from GET /v2/notifications/publicKey/{keyId} (cached per key id: a rotation fetches once).
import { createPublicKey, type KeyObject, verify } from 'node:crypto';
import { WebhookVerificationError } from '../errors.ts';
import type { WebhookHeaders } from '../types.ts';
import { isSnsMessage, type SnsMessage } from './sns.ts';

export interface CircleTransferObject {
  id: string;
  source?: { type: string; id?: string };
  destination?: { type: string; address?: string; chain?: string };
  amount?: { amount: string; currency: string };
  transactionHash?: string;
  /** Fees beside the amount, present when one is non-zero (Circle: `type: "network"`, the chain's fee). */
  fees?: { amount: string; currency: string; type: string }[];
  status: 'pending' | 'complete' | 'failed' | 'running';
  errorCode?: string | null;
  createDate?: string;
}

/** `sns`: the SNS message the notification came in (its signature is checked by ./sns.ts). */
export type CircleNotification = { sns?: SnsMessage } & (
  | { kind: 'subscription'; subscribeUrl: string }
  | { kind: 'transfer'; messageId: string; transfer: CircleTransferObject; timestamp: string }
  | { kind: 'other'; messageId: string }
);

export type FetchKey = (keyId: string) => Promise<{ algorithm: string; publicKey: string } | undefined>;

export class CircleKeyStore {
  readonly #keys = new Map<string, KeyObject>();
  readonly #fetch: FetchKey | undefined;

  /** `configured`: key id → base64 DER (SPKI) public key. `fetch`: undefined when fetching is off. */
  constructor(configured: Readonly<Record<string, string>>, fetch?: FetchKey) {
    for (const [id, b64] of Object.entries(configured)) this.#keys.set(id, toKey(b64));
    this.#fetch = fetch;
  }

  async get(keyId: string): Promise<KeyObject> {
    const known = this.#keys.get(keyId);
    if (known) return known;
    if (!this.#fetch) throw new WebhookVerificationError('unknown_key', `no public key ${keyId} configured`);
    let got: Awaited<ReturnType<FetchKey>>;
    try {
      got = await this.#fetch(keyId);
    } catch (err) {
      // Circle did not answer: not a refusal of the notification, which Circle will deliver again.
      throw new WebhookVerificationError(
        'verifier_unavailable',
        `could not fetch Circle notification key ${keyId}: ${(err as Error).message}`,
      );
    }
    if (!got) throw new WebhookVerificationError('unknown_key', `Circle has no notification key ${keyId}`);
    if (got.algorithm !== 'ECDSA_SHA_256') {
      throw new WebhookVerificationError('unsupported_algorithm', `key ${keyId} uses ${got.algorithm}`);
    }
    const key = toKey(got.publicKey);
    this.#keys.set(keyId, key);
    return key;
  }
}

function toKey(b64: string): KeyObject {
  try {
    return createPublicKey({ key: Buffer.from(b64, 'base64'), format: 'der', type: 'spki' });
  } catch {
    throw new WebhookVerificationError(
      'invalid_key',
      'a Circle notification public key is not base64 DER (SPKI)',
    );
  }
}

const KEY_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Verifies X-Circle-Signature over the raw body with the key named by X-Circle-Key-Id. */
export async function verifyCircleSignature(
  raw: Buffer,
  headers: WebhookHeaders,
  keys: CircleKeyStore,
): Promise<void> {
  const signature = headers['x-circle-signature'];
  const keyId = headers['x-circle-key-id'];
  if (!signature || !keyId) {
    throw new WebhookVerificationError('missing_signature', 'no X-Circle-Signature / X-Circle-Key-Id header');
  }
  if (!KEY_ID.test(keyId))
    throw new WebhookVerificationError('invalid_key_id', 'X-Circle-Key-Id is not a UUID');
  const key = await keys.get(keyId);
  let ok = false;
  try {
    ok = verify('sha256', raw, key, Buffer.from(signature, 'base64'));
  } catch {
    ok = false;
  }
  if (!ok) {
    throw new WebhookVerificationError(
      'invalid_signature',
      `X-Circle-Signature does not match the body for key ${keyId}`,
    );
  }
}

/** The notification in a body (SNS envelope or the bare notification); throws on a body that is neither. */
export function parseCircleNotification(raw: Buffer): CircleNotification {
  let body: Record<string, unknown>;
  try {
    body = JSON.parse(raw.toString('utf8')) as Record<string, unknown>;
  } catch {
    throw new WebhookVerificationError('malformed_body', 'the notification body is not JSON');
  }
  const sns = isSnsMessage(body) ? { sns: body as SnsMessage } : {};
  if (body.Type === 'SubscriptionConfirmation' && typeof body.SubscribeURL === 'string') {
    return { kind: 'subscription', subscribeUrl: body.SubscribeURL, ...sns };
  }
  let message: Record<string, unknown> = body;
  let messageId = typeof body.notificationId === 'string' ? body.notificationId : '';
  let timestamp = typeof body.Timestamp === 'string' ? body.Timestamp : new Date().toISOString();
  if (body.Type === 'Notification' && typeof body.Message === 'string') {
    try {
      message = JSON.parse(body.Message) as Record<string, unknown>;
    } catch {
      throw new WebhookVerificationError('malformed_body', 'the notification Message is not JSON');
    }
    messageId = typeof body.MessageId === 'string' ? body.MessageId : messageId;
    timestamp = typeof body.Timestamp === 'string' ? body.Timestamp : timestamp;
  }
  const transfer = message.transfer as CircleTransferObject | undefined;
  if (message.notificationType === 'transfers' && transfer && typeof transfer.id === 'string') {
    return { kind: 'transfer', messageId, transfer, timestamp, ...sns };
  }
  return { kind: 'other', messageId, ...sns };
}
