import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { sql } from '../../src/db/sql.ts';
import {
  AlreadyReversed,
  HoldAlreadyResolved,
  IdempotencyConflict,
  InsufficientFunds,
  InvalidCursor,
  InvalidPosting,
  Ledger,
  TransactionNotFound,
  UnbalancedTransaction,
} from '../../src/ledger/index.ts';
import { createTestDatabase, type TestDatabase } from '../support/db.ts';
import { eur, expectLedgerValid, rowCounts, usd } from './helpers.ts';

let db: TestDatabase;
let ledger: Ledger;

beforeAll(async () => {
  db = await createTestDatabase('ledger');
  ledger = new Ledger(db);
});
afterAll(async () => {
  await expectLedgerValid(db);
  await db.drop();
});

describe('posting and balances', () => {
  it('credits earnings from platform funding and reports payee balances', async () => {
    const tx = await ledger.creditEarnings({
      payeeId: 'p-credit',
      amount: usd('12345'),
      idempotencyKey: 'earn:1',
    });
    expect(tx.replayed).toBe(false);
    expect(tx.type).toBe('earnings.credit');
    expect(tx.entries).toEqual([
      { account: { kind: 'platform_funding', owner: 'platform', currency: 'USD' }, amount: usd('-12345') },
      { account: { kind: 'payee_available', owner: 'p-credit', currency: 'USD' }, amount: usd('12345') },
    ]);
    expect(await ledger.balances('p-credit')).toEqual([
      {
        currency: 'USD',
        available: usd('12345'),
        held: usd('0'),
        restricted: usd('0'),
        receivable: usd('0'),
      },
    ]);
    await expectLedgerValid(db);
  });

  it('posts a generic multi-leg transaction', async () => {
    const tx = await ledger.post({
      type: 'spendback.purchase',
      idempotencyKey: 'gen:1',
      metadata: { order: 'o-1' },
      entries: [
        { account: { kind: 'platform_funding' }, amount: usd('-500') },
        { account: { kind: 'payee_restricted', owner: 'p-gen' }, amount: usd('500') },
      ],
    });
    expect(tx.metadata).toEqual({ order: 'o-1' });
    expect(await ledger.balance({ kind: 'payee_restricted', owner: 'p-gen', currency: 'USD' })).toEqual(
      usd('500'),
    );
  });

  it('rejects an unbalanced transaction in code and writes nothing', async () => {
    const before = await rowCounts(db);
    await expect(
      ledger.post({
        type: 'broken',
        idempotencyKey: 'unbalanced:1',
        entries: [
          { account: { kind: 'platform_funding' }, amount: usd('-100') },
          { account: { kind: 'payee_available', owner: 'p-x' }, amount: usd('99') },
        ],
      }),
    ).rejects.toThrow(UnbalancedTransaction);
    // Balanced in total but not per currency.
    await expect(
      ledger.post({
        type: 'broken',
        idempotencyKey: 'unbalanced:2',
        entries: [
          { account: { kind: 'platform_funding' }, amount: usd('-100') },
          { account: { kind: 'payee_available', owner: 'p-x' }, amount: eur('100') },
        ],
      }),
    ).rejects.toThrow(/USD entries|entries in USD/);
    expect(await rowCounts(db)).toEqual(before);
  });
});

