// Instant-payout fee and tax withholding. Both are separate ledger legs, so they are computed here as
// exact integer minor units and the caller posts gross = fee + withholding + net.
import type { MoneySnapshot } from '../providers/types.ts';
import { applyBps } from './rounding.ts';

export interface InstantFeeRule {
  /** Fixed part, minor units of the payout currency. */
  fixedMinor: bigint;
  /** Variable part in basis points of the gross amount (rounded half-up). */
  bps: number;
  /** Floor applied after fixed + variable (optional). */
  minMinor?: bigint;
  /** Cap applied after fixed + variable (optional). */
  maxMinor?: bigint;
}

/** Fee rules per currency code; a currency without a rule pays no instant fee. */
export type InstantFeeSchedule = Record<string, InstantFeeRule>;

export class FeeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FeeError';
  }
}

export function parseMinor(amount: MoneySnapshot | bigint): bigint {
  if (typeof amount === 'bigint') return amount;
  if (!/^-?\d+$/.test(amount.amount)) {
    throw new FeeError(`amount must be an integer string of minor units, got "${amount.amount}"`);
  }
  return BigInt(amount.amount);
}

/**
 * Fee for an instant payout of `grossMinor`: fixed + round_half_up(gross × bps / 10 000), clamped to
 * [min, max] and never more than the gross itself (the payee cannot end up owing money for a payout).
 */
export function computeInstantFee(grossMinor: bigint, rule: InstantFeeRule | undefined): bigint {
  if (grossMinor < 0n) throw new FeeError(`gross amount must not be negative, got ${grossMinor}`);
  if (!rule) return 0n;
  let fee = rule.fixedMinor + applyBps(grossMinor, rule.bps);
  if (rule.minMinor !== undefined && fee < rule.minMinor) fee = rule.minMinor;
  if (rule.maxMinor !== undefined && fee > rule.maxMinor) fee = rule.maxMinor;
  if (fee > grossMinor) fee = grossMinor;
  if (fee < 0n) fee = 0n;
  return fee;
}

/** Tax withheld on `grossMinor` at `rateBps`, rounded half-up to the minor unit. */
export function computeWithholding(grossMinor: bigint, rateBps: number): bigint {
  if (grossMinor < 0n) throw new FeeError(`gross amount must not be negative, got ${grossMinor}`);
  return applyBps(grossMinor, rateBps);
}

export interface PayoutBreakdown {
  gross: MoneySnapshot;
  instantFee: MoneySnapshot;
  withholding: MoneySnapshot;
  /** What the provider disburses: gross − instantFee − withholding. */
  net: MoneySnapshot;
}

/**
 * Split a payout into its ledger legs. Withholding is computed on the gross; the instant fee is capped
 * so that fee + withholding never exceeds the gross. Invariant: fee + withholding + net = gross.
 */
export function computePayoutBreakdown(
  gross: MoneySnapshot,
  opts: { instant: boolean; feeSchedule: InstantFeeSchedule; withholdingBps: number },
): PayoutBreakdown {
  const grossMinor = parseMinor(gross);
  const withholding = computeWithholding(grossMinor, opts.withholdingBps);
  const afterTax = grossMinor - withholding;
  // The fee is a share of the gross ("1% of the payout"), capped so that fee + withholding <= gross.
  const fee = opts.instant
    ? min(computeInstantFee(grossMinor, opts.feeSchedule[gross.currency]), afterTax)
    : 0n;
  const net = afterTax - fee;
  const snap = (v: bigint): MoneySnapshot => ({
    amount: v.toString(),
    currency: gross.currency,
    scale: gross.scale,
  });
  return { gross: snap(grossMinor), instantFee: snap(fee), withholding: snap(withholding), net: snap(net) };
}

function min(a: bigint, b: bigint): bigint {
  return a < b ? a : b;
}
