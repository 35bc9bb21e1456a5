// Helpers shared by built-in providers: default capabilities and request validation.
import { unsupportedReasons } from '../routing/rank.ts';
import { ProviderError } from './errors.ts';
import { PAYOUT_METHODS, PAYOUT_RAILS, type ProviderCapabilities, type SubmitRequest } from './types.ts';

export function defaultCapabilities(overrides: Partial<ProviderCapabilities> = {}): ProviderCapabilities {
  return {
    methods: [...PAYOUT_METHODS],
    currencies: ['USD', 'EUR', 'GBP', 'CAD', 'AUD'],
    countries: ['US', 'CA', 'GB', 'IE', 'DE', 'FR', 'NL', 'ES', 'IT', 'AU'],
    rails: [...PAYOUT_RAILS],
    limits: {},
    cost: { fixedMinor: 25n, bps: 0 },
    priority: 10,
    ...overrides,
  };
}

/** Validates a submit request against the provider's capabilities; throws a hard decline (nothing recorded). */
export function assertSubmittable(
  provider: string,
  capabilities: ProviderCapabilities,
  req: SubmitRequest,
): bigint {
  if (!req.idempotencyKey || req.idempotencyKey.length > 200) {
    throw new ProviderError(
      provider,
      'hard_decline',
      'invalid_request',
      'idempotencyKey must be 1-200 characters',
    );
  }
  if (!req.payoutId)
    throw new ProviderError(provider, 'hard_decline', 'invalid_request', 'payoutId is required');
  if (!/^\d{1,18}$/.test(req.amount.amount)) {
    throw new ProviderError(
      provider,
      'hard_decline',
      'invalid_request',
      `amount must be a non-negative integer string of minor units, got "${req.amount.amount}"`,
    );
  }
  if (!req.destination)
    throw new ProviderError(provider, 'hard_decline', 'invalid_request', 'destination is required');
  const amountMinor = BigInt(req.amount.amount);
  const reasons = unsupportedReasons(capabilities, {
    method: req.method,
    country: req.payee.country,
    currency: req.amount.currency,
    amountMinor,
    rail: req.rail,
  });
  if (reasons.length > 0) {
    throw new ProviderError(
      provider,
      'hard_decline',
      reasons[0]!.code,
      reasons.map((r) => r.message).join('; '),
    );
  }
  return amountMinor;
}
