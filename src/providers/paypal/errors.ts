// PayPal failures → ProviderError, through the shared HTTP-outcome rules (../shared/http-outcome.ts), with
// PayPal's error `name` as the code. One exception is PayPal's own contract: a sender_batch_id used in the
// last 30 days is refused with a link to the batch it made — that is "already submitted, look it up".
import { isProviderError, ProviderError } from '../errors.ts';
import { classifyHttpFailure } from '../shared/http-outcome.ts';
import type { PaypalError } from './api.ts';
import { PaypalHttpError } from './client.ts';

/** PayPal messages may echo a receiver: keep emails and long digit runs out of log lines. */
export function scrubReceivers(message: string): string {
  return message
    .replace(/[^\s@"'<>]+@[^\s@"'<>]+/g, '****@****')
    .replace(/\+?\d{7,}/g, (d) => `****${d.slice(-4)}`);
}

function describe(body: PaypalError): string {
  const issue = body.details?.map((d) => [d.field, d.issue ?? d.description].filter(Boolean).join(': '));
  const text = [body.message ?? body.error_description, ...(issue ?? [])].filter(Boolean).join('; ');
  return scrubReceivers(text || 'no message');
}

export function fromPaypalError(provider: string, err: unknown): ProviderError {
  if (isProviderError(err)) return err;
  if (err instanceof PaypalHttpError) {
    const code = err.body.name ?? err.body.error;
    return classifyHttpFailure(provider, {
      status: err.status,
      ...(code ? { code } : {}),
      message: describe(err.body),
    });
  }
  return classifyHttpFailure(provider, {
    transport: 'unreadable',
    message: scrubReceivers((err as Error).message),
  });
}

/**
 * The batch id PayPal names when it refuses a sender_batch_id it has seen (HTTP 400 USER_BUSINESS_ERROR,
 * detail field SENDER_BATCH_ID, HATEOAS link to the original batch). `null`: a refusal of that kind without a
 * link; undefined: not that refusal.
 */
export function duplicateBatchOf(err: unknown): string | null | undefined {
  if (!(err instanceof PaypalHttpError) || err.status !== 400) return undefined;
  const details = err.body.details ?? [];
  const dup = details.find(
    (d) => d.field?.toUpperCase() === 'SENDER_BATCH_ID' || /sender_batch_id/i.test(d.issue ?? ''),
  );
  if (!dup) return undefined;
  const links = [...(dup.link ?? []), ...(err.body.links ?? [])];
  for (const l of links) {
    const m = /\/v1\/payments\/payouts\/([A-Za-z0-9]+)\/?$/.exec(l.href);
    if (m) return m[1]!;
  }
  return null;
}

/**
 * A lost answer that is safe to ask again: a lookup (GET), or the create call — PayPal pays a sender_batch_id at
 * most once, so sending it again is how its batch is found.
 */
export function askAgain(provider: string, err: ProviderError, why: string): ProviderError {
  if (err.kind !== 'timeout') return err;
  const what = err.message.replace(/^[^:]+: /, '').replace(/ \(timeout\/[^)]*\)$/, '');
  return new ProviderError(provider, 'retryable', err.code, `${what}; ${why}`);
}
