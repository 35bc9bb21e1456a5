// Approver two-factor: a handler asks for the caller's code to be checked (ctx.verifyApproverTotp). A wrong
// code is counted and audited on a connection of its own only after the request's transaction has rolled
// back (errors.ts calls `refuse`): on the embedded database a second connection waits for an open
// transaction, so counting inside it hung every request that sent a wrong code, and every request after it.
import type { EntityManager } from '@mikro-orm/postgresql';
import { type TotpVerdict, verifyApproverTotp } from '../../auth/approver-totp.ts';
import type { Principal } from '../../auth/principal.ts';
import { recordTotpFailure, type TotpLockPolicy } from '../../auth/totp-lockout.ts';
import type { Keyring } from '../../crypto/index.ts';
import type { Database } from '../../db/open.ts';
import { ApiError } from '../../http/errors.ts';

export interface TotpDeps {
  db: Database;
  keyring: Keyring;
  lock: TotpLockPolicy | undefined;
  now: () => Date;
}

/**
 * A refused TOTP code whose count and audit wait until the request's transaction has rolled back. An
 * ApiError of the same kind, so a lease-mode route forgets its key as it does for any refusal.
 */
export class TotpRefusal extends ApiError {
  readonly refuse: () => Promise<never>;
  constructor(refuse: () => Promise<never>) {
    super('totp_invalid', 'The TOTP code was refused');
    this.refuse = refuse;
  }
}

/** The check a handler runs on its own EntityManager (the code's time step is consumed in its transaction). */
export function approverTotp(deps: TotpDeps) {
  return (em: EntityManager, principal: Principal | null, requestId: string) =>
    async (code: string | undefined): Promise<void> => {
      if (principal?.kind !== 'api_key') {
        throw new ApiError('totp_invalid', 'Only approvers with an API key can give a two-factor code');
      }
      if (!code)
        throw new ApiError('totp_invalid', 'A 6-digit TOTP code from your authenticator app is required');
      const at = deps.now();
      const verdict = await verifyApproverTotp(em, deps.keyring, principal.actor, code, at);
      if (!verdict.ok) throw new TotpRefusal(() => refuse(deps, verdict, principal, requestId, at));
    };
}

/** Counts and audits the refused code, then throws the refusal the caller sees. */
async function refuse(
  deps: TotpDeps,
  verdict: Exclude<TotpVerdict, { ok: true }>,
  principal: Principal,
  requestId: string,
  at: Date,
): Promise<never> {
  if (verdict.reason === 'not_enrolled') {
    throw new ApiError(
      'totp_invalid',
      `${principal.actor} has no TOTP secret enrolled: run npm run auth:create-key -- --totp`,
    );
  }
  const state = await recordTotpFailure(
    deps.db.em(),
    { actor: principal.actor, role: principal.role, requestId, reason: verdict.reason, now: at },
    deps.lock,
  );
  const lockedUntil =
    verdict.reason === 'locked' ? verdict.lockedUntil : state.locked ? state.lockedUntil : null;
  if (lockedUntil) {
    const seconds = Math.max(1, Math.ceil((lockedUntil.getTime() - at.getTime()) / 1000));
    throw new ApiError(
      'totp_locked',
      `Too many wrong TOTP codes: ${principal.actor} is locked out until ${lockedUntil.toISOString()}; an operator can unlock with POST /v1/approvers/${principal.actor}/totp/unlock`,
      { headers: { 'Retry-After': String(seconds) } },
    );
  }
  throw new ApiError(
    'totp_invalid',
    verdict.reason === 'replayed'
      ? 'This TOTP code was already used; wait for the next code'
      : 'The TOTP code is wrong or outside the ±30 s window; check the device clock',
  );
}
