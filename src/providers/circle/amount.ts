// Circle's API takes money as a decimal string of the currency unit ("12.345678", currency "USD" meaning
// USDC; "EUR" meaning EURC). Payouts arrive as integer minor units: USD/EUR at scale 2, or the configured
// assets USDC/EURC at scale 6 (USDC has 6 decimals on every chain). Formatted and parsed with bigint only.
import { ProviderError } from '../errors.ts';
import type { MoneySnapshot } from '../types.ts';

/** Payout currency → Circle's currency code and the scale an amount of it must have. */
const CIRCLE_CURRENCY: Record<string, { circle: 'USD' | 'EUR'; scale: number }> = {
  USD: { circle: 'USD', scale: 2 },
  USDC: { circle: 'USD', scale: 6 },
  EUR: { circle: 'EUR', scale: 2 },
  EURC: { circle: 'EUR', scale: 6 },
};

export const CIRCLE_CURRENCIES = Object.keys(CIRCLE_CURRENCY);

/** "12.345678" for 12345678 at scale 6; exact. */
export function decimalOf(minor: bigint, scale: number): string {
  const neg = minor < 0n;
  const digits = (neg ? -minor : minor).toString().padStart(scale + 1, '0');
  const whole = digits.slice(0, digits.length - scale);
  return `${neg ? '-' : ''}${whole}${scale > 0 ? `.${digits.slice(digits.length - scale)}` : ''}`;
}

/** Minor units at `scale` of Circle's decimal string; undefined when it is not one or has more decimals. */
export function minorOf(decimal: string, scale: number): bigint | undefined {
  const m = /^(\d+)(?:\.(\d+))?$/.exec(decimal);
  if (!m) return undefined;
  const fraction = m[2] ?? '';
  if (fraction.length > scale && !/^0*$/.test(fraction.slice(scale))) return undefined;
  return BigInt(m[1]! + fraction.slice(0, scale).padEnd(scale, '0'));
}

export function circleMoney(
  provider: string,
  amount: MoneySnapshot,
): { amount: string; currency: 'USD' | 'EUR' } {
  const c = CIRCLE_CURRENCY[amount.currency];
  if (!c) {
    throw new ProviderError(
      provider,
      'hard_decline',
      'currency_not_supported',
      `Circle pays USDC/EURC; ${amount.currency} is not one of ${CIRCLE_CURRENCIES.join(', ')}`,
    );
  }
  if (amount.scale !== c.scale) {
    throw new ProviderError(
      provider,
      'hard_decline',
      'invalid_amount',
      `${amount.currency} amounts go to Circle at scale ${c.scale}, got scale ${amount.scale}`,
    );
  }
  return { amount: decimalOf(BigInt(amount.amount), c.scale), currency: c.circle };
}
