// Integer-only rounding for money in minor units. Rule: HALF-UP (ties away from zero) on the exact
// rational result, e.g. 12.5 minor units -> 13, 12.49 -> 12. Inputs are bigint; nothing passes through floats.

export const BPS_DENOMINATOR = 10_000n;

/** Round numerator/denominator half-up, for a non-negative numerator and positive denominator. */
export function divideHalfUp(numerator: bigint, denominator: bigint): bigint {
  if (denominator <= 0n)
    throw new RangeError(`divideHalfUp: denominator must be positive, got ${denominator}`);
  if (numerator < 0n) return -divideHalfUp(-numerator, denominator);
  return (numerator * 2n + denominator) / (denominator * 2n);
}

/** amount × bps / 10 000, rounded half-up. `bps` must be an integer 0..10 000. */
export function applyBps(amountMinor: bigint, bps: number): bigint {
  if (!Number.isInteger(bps) || bps < 0 || bps > 10_000) {
    throw new RangeError(`basis points must be an integer between 0 and 10000, got ${bps}`);
  }
  return divideHalfUp(amountMinor * BigInt(bps), BPS_DENOMINATOR);
}
