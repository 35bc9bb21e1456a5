import { MoneyError } from './errors.ts';
import { ISO_4217 } from './iso4217.ts';

/** A currency or asset: its code and the number of decimal places of its minor unit. */
export interface Currency {
  readonly code: string;
  readonly exponent: number;
}

const byCode = new Map<string, Currency>([...ISO_4217].map(([code, exponent]) => [code, { code, exponent }]));

/**
 * Non-ISO assets (stablecoins) money may be held and paid in, with their own exponent: USDC and EURC have 6
 * decimals on every chain, so 1 USDC = 1 000 000 minor units. Amounts in them keep the integer discipline of
 * ISO currencies; conversions to and from the wallet currency are the ledger's FX legs.
 */
export type Asset = Currency;

export const DEFAULT_ASSETS: readonly Asset[] = [
  { code: 'USDC', exponent: 6 },
  { code: 'EURC', exponent: 6 },
];

const assets = new Map<string, Currency>();

/**
 * Sets the asset list (replacing the previous one). A code may not shadow an ISO 4217 currency, and an asset's
 * exponent is fixed once amounts exist, so every process of a deployment must configure the same list.
 */
export function configureAssets(list: readonly Asset[]): void {
  const next = new Map<string, Currency>();
  for (const a of list) {
    if (!/^[A-Z][A-Z0-9]{2,9}$/.test(a.code))
      throw new Error(`asset code ${JSON.stringify(a.code)}: 3-10 capitals/digits`);
    if (byCode.has(a.code)) throw new Error(`asset ${a.code} is an ISO 4217 currency`);
    if (!Number.isInteger(a.exponent) || a.exponent < 0 || a.exponent > 18) {
      throw new Error(`asset ${a.code}: exponent must be an integer 0-18`);
    }
    if (next.has(a.code)) throw new Error(`asset ${a.code} is listed twice`);
    next.set(a.code, { code: a.code, exponent: a.exponent });
  }
  assets.clear();
  for (const [k, v] of next) assets.set(k, v);
}

/** `USDC:6,EURC:6` → assets (the DISBURSE_ASSETS form). */
export function parseAssetList(text: string): Asset[] {
  return text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map((item) => {
      const m = /^([A-Z][A-Z0-9]{2,9}):(\d{1,2})$/.exec(item);
      if (!m) throw new Error(`"${item}": expected CODE:EXPONENT such as USDC:6`);
      return { code: m[1]!, exponent: Number(m[2]) };
    });
}

export function configuredAssets(): Asset[] {
  return [...assets.values()].map((c) => ({ code: c.code, exponent: c.exponent }));
}

configureAssets(DEFAULT_ASSETS);

/** The ISO 4217 currency (src/money/iso4217.ts) or configured asset, or a MoneyError naming the field. */
export function currencyOf(code: unknown, field = 'currency'): Currency {
  const currency = typeof code === 'string' ? (byCode.get(code) ?? assets.get(code)) : undefined;
  if (!currency) {
    throw new MoneyError(
      'unknown_currency',
      field,
      `unknown currency ${JSON.stringify(code)}; use an ISO 4217 code such as "USD" or "EUR", or a configured asset (${[...assets.keys()].join(', ') || 'none'})`,
    );
  }
  return currency;
}

export function isCurrencyCode(code: string): boolean {
  return byCode.has(code) || assets.has(code);
}
