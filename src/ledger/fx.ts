import { InvalidPosting } from './errors.ts';

/**
 * An exchange rate, never a float: a decimal string ("0.9187") or integer numerator/denominator
 * (as strings or bigints). Meaning: 1 major unit of the source currency = rate major units of the target.
 */
export type FxRate = string | { numerator: string | bigint; denominator: string | bigint };

export interface ParsedRate {
  numerator: bigint;
  denominator: bigint;
  decimal: string | null;
}

export function parseRate(rate: unknown): ParsedRate {
  if (typeof rate === 'number') {
    throw new InvalidPosting(
      'rate',
      'pass the rate as a decimal string or integer numerator/denominator, never a float',
    );
  }
  if (typeof rate === 'string') {
    if (!/^\d+(\.\d+)?$/.test(rate))
      throw new InvalidPosting('rate', `must be a positive decimal string, got "${rate}"`);
    const [whole = '0', fraction = ''] = rate.split('.');
    const numerator = BigInt(whole + fraction);
    if (numerator === 0n) throw new InvalidPosting('rate', 'must be greater than zero');
    return { numerator, denominator: 10n ** BigInt(fraction.length), decimal: rate };
  }
  if (typeof rate === 'object' && rate !== null) {
    const { numerator, denominator } = rate as Record<string, unknown>;
    const n = integer(numerator, 'rate.numerator');
    const d = integer(denominator, 'rate.denominator');
    if (n <= 0n || d <= 0n) throw new InvalidPosting('rate', 'numerator and denominator must be positive');
    return { numerator: n, denominator: d, decimal: null };
  }
  throw new InvalidPosting('rate', 'must be a decimal string or { numerator, denominator }');
}

function integer(value: unknown, field: string): bigint {
  if (typeof value === 'bigint') return value;
  if (typeof value === 'string' && /^\d+$/.test(value)) return BigInt(value);
  throw new InvalidPosting(field, 'must be an integer string');
}

/** Source minor units → target minor units, rounded down (toward zero) to a whole minor unit. */
export function convertMinor(
  amount: bigint,
  fromExponent: number,
  toExponent: number,
  rate: ParsedRate,
): bigint {
  const numerator = amount * rate.numerator * 10n ** BigInt(toExponent);
  const denominator = rate.denominator * 10n ** BigInt(fromExponent);
  return numerator / denominator;
}
