// Instant or scheduled? Instant only when every condition holds; the reason names the first one that failed.

export type RailDecisionReason =
  | 'instant_eligible'
  | 'not_opted_in'
  | 'risk_flagged'
  | 'no_instant_provider'
  | 'instant_not_offered_in_currency'
  | 'above_instant_limit';

export interface RailDecisionInput {
  /** The payee opted in to instant payouts (or asked for instant on this payout). */
  instantOptIn: boolean;
  /** At least one healthy provider supports the instant rail for this method/currency/country. */
  instantCapable: boolean;
  /** Gross amount, integer minor units. */
  amountMinor: bigint;
  /** Inclusive instant limit for the currency; null when instant is not offered in that currency. */
  instantLimitMinor: bigint | null;
  /** Risk rules did not flag the payout. */
  riskClear: boolean;
}

export interface RailDecision {
  rail: 'instant' | 'scheduled';
  reason: RailDecisionReason;
}

export function decideRail(input: RailDecisionInput): RailDecision {
  if (!input.instantOptIn) return { rail: 'scheduled', reason: 'not_opted_in' };
  if (!input.riskClear) return { rail: 'scheduled', reason: 'risk_flagged' };
  if (!input.instantCapable) return { rail: 'scheduled', reason: 'no_instant_provider' };
  if (input.instantLimitMinor === null)
    return { rail: 'scheduled', reason: 'instant_not_offered_in_currency' };
  if (input.amountMinor > input.instantLimitMinor)
    return { rail: 'scheduled', reason: 'above_instant_limit' };
  return { rail: 'instant', reason: 'instant_eligible' };
}
