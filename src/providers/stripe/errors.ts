// Stripe SDK errors → ProviderError, through the shared HTTP-outcome rules (../shared/http-outcome.ts), with
// Stripe's own codes where they say more (idempotency_error, balance_insufficient).
import Stripe from 'stripe';
import { lastFour } from '../../crypto/mask.ts';
import { isProviderError, type ProviderError } from '../errors.ts';
import { classifyHttpFailure, transportOf } from '../shared/http-outcome.ts';

/** Stripe messages name accounts and cards ("No such destination: 'acct_…'"): keep only their last four. */
export function scrubIds(message: string): string {
  return message.replace(
    /\b(acct|card|ba)_[A-Za-z0-9]+/g,
    (id, kind: string) => `${kind}_****${lastFour(id)}`,
  );
}

export function fromStripeError(provider: string, err: unknown): ProviderError {
  if (isProviderError(err)) return err;
  if (err instanceof Stripe.errors.StripeConnectionError) {
    const detail = err.detail as { code?: string } | undefined;
    const timedOut = /timeout/i.test(err.message);
    return classifyHttpFailure(provider, {
      transport: timedOut ? 'timeout' : transportOf(detail?.code),
      message: timedOut ? err.message : `connection to Stripe failed (${detail?.code ?? 'unknown'})`,
    });
  }
  if (err instanceof Stripe.errors.StripeError) {
    const code =
      err.type === 'StripeIdempotencyError'
        ? 'idempotency_key_reused'
        : (err.code ?? err.rawType ?? undefined);
    if (err.statusCode === undefined) {
      // An answer that could not be read as Stripe's: we cannot tell whether it executed.
      return classifyHttpFailure(provider, { transport: 'unreadable', message: scrubIds(err.message) });
    }
    return classifyHttpFailure(provider, {
      status: err.statusCode,
      ...(code ? { code } : {}),
      message: scrubIds(err.message),
    });
  }
  return classifyHttpFailure(provider, {
    transport: 'unreadable',
    message: scrubIds((err as Error).message),
  });
}