describe('the database enforces the invariants against raw SQL', () => {
  async function accountId(kind: string, owner: string): Promise<string> {
    if (owner !== 'platform') {
      await ledger.creditEarnings({
        payeeId: owner,
        amount: usd('1000'),
        idempotencyKey: `raw-setup:${owner}`,
      });
    }
    const [row] = await sql<{ id: string }>(
      db.em(),
      `SELECT id FROM "${db.schema}".ledger_accounts WHERE kind = $1 AND owner = $2 AND currency = 'USD'`,
      [kind, owner],
    );
    return row!.id;
  }

  it('refuses to commit an unbalanced transaction inserted with raw SQL', async () => {
    const payee = await accountId('payee_available', 'p-raw');
    const funding = await accountId('platform_funding', 'platform');
    const em = db.em();
    const attempt = em.transactional(async (tx) => {
      const [t] = await sql<{ id: string }>(
        tx,
        `INSERT INTO "${db.schema}".ledger_transactions (type, idempotency_key, content_hash)
         VALUES ('raw', 'raw:1', 'x') RETURNING id`,
      );
      await sql(
        tx,
        `INSERT INTO "${db.schema}".ledger_entries (transaction_id, account_id, amount) VALUES ($1, $2, 100)`,
        [t!.id, payee],
      );
      await sql(
        tx,
        `INSERT INTO "${db.schema}".ledger_entries (transaction_id, account_id, amount) VALUES ($1, $2, -99)`,
        [t!.id, funding],
      );
    });
    await expect(attempt).rejects.toThrow(/does not balance/);
    expect(await ledger.getTransaction('raw:1')).toBeNull();
  });

  it('checks every transaction of a raw batch, also after an intermediate SET CONSTRAINTS IMMEDIATE', async () => {
    const payee = await accountId('payee_available', 'p-raw4');
    const funding = await accountId('platform_funding', 'platform');
    const T = `"${db.schema}".ledger_transactions`;
    const E = `"${db.schema}".ledger_entries`;
    const insert = async (
      tx: Parameters<Parameters<ReturnType<TestDatabase['em']>['transactional']>[0]>[0],
      key: string,
      a: number,
      b: number,
    ) => {
      const [t] = await sql<{ id: string }>(
        tx,
        `INSERT INTO ${T} (type, idempotency_key, content_hash) VALUES ('raw', $1, 'x') RETURNING id`,
        [key],
      );
      await sql(
        tx,
        `INSERT INTO ${E} (transaction_id, account_id, amount) VALUES ($1, $2, $3), ($1, $4, $5)`,
        [t!.id, payee, a, funding, b],
      );
    };
    // Three balanced, the last one not: the set-based check must still find it.
    await expect(
      db.em().transactional(async (tx) => {
        await insert(tx, 'rawb:1', 10, -10);
        await insert(tx, 'rawb:2', 20, -20);
        await insert(tx, 'rawb:3', 30, -29);
      }),
    ).rejects.toThrow(/rawb:3.*does not balance/);
    // A check run early (IMMEDIATE) must not cover transactions inserted after it.
    await expect(
      db.em().transactional(async (tx) => {
        await insert(tx, 'rawc:1', 10, -10);
        await sql(tx, 'SET CONSTRAINTS ALL IMMEDIATE');
        await sql(tx, 'SET CONSTRAINTS ALL DEFERRED');
        await insert(tx, 'rawc:2', 5, -4);
      }),
    ).rejects.toThrow(/rawc:2.*does not balance/);
    expect(await ledger.getTransaction('rawc:1')).toBeNull();
  });

  it('refuses a raw transaction with a single entry, late entries, updates and deletes', async () => {
    const payee = await accountId('payee_available', 'p-raw2');
    const em = db.em();
    await expect(
      em.transactional(async (tx) => {
        await sql(
          tx,
          `INSERT INTO "${db.schema}".ledger_transactions (type, idempotency_key, content_hash) VALUES ('raw', 'raw:2', 'x')`,
        );
      }),
    ).rejects.toThrow(/at least 2/);
    const setup = await ledger.getTransaction('raw-setup:p-raw2');
    await expect(
      sql(
        db.em(),
        `INSERT INTO "${db.schema}".ledger_entries (transaction_id, account_id, amount) VALUES ($1, $2, 5)`,
        [setup!.id, payee],
      ),
    ).rejects.toThrow(/already committed/);
    await expect(
      sql(db.em(), `UPDATE "${db.schema}".ledger_entries SET amount = amount * 2`),
    ).rejects.toThrow(/append-only/);
    await expect(sql(db.em(), `DELETE FROM "${db.schema}".ledger_transactions`)).rejects.toThrow(
      /append-only/,
    );
  });

  it('refuses a negative payee balance and a hand-edited balance stays checked', async () => {
    await accountId('payee_available', 'p-raw3');
    await expect(
      sql(
        db.em(),
        `UPDATE "${db.schema}".ledger_accounts SET balance = -1 WHERE owner = 'p-raw3' AND kind = 'payee_available'`,
      ),
    ).rejects.toThrow(/payee_balance_not_negative/);
  });
});

