// Typed provider failures. `kind` drives the payout workflow:
// - retryable:    transient, retry the SAME provider with the SAME idempotency key (backoff).
// - outage:       provider unavailable; nothing was disbursed -> fail over to the next provider.
// - hard_decline: the provider refused this payout; nothing was disbursed -> next provider or fail.
// - timeout:      the outcome is UNKNOWN (the money may have moved); resolve with status(), never resubmit
//                 elsewhere until status says not_found/failed.
export type ProviderErrorKind = 'retryable' | 'outage' | 'hard_decline' | 'timeout';

export class ProviderError extends Error {
  readonly kind: ProviderErrorKind;
  readonly code: string;
  readonly provider: string;

  constructor(provider: string, kind: ProviderErrorKind, code: string, message: string) {
    super(`${provider}: ${message} (${kind}/${code})`);
    // Explicit, stable name: Temporal matches failure types by name, so it must survive minification.
    this.name = 'ProviderError';
    this.provider = provider;
    this.kind = kind;
    this.code = code;
  }
}

export function isProviderError(err: unknown): err is ProviderError {
  return (
    err instanceof ProviderError || (err instanceof Error && err.name === 'ProviderError' && 'kind' in err)
  );
}

/** Thrown by parseWebhook when the body is not signed by the expected secret (or is stale/malformed). */
export { WebhookVerificationError } from '../shared/webhook-verification-error.ts';
