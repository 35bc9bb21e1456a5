// Non-ISO assets in the money module: USDC/EURC at 6 decimals by default, a configured list (DISBURSE_ASSETS),
// amounts and fees in the same integer discipline, and the ledger's FX legs between a wallet currency (USD,
// scale 2) and the payout asset (USDC, scale 6) balanced per currency.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { loadConfig } from '../../src/config/index.ts';
import { computeInstantFee } from '../../src/fees/index.ts';
import { Ledger } from '../../src/ledger/index.ts';
import {
  configureAssets,
  configuredAssets,
  currencyOf,
  DEFAULT_ASSETS,
  formatDecimal,
  parseAssetList,
  parseDecimal,
  parseMoney,
} from '../../src/money/index.ts';
import { createTestDatabase, type TestDatabase } from '../support/db.ts';
import { expectLedgerValid, usd } from './helpers.ts';

const usdc = (amount: string) => ({ amount, currency: 'USDC', scale: 6 });

let db: TestDatabase;
let ledger: Ledger;
beforeAll(async () => {
  db = await createTestDatabase('assets');
  ledger = new Ledger(db);
});
afterAll(async () => {
  configureAssets(DEFAULT_ASSETS);
  await expectLedgerValid(db);
  await db.drop();
});

describe('assets', () => {
  it('USDC has 6 decimals: wire form, decimal strings, exactness', () => {
    expect(currencyOf('USDC').exponent).toBe(6);
    expect(parseMoney(usdc('12345678'))).toEqual(usdc('12345678'));
    expect(parseMoney({ amount: '1234', currency: 'USDC', scale: 2 })).toEqual(usdc('12340000'));
    expect(parseDecimal('12.345678', 'USDC')).toEqual(usdc('12345678'));
    expect(() => parseDecimal('0.0000001', 'USDC')).toThrow(/6 decimal/);
    expect(formatDecimal(usdc('9007199254740993'))).toBe('9007199254.740993');
  });

  it('fees in an asset are integer minor units like any currency', () => {
    // 1% of 100.000000 USDC + 0.25 USDC fixed, capped at 1.5 USDC.
    expect(computeInstantFee(100_000_000n, { fixedMinor: 250_000n, bps: 100, maxMinor: 1_500_000n })).toBe(
      1_250_000n,
    );
  });

  it('the asset list is configurable and validated', () => {
    expect(parseAssetList('USDC:6, PYUSD:6')).toEqual([
      { code: 'USDC', exponent: 6 },
      { code: 'PYUSD', exponent: 6 },
    ]);
    expect(() => parseAssetList('usdc:6')).toThrow(/CODE:EXPONENT/);
    expect(() => configureAssets([{ code: 'USD', exponent: 6 }])).toThrow(/ISO 4217/);
    expect(() =>
      configureAssets([
        { code: 'USDC', exponent: 6 },
        { code: 'USDC', exponent: 2 },
      ]),
    ).toThrow(/twice/);
    try {
      configureAssets([{ code: 'PYUSD', exponent: 6 }]);
      expect(() => currencyOf('USDC')).toThrow(/configured asset \(PYUSD\)/);
      expect(currencyOf('PYUSD').exponent).toBe(6);
    } finally {
      configureAssets(DEFAULT_ASSETS);
    }
  });

  it('DISBURSE_ASSETS configures the list; a malformed one is a configuration error naming it', () => {
    try {
      loadConfig({ DISBURSE_ASSETS: 'USDC:6,EURC:6,PYUSD:6' });
      expect(configuredAssets().map((a) => a.code)).toEqual(['USDC', 'EURC', 'PYUSD']);
      expect(() => loadConfig({ DISBURSE_ASSETS: 'USDC' })).toThrow(/DISBURSE_ASSETS/);
    } finally {
      configureAssets(DEFAULT_ASSETS);
    }
  });

  it('USD → USDC through the FX legs: balanced per currency, margin as an explicit leg', async () => {
    await ledger.creditEarnings({ payeeId: 'p-usdc', amount: usd('10000'), idempotencyKey: 'earn:usdc' });
    const tx = await ledger.convertFx({
      owner: 'p-usdc',
      from: usd('10000'),
      toCurrency: 'USDC',
      rate: '1',
      fee: usdc('500000'), // 0.50 USDC FX margin
      idempotencyKey: 'fx:usdc',
    });
    expect(tx.converted).toEqual(usdc('100000000'));
    expect(tx.credited).toEqual(usdc('99500000'));
    for (const currency of ['USD', 'USDC']) {
      const sum = tx.entries
        .filter((e) => e.amount.currency === currency)
        .reduce((s, e) => s + BigInt(e.amount.amount), 0n);
      expect([currency, sum]).toEqual([currency, 0n]);
    }
    const balances = await ledger.balances('p-usdc');
    expect(balances.find((b) => b.currency === 'USDC')?.available).toEqual(usdc('99500000'));
    expect(await ledger.balance({ kind: 'fees_revenue', currency: 'USDC' })).toEqual(usdc('500000'));
    await expectLedgerValid(db);
  });
});