describe('holds', () => {
  it('holds, then settles into provider clearing, instant fee and tax withholding legs', async () => {
    await ledger.creditEarnings({ payeeId: 'p-hold', amount: usd('10000'), idempotencyKey: 'earn:hold' });
    const hold = await ledger.hold({
      payeeId: 'p-hold',
      amount: usd('6000'),
      idempotencyKey: 'payout:1:hold',
    });
    expect(hold.type).toBe('hold');
    expect((await ledger.balances('p-hold'))[0]).toMatchObject({ available: usd('4000'), held: usd('6000') });

    const settle = await ledger.settleHold({
      holdKey: 'payout:1:hold',
      idempotencyKey: 'payout:1:settle',
      legs: { provider_clearing: usd('5000'), fees_revenue: usd('150'), tax_withholding: usd('850') },
    });
    expect(settle.type).toBe('hold.settle');
    expect(settle.entries.map((e) => [e.account.kind, e.amount.amount])).toEqual([
      ['payee_held', '-6000'],
      ['provider_clearing', '5000'],
      ['fees_revenue', '150'],
      ['tax_withholding', '850'],
    ]);
    expect((await ledger.balances('p-hold'))[0]).toMatchObject({ available: usd('4000'), held: usd('0') });
    // Replaying the settle is harmless; releasing a settled hold is a typed error.
    expect(
      (
        await ledger.settleHold({
          holdKey: 'payout:1:hold',
          idempotencyKey: 'payout:1:settle',
          legs: { provider_clearing: usd('5000'), fees_revenue: usd('150'), tax_withholding: usd('850') },
        })
      ).replayed,
    ).toBe(true);
    const err = await ledger
      .releaseHold({ holdKey: 'payout:1:hold', idempotencyKey: 'payout:1:release' })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HoldAlreadyResolved);
    expect(err).toMatchObject({
      code: 'hold_already_resolved',
      resolution: 'settled',
      resolvedBy: 'payout:1:settle',
    });
    await expectLedgerValid(db);
  });

  it('releases a hold back to available, once', async () => {
    await ledger.creditEarnings({ payeeId: 'p-rel', amount: usd('700'), idempotencyKey: 'earn:rel' });
    await ledger.hold({ payeeId: 'p-rel', amount: usd('700'), idempotencyKey: 'payout:2:hold' });
    await ledger.releaseHold({ holdKey: 'payout:2:hold', idempotencyKey: 'payout:2:release' });
    expect((await ledger.balances('p-rel'))[0]).toMatchObject({ available: usd('700'), held: usd('0') });
    await expect(
      ledger.settleHold({
        holdKey: 'payout:2:hold',
        idempotencyKey: 'payout:2:settle',
        legs: { provider_clearing: usd('700') },
      }),
    ).rejects.toMatchObject({ code: 'hold_already_resolved', resolution: 'released' });
  });

  it('refuses a hold above the available balance, naming available and requested, writing nothing', async () => {
    await ledger.creditEarnings({ payeeId: 'p-short', amount: usd('300'), idempotencyKey: 'earn:short' });
    const before = await rowCounts(db);
    const err = await ledger
      .hold({ payeeId: 'p-short', amount: usd('301'), idempotencyKey: 'payout:3:hold' })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InsufficientFunds);
    expect(err).toMatchObject({ code: 'insufficient_funds', available: '300', requested: '301' });
    expect(await rowCounts(db)).toEqual(before);
    expect(await ledger.getTransaction('payout:3:hold')).toBeNull();
  });

  it('checks settle legs: sum, currency, kind, unknown hold', async () => {
    await ledger.creditEarnings({ payeeId: 'p-legs', amount: usd('1000'), idempotencyKey: 'earn:legs' });
    await ledger.hold({ payeeId: 'p-legs', amount: usd('1000'), idempotencyKey: 'payout:4:hold' });
    const cases: [unknown, RegExp][] = [
      [{ provider_clearing: usd('900') }, /add up to 900 USD minor units; the hold is 1000/],
      [{ provider_clearing: eur('1000') }, /expected USD/],
      [{ payee_available: usd('1000') }, /not a settle leg/],
    ];
    for (const [legs, message] of cases) {
      await expect(
        ledger.settleHold({
          holdKey: 'payout:4:hold',
          idempotencyKey: 'payout:4:settle',
          legs: legs as never,
        }),
      ).rejects.toThrow(message);
    }
    await expect(
      ledger.releaseHold({ holdKey: 'payout:none:hold', idempotencyKey: 'payout:none:release' }),
    ).rejects.toThrow(TransactionNotFound);
  });
});

