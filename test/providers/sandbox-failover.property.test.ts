// Property: a caller that follows the failover protocol (retry retryable on the same key; on timeout ask
// status(); move to the next provider only when the previous attempt is known not to have paid) never
// pays a payout twice across providers, and what it believes was paid equals what the sandbox disbursed.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { isProviderError } from '../../src/providers/errors.ts';
import { SandboxProvider } from '../../src/providers/sandbox/provider.ts';
import { payoutsDisbursedMoreThanOnce, sandboxTotals } from '../../src/providers/sandbox/store.ts';
import type { PayoutProvider } from '../../src/providers/types.ts';
import { createTestDatabase, type TestDatabase } from '../support/db.ts';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase('sandbox_failover_prop');
});
afterAll(async () => {
  await db.drop();
});

type Outcome = 'paid' | 'failed' | 'unknown';

async function payOut(
  providers: PayoutProvider[],
  payoutId: string,
  amount: bigint,
  destination: string,
): Promise<Outcome> {
  let attemptNo = 0;
  for (const provider of providers) {
    attemptNo++;
    const key = `${payoutId}:${attemptNo}`;
    const req = {
      idempotencyKey: key,
      payoutId,
      amount: { amount: amount.toString(), currency: 'USD', scale: 2 },
      method: 'bank_transfer' as const,
      rail: 'instant' as const,
      destination,
      payee: { id: 'pe', country: 'US', name: 'P' },
    };
    for (let retry = 0; retry < 5; retry++) {
      try {
        const r = await provider.submit(req);
        if (r.state === 'paid') return 'paid';
        const s = await provider.status(key); // pending: latency 0, so status settles it
        return s.state === 'paid' ? 'paid' : s.state === 'pending' ? 'unknown' : 'failed';
      } catch (err) {
        if (!isProviderError(err)) throw err;
        if (err.kind === 'retryable') continue;
        if (err.kind === 'timeout') {
          const s = await provider.status(key);
          if (s.state === 'paid') return 'paid';
          if (s.state === 'pending') return 'unknown'; // never guess: leave it to review
          if (s.state === 'not_found') continue; // known not paid: safe to retry the same key
        }
        break; // outage / hard decline / failed: known not paid → next provider
      }
    }
  }
  return 'failed';
}

describe('sandbox failover protocol', () => {
  it('property: at most once per payout; believed-paid total = sandbox paid total', async () => {
    let run = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.record({
            suffix: fc.constantFrom('0000', '0001', '0002', '0003', '0004', '0005', '0007', '0008'),
            amount: fc.bigInt({ min: 1n, max: 99_999n }),
          }),
          { minLength: 1, maxLength: 6 },
        ),
        fc.integer({ min: 0, max: 10_000 }),
        async (payouts, declineRateBps) => {
          run++;
          const a = new SandboxProvider({
            name: `pa${run}`,
            db,
            scenario: { declineRateBps, instantConfirmation: 'webhook' },
          });
          const b = new SandboxProvider({ name: `pb${run}`, db });
          let believed = 0n;
          for (const [i, p] of payouts.entries()) {
            const outcome = await payOut([a, b], `r${run}-p${i}`, p.amount, `US-ACCT-${i}${p.suffix}`);
            if (outcome === 'paid') believed += p.amount;
          }
          const totals = [...(await sandboxTotals(db, a.name)), ...(await sandboxTotals(db, b.name))];
          const paid = totals.reduce((sum, t) => sum + t.paidMinor, 0n);
          expect(paid).toBe(believed);
          const dups = (await payoutsDisbursedMoreThanOnce(db)).filter((d) =>
            d.payoutId.startsWith(`r${run}-`),
          );
          expect(dups).toEqual([]);
          await a.stop();
          await b.stop();
        },
      ),
      { numRuns: 25 },
    );
  });
});
