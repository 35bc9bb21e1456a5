import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { InsufficientFunds, Ledger } from '../../src/ledger/index.ts';
import { createTestDatabase, type TestDatabase } from '../support/db.ts';
import { expectLedgerValid, usd } from './helpers.ts';

let db: TestDatabase;

beforeAll(async () => {
  db = await createTestDatabase('ledger concurrency', {
    poolMax: 25,
    // Half the racers queue for a connection while the wallet's lock serialises the rest: on a loaded
    // machine that wait can outlast the default checkout bound, which is not what this test is about.
    acquireTimeoutMs: 300_000,
  });
});
afterAll(async () => {
  await db.drop();
});

describe('concurrent postings on one wallet', () => {
  it('50 concurrent holds racing on one wallet never overdraw and the final balance is exact', async () => {
    const setup = new Ledger(db);
    await setup.creditEarnings({ payeeId: 'p-race', amount: usd('10000'), idempotencyKey: 'earn:race' });
    // Independent Ledger instances (as separate workers would have), each amount 300: at most 33 fit.
    const results = await Promise.allSettled(
      Array.from({ length: 50 }, (_, i) =>
        new Ledger(db).hold({ payeeId: 'p-race', amount: usd('300'), idempotencyKey: `race:${i}` }),
      ),
    );
    const ok = results.filter((r) => r.status === 'fulfilled');
    const refused = results.filter((r) => r.status === 'rejected');
    for (const r of refused) expect((r as PromiseRejectedResult).reason).toBeInstanceOf(InsufficientFunds);
    expect(ok).toHaveLength(33);
    expect(refused).toHaveLength(17);
    const [balance] = await setup.balances('p-race');
    expect(balance).toMatchObject({ available: usd('100'), held: usd('9900') });
    await expectLedgerValid(db);
  });

  it('concurrent transfers in opposite directions between two wallets do not deadlock', async () => {
    const ledger = new Ledger(db);
    await ledger.creditEarnings({ payeeId: 'p-a', amount: usd('5000'), idempotencyKey: 'earn:a' });
    await ledger.creditEarnings({ payeeId: 'p-b', amount: usd('5000'), idempotencyKey: 'earn:b' });
    await Promise.all(
      Array.from({ length: 40 }, (_, i) => {
        const [from, to] = i % 2 ? ['p-a', 'p-b'] : ['p-b', 'p-a'];
        return new Ledger(db).post({
          type: 'transfer',
          idempotencyKey: `xfer:${i}`,
          entries: [
            { account: { kind: 'payee_available', owner: from! }, amount: usd('-10') },
            { account: { kind: 'payee_available', owner: to! }, amount: usd('10') },
          ],
        });
      }),
    );
    const a = (await ledger.balances('p-a'))[0];
    const b = (await ledger.balances('p-b'))[0];
    expect([a?.available, b?.available]).toEqual([usd('5000'), usd('5000')]);
    await expectLedgerValid(db);
  });
});