describe('reversal', () => {
  it('reverses a settled payout that was returned: clearing back to available', async () => {
    await ledger.creditEarnings({ payeeId: 'p-ret', amount: usd('2000'), idempotencyKey: 'earn:ret' });
    await ledger.hold({ payeeId: 'p-ret', amount: usd('2000'), idempotencyKey: 'payout:5:hold' });
    await ledger.settleHold({
      holdKey: 'payout:5:hold',
      idempotencyKey: 'payout:5:settle',
      legs: { provider_clearing: usd('1900'), fees_revenue: usd('100') },
    });
    const rev = await ledger.reverse({
      transactionKey: 'payout:5:settle',
      idempotencyKey: 'payout:5:return',
      reason: 'returned by bank: account closed',
    });
    expect(rev.type).toBe('reversal');
    expect(rev.entries.map((e) => [e.account.kind, e.amount.amount])).toEqual([
      ['payee_available', '2000'],
      ['provider_clearing', '-1900'],
      ['fees_revenue', '-100'],
    ]);
    expect((await ledger.balances('p-ret'))[0]).toMatchObject({ available: usd('2000'), held: usd('0') });
    await expect(
      ledger.reverse({
        transactionKey: 'payout:5:settle',
        idempotencyKey: 'payout:5:return-2',
        reason: 'again',
      }),
    ).rejects.toThrow(AlreadyReversed);
    await expect(
      ledger.reverse({ transactionKey: 'payout:5:hold', idempotencyKey: 'x', reason: 'no' }),
    ).rejects.toThrow(/release it/);
    await expectLedgerValid(db);
  });
});

describe('fx', () => {
  it('converts through fx accounts with the exact rate recorded and the margin as a fee leg', async () => {
    await ledger.creditEarnings({ payeeId: 'p-fx', amount: usd('10000'), idempotencyKey: 'earn:fx' });
    const tx = await ledger.convertFx({
      owner: 'p-fx',
      from: usd('10000'),
      toCurrency: 'EUR',
      rate: '0.9187',
      fee: eur('50'),
      idempotencyKey: 'fx:1',
    });
    expect(tx.converted).toEqual(eur('9187'));
    expect(tx.credited).toEqual(eur('9137'));
    expect(tx.metadata.rate).toEqual({ numerator: '9187', denominator: '10000', decimal: '0.9187' });
    const balances = await ledger.balances('p-fx');
    expect(balances.find((b) => b.currency === 'EUR')?.available).toEqual(eur('9137'));
    expect(balances.find((b) => b.currency === 'USD')?.available).toEqual(usd('0'));
    expect(await ledger.balance({ kind: 'fx', currency: 'USD' })).toEqual(usd('10000'));
    // JPY has no decimals: 1.00 USD at 151.234567 → 151 JPY (rounded down).
    await ledger.creditEarnings({ payeeId: 'p-fx', amount: usd('100'), idempotencyKey: 'earn:fx2' });
    const jpy = await ledger.convertFx({
      owner: 'p-fx',
      from: usd('100'),
      toCurrency: 'JPY',
      rate: { numerator: '151234567', denominator: '1000000' },
      idempotencyKey: 'fx:2',
    });
    expect(jpy.converted).toEqual({ amount: '151', currency: 'JPY', scale: 0 });
    await expect(
      ledger.convertFx({
        owner: 'p-fx',
        from: usd('1'),
        toCurrency: 'EUR',
        rate: 0.9 as never,
        idempotencyKey: 'fx:3',
      }),
    ).rejects.toThrow(/never a float/);
  });
});

