// Standard Webhooks signing (https://www.standardwebhooks.com):
//   webhook-id:        unique event id (the same on every retry of the same event, so receivers dedupe)
//   webhook-timestamp: integer seconds since the epoch of this delivery attempt
//   webhook-signature: space-separated list of `v1,<base64 HMAC-SHA256(key, "<id>.<timestamp>.<body>")>`
// Secrets are `whsec_<base64 key>`. Several secrets may be valid at once during rotation; the sender
// signs with each and the receiver accepts any match.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { WebhookVerificationError } from '../shared/webhook-verification-error.ts';

export { WebhookVerificationError };

export const WEBHOOK_ID_HEADER = 'webhook-id';
export const WEBHOOK_TIMESTAMP_HEADER = 'webhook-timestamp';
export const WEBHOOK_SIGNATURE_HEADER = 'webhook-signature';
export const DEFAULT_TOLERANCE_SECONDS = 5 * 60;

const SECRET_PREFIX = 'whsec_';

export function generateWebhookSecret(): string {
  return `${SECRET_PREFIX}${randomBytes(32).toString('base64')}`;
}

/** The HMAC key of a `whsec_` secret. Throws on a malformed secret (configuration error). */
export function secretKey(secret: string): Buffer {
  if (!secret.startsWith(SECRET_PREFIX)) {
    throw new WebhookVerificationError('invalid_secret', 'webhook secret must look like whsec_<base64>');
  }
  const body = secret.slice(SECRET_PREFIX.length);
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(body)) {
    throw new WebhookVerificationError('invalid_secret', 'webhook secret must be whsec_ followed by base64');
  }
  const key = Buffer.from(body, 'base64');
  if (key.length < 16) {
    throw new WebhookVerificationError('invalid_secret', 'webhook secret key must be at least 16 bytes');
  }
  return key;
}

function signature(key: Buffer, id: string, timestamp: number, body: Buffer | string): string {
  const h = createHmac('sha256', key);
  h.update(`${id}.${timestamp}.`);
  h.update(body);
  return h.digest('base64');
}

// A type alias (not an interface) so it is assignable to a plain header record.
export type SignedHeaders = {
  'webhook-id': string;
  'webhook-timestamp': string;
  'webhook-signature': string;
};

/** Headers for one delivery of `body`. `secrets`: one, or several during a rotation. */
export function signWebhook(
  secrets: string | readonly string[],
  msg: { id: string; timestamp?: Date; body: Buffer | string },
): SignedHeaders {
  if (!msg.id || /\s/.test(msg.id)) {
    throw new WebhookVerificationError(
      'invalid_id',
      'webhook id must be non-empty and contain no whitespace',
    );
  }
  const ts = Math.floor((msg.timestamp ?? new Date()).getTime() / 1000);
  const list = typeof secrets === 'string' ? [secrets] : secrets;
  if (list.length === 0) throw new WebhookVerificationError('invalid_secret', 'no webhook secret configured');
  const sigs = list.map((s) => `v1,${signature(secretKey(s), msg.id, ts, msg.body)}`);
  return { 'webhook-id': msg.id, 'webhook-timestamp': String(ts), 'webhook-signature': sigs.join(' ') };
}

function header(headers: Record<string, string | string[] | undefined>, name: string): string | undefined {
  const direct = headers[name];
  const value = direct ?? Object.entries(headers).find(([k]) => k.toLowerCase() === name)?.[1];
  return Array.isArray(value) ? value[0] : value;
}

export interface VerifiedWebhook {
  id: string;
  timestamp: Date;
}

/**
 * Verifies a received webhook: the signature must match one of `secrets` and the timestamp must be within
 * `toleranceSeconds` of `now` (replay protection). Throws WebhookVerificationError with a code:
 * missing_headers, invalid_timestamp, stale_timestamp, invalid_signature.
 */
export function verifyWebhook(
  secrets: string | readonly string[],
  headers: Record<string, string | string[] | undefined>,
  rawBody: Buffer | string,
  opts: { toleranceSeconds?: number; now?: Date } = {},
): VerifiedWebhook {
  const id = header(headers, WEBHOOK_ID_HEADER);
  const tsText = header(headers, WEBHOOK_TIMESTAMP_HEADER);
  const sigText = header(headers, WEBHOOK_SIGNATURE_HEADER);
  if (!id || !tsText || !sigText) {
    throw new WebhookVerificationError(
      'missing_headers',
      'webhook-id, webhook-timestamp and webhook-signature headers are required',
    );
  }
  if (!/^\d{1,12}$/.test(tsText)) {
    throw new WebhookVerificationError(
      'invalid_timestamp',
      'webhook-timestamp must be integer seconds since the epoch',
    );
  }
  const ts = Number(tsText);
  const now = Math.floor((opts.now ?? new Date()).getTime() / 1000);
  const tolerance = opts.toleranceSeconds ?? DEFAULT_TOLERANCE_SECONDS;
  if (Math.abs(now - ts) > tolerance) {
    throw new WebhookVerificationError(
      'stale_timestamp',
      `webhook-timestamp is more than ${tolerance}s away from now (replayed or clock skew)`,
    );
  }
  const list = typeof secrets === 'string' ? [secrets] : secrets;
  const received = sigText
    .split(' ')
    .filter((s) => s.startsWith('v1,'))
    .map((s) => Buffer.from(s.slice(3), 'base64'));
  for (const secret of list) {
    const expected = Buffer.from(signature(secretKey(secret), id, ts, rawBody), 'base64');
    if (received.some((r) => r.length === expected.length && timingSafeEqual(r, expected))) {
      return { id, timestamp: new Date(ts * 1000) };
    }
  }
  throw new WebhookVerificationError(
    'invalid_signature',
    'no webhook-signature matches the configured secret',
  );
}
