// What a failed HTTP call to a payout provider means for the payout, shared by every real adapter. The one
// rule that matters: when the request may have reached the provider and we did not hear the answer, the
// outcome is UNKNOWN (kind `timeout`) — resolved by status(), never by paying elsewhere.
// - no connection at all (refused, DNS): nothing was sent → retryable, same idempotency key.
// - 429, 502/503/504, 409 (concurrent request with the same key), 424: not executed → retryable.
// - 500: the provider says the result is indeterminate (Stripe stores it under the key) → unknown outcome.
// - timeout, reset connection, unreadable 2xx answer: may have executed → unknown outcome.
// - 401/403: credentials wrong or revoked, every payout would fail the same way → outage (fail over).
// - other 4xx: the provider refused this payout → hard decline (nothing moved).
import { ProviderError, type ProviderErrorKind } from '../errors.ts';

export interface HttpFailure {
  /** HTTP status, when an answer arrived. */
  status?: number;
  /** Transport failure, when no (complete) answer arrived. */
  transport?: 'refused' | 'timeout' | 'reset' | 'unreadable';
  /** Provider error code (e.g. Stripe `error.code` / `error.type`). */
  code?: string;
  message?: string;
}

const CONNECTION_NEVER_MADE = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
]);

/** Transport failure kind from a Node error code (ECONNREFUSED, ETIMEDOUT, ECONNRESET …). */
export function transportOf(errno: string | undefined): HttpFailure['transport'] {
  if (errno && CONNECTION_NEVER_MADE.has(errno)) return 'refused';
  if (errno === 'ETIMEDOUT' || errno === 'ESOCKETTIMEDOUT' || errno === 'UND_ERR_HEADERS_TIMEOUT')
    return 'timeout';
  return 'reset';
}

export function outcomeKind(f: HttpFailure): ProviderErrorKind {
  if (f.status === undefined) return f.transport === 'refused' ? 'retryable' : 'timeout';
  const s = f.status;
  if (s === 429 || s === 409 || s === 424 || s === 502 || s === 503 || s === 504) return 'retryable';
  if (s >= 500) return s === 500 ? 'timeout' : 'retryable';
  if (s === 401 || s === 403) return 'outage';
  if (s >= 400 && s < 500) return 'hard_decline';
  // A 1xx/3xx where an answer was expected: we cannot tell what happened.
  return 'timeout';
}

/** The ProviderError for a failed call. `code` defaults to a stable name of the HTTP outcome. */
export function classifyHttpFailure(provider: string, f: HttpFailure): ProviderError {
  const kind = outcomeKind(f);
  const code =
    f.code ??
    (f.status !== undefined
      ? `http_${f.status}`
      : f.transport === 'refused'
        ? 'connection_refused'
        : f.transport === 'timeout'
          ? 'gateway_timeout'
          : 'connection_lost');
  const what = f.status !== undefined ? `HTTP ${f.status}` : `no answer (${f.transport ?? 'reset'})`;
  return new ProviderError(provider, kind, code, f.message ? `${what}: ${f.message}` : what);
}

/** Codes classifyHttpFailure gives when no answer arrived: the provider could not be reached. */
const UNREACHABLE = new Set(['connection_refused', 'gateway_timeout', 'connection_lost']);

/**
 * Health from a failed health-check call. A provider we cannot reach (refused, no answer, connection lost)
 * or whose credentials are refused is `down`, so routing fails over and schedules for `providers_down`, as
 * it does when a health check does not answer at all (src/routing/inputs.ts); 429/5xx answers are
 * `degraded` — it is there, just struggling.
 */
export function healthOfFailure(e: ProviderError): { status: 'down' | 'degraded'; detail: string } {
  return { status: e.kind === 'outage' || UNREACHABLE.has(e.code) ? 'down' : 'degraded', detail: e.code };
}
