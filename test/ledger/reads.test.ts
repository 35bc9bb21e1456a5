import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { sql, sqlState } from '../../src/db/sql.ts';
import {
  availableBalance,
  availableBalancesPage,
  earningsCredited,
  Ledger,
  lockPayeeBalances,
  lockPayeeWallet,
  payeesCreditedEarnings,
  postedKeys,
  postedTransactions,
} from '../../src/ledger/index.ts';
import { createTestDatabase, type TestDatabase, testDatabaseKind } from '../support/db.ts';
import { eur, usd } from './helpers.ts';

let db: TestDatabase;
let ledger: Ledger;

beforeAll(async () => {
  db = await createTestDatabase('ledger reads', { poolMax: 4 });
  ledger = new Ledger(db);
  await ledger.creditEarnings({ payeeId: 'p-a', amount: usd('1000'), idempotencyKey: 'earn:a' });
  await ledger.creditEarnings({ payeeId: 'p-b', amount: usd('50'), idempotencyKey: 'earn:b' });
  await ledger.creditEarnings({ payeeId: 'p-c', amount: usd('700'), idempotencyKey: 'earn:c' });
  await ledger.creditEarnings({ payeeId: 'p-a', amount: eur('300'), idempotencyKey: 'earn:a:eur' });
  await ledger.post({
    type: 'period.credit',
    idempotencyKey: 'period:p-c',
    entries: [
      { account: { kind: 'platform_funding', owner: 'platform' }, amount: usd('-200') },
      { account: { kind: 'payee_available', owner: 'p-c' }, amount: usd('200') },
    ],
  });
  // Not earnings: a hold moves money out of available, a transfer type other than earnings moves it in.
  await ledger.hold({ payeeId: 'p-a', amount: usd('400'), idempotencyKey: 'hold:a' });
  await ledger.post({
    type: 'adjustment',
    idempotencyKey: 'adjust:b',
    entries: [
      { account: { kind: 'platform_funding', owner: 'platform' }, amount: usd('-5') },
      { account: { kind: 'payee_available', owner: 'p-b' }, amount: usd('5') },
    ],
  });
});
afterAll(async () => {
  await db.drop();
});

const today = new Date().toISOString().slice(0, 10);
const tomorrow = new Date(Date.now() + 86_400_000).toISOString().slice(0, 10);
const dayAfter = new Date(Date.now() + 2 * 86_400_000).toISOString().slice(0, 10);
const yesterday = new Date(Date.now() - 86_400_000).toISOString().slice(0, 10);
const around = { from: yesterday, to: tomorrow, timezone: 'UTC' };

describe('ledger reads', () => {
  it('available balance of a payee, zero for an account never used', async () => {
    expect(await availableBalance(db.em(), db.schema, 'p-a', 'USD')).toBe(600n);
    expect(await availableBalance(db.em(), db.schema, 'p-a', 'EUR')).toBe(300n);
    expect(await availableBalance(db.em(), db.schema, 'p-none', 'USD')).toBe(0n);
  });

  it('posted keys: the taken ones of those asked', async () => {
    expect(await postedKeys(db.em(), db.schema, ['earn:a', 'nope', 'hold:a'])).toEqual(
      new Set(['earn:a', 'hold:a']),
    );
    expect(await postedKeys(db.em(), db.schema, [])).toEqual(new Set());
    const posted = await postedTransactions(db.em(), db.schema, ['earn:a', 'nope']);
    expect([...posted.keys()]).toEqual(['earn:a']);
    const earn = await ledger.getTransaction('earn:a');
    expect(posted.get('earn:a')).toEqual({ id: earn!.id, createdAt: earn!.createdAt });
  });

  it('earnings credited count earnings.* and period.credit only, within the window', async () => {
    expect(await earningsCredited(db.em(), db.schema, 'p-a', 'USD', around)).toBe(1000n);
    expect(await earningsCredited(db.em(), db.schema, 'p-b', 'USD', around)).toBe(50n);
    expect(await earningsCredited(db.em(), db.schema, 'p-c', 'USD', around)).toBe(900n);
    const later = { from: tomorrow, to: dayAfter, timezone: 'UTC' };
    expect(await earningsCredited(db.em(), db.schema, 'p-a', 'USD', later)).toBe(0n);
    expect(await payeesCreditedEarnings(db.em(), db.schema, around)).toEqual([
      { payeeId: 'p-a', currency: 'EUR' },
      { payeeId: 'p-a', currency: 'USD' },
      { payeeId: 'p-b', currency: 'USD' },
      { payeeId: 'p-c', currency: 'USD' },
    ]);
    expect(await payeesCreditedEarnings(db.em(), db.schema, { ...around, to: today, from: today })).toEqual(
      [],
    );
  });

  it('available balances page by payee id with a minimum', async () => {
    const first = await availableBalancesPage(db.em(), db.schema, {
      currency: 'USD',
      min: 100n,
      after: null,
      limit: 1,
    });
    expect(first).toEqual([{ payeeId: 'p-a', available: 600n }]);
    const rest = await availableBalancesPage(db.em(), db.schema, {
      currency: 'USD',
      min: 100n,
      after: 'p-a',
      limit: 10,
    });
    expect(rest).toEqual([{ payeeId: 'p-c', available: 900n }]);
  });

  it('locks return balances and hold the rows until the transaction ends', async () => {
    await db.em().transactional(async (em) => {
      const rows = await lockPayeeBalances(em, db.schema, ['p-a', 'p-c'], ['payee_available', 'payee_held']);
      expect(
        rows.map((r) => `${r.owner}|${r.kind}|${r.currency}|${r.balance}`).sort((a, b) => (a < b ? -1 : 1)),
      ).toEqual([
        'p-a|payee_available|EUR|300',
        'p-a|payee_available|USD|600',
        'p-a|payee_held|USD|400',
        'p-c|payee_available|USD|900',
      ]);
      await lockPayeeWallet(em, db.schema, 'p-b', 'USD');
      // One session on the embedded database: a second one cannot run alongside to meet the lock.
      if (testDatabaseKind() === 'pglite') return;
      for (const owner of ['p-a', 'p-b']) {
        const refused = await db
          .em()
          .transactional((other) =>
            sql(
              other,
              `SELECT id FROM "${db.schema}".ledger_accounts
                WHERE owner = $1 AND kind = 'payee_available' AND currency = 'USD' FOR UPDATE NOWAIT`,
              [owner],
            ),
          )
          .then(
            () => 'acquired',
            (error: unknown) => sqlState(error),
          );
        expect(refused).toBe('55P03'); // lock_not_available
      }
    });
    expect(await lockPayeeBalances(db.em(), db.schema, [], ['payee_available'])).toEqual([]);
  });
});