describe('idempotency', () => {
  it('returns the existing transaction for the same key and content, and conflicts on different content', async () => {
    const first = await ledger.creditEarnings({
      payeeId: 'p-idem',
      amount: usd('100'),
      idempotencyKey: 'earn:idem',
    });
    const again = await ledger.creditEarnings({
      payeeId: 'p-idem',
      amount: usd('100'),
      idempotencyKey: 'earn:idem',
    });
    expect(again).toMatchObject({ id: first.id, replayed: true });
    expect((await ledger.balances('p-idem'))[0]?.available).toEqual(usd('100'));
    const err = await ledger
      .creditEarnings({ payeeId: 'p-idem', amount: usd('101'), idempotencyKey: 'earn:idem' })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(IdempotencyConflict);
    expect(err).toMatchObject({
      code: 'idempotency_conflict',
      idempotencyKey: 'earn:idem',
      existingTransactionId: first.id,
    });
  });

  it('replays a hold even after the funds were spent elsewhere', async () => {
    await ledger.creditEarnings({ payeeId: 'p-idem2', amount: usd('100'), idempotencyKey: 'earn:idem2' });
    const h = await ledger.hold({ payeeId: 'p-idem2', amount: usd('100'), idempotencyKey: 'payout:6:hold' });
    expect(
      await ledger.hold({ payeeId: 'p-idem2', amount: usd('100'), idempotencyKey: 'payout:6:hold' }),
    ).toMatchObject({
      id: h.id,
      replayed: true,
    });
  });

  it('same key posted concurrently lands once', async () => {
    const results = await Promise.all(
      Array.from({ length: 10 }, () =>
        ledger.creditEarnings({ payeeId: 'p-idem3', amount: usd('10'), idempotencyKey: 'earn:idem3' }),
      ),
    );
    expect(new Set(results.map((r) => r.id)).size).toBe(1);
    expect(results.filter((r) => !r.replayed)).toHaveLength(1);
    expect((await ledger.balances('p-idem3'))[0]?.available).toEqual(usd('10'));
  });
});

describe('bad input is rejected with a clear error and writes nothing', () => {
  const cases: [string, () => Promise<unknown>, RegExp][] = [
    [
      'negative amount',
      () => ledger.creditEarnings({ payeeId: 'p-bad', amount: usd('-5'), idempotencyKey: 'bad:1' }),
      /must not be negative/,
    ],
    [
      'zero amount',
      () => ledger.hold({ payeeId: 'p-bad', amount: usd('0'), idempotencyKey: 'bad:2' }),
      /greater than zero/,
    ],
    [
      'unknown currency',
      () =>
        ledger.creditEarnings({
          payeeId: 'p-bad',
          amount: { amount: '5', currency: 'XYZ', scale: 2 },
          idempotencyKey: 'bad:3',
        }),
      /unknown currency "XYZ"/,
    ],
    [
      'too many decimals',
      () =>
        ledger.creditEarnings({
          payeeId: 'p-bad',
          amount: { amount: '12345', currency: 'USD', scale: 3 },
          idempotencyKey: 'bad:4',
        }),
      /not a whole minor unit/,
    ],
    [
      'float amount',
      () =>
        ledger.creditEarnings({
          payeeId: 'p-bad',
          amount: { amount: 12.5, currency: 'USD', scale: 2 } as never,
          idempotencyKey: 'bad:5',
        }),
      /integer string/,
    ],
    [
      'decimal string amount',
      () => ledger.creditEarnings({ payeeId: 'p-bad', amount: usd('12.50'), idempotencyKey: 'bad:6' }),
      /integer string/,
    ],
    [
      'mismatched currencies',
      () =>
        ledger.post({
          type: 'x',
          idempotencyKey: 'bad:7',
          entries: [
            { account: { kind: 'platform_funding' }, amount: usd('-5') },
            { account: { kind: 'payee_available', owner: 'p-bad' }, amount: eur('5') },
          ],
        }),
      /sum to/,
    ],
    [
      'platform as payee',
      () => ledger.creditEarnings({ payeeId: 'platform', amount: usd('5'), idempotencyKey: 'bad:8' }),
      /not a payee id/,
    ],
    [
      'empty key',
      () => ledger.creditEarnings({ payeeId: 'p-bad', amount: usd('5'), idempotencyKey: '' }),
      /idempotencyKey/,
    ],
    [
      'unknown account kind',
      () =>
        ledger.post({
          type: 'x',
          idempotencyKey: 'bad:9',
          entries: [
            { account: { kind: 'wallet' as never }, amount: usd('-5') },
            { account: { kind: 'payee_available', owner: 'p-bad' }, amount: usd('5') },
          ],
        }),
      /unknown account kind "wallet"/,
    ],
    ['bad type', () => ledger.post({ type: 'Has Spaces', idempotencyKey: 'bad:10', entries: [] }), /type/],
  ];
  it.each(cases)('%s', async (_name, call, message) => {
    const before = await rowCounts(db);
    const err = await call().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Error);
    expect((err as { code?: string }).code).toMatch(/^(invalid_posting|unbalanced_transaction)$/);
    expect(String((err as Error).message)).toMatch(message);
    expect(await rowCounts(db)).toEqual(before);
    expect(await ledger.balances('p-bad')).toEqual([]);
  });
});

