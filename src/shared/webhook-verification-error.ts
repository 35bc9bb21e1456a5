/**
 * A webhook body not signed by the expected secret (or stale, or malformed). Thrown by our own Standard
 * Webhooks verifier and by every provider's webhook parser; the webhook routes answer it with 401.
 */
export class WebhookVerificationError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.name = 'WebhookVerificationError';
    this.code = code;
  }
}
