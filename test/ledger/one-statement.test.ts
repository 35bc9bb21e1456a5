import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { sqlSent } from '../../bench/sql-count.ts';
import { InsufficientFunds, Ledger } from '../../src/ledger/index.ts';
import { createTestDatabase, type TestDatabase } from '../support/db.ts';
import { expectLedgerValid, rowCounts, usd } from './helpers.ts';

// A posting's common case is one statement; a shortfall or a replay takes the statement-per-step path.
// These tests hold that to the count of queries sent, and check the paths the one statement hands over to.

let db: TestDatabase;

beforeAll(async () => {
  db = await createTestDatabase('ledger one statement', { poolMax: 12, acquireTimeoutMs: 300_000 });
});
afterAll(async () => {
  await db.drop();
});

describe('a posting in one statement', () => {
  it('holds, settles and releases with one query each once the accounts exist', async () => {
    const ledger = new Ledger(db);
    await ledger.creditEarnings({ payeeId: 'p-one', amount: usd('1000'), idempotencyKey: 'one:earn' });
    await ledger.hold({ payeeId: 'p-one', amount: usd('100'), idempotencyKey: 'one:warm' });
    const hold = await sqlSent(() =>
      ledger.hold({ payeeId: 'p-one', amount: usd('300'), idempotencyKey: 'one:hold' }),
    );
    expect(hold).toMatchObject({ roundTrips: 1, statements: 1, transactions: 1 });
    // Settling reads the hold, then posts; the platform accounts exist after the first settlement.
    await ledger.settleHold({
      holdKey: 'one:warm',
      idempotencyKey: 'one:warm:settle',
      legs: { provider_clearing: usd('90'), fees_revenue: usd('10') },
    });
    const settle = await sqlSent(() =>
      ledger.settleHold({
        holdKey: 'one:hold',
        idempotencyKey: 'one:settle',
        legs: { provider_clearing: usd('290'), fees_revenue: usd('10') },
      }),
    );
    // Each statement its own transaction: no BEGIN or COMMIT sent.
    expect(settle).toMatchObject({ roundTrips: 2, statements: 2, transactions: 2 });
    const [balance] = await ledger.balances('p-one');
    expect(balance).toMatchObject({ available: usd('600'), held: usd('0') });
    await expectLedgerValid(db);
  });

  it('joins a caller transaction as one statement, and a shortfall there leaves it usable', async () => {
    const ledger = new Ledger(db);
    await ledger.creditEarnings({ payeeId: 'p-bound', amount: usd('50'), idempotencyKey: 'bound:earn' });
    await ledger.hold({ payeeId: 'p-bound', amount: usd('10'), idempotencyKey: 'bound:warm' });
    const before = await rowCounts(db);
    const outcome = await db.em().transactional(async (tx) => {
      const on = ledger.within(tx);
      const sent = await sqlSent(() =>
        on.hold({ payeeId: 'p-bound', amount: usd('20'), idempotencyKey: 'bound:ok' }),
      );
      const short = await on
        .hold({ payeeId: 'p-bound', amount: usd('21'), idempotencyKey: 'bound:short' })
        .catch((e: unknown) => e);
      // Still usable: the shortfall was found in code, not by a failed statement.
      const again = await on.hold({ payeeId: 'p-bound', amount: usd('5'), idempotencyKey: 'bound:after' });
      return { sent, short, again };
    });
    // No transaction of its own: the caller's.
    expect(outcome.sent).toMatchObject({ roundTrips: 1, statements: 1, transactions: 0 });
    expect(outcome.short).toBeInstanceOf(InsufficientFunds);
    expect(outcome.short).toMatchObject({ available: '20', requested: '21' });
    expect(outcome.again.replayed).toBe(false);
    expect(await rowCounts(db)).toEqual({
      transactions: before.transactions + 2,
      entries: before.entries + 4,
    });
    await expectLedgerValid(db);
  });

  it('a same-key hold racing for the whole balance lands once and every racer gets it back', async () => {
    const ledger = new Ledger(db);
    await ledger.creditEarnings({ payeeId: 'p-all', amount: usd('70'), idempotencyKey: 'all:earn' });
    await ledger.hold({ payeeId: 'p-all', amount: usd('1'), idempotencyKey: 'all:warm' });
    // After the first, every other racer finds the funds gone (its one statement is short) and must be
    // told it is a replay, not refused.
    const results = await Promise.all(
      Array.from({ length: 10 }, () =>
        new Ledger(db).hold({ payeeId: 'p-all', amount: usd('69'), idempotencyKey: 'all:hold' }),
      ),
    );
    expect(new Set(results.map((r) => r.id)).size).toBe(1);
    expect(results.filter((r) => !r.replayed)).toHaveLength(1);
    const [balance] = await ledger.balances('p-all');
    expect(balance).toMatchObject({ available: usd('0'), held: usd('70') });
    await expectLedgerValid(db);
  });

  it('settles and releases of one hold racing: exactly one resolves it', async () => {
    const ledger = new Ledger(db);
    await ledger.creditEarnings({ payeeId: 'p-res', amount: usd('40'), idempotencyKey: 'res:earn' });
    await ledger.hold({ payeeId: 'p-res', amount: usd('40'), idempotencyKey: 'res:hold' });
    const results = await Promise.allSettled(
      Array.from({ length: 8 }, (_, i) =>
        i % 2 === 0
          ? new Ledger(db).settleHold({
              holdKey: 'res:hold',
              idempotencyKey: `res:settle:${i}`,
              legs: { provider_clearing: usd('40') },
            })
          : new Ledger(db).releaseHold({ holdKey: 'res:hold', idempotencyKey: `res:release:${i}` }),
      ),
    );
    const ok = results.filter((r) => r.status === 'fulfilled');
    expect(ok).toHaveLength(1);
    for (const r of results)
      if (r.status === 'rejected')
        expect(String(r.reason)).toMatch(/already (settled|released)|short|InsufficientFunds|not enough/i);
    const [balance] = await ledger.balances('p-res');
    expect(balance?.held).toEqual(usd('0'));
    await expectLedgerValid(db);
  });
});
