// Risk rules for a payout. Pure: the caller gathers the facts from the database; each rule that fires
// adds a reason with a stable code (used in the payout status, webhooks and operator review).
import type { MoneySnapshot } from '../providers/types.ts';

export type RiskReasonCode =
  | 'velocity_count'
  | 'velocity_amount'
  | 'destination_cool_off'
  | 'destination_shared'
  | 'amount_anomaly';

export interface RiskReason {
  code: RiskReasonCode;
  message: string;
}

export interface RiskFacts {
  /** The payout being assessed. */
  amount: MoneySnapshot;
  /** The payee's other payouts in the 24 hours before `now` (excluding this one), same currency. */
  recentPayouts24h: { count: number; totalMinor: bigint };
  /** When the destination used by this payout was added or last changed; null if unknown. */
  destinationChangedAt: Date | null;
  now: Date;
  /** Number of OTHER payees whose destination has the same fingerprint. */
  sharedDestinationPayeeCount: number;
  /** The payee's trailing average payout in minor units (same currency); undefined without history. */
  trailingAverageMinor?: bigint;
}

export interface RiskRulesConfig {
  /** Flag when this payout would be the (max+1)-th in 24h. Omit to disable. */
  maxDailyCount?: number;
  /** Per currency, minor units: flag when the 24h total including this payout exceeds it. */
  maxDailyAmount?: Record<string, bigint>;
  /** Flag payouts to a destination added/changed less than this many ms ago. 0 disables. */
  destinationCoolOffMs: number;
  /** Flag when more than this many other payees share the destination (0 = any sharing flags). */
  maxSharedDestinationPayees: number;
  /**
   * Flag when amount > multiple × trailing average. Up to two decimals (e.g. 3 or 2.5); integer math
   * on hundredths. Omit to disable.
   */
  anomalyMultiple?: number;
}

export interface RiskAssessment {
  flagged: boolean;
  reasons: RiskReason[];
}

export class RiskConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RiskConfigError';
  }
}

/** The multiple as an integer number of hundredths (2.5 → 250). */
export function multipleInHundredths(multiple: number): bigint {
  const hundredths = Math.round(multiple * 100);
  if (!Number.isFinite(multiple) || multiple <= 0 || Math.abs(hundredths - multiple * 100) > 1e-6) {
    throw new RiskConfigError(`anomalyMultiple must be positive with at most two decimals, got ${multiple}`);
  }
  return BigInt(hundredths);
}

function formatDuration(ms: number): string {
  const h = Math.floor(ms / 3_600_000);
  const m = Math.floor((ms % 3_600_000) / 60_000);
  return h > 0 ? `${h}h${m > 0 ? ` ${m}m` : ''}` : `${m}m`;
}

type Rule = (facts: RiskFacts, amountMinor: bigint, config: RiskRulesConfig) => RiskReason | null;

const velocityCount: Rule = (f, _a, c) => {
  if (c.maxDailyCount === undefined) return null;
  const count = f.recentPayouts24h.count + 1;
  return count > c.maxDailyCount
    ? { code: 'velocity_count', message: `${count} payouts in 24h exceeds the limit of ${c.maxDailyCount}` }
    : null;
};

const velocityAmount: Rule = (f, amount, c) => {
  const limit = c.maxDailyAmount?.[f.amount.currency];
  if (limit === undefined) return null;
  const total = f.recentPayouts24h.totalMinor + amount;
  return total > limit
    ? {
        code: 'velocity_amount',
        message: `${total} ${f.amount.currency} (minor units) paid out in 24h exceeds the limit of ${limit}`,
      }
    : null;
};

const destinationCoolOff: Rule = (f, _a, c) => {
  if (c.destinationCoolOffMs <= 0 || f.destinationChangedAt === null) return null;
  const age = f.now.getTime() - f.destinationChangedAt.getTime();
  return age < c.destinationCoolOffMs
    ? {
        code: 'destination_cool_off',
        message: `destination added or changed ${formatDuration(Math.max(0, age))} ago, within the ${formatDuration(c.destinationCoolOffMs)} cool-off`,
      }
    : null;
};

const destinationShared: Rule = (f, _a, c) =>
  f.sharedDestinationPayeeCount > c.maxSharedDestinationPayees
    ? {
        code: 'destination_shared',
        message: `destination is also used by ${f.sharedDestinationPayeeCount} other payee(s)`,
      }
    : null;

const amountAnomaly: Rule = (f, amount, c) => {
  if (
    c.anomalyMultiple === undefined ||
    f.trailingAverageMinor === undefined ||
    f.trailingAverageMinor <= 0n
  ) {
    return null;
  }
  const hundredths = multipleInHundredths(c.anomalyMultiple);
  return amount * 100n > f.trailingAverageMinor * hundredths
    ? {
        code: 'amount_anomaly',
        message: `amount ${amount} is more than ${c.anomalyMultiple}× the trailing average of ${f.trailingAverageMinor}`,
      }
    : null;
};

const RULES: readonly Rule[] = [
  velocityCount,
  velocityAmount,
  destinationCoolOff,
  destinationShared,
  amountAnomaly,
];

export function assessRisk(facts: RiskFacts, config: RiskRulesConfig): RiskAssessment {
  if (!/^\d+$/.test(facts.amount.amount)) {
    throw new RiskConfigError(
      `amount must be a non-negative integer string of minor units, got "${facts.amount.amount}"`,
    );
  }
  const amountMinor = BigInt(facts.amount.amount);
  const reasons = RULES.map((rule) => rule(facts, amountMinor, config)).filter(
    (r): r is RiskReason => r !== null,
  );
  return { flagged: reasons.length > 0, reasons };
}
