import { currencyOf } from './currency.ts';
import { MoneyError } from './errors.ts';

/**
 * Money as it travels between processes (JSON, workflow payloads, HTTP): integer minor units as a
 * string, the ISO 4217 code, and the scale (the currency's exponent, e.g. 2 for USD: "1234" = 12.34).
 */
export interface Money {
  readonly amount: string;
  readonly currency: string;
  readonly scale: number;
}

export interface MoneyRules {
  /** Field name used in error messages (default 'amount'). */
  field?: string;
  /** Allow negative amounts (default false). */
  allowNegative?: boolean;
  /** Allow zero (default true). */
  allowZero?: boolean;
  /** Required currency; a different one is a 'currency_mismatch'. */
  currency?: string;
}

// Postgres bigint bounds: the ledger stores minor units as bigint.
const MAX_MINOR = 9_223_372_036_854_775_807n;

/**
 * Validates the wire form and normalises it to the currency's exponent. A higher scale is accepted only
 * when exact ({amount:"12340", scale:3} USD → "1234"); otherwise 'too_many_decimals'.
 */
export function parseMoney(input: unknown, rules: MoneyRules = {}): Money {
  const field = rules.field ?? 'amount';
  if (typeof input !== 'object' || input === null) {
    throw new MoneyError(
      'invalid_shape',
      field,
      'expected { amount: string, currency: string, scale: number }',
    );
  }
  const { amount, currency: code, scale } = input as Record<string, unknown>;
  const currency = currencyOf(code, `${field}.currency`);
  if (rules.currency !== undefined && code !== rules.currency) {
    throw new MoneyError(
      'currency_mismatch',
      `${field}.currency`,
      `expected ${rules.currency}, got ${String(code)}`,
    );
  }
  if (typeof amount !== 'string' || !/^-?(0|[1-9]\d*)$/.test(amount)) {
    throw new MoneyError(
      'not_an_integer',
      `${field}.amount`,
      `must be an integer string of minor units (e.g. "1234" for 12.34 ${currency.code}), got ${JSON.stringify(amount)}`,
    );
  }
  if (typeof scale !== 'number' || !Number.isInteger(scale) || scale < 0 || scale > 18) {
    throw new MoneyError(
      'invalid_scale',
      `${field}.scale`,
      `must be an integer 0-18, got ${JSON.stringify(scale)}`,
    );
  }
  let minor = BigInt(amount);
  if (scale > currency.exponent) {
    const factor = 10n ** BigInt(scale - currency.exponent);
    if (minor % factor !== 0n) {
      throw new MoneyError(
        'too_many_decimals',
        `${field}.amount`,
        `${currency.code} has ${currency.exponent} decimal(s); ${amount} at scale ${scale} is not a whole minor unit`,
      );
    }
    minor /= factor;
  } else if (scale < currency.exponent) {
    minor *= 10n ** BigInt(currency.exponent - scale);
  }
  return checked(minor, currency.code, currency.exponent, field, rules);
}

/**
 * Parses a decimal string in major units: "12.34" USD → 1234 minor units. Rejects floats' cousins
 * (exponents, commas, spaces) and more decimals than the currency has.
 */
export function parseDecimal(text: unknown, currencyCode: string, rules: MoneyRules = {}): Money {
  const field = rules.field ?? 'amount';
  const currency = currencyOf(currencyCode, `${field}.currency`);
  if (typeof text !== 'string' || !/^-?\d+(\.\d+)?$/.test(text)) {
    throw new MoneyError(
      'not_a_decimal',
      field,
      `must be a decimal string such as "12.34", got ${JSON.stringify(text)}`,
    );
  }
  const negative = text.startsWith('-');
  const [whole = '0', fraction = ''] = (negative ? text.slice(1) : text).split('.');
  if (fraction.length > currency.exponent) {
    throw new MoneyError(
      'too_many_decimals',
      field,
      `${currency.code} allows ${currency.exponent} decimal(s), got "${text}"`,
    );
  }
  const digits = whole + fraction.padEnd(currency.exponent, '0');
  const minor = BigInt(digits) * (negative ? -1n : 1n);
  return checked(minor, currency.code, currency.exponent, field, rules);
}

function checked(minor: bigint, code: string, exponent: number, field: string, rules: MoneyRules): Money {
  if (minor < 0n && !rules.allowNegative) {
    throw new MoneyError(
      'negative',
      `${field}.amount`,
      `must not be negative, got ${minor} ${code} minor units`,
    );
  }
  if (minor === 0n && rules.allowZero === false) {
    throw new MoneyError('zero', `${field}.amount`, 'must be greater than zero');
  }
  if (minor > MAX_MINOR || minor < -MAX_MINOR) {
    throw new MoneyError('out_of_range', `${field}.amount`, 'is too large');
  }
  return { amount: minor.toString(), currency: code, scale: exponent };
}

/** Builds the wire form from minor units (bigint or integer string). */
export function money(minor: bigint | string, currencyCode: string): Money {
  const currency = currencyOf(currencyCode);
  return { amount: BigInt(minor).toString(), currency: currency.code, scale: currency.exponent };
}

export function minorUnits(m: Money): bigint {
  return BigInt(m.amount);
}

/** "12.34" for { amount: "1234", currency: "USD", scale: 2 }; exact, via strings. */
export function formatDecimal(m: Money): string {
  const minor = BigInt(m.amount);
  const digits = (minor < 0n ? -minor : minor).toString().padStart(m.scale + 1, '0');
  const whole = digits.slice(0, digits.length - m.scale);
  const fraction = m.scale > 0 ? `.${digits.slice(digits.length - m.scale)}` : '';
  return `${minor < 0n ? '-' : ''}${whole}${fraction}`;
}

/** Throws 'currency_mismatch' unless all share one currency; returns it. */
export function sameCurrency(values: readonly Money[], field = 'amounts'): string {
  const first = values[0]?.currency;
  for (const v of values) {
    if (v.currency !== first) {
      throw new MoneyError('currency_mismatch', field, `mixes ${first} and ${v.currency}; use one currency`);
    }
  }
  if (!first) throw new MoneyError('invalid_shape', field, 'needs at least one amount');
  return first;
}
