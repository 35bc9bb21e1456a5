// Pure money splits for spendback: which balances a purchase is paid from, and where a refund goes back.

export interface GrantBalance {
  readonly grantId: string;
  /** Minor units left on the grant. */
  readonly remaining: bigint;
}

export interface SpendSplit {
  /** Per grant, in spend order (soonest expiry first). */
  readonly grants: readonly { grantId: string; amount: bigint }[];
  readonly fromRestricted: bigint;
  readonly fromAvailable: bigint;
}

/** Restricted credit first (grants in the order given: soonest expiry first), the rest from available. */
export function splitSpend(amount: bigint, grants: readonly GrantBalance[]): SpendSplit {
  if (amount <= 0n) throw new RangeError('amount must be positive');
  let left = amount;
  const used: { grantId: string; amount: bigint }[] = [];
  for (const g of grants) {
    if (left === 0n) break;
    if (g.remaining <= 0n) continue;
    const take = g.remaining < left ? g.remaining : left;
    used.push({ grantId: g.grantId, amount: take });
    left -= take;
  }
  return { grants: used, fromRestricted: amount - left, fromAvailable: left };
}

export interface RefundableOrder {
  /** Available-balance part not yet refunded. */
  readonly availableLeft: bigint;
  /** Restricted parts not yet refunded, in the order they were spent. */
  readonly grants: readonly { grantId: string; left: bigint }[];
}

export interface RefundSplit {
  readonly toAvailable: bigint;
  readonly grants: readonly { grantId: string; amount: bigint }[];
}

/**
 * Undoes a purchase in reverse spend order: the available part first (cash back to the payee), then the
 * grants from the last spent to the first. Throws RangeError when more is asked than is left.
 */
export function splitRefund(amount: bigint, order: RefundableOrder): RefundSplit {
  if (amount <= 0n) throw new RangeError('amount must be positive');
  const total = order.availableLeft + order.grants.reduce((s, g) => s + g.left, 0n);
  if (amount > total) throw new RangeError(`only ${total} minor units are left to refund`);
  let left = amount;
  const toAvailable = order.availableLeft < left ? order.availableLeft : left;
  left -= toAvailable;
  const grants: { grantId: string; amount: bigint }[] = [];
  for (const g of [...order.grants].reverse()) {
    if (left === 0n) break;
    if (g.left <= 0n) continue;
    const take = g.left < left ? g.left : left;
    grants.push({ grantId: g.grantId, amount: take });
    left -= take;
  }
  return { toAvailable, grants };
}

/**
 * Spendback bonus to take back when a purchase is refunded: the bonus stays proportional to the part of the
 * purchase paid from available earnings that is still not refunded (rounded in the payee's favour).
 * `clawedBefore` is what earlier refunds already took back; the result is what to take back now.
 */
export function bonusClawback(o: {
  bonus: bigint;
  fromAvailable: bigint;
  refundedAvailable: bigint;
  clawedBefore: bigint;
}): bigint {
  if (o.bonus <= 0n || o.fromAvailable <= 0n) return 0n;
  const kept = o.fromAvailable - o.refundedAvailable;
  // Rounded up: the payee keeps a part-cent of bonus rather than losing one.
  const earned = (o.bonus * kept + o.fromAvailable - 1n) / o.fromAvailable;
  const due = o.bonus - earned - o.clawedBefore;
  return due > 0n ? due : 0n;
}