describe('history and batches', () => {
  it('pages an account history newest first with an opaque cursor', async () => {
    for (let i = 1; i <= 7; i++) {
      await ledger.creditEarnings({
        payeeId: 'p-hist',
        amount: usd(String(i)),
        idempotencyKey: `earn:hist:${i}`,
      });
    }
    const account = { kind: 'payee_available' as const, owner: 'p-hist', currency: 'USD' };
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page = await ledger.accountHistory(account, { cursor, limit: 3 });
      expect(page.account.balance).toEqual(usd('28'));
      seen.push(...page.entries.map((e) => e.idempotencyKey));
      cursor = page.nextCursor;
    } while (cursor);
    expect(seen).toEqual([7, 6, 5, 4, 3, 2, 1].map((i) => `earn:hist:${i}`));
    await expect(ledger.accountHistory(account, { cursor: 'garbage' })).rejects.toThrow(InvalidCursor);
  });

  it('posts a batch atomically, replays it, and rolls all back on a conflict', async () => {
    const batch = Array.from({ length: 20 }, (_, i) => ({
      type: 'period.credit',
      idempotencyKey: `period:1:p-batch-${i % 4}:${i}`,
      entries: [
        { account: { kind: 'platform_funding' as const }, amount: usd('-100') },
        { account: { kind: 'payee_available' as const, owner: `p-batch-${i % 4}` }, amount: usd('100') },
      ],
    }));
    const first = await ledger.postBatch(batch);
    expect(first.every((r) => !r.replayed)).toBe(true);
    const second = await ledger.postBatch(batch);
    expect(second.map((r) => r.id)).toEqual(first.map((r) => r.id));
    expect(second.every((r) => r.replayed)).toBe(true);
    expect((await ledger.balances('p-batch-0'))[0]?.available).toEqual(usd('500'));
    const before = await rowCounts(db);
    const conflicting = [
      { ...batch[0]!, idempotencyKey: 'period:2:new' },
      {
        ...batch[1]!,
        entries: [...batch[1]!.entries].map((e) => ({
          ...e,
          amount: usd(e.amount.amount === '100' ? '1' : '-1'),
        })),
      },
    ];
    await expect(ledger.postBatch(conflicting)).rejects.toThrow(IdempotencyConflict);
    expect(await rowCounts(db)).toEqual(before);
    await expect(
      ledger.postBatch([
        {
          type: 'x',
          idempotencyKey: 'period:3:x',
          entries: [
            { account: { kind: 'payee_available', owner: 'p-batch-1' }, amount: usd('-100000') },
            { account: { kind: 'platform_funding' }, amount: usd('100000') },
          ],
        },
      ]),
    ).rejects.toThrow(InsufficientFunds);
    await expect(ledger.postBatch([{ type: 'x', idempotencyKey: 'k', entries: [] }])).rejects.toThrow(
      InvalidPosting,
    );
  });
});
