// The approver's inbox: payouts waiting for a decision, read from their records (the workflow writes each
// partial approval and its timer there), with why they need one and whether this caller may decide.
import type { EntityManager } from '@mikro-orm/postgresql';
import { formatDecimal } from '../money/index.ts';
import type { MoneyWire } from '../money/wire.ts';
import { searchPayouts } from './search.ts';

export interface PendingApproval {
  payoutId: string;
  payeeId: string;
  amount: MoneyWire;
  method: string;
  requestedBy: string;
  createdAt: string;
  /** Thresholds crossed, then the workflow's reasons (risk flags). */
  why: string[];
  approvalsRequired: number;
  approvedBy: string[];
  /** False when the caller requested it or approved it already (the API would refuse). */
  callerMayDecide: boolean;
  timer: { purpose: string; at: string } | null;
}

/** Oldest first; at most `limit`. */
export async function pendingApprovals(
  em: EntityManager,
  schema: string,
  o: {
    thresholds: Readonly<Record<string, { single: bigint; dual: bigint }>>;
    caller: string;
    limit?: number;
  },
): Promise<PendingApproval[]> {
  const page = await searchPayouts(em, schema, { states: ['pending_approval'], limit: o.limit ?? 200 });
  return page.items.reverse().map((p) => {
    const doc = p.stateDoc;
    const t = o.thresholds[p.currency];
    const gross = BigInt(p.amount);
    const dec = (minor: bigint) =>
      formatDecimal({ amount: minor.toString(), currency: p.currency, scale: p.scale });
    const why: string[] = [];
    if (t && gross >= t.dual) {
      why.push(`${dec(gross)} ${p.currency} ≥ dual-control threshold ${dec(t.dual)}`);
    } else if (t && gross >= t.single) {
      why.push(`${dec(gross)} ${p.currency} ≥ approval threshold ${dec(t.single)}`);
    }
    for (const r of doc.reasons ?? []) why.push(`${r.code}: ${r.message}`);
    const approvedBy = (doc.approvals ?? []).filter((a) => a.decision === 'approve').map((a) => a.actor);
    return {
      payoutId: p.id,
      payeeId: p.payeeId,
      amount: { amount: p.amount, currency: p.currency, scale: p.scale },
      method: p.method,
      requestedBy: p.requestedBy,
      createdAt: p.createdAt,
      why,
      approvalsRequired: doc.approvalsRequired ?? 1,
      approvedBy,
      callerMayDecide: p.requestedBy !== o.caller && !approvedBy.includes(o.caller),
      timer: doc.nextTimer ?? null,
    };
  });
}
