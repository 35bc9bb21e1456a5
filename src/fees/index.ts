export type { InstantFeeRule, InstantFeeSchedule, PayoutBreakdown } from './fees.ts';
export {
  computeInstantFee,
  computePayoutBreakdown,
  computeWithholding,
  FeeError,
  parseMinor,
} from './fees.ts';
export { applyBps, divideHalfUp } from './rounding.ts';
