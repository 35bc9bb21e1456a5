import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { currencyOf, formatDecimal, isCurrencyCode, money, parseDecimal } from '../../src/money/index.ts';
import { ISO_4217 } from '../../src/money/iso4217.ts';

describe('ISO 4217 table', () => {
  it('knows the exponents of currencies with 0, 2, 3 and 4 decimals', () => {
    expect(currencyOf('JPY')).toEqual({ code: 'JPY', exponent: 0 });
    expect(currencyOf('USD')).toEqual({ code: 'USD', exponent: 2 });
    expect(currencyOf('KWD')).toEqual({ code: 'KWD', exponent: 3 });
    expect(currencyOf('CLF')).toEqual({ code: 'CLF', exponent: 4 });
    // ISO 4217 lists the ariary and the ouguiya with 2 decimals (their 1/5 subunit is not a decimal place).
    expect(currencyOf('MGA').exponent).toBe(2);
    expect(currencyOf('MRU').exponent).toBe(2);
  });

  it('holds each code once, three capitals, and no metals or test codes', () => {
    const codes = [...ISO_4217.keys()];
    expect(new Set(codes).size).toBe(codes.length);
    for (const code of codes) expect(code).toMatch(/^[A-Z]{3}$/);
    for (const code of ['XAU', 'XAG', 'XTS', 'XXX', 'XDR']) expect(isCurrencyCode(code)).toBe(false);
    expect(codes.length).toBeGreaterThan(150);
  });

  it('formats and parses back every amount exactly, beyond the float range too', () => {
    const codes = [...ISO_4217.keys()];
    fc.assert(
      fc.property(
        fc.bigInt({ min: -(2n ** 63n) + 1n, max: 2n ** 63n - 1n }),
        fc.constantFrom(...codes),
        (minor, code) => {
          const m = money(minor, code);
          expect(parseDecimal(formatDecimal(m), code, { allowNegative: true })).toEqual(m);
        },
      ),
    );
  });
});
