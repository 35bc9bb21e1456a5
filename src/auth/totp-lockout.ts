// Attempt limits on approver TOTP codes: `maxFailures` consecutive wrong codes lock the approver out for
// `firstLockSeconds`, doubling with each further lock up to `maxLockSeconds`. The count and the lock live
// in approver_totp (PostgreSQL), so every API process agrees; an accepted code clears the count, an operator
// unlock clears the lock. Time comes from the caller (the app's clock), never from here.
import { type EntityManager, LockMode } from '@mikro-orm/postgresql';
import { recordAudit } from '../audit/audit.ts';
import { ApproverTotp } from './entities.ts';

export interface TotpLockPolicy {
  maxFailures: number;
  firstLockSeconds: number;
  maxLockSeconds: number;
}

export const DEFAULT_TOTP_LOCK_POLICY: TotpLockPolicy = {
  maxFailures: 5,
  firstLockSeconds: 300,
  maxLockSeconds: 86_400,
};

export interface TotpLockState {
  failedAttempts: number;
  lockCount: number;
  lockedUntil: Date | null;
}

/** How long the `lockNumber`-th consecutive lock lasts (1-based): doubling, capped. */
export function lockSeconds(lockNumber: number, policy: TotpLockPolicy = DEFAULT_TOTP_LOCK_POLICY): number {
  const doubled = policy.firstLockSeconds * 2 ** Math.min(Math.max(lockNumber - 1, 0), 30);
  return Math.min(doubled, policy.maxLockSeconds);
}

/** The state after one more wrong code; `locked` says whether this failure started a lock. */
export function afterFailure(
  state: TotpLockState,
  now: Date,
  policy: TotpLockPolicy = DEFAULT_TOTP_LOCK_POLICY,
): TotpLockState & { locked: boolean } {
  const failedAttempts = state.failedAttempts + 1;
  if (failedAttempts < policy.maxFailures) return { ...state, failedAttempts, locked: false };
  const lockCount = state.lockCount + 1;
  return {
    failedAttempts: 0,
    lockCount,
    lockedUntil: new Date(now.getTime() + lockSeconds(lockCount, policy) * 1000),
    locked: true,
  };
}

export interface TotpFailure {
  actor: string;
  role: string;
  requestId: string;
  reason: 'invalid_code' | 'replayed' | 'locked';
  now: Date;
}

/**
 * Counts a refused code and audits it (and the lock it may start). Run on an EntityManager of its own, not
 * the request's: the request's transaction rolls back with the refusal, the count must not. Only wrong
 * codes count toward a lock; replays and attempts while locked are audited only.
 */
export async function recordTotpFailure(
  em: EntityManager,
  failure: TotpFailure,
  policy: TotpLockPolicy = DEFAULT_TOTP_LOCK_POLICY,
): Promise<TotpLockState & { locked: boolean }> {
  return em.transactional(async (tx) => {
    const row = await tx.findOne(
      ApproverTotp,
      { actor: failure.actor },
      { lockMode: LockMode.PESSIMISTIC_WRITE },
    );
    if (!row) throw new Error(`approver_totp row for ${failure.actor} vanished`);
    const current = {
      failedAttempts: row.failedAttempts,
      lockCount: row.lockCount,
      lockedUntil: row.lockedUntil ?? null,
    };
    const next =
      failure.reason === 'invalid_code'
        ? afterFailure(current, failure.now, policy)
        : { ...current, locked: false };
    row.failedAttempts = next.failedAttempts;
    row.lockCount = next.lockCount;
    row.lockedUntil = next.lockedUntil;
    const base = {
      actor: failure.actor,
      role: failure.role,
      requestId: failure.requestId,
      objectType: 'approver',
      objectId: failure.actor,
      at: failure.now,
    };
    await recordAudit(tx, {
      ...base,
      action: 'approver.totp_failed',
      details: {
        reason: failure.reason,
        failedAttempts: next.locked ? policy.maxFailures : next.failedAttempts,
      },
    });
    if (next.locked) {
      await recordAudit(tx, {
        ...base,
        action: 'approver.totp_locked',
        details: { lockedUntil: next.lockedUntil!.toISOString(), lockCount: next.lockCount },
      });
    }
    return next;
  });
}

/** Operator unlock: clears the lock and the counts. Returns false when the approver has no TOTP enrolled. */
export async function unlockApproverTotp(em: EntityManager, actor: string): Promise<TotpLockState | null> {
  const row = await em.findOne(ApproverTotp, { actor });
  if (!row) return null;
  const before = {
    failedAttempts: row.failedAttempts,
    lockCount: row.lockCount,
    lockedUntil: row.lockedUntil ?? null,
  };
  row.failedAttempts = 0;
  row.lockCount = 0;
  row.lockedUntil = null;
  await em.flush();
  return before;
}
