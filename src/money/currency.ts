import type { DineroCurrency } from 'dinero.js';
import * as iso4217 from 'dinero.js/currencies';
import { MoneyError } from './errors.ts';

const byCode = new Map<string, DineroCurrency<number>>(
  Object.values(iso4217 as Record<string, DineroCurrency<number>>).map((c) => [c.code, c]),
);

/** The ISO 4217 currency (from dinero.js/currencies), or a MoneyError naming the field. */
export function currencyOf(code: unknown, field = 'currency'): DineroCurrency<number> {
  const currency = typeof code === 'string' ? byCode.get(code) : undefined;
  if (!currency) {
    throw new MoneyError(
      'unknown_currency',
      field,
      `unknown currency ${JSON.stringify(code)}; use an ISO 4217 code such as "USD" or "EUR"`,
    );
  }
  return currency;
}

export function isCurrencyCode(code: string): boolean {
  return byCode.has(code);
}
