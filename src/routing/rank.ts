// Provider ranking: which providers can take this payout, and in which order to try them.
// Pure: the caller passes each provider's capabilities and its latest health.
import { applyBps } from '../fees/rounding.ts';
import type { PayoutMethod, PayoutRail, ProviderCapabilities, ProviderHealth } from '../providers/types.ts';

export interface RankInput {
  name: string;
  capabilities: ProviderCapabilities;
  health: ProviderHealth;
}

export interface RouteRequest {
  method: PayoutMethod;
  /** Payee country, ISO 3166-1 alpha-2. */
  country: string;
  currency: string;
  /** Gross amount, integer minor units. */
  amountMinor: bigint;
  rail: PayoutRail;
}

export type ExclusionCode =
  | 'method_unsupported'
  | 'currency_unsupported'
  | 'country_unsupported'
  | 'rail_unsupported'
  | 'below_minimum'
  | 'above_maximum'
  | 'provider_down';

export interface RankedCandidate {
  name: string;
  /** Provider cost of this payout in minor units: fixed + amount × bps (half-up). */
  costMinor: bigint;
  priority: number;
  health: ProviderHealth['status'];
}

export interface Exclusion {
  name: string;
  reasons: { code: ExclusionCode; message: string }[];
}

export interface Ranking {
  candidates: RankedCandidate[];
  excluded: Exclusion[];
}

export function providerCost(capabilities: ProviderCapabilities, amountMinor: bigint): bigint {
  return capabilities.cost.fixedMinor + applyBps(amountMinor, capabilities.cost.bps);
}

/** Why `capabilities` cannot carry `req` (empty = supported). Health is not considered here. */
export function unsupportedReasons(
  capabilities: ProviderCapabilities,
  req: RouteRequest,
): { code: ExclusionCode; message: string }[] {
  const reasons: { code: ExclusionCode; message: string }[] = [];
  if (!capabilities.methods.includes(req.method)) {
    reasons.push({ code: 'method_unsupported', message: `method ${req.method} not supported` });
  }
  if (!capabilities.currencies.includes(req.currency)) {
    reasons.push({ code: 'currency_unsupported', message: `currency ${req.currency} not supported` });
  }
  if (!capabilities.countries.includes(req.country)) {
    reasons.push({ code: 'country_unsupported', message: `country ${req.country} not supported` });
  }
  if (!capabilities.rails.includes(req.rail)) {
    reasons.push({ code: 'rail_unsupported', message: `rail ${req.rail} not supported` });
  }
  const limit = capabilities.limits[req.currency];
  if (limit && req.amountMinor < limit.min) {
    reasons.push({ code: 'below_minimum', message: `amount ${req.amountMinor} below minimum ${limit.min}` });
  }
  if (limit && req.amountMinor > limit.max) {
    reasons.push({ code: 'above_maximum', message: `amount ${req.amountMinor} above maximum ${limit.max}` });
  }
  return reasons;
}

const HEALTH_ORDER: Record<ProviderHealth['status'], number> = { up: 0, degraded: 1, down: 2 };

/**
 * Ordered candidates for a payout: unsupported and down providers are excluded (with reasons);
 * the rest are ordered by health (up before degraded), then priority (lower first), then cost
 * (cheaper first), then name (so the order is deterministic).
 */
export function rankProviders(providers: readonly RankInput[], req: RouteRequest): Ranking {
  const candidates: RankedCandidate[] = [];
  const excluded: Exclusion[] = [];
  for (const p of providers) {
    const reasons = unsupportedReasons(p.capabilities, req);
    if (p.health.status === 'down') {
      reasons.push({
        code: 'provider_down',
        message: `provider is down${p.health.detail ? `: ${p.health.detail}` : ''}`,
      });
    }
    if (reasons.length > 0) {
      excluded.push({ name: p.name, reasons });
      continue;
    }
    candidates.push({
      name: p.name,
      costMinor: providerCost(p.capabilities, req.amountMinor),
      priority: p.capabilities.priority,
      health: p.health.status,
    });
  }
  candidates.sort(
    (a, b) =>
      HEALTH_ORDER[a.health] - HEALTH_ORDER[b.health] ||
      a.priority - b.priority ||
      (a.costMinor < b.costMinor ? -1 : a.costMinor > b.costMinor ? 1 : 0) ||
      (a.name < b.name ? -1 : a.name > b.name ? 1 : 0),
  );
  return { candidates, excluded };
}
