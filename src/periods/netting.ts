// How one period statement moves money: a positive total first repays what the payee owes
// (payee_receivable, negative balance) and credits the rest; a negative total (clawbacks beyond earnings)
// takes what the available balance allows and carries the remainder as a receivable. Never a negative wallet.
import type { PostingInput } from '../ledger/posting.ts';
import { money } from '../money/index.ts';

export interface NettingInput {
  periodId: string;
  payeeId: string;
  currency: string;
  /** Statement total (signed minor units). */
  total: bigint;
  /** Current payee_available balance (≥ 0). */
  available: bigint;
  /** Current payee_receivable balance (≤ 0: what the payee owes). */
  receivable: bigint;
}

export interface Netting {
  /** Change of payee_available (signed). */
  toAvailable: bigint;
  /** Change of payee_receivable (signed; positive repays). */
  toReceivable: bigint;
}

const minOf = (a: bigint, b: bigint): bigint => (a < b ? a : b); // Math.min cannot take bigint

export function netStatement(n: NettingInput): Netting {
  if (n.total >= 0n) {
    const owed = n.receivable < 0n ? -n.receivable : 0n;
    const repay = minOf(n.total, owed);
    return { toAvailable: n.total - repay, toReceivable: repay };
  }
  const due = -n.total;
  const fromAvailable = minOf(due, n.available);
  return { toAvailable: -fromAvailable, toReceivable: -(due - fromAvailable) };
}

/** Business key of a period credit: one ledger transaction per period, payee and currency. */
export function periodPostingKey(periodId: string, payeeId: string, currency: string): string {
  return `period:${periodId}:${payeeId}:${currency}`;
}

export function periodPosting(n: NettingInput, run: number): PostingInput | null {
  if (n.total === 0n) return null;
  const { toAvailable, toReceivable } = netStatement(n);
  const m = (v: bigint) => money(v, n.currency);
  const entries: PostingInput['entries'][number][] = [
    { account: { kind: 'platform_funding' }, amount: m(-n.total) },
  ];
  if (toAvailable !== 0n)
    entries.push({ account: { kind: 'payee_available', owner: n.payeeId }, amount: m(toAvailable) });
  if (toReceivable !== 0n)
    entries.push({ account: { kind: 'payee_receivable', owner: n.payeeId }, amount: m(toReceivable) });
  return {
    type: n.total > 0n ? 'period.credit' : 'period.clawback',
    idempotencyKey: periodPostingKey(n.periodId, n.payeeId, n.currency),
    metadata: { periodId: n.periodId, payeeId: n.payeeId, run, reference: `period:${n.periodId}` },
    entries,
  };
}
