// What the end-to-end tests of the real adapters (test/payouts/<provider>-provider.test.ts) share: a payee with
// a destination, asking for a payout by method, reading its ledger steps and attempts, and the invariants
// checked after each test.
import { expect } from '@jest/globals';
import { sql } from '../../src/db/sql.ts';
import { verifyLedger } from '../../src/ledger/verify.ts';
import type { PayoutStateDoc } from '../../src/payouts/state.ts';
import { listSandboxDisbursements, sandboxTotals } from '../../src/providers/index.ts';
import type { Stack } from '../support/stack.ts';

/** POST /v1/payouts of a USD amount (minor units) by `method`; the payout id. */
export async function requestPayoutBy(
  stack: Stack,
  payeeId: string,
  amount: string,
  method: 'card' | 'wallet' | 'crypto' | 'bank_transfer',
  instant: boolean,
): Promise<string> {
  const res = await stack.call('POST', '/v1/payouts', {
    body: { payeeId, amount: { amount, currency: 'USD', scale: 2 }, method, instant },
  });
  stack.expectStatus(res, 202, 'request payout');
  return res.body.id as string;
}

/**
 * A verified US payee (USD 1 000.00 credited unless `credit` says otherwise) with one destination of `kind`
 * (PUT /v1/payees/:id/destinations/<kind> with `body`); its id. `payee`: fields of the payee itself.
 */
export async function payeeWithDestination(
  stack: Stack,
  kind: 'wallet' | 'crypto' | 'card',
  body: Record<string, unknown>,
  o: { credit?: string; payee?: Record<string, unknown> } = {},
): Promise<string> {
  const payeeId = await stack.createPayee({
    bankAccount: null,
    credit: o.credit ?? '100000',
    ...(o.payee ? { payee: o.payee } : {}),
  });
  stack.expectStatus(
    await stack.call('PUT', `/v1/payees/${payeeId}/destinations/${kind}`, { body }),
    200,
    `${kind} destination`,
  );
  return payeeId;
}

/** A payee who prefers wallet payouts, instant: as a PayPal / Venmo seller registers. */
export const WALLET_SELLER = {
  payoutPreferences: { preferredMethod: 'wallet', instantOptIn: true, autoPayout: false },
};

/** The payout's ledger steps (hold, settle, fx, return, …) as GET /v1/payouts/:id shows them. */
export async function ledgerSteps(stack: Stack, payoutId: string): Promise<string[]> {
  return (await stack.call('GET', `/v1/payouts/${payoutId}`)).body.ledger.map(
    (l: { step: string }) => l.step,
  );
}

/** [provider, outcome] of each attempt. */
export const attemptOutcomes = (s: PayoutStateDoc): string[][] =>
  s.attempts.map((a) => [a.provider, a.outcome]);

/** The platform's provider_clearing balance per currency, in minor units. */
export async function clearingByCurrency(stack: Stack): Promise<Map<string, bigint>> {
  const rows = await sql<{ currency: string; total: string }>(
    stack.db.em(),
    `SELECT currency, coalesce(sum(balance), 0)::text AS total FROM "${stack.db.schema}".ledger_accounts
      WHERE kind = 'provider_clearing' GROUP BY currency`,
  );
  return new Map(rows.map((r) => [r.currency, BigInt(r.total)]));
}

/** What the sandbox fallback paid, per currency. */
export async function sandboxPaidByCurrency(stack: Stack): Promise<Map<string, bigint>> {
  return new Map((await sandboxTotals(stack.db)).map((t) => [t.currency, t.paidMinor]));
}

/**
 * The ledger verifies, the fake paid no payout twice (`fakePaidTwice`: what it reports), and no payout was paid
 * both by the fake (`paidByFake`) and by the sandbox fallback: at most one disbursement per payout.
 */
export async function assertPaidOnce(
  stack: Stack,
  o: { fakePaidTwice: readonly string[]; paidByFake: (payoutId: string) => boolean },
): Promise<void> {
  const report = await verifyLedger(stack.db.em(), stack.db.schema);
  expect(report.violations).toEqual([]);
  expect(o.fakePaidTwice).toEqual([]);
  const sandboxPaid = (await listSandboxDisbursements(stack.db)).filter((d) => d.state === 'paid');
  expect(sandboxPaid.filter((d) => o.paidByFake(d.payoutId))).toEqual([]); // never both
}

/** Waits until the scheduled payout's window (skipping virtual time to it), then for `state` when given. */
export async function pastPayoutWindow(stack: Stack, payoutId: string, state?: string): Promise<void> {
  const scheduled = await stack.waitForState(payoutId, ['scheduled']);
  const wait = Date.parse(scheduled.nextTimer!.at) - (await stack.temporal.currentTimeMs());
  await stack.temporal.sleep(Math.max(0, wait) + 1_000);
  if (state) await stack.waitForState(payoutId, [state]);
}
