// A payout as the API shows it, assembled from its record (the read model the workflow's steps write) and
// its ledger postings, read for a whole page at once. A decision's answer shows the workflow's own status
// instead: the record catches up with it in the same step.
import type { EntityManager } from '@mikro-orm/postgresql';
import { postedTransactions } from '../ledger/index.ts';
import type { MoneyWire } from '../money/wire.ts';
import { redactForPayee } from './payee-view.ts';
import { ledgerKeys } from './service.ts';
import type { PayoutStateDoc } from './state.ts';
import type { PayoutRecord } from './store.ts';

/**
 * Ledger steps of a payout; fx / fx_return: a conversion the provider made (Wise), booked after the settlement;
 * network_fee: what the provider charged beside it (Circle's network fee, the platform's expense);
 * network_fee_payee / network_fee_payee_fx: that fee recovered from the payee's wallet when the payee bears it,
 * and its FX legs into the fee's asset (src/payouts/provider-charges.ts).
 */
export const LEDGER_STEPS = [
  'hold',
  'settle',
  'fx',
  'network_fee',
  'network_fee_payee',
  'network_fee_payee_fx',
  'release',
  'fx_return',
  'return',
] as const;
export type LedgerStep = (typeof LEDGER_STEPS)[number];

export interface Posting {
  step: LedgerStep;
  transactionId: string;
  at: string;
}

const keyOf: Record<LedgerStep, (payoutId: string) => string> = {
  hold: ledgerKeys.hold,
  settle: ledgerKeys.settle,
  fx: ledgerKeys.fx,
  network_fee: ledgerKeys.networkFee,
  network_fee_payee: ledgerKeys.networkFeePayee,
  network_fee_payee_fx: ledgerKeys.networkFeePayeeFx,
  release: ledgerKeys.release,
  fx_return: ledgerKeys.fxReturned,
  return: ledgerKeys.returned,
};

/** The postings of each payout, in step order: one ledger read for a whole page. */
export async function postingsOf(
  em: EntityManager,
  schema: string,
  payoutIds: readonly string[],
): Promise<Map<string, Posting[]>> {
  const wanted = payoutIds.flatMap((id) => LEDGER_STEPS.map((step) => ({ id, step, key: keyOf[step](id) })));
  const posted = await postedTransactions(
    em,
    schema,
    wanted.map((w) => w.key),
  );
  const out = new Map<string, Posting[]>(payoutIds.map((id) => [id, []]));
  for (const w of wanted) {
    const tx = posted.get(w.key);
    if (tx) out.get(w.id)!.push({ step: w.step, transactionId: tx.id, at: tx.createdAt });
  }
  return out;
}

export interface PayoutView {
  id: string;
  payeeId: string;
  amount: MoneyWire;
  method: PayoutRecord['method'];
  state: PayoutStateDoc['state'];
  rail: PayoutRecord['rail'];
  provider: string | null;
  fee: MoneyWire;
  withholding: MoneyWire;
  periodId: string | null;
  bulkId: string | null;
  requestedBy?: string;
  approvalsRequired: number;
  approvals?: PayoutStateDoc['approvals'];
  attempts: PayoutStateDoc['attempts'];
  reasons: PayoutStateDoc['reasons'];
  nextTimer: PayoutStateDoc['nextTimer'] | null;
  ledger: Posting[];
  /** True when the state is the workflow's answer to this request, false when read from the record. */
  live: boolean;
  createdAt: string;
  updatedAt: string;
}

/**
 * The payout from its record, or from `live` (the workflow's status after a decision) where it has one.
 * `forPayee`: as a payee token may see it (no identities, provider messages or internal reasons).
 */
export function payoutView(
  payout: PayoutRecord,
  o: { postings: readonly Posting[]; live?: PayoutStateDoc | undefined; forPayee: boolean },
): PayoutView {
  const status = o.live ?? payout.stateDoc;
  const money = (amount: string): MoneyWire => ({ amount, currency: payout.currency, scale: payout.scale });
  const full: PayoutView = {
    id: payout.id,
    payeeId: payout.payeeId,
    amount: money(payout.amount),
    method: payout.method,
    // The record's columns are written with its state doc, and a return after the workflow closed updates
    // the column: the column is the state.
    state: o.live?.state ?? payout.state,
    rail: status.rail ?? payout.rail,
    provider: status.provider ?? payout.provider,
    fee: money(status.fee?.amount ?? payout.fee),
    withholding: money(status.withholding?.amount ?? payout.withholding),
    periodId: payout.periodId,
    bulkId: payout.bulkId,
    requestedBy: payout.requestedBy,
    approvalsRequired: status.approvalsRequired ?? 0,
    approvals: status.approvals ?? [],
    attempts: status.attempts ?? [],
    reasons: status.reasons ?? [],
    nextTimer: status.nextTimer ?? null,
    ledger: [...o.postings],
    live: o.live !== undefined,
    createdAt: payout.createdAt,
    updatedAt: payout.updatedAt,
  };
  return o.forPayee ? redactForPayee(full) : full;
}
