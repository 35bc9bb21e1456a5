import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { Ledger, LedgerError } from '../../src/ledger/index.ts';
import { createTestDatabase, type TestDatabase } from '../support/db.ts';
import { expectLedgerValid, usd } from './helpers.ts';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase('ledger property');
});
afterAll(async () => {
  await db.drop();
});

const payee = fc.constantFrom('p1', 'p2', 'p3');
const amount = fc.integer({ min: 1, max: 5000 });
const op = fc.oneof(
  fc.record({ op: fc.constant('credit' as const), payee, amount }),
  fc.record({ op: fc.constant('hold' as const), payee, amount }),
  fc.record({ op: fc.constant('settle' as const), pick: fc.nat(), fee: fc.integer({ min: 0, max: 100 }) }),
  fc.record({ op: fc.constant('release' as const), pick: fc.nat() }),
  fc.record({ op: fc.constant('reverse' as const), pick: fc.nat() }),
  fc.record({ op: fc.constant('replay' as const), pick: fc.nat() }),
);

describe('property: random operation sequences keep every invariant', () => {
  it('balances match a model, payee balances never go negative, verifyLedger stays clean', async () => {
    let run = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 25 }), async (ops) => {
        run++;
        const ledger = new Ledger(db);
        const model = new Map<string, { available: bigint; held: bigint }>();
        const wallet = (p: string) => {
          const w = model.get(`${run}:${p}`) ?? { available: 0n, held: 0n };
          model.set(`${run}:${p}`, w);
          return w;
        };
        const holds: { key: string; payee: string; amount: bigint; open: boolean }[] = [];
        const settles: { key: string; payee: string; amount: bigint; reversed: boolean }[] = [];
        const posted: { key: string; call: () => Promise<unknown> }[] = [];
        let n = 0;
        for (const o of ops) {
          const key = `r${run}:${n++}`;
          const p = 'payee' in o ? `${run}-${o.payee}` : '';
          if (o.op === 'credit') {
            const call = () =>
              ledger.creditEarnings({ payeeId: p, amount: usd(o.amount), idempotencyKey: key });
            await call();
            posted.push({ key, call });
            wallet(p).available += BigInt(o.amount);
          } else if (o.op === 'hold') {
            const call = () => ledger.hold({ payeeId: p, amount: usd(o.amount), idempotencyKey: key });
            const w = wallet(p);
            if (w.available >= BigInt(o.amount)) {
              await call();
              posted.push({ key, call });
              w.available -= BigInt(o.amount);
              w.held += BigInt(o.amount);
              holds.push({ key, payee: p, amount: BigInt(o.amount), open: true });
            } else {
              await expect(call()).rejects.toMatchObject({ code: 'insufficient_funds' });
            }
          } else if (o.op === 'settle' || o.op === 'release') {
            const h = holds[o.pick % Math.max(holds.length, 1)];
            if (!h) continue;
            const call =
              o.op === 'settle'
                ? () => {
                    const fee = BigInt(o.fee) < h.amount ? BigInt(o.fee) : 0n;
                    return ledger.settleHold({
                      holdKey: h.key,
                      idempotencyKey: key,
                      legs: fee
                        ? { provider_clearing: usd(String(h.amount - fee)), fees_revenue: usd(String(fee)) }
                        : { provider_clearing: usd(String(h.amount)) },
                    });
                  }
                : () => ledger.releaseHold({ holdKey: h.key, idempotencyKey: key });
            if (h.open) {
              await call();
              posted.push({ key, call });
              h.open = false;
              wallet(h.payee).held -= h.amount;
              if (o.op === 'release') wallet(h.payee).available += h.amount;
              else settles.push({ key, payee: h.payee, amount: h.amount, reversed: false });
            } else {
              await expect(call()).rejects.toMatchObject({ code: 'hold_already_resolved' });
            }
          } else if (o.op === 'reverse') {
            const s = settles[o.pick % Math.max(settles.length, 1)];
            if (!s) continue;
            const call = () =>
              ledger.reverse({ transactionKey: s.key, idempotencyKey: key, reason: 'returned' });
            if (!s.reversed) {
              await call();
              posted.push({ key, call });
              s.reversed = true;
              wallet(s.payee).available += s.amount;
            } else {
              await expect(call()).rejects.toBeInstanceOf(LedgerError);
            }
          } else {
            const prev = posted[o.pick % Math.max(posted.length, 1)];
            if (prev) await expect(prev.call()).resolves.toMatchObject({ replayed: true });
          }
        }
        for (const [k, w] of model) {
          const p = k.slice(k.indexOf(':') + 1);
          const [b] = await ledger.balances(p);
          expect(b?.available ?? usd(0)).toEqual(usd(String(w.available)));
          expect(b?.held ?? usd(0)).toEqual(usd(String(w.held)));
          expect(w.available >= 0n && w.held >= 0n).toBe(true);
        }
        await expectLedgerValid(db);
      }),
      { numRuns: 25 },
    );
  });
});
