import { describe, expect, it } from '@jest/globals';
import {
  formatDecimal,
  MoneyError,
  money,
  parseDecimal,
  parseMoney,
  sameCurrency,
} from '../../src/money/index.ts';

describe('money wire form', () => {
  it('parses and normalises valid amounts', () => {
    expect(parseMoney({ amount: '1234', currency: 'USD', scale: 2 })).toEqual({
      amount: '1234',
      currency: 'USD',
      scale: 2,
    });
    expect(parseMoney({ amount: '12340', currency: 'USD', scale: 3 })).toEqual({
      amount: '1234',
      currency: 'USD',
      scale: 2,
    });
    expect(parseMoney({ amount: '12', currency: 'USD', scale: 0 })).toEqual({
      amount: '1200',
      currency: 'USD',
      scale: 2,
    });
    expect(parseMoney({ amount: '500', currency: 'JPY', scale: 0 })).toEqual({
      amount: '500',
      currency: 'JPY',
      scale: 0,
    });
    expect(parseMoney({ amount: '-5', currency: 'EUR', scale: 2 }, { allowNegative: true }).amount).toBe(
      '-5',
    );
  });

  const bad: [string, unknown, Parameters<typeof parseMoney>[1], string][] = [
    ['negative', { amount: '-1', currency: 'USD', scale: 2 }, {}, 'negative'],
    ['zero when not allowed', { amount: '0', currency: 'USD', scale: 2 }, { allowZero: false }, 'zero'],
    ['unknown currency', { amount: '1', currency: 'ABC', scale: 2 }, {}, 'unknown_currency'],
    ['lower-case currency', { amount: '1', currency: 'usd', scale: 2 }, {}, 'unknown_currency'],
    [
      'mismatched currency',
      { amount: '1', currency: 'EUR', scale: 2 },
      { currency: 'USD' },
      'currency_mismatch',
    ],
    ['too many decimals', { amount: '12345', currency: 'USD', scale: 3 }, {}, 'too_many_decimals'],
    ['float amount', { amount: 12.5, currency: 'USD', scale: 2 }, {}, 'not_an_integer'],
    ['decimal string', { amount: '12.50', currency: 'USD', scale: 2 }, {}, 'not_an_integer'],
    ['exponent', { amount: '1e3', currency: 'USD', scale: 2 }, {}, 'not_an_integer'],
    ['leading zeros', { amount: '007', currency: 'USD', scale: 2 }, {}, 'not_an_integer'],
    ['bad scale', { amount: '1', currency: 'USD', scale: 2.5 }, {}, 'invalid_scale'],
    ['not an object', '12.34', {}, 'invalid_shape'],
    ['out of bigint range', { amount: '9223372036854775808', currency: 'USD', scale: 2 }, {}, 'out_of_range'],
  ];
  it.each(bad)('rejects %s with a typed error', (_name, input, rules, reason) => {
    const err = (() => {
      try {
        parseMoney(input, rules);
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(MoneyError);
    expect(err).toMatchObject({ code: 'money_invalid', reason });
  });

  it('parses decimal strings exactly, rejecting too many decimals', () => {
    expect(parseDecimal('12.34', 'USD')).toEqual({ amount: '1234', currency: 'USD', scale: 2 });
    expect(parseDecimal('12.3', 'USD').amount).toBe('1230');
    expect(parseDecimal('0.07', 'USD').amount).toBe('7');
    expect(parseDecimal('1000', 'JPY')).toEqual({ amount: '1000', currency: 'JPY', scale: 0 });
    expect(parseDecimal('1.234', 'KWD').amount).toBe('1234');
    expect(() => parseDecimal('12.345', 'USD')).toThrow(/USD allows 2 decimal/);
    expect(() => parseDecimal('1.5', 'JPY')).toThrow(MoneyError);
    expect(() => parseDecimal('1,50', 'EUR')).toThrow(/decimal string/);
    expect(() => parseDecimal('-1.00', 'EUR')).toThrow(/negative/);
    expect(parseDecimal('-1.00', 'EUR', { allowNegative: true }).amount).toBe('-100');
  });

  it('formats exactly', () => {
    expect(formatDecimal(money(-5n, 'USD'))).toBe('-0.05');
    expect(formatDecimal(money(123456n, 'KWD'))).toBe('123.456');
    expect(formatDecimal(money(42n, 'JPY'))).toBe('42');
    expect(() => sameCurrency([money(1n, 'USD'), money(1n, 'EUR')])).toThrow(/mixes USD and EUR/);
  });
});
